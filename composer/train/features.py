"""Richer inputs for the JSB benchmark models, each from earlier tokens only (the benchmarks'
figures stay exact autoregressive likelihoods). The 16th-note model reads both; the
quarter-note model the repeat match, frame by frame (``frame_repeat_match``).

- ``held_steps``: how long each voice's sounding pitch (or silence) has lasted, in 16ths. The
  data cannot tell a held note from a repeated one, so most tokens repeat the one before; when a
  voice moves depends on how long it has held.
- ``repeat_match``: what the piece's own past predicts. Chorales repeat whole phrases (the first
  two of a bar form, written out); at each token, the longest run of earlier steps that matches
  the steps just written, at the same beat phase, and the token that followed it there. An
  LSTM cannot copy a phrase from 30 bars back; this hands it the copy and how long the match
  is, and the model learns how far to trust it.

Token (t, v) is step t's voice v in S-A-T-B raster order: voices above v are already written at
step t, the others are known up to step t - 1.
"""

from __future__ import annotations

import numpy as np

from composer.encoding import N_HELD, N_MATCH, SATB_VOICES, TOK_UNKNOWN, VOCAB

MAX_HELD = N_HELD - 1  # held_steps caps at a whole bar of 16ths
# repeat_match's length buckets, in steps: none, 1-3, 4-7, 8-15, 16-31, 32-63, 64 and more
MATCH_EDGES = np.array([1, 4, 8, 16, 32, 64])
assert len(MATCH_EDGES) + 1 == N_MATCH


def held_steps(tokens: np.ndarray) -> np.ndarray:
    """int64[T * 4, 4]: at each token, for each voice, the steps its sounding value has lasted
    (1..MAX_HELD; 0 before the first step). ``tokens``: (T, 4) step-major."""
    tokens = np.asarray(tokens).reshape(-1, SATB_VOICES)
    steps = len(tokens)
    run = np.ones((steps, SATB_VOICES), np.int64)  # run[t, k]: steps ending at t with t's value
    for t in range(1, steps):
        run[t] = np.where(tokens[t] == tokens[t - 1], np.minimum(run[t - 1] + 1, MAX_HELD), 1)
    before = np.vstack([np.zeros((1, SATB_VOICES), np.int64), run[:-1]])
    out = np.empty((steps, SATB_VOICES, SATB_VOICES), np.int64)
    for v in range(SATB_VOICES):  # voices above v: written at t; the others: up to t - 1
        out[:, v, :v] = run[:, :v]
        out[:, v, v:] = before[:, v:]
    return out.reshape(-1, SATB_VOICES)


def repeat_match(tokens: np.ndarray) -> np.ndarray:
    """int64[T * 4]: at each token of 16th steps ((T, 4) step-major), ``bucket * VOCAB +
    predicted token`` (bucket 0 and TOK_UNKNOWN where nothing matches), for an embedding table
    of N_MATCH * VOCAB rows.

    For token (t, v): among earlier steps j at the same beat phase (t - j a multiple of 4) whose
    voices above v equal step t's, the one after the longest run of steps equal to the steps
    before t (the latest on a tie); it predicts step j's voice v.
    """
    steps = np.asarray(tokens, np.int64).reshape(-1, SATB_VOICES)
    return frame_repeat_match([tuple(s) for s in steps.tolist()], period=4)


def frame_repeat_match(frames: list[tuple], period: int = 1) -> np.ndarray:
    """``repeat_match`` for frames of any length (JSB quarter-note frames: pitches high to low,
    then END): int64[total tokens], frame after frame. Token i of frame t is predicted by token
    i of the earlier frame j (t - j a multiple of ``period``) whose first i tokens equal frame
    t's, after the longest run of frames equal to those before t."""
    count = len(frames)
    ids: dict[tuple, int] = {}
    frame_id = np.array([ids.setdefault(f, len(ids)) for f in frames], np.int64)
    equal = frame_id[:, None] == frame_id[None, :]
    run = np.zeros((count, count), np.int64)  # run[t, j]: equal frames ending at t-1 and j-1
    for t in range(1, count):
        run[t, 1:] = np.where(equal[t - 1, :-1], run[t - 1, :-1] + 1, 0)
    t_idx = np.arange(count)[:, None]
    j_idx = np.arange(count)[None, :]
    usable = (j_idx < t_idx) & ((t_idx - j_idx) % period == 0) & (run > 0)
    rows = np.arange(count)
    out = [np.empty(len(f), np.int64) for f in frames]
    for i in range(max(len(f) for f in frames)):
        prefixes: dict[tuple, int] = {}
        prefix = np.array([prefixes.setdefault(f[:i], len(prefixes)) if len(f) > i else -1
                           for f in frames])  # fmt: skip
        has = prefix >= 0
        same = (prefix[:, None] == prefix[None, :]) & has[None, :]
        score = np.where(usable & same, run * (count + 1) + j_idx, -1)
        best = score.argmax(axis=1)
        found = score[rows, best] >= 0
        bucket = np.where(found, np.searchsorted(MATCH_EDGES, run[rows, best], side="right"), 0)
        for t in np.flatnonzero(has):
            pred = frames[best[t]][i] if found[t] else TOK_UNKNOWN
            out[t][i] = bucket[t] * VOCAB + pred
    return np.concatenate(out) if out else np.empty(0, np.int64)
