"""Voice-leading figures of Scores (numpy only): how Bach-like does a piece move?

``measure(score) -> Metrics`` counts; ``aggregate(scores)`` sums the counts of many pieces, so
every rate of a set is computed from total counts (not an average of per-piece rates).

Definitions (steps are 16th steps; "sounding" = a pitch, not a rest, HOLD resolved):

- chord onsets: steps where at least one voice starts a note.
- voice-pair move: for a pair of voices (all 6 pairs of SATB) and two consecutive chord onsets,
  both voices sound at both onsets and both change pitch.
- parallel fifth / octave: a voice-pair move where both voices move in the same direction and
  the interval between them is a perfect fifth (7 semitones modulo 12: 5ths, 12ths, ...) at
  both onsets, or a unison/octave (0 modulo 12) at both onsets. Reported per 100 moves. (These
  two are composer.theory.voiceleading's, shared with the app and the harmony figures.)
- crossing: a (step, adjacent pair) where both sound and the lower voice is strictly above the
  upper one, as a percentage of (step, adjacent pair) with both sounding.
- crossed chords: chord onsets where some adjacent pair is crossed, as a percentage of chord
  onsets (a coarser view of crossing, per chord rather than per 16th and pair).
- wide spacing: a step where soprano-alto or alto-tenor are more than an octave (12 semitones)
  apart, as a percentage of steps where at least one of those pairs sounds.
- out of range: notes outside ``composer.score.VOICE_RANGES`` of their voice name.
- in key: notes whose pitch class is in ``Key.scale()`` (pieces without a key are left out).
- pitch-class histogram: notes by pitch class relative to the key's tonic (0 = tonic), 12 bins.
- note-length histogram: notes by length in 16ths, bin i = i + 1 sixteenths, the last bin
  ``LENGTH_BINS`` or more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np

from composer.score import VOICE_RANGES, Score
from composer.theory.voiceleading import pair_motions

LENGTH_BINS = 16

# (attribute, label, unit) of the figures a report shows, in order.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("parallels_per_100", "parallel 5ths/8ves per 100 voice-pair moves", ""),
    ("parallel_fifths_per_100", "parallel 5ths per 100 voice-pair moves", ""),
    ("parallel_octaves_per_100", "parallel 8ves/unisons per 100 voice-pair moves", ""),
    ("crossing_pct", "voice crossing (% of step x adjacent pair)", "%"),
    ("crossed_onsets_pct", "chord onsets with a voice crossing (%)", "%"),
    ("wide_spacing_pct", "S-A or A-T wider than an octave (% of steps)", "%"),
    ("out_of_range_pct", "notes out of voice range (%)", "%"),
    ("in_key_pct", "notes in the key's scale (%)", "%"),
    ("mean_note_length", "mean note length (16ths)", ""),
)


def _zeros12() -> np.ndarray:
    return np.zeros(12, dtype=np.int64)


def _zeros_len() -> np.ndarray:
    return np.zeros(LENGTH_BINS, dtype=np.int64)


@dataclass
class Metrics:
    """Counts over one or more pieces; the rates are properties computed from them."""

    pieces: int = 0
    steps: int = 0
    notes: int = 0
    pair_moves: int = 0
    parallel_fifths: int = 0
    parallel_octaves: int = 0
    crossing_checks: int = 0  # (step, adjacent pair) with both voices sounding
    crossings: int = 0
    onsets: int = 0  # chord onsets (steps where some voice starts a note)
    crossed_onsets: int = 0
    spacing_checks: int = 0  # steps where S-A or A-T sounds
    wide_spacings: int = 0
    range_checked: int = 0  # notes of voices with a known range
    out_of_range: int = 0
    keyed_notes: int = 0  # notes of pieces with a key
    in_key: int = 0
    pitch_classes: np.ndarray = field(default_factory=_zeros12)  # int64[12], 0 = tonic
    note_lengths: np.ndarray = field(default_factory=_zeros_len)  # int64[16], i = i+1 16ths

    # --- rates -------------------------------------------------------------------------------
    @property
    def parallels_per_100(self) -> float:
        return _rate(self.parallel_fifths + self.parallel_octaves, self.pair_moves)

    @property
    def parallel_fifths_per_100(self) -> float:
        return _rate(self.parallel_fifths, self.pair_moves)

    @property
    def parallel_octaves_per_100(self) -> float:
        return _rate(self.parallel_octaves, self.pair_moves)

    @property
    def crossing_pct(self) -> float:
        return _rate(self.crossings, self.crossing_checks)

    @property
    def crossed_onsets_pct(self) -> float:
        return _rate(self.crossed_onsets, self.onsets)

    @property
    def wide_spacing_pct(self) -> float:
        return _rate(self.wide_spacings, self.spacing_checks)

    @property
    def out_of_range_pct(self) -> float:
        return _rate(self.out_of_range, self.range_checked)

    @property
    def in_key_pct(self) -> float:
        return _rate(self.in_key, self.keyed_notes)

    @property
    def mean_note_length(self) -> float:
        """Mean note length in 16ths (lengths of LENGTH_BINS or more count as LENGTH_BINS)."""
        total = int(self.note_lengths.sum())
        if not total:
            return float("nan")
        return float((self.note_lengths * np.arange(1, LENGTH_BINS + 1)).sum() / total)

    @property
    def pitch_class_distribution(self) -> np.ndarray:
        """float64[12]: share of notes by pitch class relative to the tonic (sums to 1)."""
        return _normalize(self.pitch_classes)

    @property
    def note_length_distribution(self) -> np.ndarray:
        """float64[LENGTH_BINS]: share of notes by length in 16ths (sums to 1)."""
        return _normalize(self.note_lengths)

    def figures(self) -> dict[str, float]:
        """The headline figures, by attribute name (see FIGURES)."""
        return {name: float(getattr(self, name)) for name, _, _ in FIGURES}

    def __add__(self, other: Metrics) -> Metrics:
        if not isinstance(other, Metrics):
            return NotImplemented
        return Metrics(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                          for f in fields(self)})  # fmt: skip


def _rate(count: int, total: int) -> float:
    """100 * count / total; NaN when there is nothing to count."""
    return 100.0 * count / total if total else float("nan")


def _normalize(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts), dtype=np.float64)


def measure(score: Score) -> Metrics:
    """The counts of one piece."""
    m = Metrics(pieces=1, steps=score.steps)
    pitch = score.pitch_grid().astype(np.int32)  # (T, V), REST = -1
    sounding = pitch >= 0
    _count_parallels(score, m)
    _count_crossing_and_spacing(score, pitch, sounding, m)
    _count_notes(score, m)
    return m


def _count_parallels(score: Score, m: Metrics) -> None:
    for pair in pair_motions(score):  # composer.theory.voiceleading: the one definition
        m.pair_moves += int(pair.moves.sum())
        m.parallel_fifths += int(pair.perfect("fifths").sum())
        m.parallel_octaves += int(pair.perfect("octaves").sum())


def _count_crossing_and_spacing(
    score: Score, pitch: np.ndarray, sounding: np.ndarray, m: Metrics
) -> None:
    voices = pitch.shape[1]
    crossed = np.zeros(len(pitch), dtype=bool)  # (T,): some adjacent pair crossed
    for v in range(voices - 1):
        both = sounding[:, v] & sounding[:, v + 1]
        pair_crossed = both & (pitch[:, v + 1] > pitch[:, v])
        m.crossing_checks += int(both.sum())
        m.crossings += int(pair_crossed.sum())
        crossed |= pair_crossed
    onsets = (score.grid >= 0).any(axis=1)
    m.onsets += int(onsets.sum())
    m.crossed_onsets += int((crossed & onsets).sum())
    if voices >= 3:
        sa = sounding[:, 0] & sounding[:, 1]
        at = sounding[:, 1] & sounding[:, 2]
        wide = (sa & (pitch[:, 0] - pitch[:, 1] > 12)) | (at & (pitch[:, 1] - pitch[:, 2] > 12))
        m.spacing_checks += int((sa | at).sum())
        m.wide_spacings += int(wide.sum())


def _count_notes(score: Score, m: Metrics) -> None:
    scale = score.key.scale() if score.key is not None else None
    tonic = score.key.tonic if score.key is not None else None
    for v in range(score.voices):
        limits = VOICE_RANGES.get(score.voice_names[v])
        for n in score.notes(v):
            m.notes += 1
            m.note_lengths[min(n.end - n.start, LENGTH_BINS) - 1] += 1
            if limits is not None:
                m.range_checked += 1
                m.out_of_range += not limits[0] <= n.pitch <= limits[1]
            if scale is not None:
                m.keyed_notes += 1
                m.in_key += n.pitch % 12 in scale
                m.pitch_classes[(n.pitch - tonic) % 12] += 1


def aggregate(items: Iterable[Score | Metrics]) -> Metrics:
    """Sum the counts of many pieces (Scores are measured first); rates come from the totals."""
    total = Metrics()
    for item in items:
        total = total + (item if isinstance(item, Metrics) else measure(item))
    return total
