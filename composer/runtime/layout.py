"""What the sampler's kernels take and share with Python, with no numba: the typed groups of
arrays a call passes (State, Inputs, Weights, Draw, Outputs), the constants both sides read
(how context rows are found, the voice-leading rules' bits) and how weights are packed in panels
for the products.

Apart from composer/runtime/kernels.py (numba, compiled on first use or loaded from its cache),
so that a process running the ahead-of-time kernels (composer/runtime/native.py) never imports
numba. kernels.py imports these names and compiles them into its kernels: numba's cache of a
kernel is only invalidated by changes to the file that defines it, so after changing a constant
here, touch kernels.py (the ahead-of-time build's key covers this file).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ROWS = 32  # weight rows per panel: two vectors of 16 floats (kernels.panel_product)

CTX_NONE = 0  # no context
CTX_GIVEN = 1  # context pitches read from ``ctx`` (JSB: the previous frame)
CTX_SOUNDING = 2  # each voice's sounding pitch, voice k's pitch p at table row k * 128 + p


RULE_NO_CROSSING = 1  # a voice never sounds above the voice over it
RULE_NO_PARALLELS = 2  # no consecutive perfect fifths, octaves or unisons between two voices
RULE_CLOSE_SPACING = 4  # soprano-alto and alto-tenor within an octave
RULE_NO_CONTRARY = 8  # with RULE_NO_PARALLELS: no fifths or octaves by contrary motion either


def pack_panels(W: np.ndarray) -> np.ndarray:
    """W [R, K], R a multiple of ROWS, as panels P [R / ROWS, K, ROWS]:
    P[p, i, r] = W[p * ROWS + r, i]."""
    rows, k = W.shape
    if rows % ROWS:
        raise ValueError(f"{rows} rows do not split into panels of {ROWS}")
    return np.ascontiguousarray(W.reshape(rows // ROWS, ROWS, k).transpose(0, 2, 1), np.float32)


class State(NamedTuple):
    """B sequences between calls, updated in place (runtime.state.SamplerState's arrays)."""

    prev: np.ndarray  # int64[B]: each sequence's last token
    h: np.ndarray  # float32[L, B, H]: each layer's hidden state
    c: np.ndarray  # float32[L, B, H]: each layer's cell state
    rng: np.ndarray  # uint64[B]: each sequence's random state (splitmix64)
    sounding: np.ndarray  # int64[B, 4]: the pitch sounding in each voice, or -1
    before: np.ndarray  # int64[B, 4]: what sounded at the end of the previous step


class Inputs(NamedTuple):
    """What the N token positions of a plan are, and which tokens are given."""

    slot: np.ndarray  # int64[N]: voice (or JSB frame slot) of each position
    cond: np.ndarray  # float32[N, G]: each position's conditioning rows summed
    ctx: np.ndarray  # int64[B, N, 4]: context pitches (CTX_GIVEN), else [1, 1, 1]
    forced: np.ndarray  # int64[N]: the token at each position for every sequence, or -1
    out_forced: np.ndarray  # int64[B, N]: the token at each position per sequence, or -1
    history: bool  # the outputs' tokens before each call hold the sequences' past (a plan, not
    # an endless stream): the repeat match reads it; without, nothing matches


class Weights(NamedTuple):
    """The model, as Tables lays it out (composer/runtime/tables.py)."""

    ctx_mode: int  # CTX_*: how the context rows are read
    T_tok: np.ndarray  # float32[V, G]: layer 1's input gates per previous token (biases in)
    T_ctx: np.ndarray  # float32[rows, G]: per context pitch (CTX_SOUNDING: voice k at k * 128)
    W_first: np.ndarray  # float32[G, H]: layer 1's recurrent weights
    W_up: np.ndarray  # float32[L - 1, G, 2H]: layers 2+, input and recurrent side by side
    P_first: np.ndarray  # W_first packed in panels (pack_panels), or empty
    P_up: np.ndarray  # W_up packed in panels, or empty
    b_up: np.ndarray  # float32[L - 1, G]: layers 2+'s biases
    head_W: np.ndarray  # float32[V8, H]: the output layer, padded to a multiple of 8 rows
    head_b: np.ndarray  # float32[V8]
    P_out: np.ndarray  # each voice's output rows packed in panels of their own (voice_logits)
    out_rows: np.ndarray  # int64[panels * ROWS]: the token of each packed row, -1: padding
    out_first: np.ndarray  # int64[5]: voice s's first panel in P_out
    out_count: np.ndarray  # int64[5]: how many (0: the JSB slot, the whole output layer)
    repeat: bool  # the model reads the repeat match (composer.runtime.repeats)
    T_rep: np.ndarray  # float32[N_MATCH * V, G]: layer 1's input gates per match row, or [1, G]
    rep_W: np.ndarray  # float32[N_MATCH, H]: the trust in the match, per length bucket
    rep_b: np.ndarray  # float32[N_MATCH]


class Draw(NamedTuple):
    """How a token is drawn: the masks and the sampling settings."""

    range_lo: np.ndarray  # int64[5]: lowest pitch per slot
    range_hi: np.ndarray  # int64[5]: highest pitch per slot
    rules: int  # RULE_* bits
    pitch_ok: np.ndarray  # bool[128]: the key filter
    temperature: np.ndarray  # float32[5]: per slot
    top_k: int  # 0: all
    top_p: np.float32  # 1: all


class Outputs(NamedTuple):
    """Where run_positions writes."""

    tokens: np.ndarray  # int64[B, N]: every token, forced or drawn
    logits: np.ndarray  # float32[B, N, V8] when keep_logits, else [1, 1, 1]
    keep_logits: bool
    log_weight: np.ndarray  # float64[B] when weigh, else [1]
    weigh: bool


class Teacher(NamedTuple):
    """theory.counterpoint's tables for a key, as arrays indexed by interval (semitones)."""

    dissonant: np.ndarray  # bool[12]: above the bass, a second or seventh (or compound)
    falling: np.ndarray  # bool[12]: struck on a beat, these fall by step
    awkward_bass: np.ndarray  # bool[13]: bass leaps of 0-12 semitones that are faults
    altered: np.ndarray  # bool[12]: pc a and a + 1 above the tonic spell one letter two ways
    tonic: int  # pc 0-11; -1: no key (no leading tone, no clashes)
    lowest: np.ndarray  # int64[2]: the lowest soprano and alto a beat may have (MIDI pitch)
    clash_weight: int  # faults a chromatic clash counts as
    sevenths: np.ndarray  # int64[k]: the seventh chords, as bit masks of pcs above the root
    six_fours: np.ndarray  # int64[k]: the six-four chords, as bit masks of pcs above the bass
