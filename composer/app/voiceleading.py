"""Where the voice-leading faults are, for marking them on the roll.

composer/reports/metrics.py counts faults per piece; the roll needs their locations, so these small
pure functions find them. (They belong in composer/reports/metrics.py; see the GUI report.)

Units: steps are 16th notes; pitches are MIDI numbers; voices 0 (soprano) .. 3 (bass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from composer.score import VOICE_RANGES, Score


@dataclass(frozen=True)
class Parallel:
    """Parallel fifths or octaves: voices ``upper`` and ``lower`` move from the chord at step
    ``before`` to the chord at step ``step`` in the same direction, both a perfect fifth (or
    both an octave/unison, compound intervals included) apart."""

    before: int
    step: int
    upper: int
    lower: int
    kind: str  # "fifths" or "octaves"


@dataclass(frozen=True)
class OutOfRange:
    """A note of ``voice`` at step ``start`` whose MIDI ``pitch`` is outside the voice's range."""

    voice: int
    start: int
    pitch: int


def parallels(score: Score) -> list[Parallel]:
    """Every parallel fifth and octave between any two voices, in time order.

    Same definition as composer.reports.metrics (consecutive chord onsets of the whole texture, both
    voices sounding at both and moving the same way, |interval| mod 12 equal to 7 or 0 at
    both), so ``len(parallels(s))`` equals ``measure(s).parallel_fifths + parallel_octaves``.
    """
    pitch = score.pitch_grid().astype(np.int32)  # (T, V), REST = -1
    sounding = pitch >= 0
    onsets = np.flatnonzero((score.grid >= 0).any(axis=1))
    out: list[Parallel] = []
    if len(onsets) < 2:
        return out
    a, b = pitch[onsets[:-1]], pitch[onsets[1:]]  # (N, V): consecutive chord onsets
    ok = sounding[onsets[:-1]] & sounding[onsets[1:]]
    move = np.sign(b - a)
    for i in range(score.voices):
        for j in range(i + 1, score.voices):
            same = ok[:, i] & ok[:, j] & (move[:, i] != 0) & (move[:, i] == move[:, j])
            before = np.abs(a[:, i] - a[:, j]) % 12
            after = np.abs(b[:, i] - b[:, j]) % 12
            for n in np.flatnonzero(same & (before == after) & ((before == 7) | (before == 0))):
                kind = "fifths" if before[n] == 7 else "octaves"
                out.append(Parallel(int(onsets[n]), int(onsets[n + 1]), i, j, kind))
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
