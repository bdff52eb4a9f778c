"""Passing and neighbour notes, counted in candidates while they are being written (numpy only).

Bach's chorales move in passing notes: of his off-beat non-chord tones 78% pass from one chord
tone to the next by step, 14% are neighbour notes (out by step and back). The model alone
writes far fewer passing notes (45% of its off-beat non-chord tones, and about a quarter of
Bach's passing notes per 100 notes) and neighbour notes instead (34%); weighting their loss in
training made every kind of non-chord tone busier at once. So the particle filter
(composer.runtime.particles) weighs them: a candidate gains ``PASSING_REWARD`` nats for each
passing note it completes and loses as much for each neighbour note, and the filter keeps the
candidates whose voices pass through.

Pitches: int[B, T, 4] as in ``theory.cadence`` (S, A, T, B; -1 silent), for a batch of
candidates; struck: bool[B, T, 4], True where a voice strikes a note; beats: bool[T].
"""

from __future__ import annotations

import numpy as np

PASSING_REWARD = 1.0  # nats for each passing note, and against each neighbour note
SHORT = 2  # steps: a passing or neighbour note lasts an eighth at most


def passing_balance(
    pitches: np.ndarray, struck: np.ndarray, first: int, stop: int, beats: np.ndarray
) -> np.ndarray:
    """int64[B]: the passing notes each candidate completes at steps [first, stop), less its
    neighbour notes. Both are struck off the beat, last an eighth at most, and are reached by
    step (a semitone or a tone) from the note before; a passing note is left by step in the
    same direction, a neighbour note by step back. Counted where the note after it is struck."""
    total = np.zeros(len(pitches), np.int64)
    t = np.arange(max(first, 2), stop)
    if not len(t):
        return total
    after, struck_after = pitches[:, t], struck[:, t]  # (B, L, 4): the note after, struck at t
    for length in range(1, SHORT + 1):
        mid = np.maximum(t - length, 1)  # where the passing or neighbour note was struck
        note, before = pitches[:, mid], pitches[:, mid - 1]
        ok = struck_after & struck[:, mid] & ((t - length >= 1) & ~beats[mid])[None, :, None]
        if length > 1:
            ok &= ~struck[:, t - 1]  # held to t, not struck again on the way
        ok &= (before >= 0) & (note >= 0) & (after >= 0)
        up, on = note - before, after - note
        ok &= (np.abs(up) >= 1) & (np.abs(up) <= 2) & (np.abs(on) >= 1) & (np.abs(on) <= 2)
        total += np.where(ok, np.where((up > 0) == (on > 0), 1, -1), 0).sum(axis=(1, 2))
    return total
