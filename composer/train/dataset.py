"""Pieces -> padded training batches, with transposition augmentation and fixing patterns.

A piece becomes one sequence (whole pieces, no crops: chorales are short, and the model should
learn beginnings and cadential endings). Each epoch shuffles pieces with a generator seeded by
(seed, epoch), so the same seed gives the same batches, also after ``--resume``.

Fixing patterns (SATB, for the lookahead): each piece in a batch is drawn as one of
- free: nothing fixed, lookahead off (live play and streams: the end is unknown);
- ending: nothing fixed, lookahead on (generation of a piece of known length: cadences);
- soprano: the soprano fixed (harmonization);
- region: everything fixed but a random span of steps in a random set of voices (regeneration);
- voices: a random non-empty proper subset of voices fixed.
The loss counts only the tokens that are not fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from composer.encoding import (
    SATB_VOICES,
    TOK_END,
    TOK_UNKNOWN,
    Encoded,
    allowed_transpositions,
    encode_frames,
    encode_satb,
    satb_context,
    steps_to_end,
)
from composer.score import HOLD, REST, Score
from composer.train.features import frame_repeat_match, held_steps, repeat_match

PATTERNS = ("free", "ending", "soprano", "region", "voices")
PATTERN_P = (0.3, 0.1, 0.3, 0.25, 0.05)


@dataclass
class Example:
    enc: Encoded
    fixed: np.ndarray  # int64[N]: token where fixed, TOK_UNKNOWN elsewhere
    weight: np.ndarray  # float32[N]: 1 where the loss counts
    use_lookahead: int
    context: np.ndarray | None = None  # int64[N, 4] (JSB)
    held: np.ndarray | None = None  # int64[N, 4] (JSB 16th: features.held_steps)
    repeat: np.ndarray | None = None  # int64[N]: the repeat match (train.features)


def fixing_pattern(n_steps: int, rng: np.random.Generator, pattern: str) -> np.ndarray:
    """bool[n_steps, 4]: which cells are fixed."""
    fixed = np.zeros((n_steps, SATB_VOICES), dtype=bool)
    if pattern == "soprano":
        fixed[:, 0] = True
    elif pattern == "region":
        fixed[:] = True
        length = int(rng.integers(4, max(5, min(n_steps, 160))))
        start = int(rng.integers(0, max(1, n_steps - length)))
        voices = rng.random(SATB_VOICES) < 0.5
        if not voices.any():
            voices[rng.integers(SATB_VOICES)] = True
        fixed[start : start + length, voices] = False
    elif pattern == "voices":
        k = int(rng.integers(1, SATB_VOICES))
        fixed[:, rng.choice(SATB_VOICES, size=k, replace=False)] = True
    return fixed


def satb_example(
    score: Score,
    rng: np.random.Generator | None,
    pattern: str = "free",
    end_known: bool = True,
    max_shift: int = 6,
    cadence_weight: float = 1.0,
    repeat: bool = False,
    ending_weight: float = 1.0,
) -> Example:
    """One training (or evaluation) example from a Score. rng=None: no augmentation.
    repeat: also the repeat match (for a model that reads it).

    end_known=False hides where the piece ends (as in an endless stream); with rng, "free"
    examples hide it half the time, so one model serves streams and pieces of known length.
    cadence_weight: the loss weight of the tokens of each cadence (see cadence_steps), the
    others weighing 1; ending_weight: the same for the final chord's onset (final_chord_step).
    The two multiply where they meet.
    """
    if rng is not None:
        shifts = allowed_transpositions(score, max_shift=max_shift)
        score = score.transpose(int(rng.choice(shifts)))
        if pattern == "free" and rng.random() < 0.5:
            end_known = False
    enc = encode_satb(score)
    if not end_known:
        enc.to_end = steps_to_end(score.steps, known=False).repeat(SATB_VOICES)
    fixed_cells = fixing_pattern(score.steps, rng or np.random.default_rng(0), pattern)
    fixed_flat = fixed_cells.reshape(-1)
    fixed = np.where(fixed_flat, enc.tokens, TOK_UNKNOWN).astype(np.int64)
    weight = (~fixed_flat).astype(np.float32)
    if cadence_weight != 1.0:
        weight *= np.where(cadence_steps(score), cadence_weight, 1.0).repeat(SATB_VOICES)
    final = final_chord_step(score) if ending_weight != 1.0 else -1
    if final >= 0:
        weight[final * SATB_VOICES : (final + 1) * SATB_VOICES] *= ending_weight
    example = Example(enc, fixed, weight, int(pattern != "free"), satb_context(score))
    if repeat:  # an endless stream keeps no history to match: where the end is unknown,
        # nothing matches, and one model serves both
        example.repeat = (repeat_match(enc.tokens) if end_known
                          else np.full(len(enc.tokens), TOK_UNKNOWN, np.int64))  # fmt: skip
    return example


CADENCE_STEPS = 8  # a half-note in 16ths: the approach to a fermata's chord


def cadence_steps(score: Score) -> np.ndarray:
    """bool[T]: the steps of each cadence: the ``CADENCE_STEPS`` before a fermata's onset and
    the onset itself."""
    out = np.zeros(score.steps, dtype=bool)
    for f in score.fermatas:
        if 0 <= f < score.steps:
            out[max(0, f - CADENCE_STEPS) : f + 1] = True
    return out


def final_chord_step(score: Score) -> int:
    """The step where the final chord is struck: the last fermata's onset, else the last step
    where every voice sounds and one strikes; -1 if there is none.

    Bach ends 93% of his minor chorales on a major chord (a Picardy third), yet the model,
    trained with every token weighing the same, gave the major third 0.44 of the two thirds'
    probability there (teacher-forced, held-out minor chorales; 99 such endings in the
    training split): weighting this step's loss is how training asks for his endings."""
    onsets = [f for f in score.fermatas if 0 <= f < score.steps]
    if onsets:
        return max(onsets)
    sounding = score.grid != REST
    steps = np.flatnonzero(sounding.all(axis=1) & (score.grid != HOLD).any(axis=1))
    return int(steps[-1]) if len(steps) else -1


