"""The repeat match in the kernels: what a sequence's own past predicts at each token, exactly
as composer.train.features.repeat_match computes it for training (tests/test_repeats.py).

For token (t, v) (step t, voice v): among earlier steps j = t - 4m (the same beat phase) whose
voices above v equal step t's, the one after the longest run of steps equal to the steps before
t, the latest on a tie; it predicts step j's voice v. ``runs[b, m]`` holds that run for offset m
at the present step: computed from the tokens written so far when a kernel call starts (the
particle filter may have replaced a sequence's past between calls), then advanced step by step.

Helpers without signatures: numba compiles them into run_positions.
"""

from __future__ import annotations

from numba import njit

from composer.encoding import N_MATCH, TOK_UNKNOWN

# the match's length buckets (train.features.MATCH_EDGES): 1-3, 4-7, 8-15, 16-31, 32-63, 64+
EDGES = (1, 4, 8, 16, 32, 64)
assert len(EDGES) + 1 == N_MATCH
_OPTS = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")


@njit(**_OPTS)
def _steps_equal(tokens, b, t1, t2):
    for u in range(4):
        if tokens[b, t1 * 4 + u] != tokens[b, t2 * 4 + u]:
            return False
    return True


@njit(**_OPTS)
def start_runs(tokens, b, t, runs):
    """runs[b] for step t from sequence b's tokens (int64[B, N], steps before t written)."""
    runs[b, :] = 0
    m = 1
    while 4 * m <= t - 1:  # j = t - 4m >= 1: a step before j to match
        j = t - 4 * m
        k = 0
        while j - 1 - k >= 0 and _steps_equal(tokens, b, t - 1 - k, j - 1 - k):
            k += 1
        runs[b, m] = k
        m += 1


@njit(**_OPTS)
def advance_runs(tokens, b, t, runs):
    """runs[b] for step t from those for step t - 1 (step t - 1 now written)."""
    m = 1
    while 4 * m <= t - 1:
        if _steps_equal(tokens, b, t - 1, t - 1 - 4 * m):
            runs[b, m] += 1
        else:
            runs[b, m] = 0
        m += 1


@njit(**_OPTS)
def match_row(tokens, b, i, runs, vocab):
    """The repeat-match row of token position i of sequence b: ``bucket * vocab + predicted
    token``, or TOK_UNKNOWN (bucket 0) where nothing matches."""
    t = i // 4
    v = i - 4 * t
    best_m = -1
    best_run = 0
    m = 1
    while 4 * m <= t - 1:
        r = runs[b, m]
        if r > best_run:  # strictly longer: on a tie the smaller m (the latest step) stays
            j = t - 4 * m
            same = True
            for u in range(v):
                if tokens[b, j * 4 + u] != tokens[b, t * 4 + u]:
                    same = False
                    break
            if same:
                best_run = r
                best_m = m
        m += 1
    if best_m < 0:
        return TOK_UNKNOWN
    bucket = 0
    for edge in EDGES:
        if best_run >= edge:
            bucket += 1
    return bucket * vocab + tokens[b, (t - 4 * best_m) * 4 + v]
