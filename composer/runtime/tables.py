"""A bundle's weights rearranged for the kernels, and the calls that run them (through
composer/runtime/native.py: compiled ahead of time, or numba's).

The first LSTM layer's input weights are folded into tables (one row per token, voice, bar
position, fermata, key and context pitch: ``T_* = embedding @ W_ih[:, :E].T``), so a step adds
rows instead of multiplying; the lookahead's contribution is one matrix product per piece.
"""

from __future__ import annotations

import numpy as np

from composer.encoding import N_PITCH, TOK_HOLD, TOK_REST, TOK_UNKNOWN
from composer.errors import ModelError
from composer.runtime import layout, native
from composer.runtime.bundle import Bundle
from composer.runtime.settings import SamplingSettings
from composer.runtime.state import SamplerState
from composer.score import SATB, VOICE_RANGES, Key


class Tables:
    """The bundle's weights rearranged for the kernels (float32, C-contiguous)."""

    def __init__(self, bundle: Bundle):
        w = bundle.weights
        cfg = bundle.model
        self.layers, self.hidden, embed = cfg["layers"], cfg["hidden"], cfg["embed"]
        self.look_size = cfg["lookahead"]
        self.vocab = cfg["vocab"]
        g = 4 * self.hidden
        c = np.ascontiguousarray
        w_ih0 = w["lstm.weight_ih_l0"]  # (G, E + L)
        w_x = w_ih0[:, :embed]
        bias0 = w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"]
        self.T_tok = c(w["tok_emb.weight"] @ w_x.T + bias0)  # (V, G)
        self.T_slot = c(w["slot_emb.weight"] @ w_x.T)
        self.T_pos = c(w["pos_emb.weight"] @ w_x.T)
        self.T_ferm = c(w["ferm_emb.weight"] @ w_x.T)
        self.T_key = c(w["key_emb.weight"] @ w_x.T)
        self.plan = bool(cfg.get("plan"))  # steps to the next fermata and to the end
        if self.plan:
            self.T_phrase = c(w["phrase_emb.weight"] @ w_x.T)
            self.T_end = c(w["end_emb.weight"] @ w_x.T)
        self.T_ctx = (
            c(w["ctx_emb.weight"] @ w_x.T) if cfg.get("context") else np.zeros((1, g), np.float32)
        )
        self.ctx_mode = (
            layout.CTX_NONE
            if not cfg.get("context")
            else layout.CTX_SOUNDING
            if cfg.get("context_voices")
            else layout.CTX_GIVEN
        )
        # layer 1: recurrent weights only (its input weights are in the tables above);
        # layers 2+: input and recurrent weights side by side, for [h below | h own]
        self.W_first = c(w["lstm.weight_hh_l0"])
        up = [np.concatenate([w[f"lstm.weight_ih_l{k}"], w[f"lstm.weight_hh_l{k}"]], axis=1)
              for k in range(1, self.layers)]  # fmt: skip
        self.W_up = c(np.stack(up)) if up else np.zeros((1, g, 2 * self.hidden), np.float32)
        # the same weights packed in panels for the products (layout.pack_panels); none when the
        # gate rows do not split into pairs of panels (the products then read W_first, W_up)
        packable = g % (2 * layout.ROWS) == 0
        if packable:
            self.P_first = layout.pack_panels(self.W_first)
            self.P_up = c(np.stack([layout.pack_panels(m) for m in self.W_up]))
        else:
            self.P_first = np.zeros((0, 1, layout.ROWS), np.float32)
            self.P_up = np.zeros((len(self.W_up), 0, 1, layout.ROWS), np.float32)
        b_up = [w[f"lstm.bias_ih_l{k}"] + w[f"lstm.bias_hh_l{k}"] for k in range(1, self.layers)]
        self.b_up = c(np.stack(b_up)) if b_up else np.zeros((1, g), np.float32)
        # the output layer padded to a multiple of 8 rows (zero weights; the extra tokens are
        # never allowed), so batches use the blocked products there too
        head, bias = w["head.weight"], w["head.bias"]
        pad = -len(head) % 8
        self.head_W = c(np.vstack([head, np.zeros((pad, head.shape[1]), np.float32)]))
        self.head_b = c(np.concatenate([bias, np.zeros(pad, np.float32)]))
        if self.look_size:
            w_b = w["back.weight_ih_l0"]  # (4L, E)
            bias_b = w["back.bias_ih_l0"] + w["back.bias_hh_l0"]
            self.Tb_fix = c(w["fix_emb.weight"] @ w_b.T)  # (4 * vocab, 4L)
            self.Tb_pos = c(w["pos_emb.weight"] @ w_b.T + bias_b)
            self.Wb_hh = c(w["back.weight_hh_l0"])
            self.W_look = c(w_ih0[:, embed:].T)  # (L, G)
        # the repeat match (runtime.repeats): its input rows and the trust in it
        self.repeat = bool(cfg.get("repeat"))
        if self.repeat and cfg["encoding"] != "satb":
            raise ModelError(
                f"{bundle.path}: the kernels compute the repeat match of SATB steps only; "
                f"evaluate this {cfg['encoding']} model with torch (composer evaluate)"
            )
        if self.repeat:
            self.T_rep = c(w["repeat_emb.weight"] @ w_x.T)
            self.rep_W = c(w["repeat_gate.weight"])
            self.rep_b = c(w["repeat_gate.bias"])
        else:
            self.T_rep = np.zeros((1, g), np.float32)
            self.rep_W = np.zeros((1, self.hidden), np.float32)
            self.rep_b = np.zeros(1, np.float32)
        lo = [VOICE_RANGES[n][0] for n in SATB] + [0]
        hi = [VOICE_RANGES[n][1] for n in SATB] + [N_PITCH - 1]
        self.range_lo = np.array(lo, np.int64)
        self.range_hi = np.array(hi, np.int64)
        self._pack_voice_outputs(head)
        # what the kernels take in place of the arrays a call does not use
        self.no_ctx = np.zeros((1, 1, 1), np.int64)
        self.no_logits = np.zeros((1, 1, 1), np.float32)
        self.no_weight = np.zeros(1, np.float64)
        self.weights = layout.Weights(
            self.ctx_mode,
            self.T_tok,
            self.T_ctx,
            self.W_first,
            self.W_up,
            self.P_first,
            self.P_up,
            self.b_up,
            self.head_W,
            self.head_b,
            self.P_out,
            self.out_rows,
            self.out_first,
            self.out_count,
            self.repeat,
            self.T_rep,
            self.rep_W,
            self.rep_b,
        )

    def _pack_voice_outputs(self, head: np.ndarray) -> None:
        """Each SATB voice's output rows (its range, HOLD, REST) packed in panels of their own
        (kernels.voice_logits): P_out, with out_rows the token of each packed row (-1: padding)
        and out_first / out_count the panels of slot s (count 0: the JSB slot, whole layer)."""
        rows, first, count = [], [], []
        for s in range(len(SATB)):
            tokens = [*range(self.range_lo[s], self.range_hi[s] + 1), TOK_HOLD, TOK_REST]
            tokens += [-1] * (-len(tokens) % layout.ROWS)
            first.append(len(rows) // layout.ROWS)
            count.append(len(tokens) // layout.ROWS)
            rows += tokens
        self.out_rows = np.array(rows, np.int64)
        padded = np.where(self.out_rows[:, None] >= 0, head[np.maximum(self.out_rows, 0)], 0.0)
        self.P_out = layout.pack_panels(padded.astype(np.float32))
        self.out_first = np.array([*first, 0], np.int64)
        self.out_count = np.array([*count, 0], np.int64)

    def conditioning(
        self, slot, pos, ferm, key, forced=None, to_fermata=None, to_end=None
    ) -> np.ndarray:
        """float32[N, G]: each position's conditioning rows summed, once per plan: voice, bar
        position, fermata and key; for a model with ``plan``, the steps to the next fermata and
        to the end (encoding.plan_conditioning; required then); plus the lookahead over
        ``forced`` (the fixed tokens, -1 where free) when it is given and the model has one."""
        cond = np.empty((len(slot), self.T_slot.shape[1]), np.float32)
        i64 = [np.ascontiguousarray(a, np.int64) for a in (slot, pos, ferm, key)]
        native.conditioning_rows(
            self.T_slot, i64[0], self.T_pos, i64[1], self.T_ferm, i64[2], self.T_key, i64[3], cond
        )
        if self.plan:
            if to_fermata is None or to_end is None:
                raise ValueError("this model needs the steps to the next fermata and to the end")
            cond += self.T_phrase[np.asarray(to_fermata, np.int64)]
            cond += self.T_end[np.asarray(to_end, np.int64)]
        if forced is not None and self.look_size:
            fixed = np.where(forced >= 0, forced, TOK_UNKNOWN).astype(np.int64).reshape(-1, 4)
            out_h = np.zeros((len(fixed), self.look_size), np.float32)
            step_pos = np.ascontiguousarray(pos[::4])
            native.backward_lookahead(
                fixed, step_pos, self.vocab, self.Tb_fix, self.Tb_pos, self.Wb_hh, out_h
            )
            cond += np.repeat(out_h @ self.W_look, 4, axis=0)  # each token sees its step
        return np.ascontiguousarray(cond, dtype=np.float32)

    def new_state(self, batch: int, seed: int | np.ndarray) -> SamplerState:
        """``batch`` sequences before their first token; seed: an int, or one uint64 per
        sequence."""
        return SamplerState.start(self.layers, self.hidden, batch, seed)

    def pitch_filter(self, key: Key | None) -> np.ndarray:
        """bool[128]: the pitches of ``key``'s scale (every pitch without a key)."""
        ok = np.ones(N_PITCH, dtype=bool)
        if key is not None:
            scale = key.scale()
            ok = np.array([p % 12 in scale for p in range(N_PITCH)], dtype=bool)
        return ok

    def draw(self, settings: SamplingSettings, key: Key | None = None) -> layout.Draw:
        """How the kernels draw tokens under ``settings``: the voices' ranges, the voice-leading
        rules, temperatures, top-k and top-p, and the pitches of ``key``'s scale only when
        settings.in_key."""
        return layout.Draw(
            self.range_lo,
            self.range_hi,
            int(settings.rules()),
            self.pitch_filter(key if settings.in_key else None),
            settings.temperatures(),
            int(settings.top_k),
            np.float32(settings.top_p),
        )

    def inputs(
        self,
        slot: np.ndarray,
        cond: np.ndarray,
        forced: np.ndarray,
        out_forced: np.ndarray,
        ctx: np.ndarray | None = None,
        history: bool = True,
    ) -> layout.Inputs:
        """The positions of a plan for the kernels: slot int64[N], cond float32[N, G]
        (conditioning), forced int64[N] and out_forced int64[B, N] (the tokens given to every
        sequence and to each, -1 where drawn), ctx int64[B, N, 4] (context pitches, for a model
        that reads them as given: JSB). history: the ``out`` given to ``step`` holds each
        sequence's past before ``start`` (a plan); False for an endless stream, whose ``out``
        is a ring: the repeat match then finds nothing, as the model learned for streams."""
        ctx = self.no_ctx if ctx is None else ctx
        return layout.Inputs(slot, cond, ctx, forced, out_forced, history)

    def step(
        self,
        state: SamplerState,
        start: int,
        stop: int,
        inputs: layout.Inputs,
        draw: layout.Draw,
        out: np.ndarray,
        logits: np.ndarray | None = None,
        log_weight: np.ndarray | None = None,
    ) -> None:
        """Run positions [start, stop) through the kernels (see kernels.run_positions), writing
        every token to ``out`` (int64[B, N]); with ``logits`` (float32[B, N, V8]) keep the
        output layer's logits at every position; with ``log_weight`` (float64[B]) add each
        sequence's log-probability of the forced tokens."""
        outputs = layout.Outputs(
            out,
            self.no_logits if logits is None else logits,
            logits is not None,
            self.no_weight if log_weight is None else log_weight,
            log_weight is not None,
        )
        native.run_positions(
            state.kernel_arrays(), start, stop, inputs, self.weights, draw, outputs
        )