def jsb16_example(score: Score, rng: np.random.Generator | None) -> Example:
    """One JSB 16th-note example: free, with rng a random transposition within the voices'
    ranges, and the inputs of ``features`` (how long each voice has held, the repeat match)."""
    example = satb_example(score, rng, "free", max_shift=12)
    tokens = example.enc.tokens
    example.held = held_steps(tokens)
    example.repeat = repeat_match(tokens)  # the benchmark's pieces have an end: always
    return example


def jsb_example(
    frames: list[list[int]], rng: np.random.Generator | None, max_shift: int = 0
) -> Example:
    """One example from JSB frames; with rng and max_shift, a random transposition; with the
    repeat match of ``features`` (frame by frame)."""
    if rng is not None and max_shift:
        shift = int(rng.integers(-max_shift, max_shift + 1))
        frames = [[p + shift for p in f] for f in frames]
    enc, ctx = encode_frames(frames)
    n = len(enc)
    example = Example(enc, np.full(n, TOK_UNKNOWN, np.int64), np.ones(n, np.float32), 0, ctx)
    ends = np.flatnonzero(enc.tokens == TOK_END) + 1
    tokens = enc.tokens.tolist()
    example.repeat = frame_repeat_match(
        [tuple(tokens[a:b]) for a, b in zip(np.r_[0, ends[:-1]], ends)]
    )
    return example


