"""The LSTM that learns chorales, and its config (saved with the weights; a checkpoint rebuilds
its model alone).

Forward LSTM: predicts token i from every token before it. Its input at i is the sum of
embeddings of the previous token and of token i's conditioning (voice/slot, position in bar,
fermata, key), plus (JSB) the previous frame's pitches as a multi-hot context, concatenated with
the lookahead vector. Optional inputs (train.features): how long each voice has held (JSB 16th)
and the repeat match, which also adds a learned trust to the logit of the token it predicts.

Lookahead (optional): a backward LSTM reads the "fixed notes" channel (the known token, or
UNKNOWN) from the end of the piece; its output at i summarizes what is fixed at i and after. For
free generation and live play the lookahead vector is zero (``use_lookahead`` = 0), so one model
serves every mode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn as nn

from composer.encoding import (
    N_HELD,
    N_KEY,
    N_MATCH,
    N_PITCH,
    N_POS,
    N_SLOT,
    N_TO_END,
    N_TO_FERMATA,
    TOK_END,
    TOK_HOLD,
    VOCAB,
)


@dataclass
class ModelConfig:
    # "satb" (16th steps, SATB tokens), "jsb-16th" (the same without HOLD: the benchmark's
    # data cannot tell a held note from a repeated one) or "jsb-quarter" (frames)
    encoding: str = "satb"
    vocab: int = VOCAB
    embed: int = 128
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.3
    lookahead: int = 128  # hidden size of the backward LSTM; 0 = no lookahead
    context: bool = False  # a context of 4 pitches per token (JSB: the previous frame)
    context_voices: bool = False  # the context's pitches are per voice (SATB: sounding pitches)
    plan: bool = False  # SATB: each token also knows the steps to the next fermata and the end
    held: bool = False  # JSB 16th: how long each voice has held (train.features.held_steps)
    repeat: bool = False  # what the piece's own past predicts (features.repeat_match)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class ChoraleLSTM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab, c.embed)
        self.slot_emb = nn.Embedding(N_SLOT, c.embed)
        self.pos_emb = nn.Embedding(N_POS, c.embed)
        self.ferm_emb = nn.Embedding(2, c.embed)
        self.key_emb = nn.Embedding(N_KEY, c.embed)
        if c.plan:
            self.phrase_emb = nn.Embedding(N_TO_FERMATA, c.embed)
            self.end_emb = nn.Embedding(N_TO_END, c.embed)
        if c.context:  # the last index is "no pitch" (padding)
            rows = (4 if c.context_voices else 1) * N_PITCH
            self.ctx_emb = nn.Embedding(rows + 1, c.embed, padding_idx=rows)
        if c.held:  # voice k held for d steps -> row k * N_HELD + d
            self.held_emb = nn.Embedding(4 * N_HELD, c.embed)
        if c.repeat:  # the match as an input, and a learned trust in it on the output
            self.repeat_emb = nn.Embedding(N_MATCH * c.vocab, c.embed)
            self.repeat_gate = nn.Linear(c.hidden, N_MATCH)
        if c.lookahead:  # one row per (voice, token): voice v's token t at v * vocab + t
            self.fix_emb = nn.Embedding(4 * c.vocab, c.embed)
            self.back = nn.LSTM(c.embed, c.lookahead, 1, batch_first=True)
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(
            c.embed + c.lookahead,
            c.hidden,
            c.layers,
            batch_first=True,
            dropout=c.dropout if c.layers > 1 else 0.0,
        )
        self.head = nn.Linear(c.hidden, c.vocab)

    def conditioning(self, batch: dict) -> torch.Tensor:
        """(B, N, E): the sum of the conditioning embeddings of each position (voice, bar
        position, fermata, key; with ``plan``, steps to the next fermata and to the end): what
        is known of every position before any note is."""
        x = (
            self.slot_emb(batch["slot"])
            + self.pos_emb(batch["pos"])
            + self.ferm_emb(batch["fermata"])
            + self.key_emb(batch["key"])
        )
        if self.config.plan:
            x = x + self.phrase_emb(batch["to_fermata"]) + self.end_emb(batch["to_end"])
        return x

    def context(self, batch: dict) -> torch.Tensor:
        """(B, N, E): the embedding of the pitches sounding before each token, and where the
        config asks for them, how long each voice has held and the repeat match. The forward
        LSTM only: the lookahead must never see it, since it holds the music itself."""
        x = torch.zeros(())
        if self.config.context:
            ctx = batch["context"]  # (B, N, 4) pitches, -1 = none
            if self.config.context_voices:  # voice k's pitch p -> row k * 128 + p
                offset = torch.arange(4, device=ctx.device) * N_PITCH
                idx = ctx + offset
                pad = 4 * N_PITCH
            else:
                idx, pad = ctx, N_PITCH
            idx = torch.where(ctx < 0, torch.full_like(ctx, pad), idx)
            x = x + self.ctx_emb(idx).sum(dim=2)
        if self.config.held:
            held = batch["held"]  # (B, N, 4)
            offset = torch.arange(4, device=held.device) * N_HELD
            x = x + self.held_emb(held + offset).sum(dim=2)
        if self.config.repeat:
            x = x + self.repeat_emb(batch["repeat"])
        return x

    def lookahead(self, batch: dict) -> torch.Tensor:
        """(B, N, L): the backward LSTM over the fixed-notes channel, zero where unused.

        It runs over 16th steps, not tokens: step t's input is the sum of its four fixed tokens'
        embeddings (per voice; UNKNOWN where free) and its bar position. Every token of step t
        gets the state after reading steps T-1 .. t. (Run over tokens, with three UNKNOWNs
        between two soprano notes, it forgot the soprano within a step and the forward LSTM
        learned to ignore it: measured, no harmonization gain.)
        """
        fixed = batch["fixed"]  # (B, N), N = 4 T
        b, n = fixed.shape
        steps = n // 4
        lengths = batch["lengths"] // 4  # (B,) steps
        voice = torch.arange(4, device=fixed.device) * self.config.vocab
        x = self.fix_emb(fixed.view(b, steps, 4) + voice).sum(dim=2)  # (B, T, E)
        x = x + self.pos_emb(batch["pos"][:, ::4])
        t = torch.arange(steps, device=fixed.device).unsqueeze(0)  # (1, T)
        rev = torch.where(t < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - t, t)  # (B, T)
        x = torch.gather(x, 1, rev.unsqueeze(-1).expand_as(x))
        y, _ = self.back(self.drop(x))  # (B, T, L), in reversed time
        y = torch.gather(y, 1, rev.unsqueeze(-1).expand(-1, -1, y.shape[-1]))
        y = y.repeat_interleave(4, dim=1)  # (B, N, L): each token sees its step's state
        return y * batch["use_lookahead"].view(-1, 1, 1).to(y.dtype)

    def forward(self, batch: dict) -> torch.Tensor:
        """batch: int64 tensors (B, N) inputs, slot, pos, fermata, key [, fixed, context (B, N, 4)],
        lengths (B,), use_lookahead (B,). Returns logits (B, N, vocab)."""
        cond = self.conditioning(batch)
        x = self.tok_emb(batch["inputs"]) + cond + self.context(batch)
        parts = [self.drop(x)]
        if self.config.lookahead:
            parts.append(self.drop(self.lookahead(batch)))
        h, _ = self.lstm(torch.cat(parts, dim=-1))
        logits = self.head(self.drop(h))
        if self.config.repeat:
            logits = logits + self.repeat_bonus(batch["repeat"], h)
        return logits + self.logit_mask(batch)

    def repeat_bonus(self, repeat: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """(B, N, V): on the logit of the token the repeat match predicts, a trust the model
        learns from its state and the match's length (a copy path: an exact repeat of a phrase
        30 bars back needs no route through the LSTM); 0 elsewhere and where nothing matches."""
        vocab = self.config.vocab
        bucket, pred = repeat // vocab, repeat % vocab
        trust = self.repeat_gate(h).gather(-1, bucket.unsqueeze(-1))  # (B, N, 1)
        trust = trust * (bucket > 0).unsqueeze(-1).to(trust.dtype)
        bonus = torch.zeros(*repeat.shape, vocab, dtype=h.dtype, device=h.device)
        return bonus.scatter(-1, pred.unsqueeze(-1), trust)

    def logit_mask(self, batch: dict) -> torch.Tensor:
        """(B, N, V) additive mask: -inf on tokens the encoding can never produce there."""
        inputs = batch["inputs"]
        v = torch.arange(self.config.vocab, device=inputs.device)
        if self.config.encoding == "jsb-quarter":
            # pitches strictly fall within a frame; END closes it; nothing else is allowed
            first = batch["slot"] == 0
            bound = torch.where(first, torch.full_like(inputs, N_PITCH), inputs)  # (B, N)
            ok = (v.view(1, 1, -1) < bound.unsqueeze(-1)) | (v.view(1, 1, -1) == TOK_END)
        elif self.config.encoding == "jsb-16th":  # pitch or REST: this data has no HOLD
            ok = ((v < TOK_END) & (v != TOK_HOLD)).view(1, 1, -1).expand(*inputs.shape, -1)
        else:
            ok = (v < TOK_END).view(1, 1, -1).expand(*inputs.shape, -1)  # pitch, HOLD, REST
        return torch.where(ok, 0.0, float("-inf"))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
