"""Voice leading between two voices, written once: how each pair of voices moves from one chord
onset to the next, the parallel (and contrary) fifths and octaves that makes, and the notes out
of a voice's range.

Used by composer.reports.metrics (the counts of a report), composer.theory.harmony (fifths and
octaves by contrary motion) and the app (the faults marked on the roll). The sampler's mask
(composer.runtime.kernels.voice_mask, RULE_NO_PARALLELS) keeps a compiled copy of
``parallel``'s rule (and of ``contrary``'s, RULE_NO_CONTRARY); tests/test_kernels.py holds
them equal.

Definitions (steps are 16th notes; pitches MIDI numbers; voices 0 = soprano .. 3 = bass):

- chord onsets: steps where at least one voice starts a note.
- a voice-pair move: a pair of voices at two consecutive chord onsets, both sounding at both
  (HOLD resolved, not a rest) and both changing pitch.
- parallel fifths / octaves: a move in the same direction with the interval between the voices
  a perfect fifth (7 semitones modulo 12: 5ths, 12ths, ...) at both onsets, or a unison or
  octave (0 modulo 12) at both; contrary fifths / octaves: the same in opposite directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from composer.score import VOICE_RANGES, Score

Perfect = Literal["fifths", "octaves"]
PERFECT: dict[int, Perfect] = {7: "fifths", 0: "octaves"}  # interval modulo 12 -> name


def parallel(upper: tuple[int, int], lower: tuple[int, int]) -> Perfect | None:
    """The parallels two voices make moving from pitches (upper[0], lower[0]) to (upper[1],
    lower[1]): 'fifths' or 'octaves', or None. Pitches are MIDI numbers, -1 for a rest."""
    (u0, u1), (l0, l1) = upper, lower
    if min(u0, u1, l0, l1) < 0 or u0 == u1 or l0 == l1 or (u1 > u0) != (l1 > l0):
        return None
    before, after = abs(u0 - l0) % 12, abs(u1 - l1) % 12
    return PERFECT.get(before) if before == after else None


def contrary(upper: tuple[int, int], lower: tuple[int, int]) -> Perfect | None:
    """The fifths or octaves by contrary motion two voices make moving from (upper[0],
    lower[0]) to (upper[1], lower[1]): 'fifths' or 'octaves', or None (-1: a rest)."""
    (u0, u1), (l0, l1) = upper, lower
    if min(u0, u1, l0, l1) < 0 or u0 == u1 or l0 == l1 or (u1 > u0) == (l1 > l0):
        return None
    before, after = abs(u0 - l0) % 12, abs(u1 - l1) % 12
    return PERFECT.get(before) if before == after else None


@dataclass(frozen=True)
class PairMotion:
    """How voices ``upper`` and ``lower`` (upper < lower) move between consecutive chord onsets.

    Index n of each array is the move from chord onset ``onsets[n]`` to ``onsets[n + 1]``:
    moves: bool[N], a voice-pair move (both sounding at both, both changing pitch); direction:
    int[N], +1 both the same way, -1 opposite ways, 0 not a move; before, after: int[N], the
    interval between the two voices modulo 12 at each onset.
    """

    upper: int
    lower: int
    onsets: np.ndarray
    moves: np.ndarray
    direction: np.ndarray
    before: np.ndarray
    after: np.ndarray

    def perfect(self, kind: Perfect, direction: int = 1) -> np.ndarray:
        """bool[N]: moves that keep a perfect fifth or octave (``kind``), in the same direction
        (``direction`` 1: parallel) or opposite ones (-1: contrary)."""
        interval = 7 if kind == "fifths" else 0
        return (self.direction == direction) & (self.before == interval) & (self.after == interval)


def pair_motions(score: Score) -> list[PairMotion]:
    """The motion of every pair of voices (i < j, in order) between consecutive chord onsets;
    empty with fewer than two onsets."""
    onsets = np.flatnonzero((score.grid >= 0).any(axis=1))
    if len(onsets) < 2:
        return []
    pitch = score.pitch_grid().astype(np.int32)  # (T, V), REST = -1
    a, b = pitch[onsets[:-1]], pitch[onsets[1:]]  # (N, V): consecutive chord onsets
    ok = (a >= 0) & (b >= 0)
    step = np.sign(b - a)  # (N, V): -1 down, 0 stays, +1 up
    out = []
    for i in range(score.voices):
        for j in range(i + 1, score.voices):
            moves = ok[:, i] & ok[:, j] & (step[:, i] != 0) & (step[:, j] != 0)
            direction = np.where(moves, step[:, i] * step[:, j], 0)
            before = np.abs(a[:, i] - a[:, j]) % 12
            after = np.abs(b[:, i] - b[:, j]) % 12
            out.append(PairMotion(i, j, onsets, moves, direction, before, after))
    return out


@dataclass(frozen=True)
class Parallel:
    """Parallel fifths or octaves: voices ``upper`` and ``lower`` move from the chord at step
    ``before`` to the chord at step ``step`` in the same direction, both a perfect fifth (or
    both an octave/unison, compound intervals included) apart."""

    before: int
    step: int
    upper: int
    lower: int
    kind: Perfect


@dataclass(frozen=True)
class OutOfRange:
    """A note of ``voice`` at step ``start`` whose MIDI ``pitch`` is outside the voice's range."""

    voice: int
    start: int
    pitch: int


def parallels(score: Score) -> list[Parallel]:
    """Every parallel fifth and octave between any two voices, in time order (then by voices):
    ``len(parallels(s))`` equals ``measure(s).parallel_fifths + parallel_octaves``."""
    out = []
    for m in pair_motions(score):
        for kind in ("fifths", "octaves"):
            for n in np.flatnonzero(m.perfect(kind)):
                out.append(Parallel(int(m.onsets[n]), int(m.onsets[n + 1]), m.upper, m.lower, kind))
    out.sort(key=lambda p: (p.step, p.upper, p.lower))
    return out


def out_of_range(score: Score) -> list[OutOfRange]:
    """Notes outside the comfortable range of their voice (composer.score.VOICE_RANGES)."""
    out = []
    for v in range(score.voices):
        name = score.voice_names[v]
        if name not in VOICE_RANGES:
            continue
        lo, hi = VOICE_RANGES[name]
        out.extend(OutOfRange(v, n.start, n.pitch) for n in score.notes(v)
                   if not lo <= n.pitch <= hi)  # fmt: skip
    return out