def collate(examples: list[Example]) -> dict[str, torch.Tensor]:
    """Pad examples to one batch of int64 tensors (B, N); weight is 0 on padding."""
    n = max(len(e.enc) for e in examples)
    b = len(examples)

    def pad(rows, fill, dtype, tail=()):
        out = np.full((b, n, *tail), fill, dtype=dtype)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return torch.from_numpy(out)

    batch = {
        "inputs": pad([e.enc.inputs() for e in examples], 0, np.int64),
        "targets": pad([e.enc.tokens for e in examples], 0, np.int64),
        "slot": pad([e.enc.slot for e in examples], 0, np.int64),
        "pos": pad([e.enc.pos for e in examples], 0, np.int64),
        "fermata": pad([e.enc.fermata for e in examples], 0, np.int64),
        "key": pad([e.enc.key for e in examples], 0, np.int64),
        "fixed": pad([e.fixed for e in examples], TOK_UNKNOWN, np.int64),
        "weight": pad([e.weight for e in examples], 0.0, np.float32),
        "lengths": torch.tensor([len(e.enc) for e in examples], dtype=torch.int64),
        "use_lookahead": torch.tensor([e.use_lookahead for e in examples], dtype=torch.int64),
    }
    if examples[0].enc.to_fermata is not None:
        batch["to_fermata"] = pad([e.enc.to_fermata for e in examples], 0, np.int64)
        batch["to_end"] = pad([e.enc.to_end for e in examples], 0, np.int64)
    if examples[0].context is not None:
        batch["context"] = pad([e.context for e in examples], -1, np.int64, (4,))
    if examples[0].held is not None:
        batch["held"] = pad([e.held for e in examples], 0, np.int64, (4,))
    if examples[0].repeat is not None:
        batch["repeat"] = pad([e.repeat for e in examples], TOK_UNKNOWN, np.int64)
    return batch


class PieceDataset:
    """Pieces (Scores or JSB frame lists) -> batches for one epoch.

    Batches group pieces of similar length (less padding), in an order seeded by (seed, epoch).
    ``rank``/``world`` shard the batches for distributed training.
    """

    def __init__(
        self,
        pieces: list,
        encoding: str,
        batch_size: int,
        augment: bool,
        seed: int = 0,
        jsb_shift: int = 0,
        cadence_weight: float = 1.0,
        repeat: bool = False,
        ending_weight: float = 1.0,
    ):
        self.pieces = pieces
        self.encoding = encoding
        self.batch_size = batch_size
        self.augment = augment
        self.seed = seed
        self.jsb_shift = jsb_shift
        self.cadence_weight = cadence_weight
        self.repeat = repeat  # SATB: the model reads the repeat match
        self.ending_weight = ending_weight

    def length(self, piece) -> int:
        return piece.steps * SATB_VOICES if self.encoding != "jsb-quarter" else len(piece)

    def batch_indices(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.pieces))
        # sort within chunks of 8 batches by length, then shuffle the batches
        chunk = self.batch_size * 8
        batches = []
        for c in range(0, len(order), chunk):
            part = sorted(order[c : c + chunk], key=lambda i: self.length(self.pieces[i]))
            batches += [part[j : j + self.batch_size] for j in range(0, len(part), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def batches(self, epoch: int, rank: int = 0, world: int = 1, start: int = 0):
        """Yield (index, batch) for this epoch from batch ``start`` on (for resuming)."""
        indices = self.batch_indices(epoch)
        usable = len(indices) - len(indices) % world if world > 1 else len(indices)
        for i in range(start, usable // world):
            idx = indices[i * world + rank]
            rng = np.random.default_rng([self.seed, epoch, i * world + rank])
            yield i, collate([self.example(self.pieces[j], rng) for j in idx])

    def example(self, piece, rng: np.random.Generator) -> Example:
        if self.encoding == "satb":
            pattern = PATTERNS[rng.choice(len(PATTERNS), p=PATTERN_P)]
            return satb_example(
                piece,
                rng if self.augment else None,
                pattern,
                cadence_weight=self.cadence_weight,
                repeat=self.repeat,
                ending_weight=self.ending_weight,
            )
        if self.encoding == "jsb-16th":  # the benchmark: free, every transposition in range
            return jsb16_example(piece, rng if self.augment else None)
        return jsb_example(piece, rng if self.augment else None, self.jsb_shift)
