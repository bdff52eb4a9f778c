"""Harmony figures of pieces and sets of pieces, count-based like composer.reports.metrics.

``measure(score) -> HarmonyCounts`` counts one piece from ``composer.theory.harmony.analyse``;
``aggregate(items)`` sums the counts of many, so every rate of a set comes from total counts
(not an average of per-piece rates). ``HarmonyCounts.figures()`` gives the headline figures
(FIGURES), ``distributions()`` the class shares for plots. Labels (chords, keys, cadences,
non-chord tones, sevenths, beat sonorities) are defined in composer/theory/harmony.py.

Figures (% unless said; "beats" = beat steps where something sounds):

Endings (% of pieces; the final chord = the last sounding segment):
- final_tonic: the final chord is a major or minor triad on the key's tonic (Picardy allowed).
- key_kept: the final chord's root is the key's tonic (any quality).
- final_major / final_minor / final_open / final_other: the final chord's quality: major triad,
  minor triad, open fifth or unison, anything else.
- picardy: % of minor-key pieces whose final chord is a major triad on the tonic.
- final_root_position: the final chord's root is in the bass.
- final_v_i / final_iv_i / final_other_approach: the final chord approached by its dominant
  (major or dominant 7th, root a fifth above), by the major/minor triad a fourth above, other.
Cadences (% of fermatas):
- fermata_v_i_home: a major/minor triad on the home tonic approached by its dominant.
- fermata_v_i_any: any major/minor triad approached by its dominant (V-I in any key).
- cadence_authentic / _plagal / _half / _deceptive / _other: CADENCES classes.
Non-chord tones (NCT_KINDS; off-beat: not at a beat step):
- nct: non-chord tones as % of notes.
- offbeat_passing / _neighbour / _anticipation: % of off-beat NCTs.
- offbeat_leapt: off-beat appoggiaturas and leapt NCTs (leapt into or out of), % of off-beat NCTs.
- offbeat_other: off-beat suspensions and others, % of off-beat NCTs.
- onbeat_suspension: on-beat suspensions, % of on-beat NCTs.
- onbeat_stepwise: on-beat (accented) passing and neighbour tones, % of on-beat NCTs.
- onbeat_leapt: on-beat appoggiaturas and leapt NCTs, % of on-beat NCTs.
- onbeat_other: on-beat anticipations and others, % of on-beat NCTs.
- suspensions_per_100_beats: suspensions (any position) per 100 beats.
Beats (% of beats):
- fresh_dissonance: a voice strikes a fresh dissonance against the bass.
- triad / seventh / incomplete / open_fifth / other_chord: the beat's sonority (VOCABULARY).
- non_triad_seventh: incomplete + open fifth + other.
- doubled_lt: the chord is the home V or vii° and the leading tone is doubled.
- doubled_lt_of_dominants: the same as % of beats whose chord is the home V or vii°.
- seventh_unresolved: % of chord sevenths on beats that do not fall by step at the next change.
- dominant_seventh_unresolved: the same for the sevenths of dominant 7th chords only.
Bass and voice pairs:
- bass_step / _third / _fourth_fifth / _sixth / _octave / _awkward: % of the bass part's moves
  (consecutive notes, no rest between, pitch changes) of 1-2, 3-4, 5 or 7, 8-9, 12, and 6, 10,
  11 or more than 12 semitones.
- contrary_per_100 / contrary_fifths_per_100 / contrary_octaves_per_100: fifths and octaves
  (unisons) by contrary motion per 100 voice-pair moves (pairs as in composer.reports.metrics).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np

from composer.score import Score
from composer.theory.harmony import (
    BASS_MOVES,
    CADENCES,
    DOMINANT,
    NCT_KINDS,
    TRIADS_MM,
    VOCABULARY,
    Analysis,
    analyse,
    bass_moves,
    contrary_perfects,
)

FINAL_QUALITIES = ("major", "minor", "open fifth/unison", "other")
APPROACHES = ("V-I", "IV-I", "other")
ENDED_ON = ("tonic", "dominant", "subdominant", "relative", "other")

# (key, label, group) of the headline figures, in report order.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("final_tonic", "final chord: tonic triad of the key (%)", "Endings"),
    ("key_kept", "key kept: final root = tonic (%)", "Endings"),
    ("final_major", "final chord major (%)", "Endings"),
    ("final_minor", "final chord minor (%)", "Endings"),
    ("final_open", "final chord open fifth or unison (%)", "Endings"),
    ("final_other", "final chord other (%)", "Endings"),
    ("picardy", "Picardy third (% of minor-key pieces)", "Endings"),
    ("final_root_position", "final chord in root position (%)", "Endings"),
    ("final_v_i", "final chord approached V-I (%)", "Endings"),
    ("final_iv_i", "final chord approached IV-I (%)", "Endings"),
    ("final_other_approach", "final chord approached otherwise (%)", "Endings"),
    ("fermata_v_i_home", "fermatas approached V-I, home key (%)", "Cadences"),
    ("fermata_v_i_any", "fermatas approached V-I, any key (%)", "Cadences"),
    ("cadence_authentic", "cadences authentic (%)", "Cadences"),
    ("cadence_plagal", "cadences plagal (%)", "Cadences"),
    ("cadence_half", "cadences half (%)", "Cadences"),
    ("cadence_deceptive", "cadences deceptive (%)", "Cadences"),
    ("cadence_other", "cadences other (%)", "Cadences"),
    ("nct", "non-chord tones (% of notes)", "Non-chord tones"),
    ("offbeat_passing", "off-beat NCTs: passing (%)", "Non-chord tones"),
    ("offbeat_neighbour", "off-beat NCTs: neighbour (%)", "Non-chord tones"),
    ("offbeat_leapt", "off-beat NCTs: leapt into or out of (%)", "Non-chord tones"),
    ("offbeat_anticipation", "off-beat NCTs: anticipation (%)", "Non-chord tones"),
    ("offbeat_other", "off-beat NCTs: other (%)", "Non-chord tones"),
    ("onbeat_suspension", "on-beat NCTs: suspension (%)", "Non-chord tones"),
    ("onbeat_stepwise", "on-beat NCTs: accented passing/neighbour (%)", "Non-chord tones"),
    ("onbeat_leapt", "on-beat NCTs: appoggiatura/leapt (%)", "Non-chord tones"),
    ("onbeat_other", "on-beat NCTs: other (%)", "Non-chord tones"),
    ("suspensions_per_100_beats", "suspensions per 100 beats", "Non-chord tones"),
    ("fresh_dissonance", "beats with a fresh dissonance against the bass (%)", "Beats"),
    ("triad", "beat sonority: triad (%)", "Beats"),
    ("seventh", "beat sonority: seventh chord (%)", "Beats"),
    ("incomplete", "beat sonority: incomplete (%)", "Beats"),
    ("open_fifth", "beat sonority: open fifth (%)", "Beats"),
    ("other_chord", "beat sonority: other (%)", "Beats"),
    ("non_triad_seventh", "beat sonority: neither triad nor seventh (%)", "Beats"),
    ("doubled_lt", "doubled leading tone on V/vii° (% of beats)", "Beats"),
    ("doubled_lt_of_dominants", "doubled leading tone (% of V/vii° beats)", "Beats"),
    ("seventh_unresolved", "sevenths not falling by step (% of sevenths)", "Beats"),
    ("dominant_seventh_unresolved", "dominant 7ths' sevenths not falling by step (%)", "Beats"),
    ("bass_step", "bass moves: step (%)", "Bass and voice pairs"),
    ("bass_third", "bass moves: third (%)", "Bass and voice pairs"),
    ("bass_fourth_fifth", "bass moves: fourth/fifth (%)", "Bass and voice pairs"),
    ("bass_sixth", "bass moves: sixth (%)", "Bass and voice pairs"),
    ("bass_octave", "bass moves: octave (%)", "Bass and voice pairs"),
    ("bass_awkward", "bass moves: tritone/7th/>8ve (%)", "Bass and voice pairs"),
    ("contrary_per_100", "5ths/8ves by contrary motion per 100 pair moves", "Bass and voice pairs"),
    ("contrary_fifths_per_100", "5ths by contrary motion per 100 pair moves",
     "Bass and voice pairs"),
    ("contrary_octaves_per_100", "8ves by contrary motion per 100 pair moves",
     "Bass and voice pairs"),
)  # fmt: skip


def _zeros(n: int):
    return field(default_factory=lambda: np.zeros(n, dtype=np.int64))


@dataclass
class HarmonyCounts:
    """Counts over one or more pieces; the figures are computed from them."""

    pieces: int = 0
    minor_pieces: int = 0
    final_tonic: int = 0
    key_kept: int = 0
    final_quality: np.ndarray = _zeros(len(FINAL_QUALITIES))
    picardy: int = 0
    final_root_position: int = 0
    final_approach: np.ndarray = _zeros(len(APPROACHES))
    ended_on: np.ndarray = _zeros(len(ENDED_ON))
    fermatas: int = 0
    fermata_v_i_home: int = 0
    fermata_v_i_any: int = 0
    cadences: np.ndarray = _zeros(len(CADENCES))
    notes: int = 0
    nct_off_beat: np.ndarray = _zeros(len(NCT_KINDS))
    nct_on_beat: np.ndarray = _zeros(len(NCT_KINDS))
    beats: int = 0
    fresh_dissonances: int = 0
    vocabulary: np.ndarray = _zeros(len(VOCABULARY))
    dominant_beats: int = 0
    doubled_leading_tones: int = 0
    sevenths: int = 0
    sevenths_resolved: int = 0
    dominant_sevenths: int = 0
    dominant_sevenths_resolved: int = 0
    bass_moves: np.ndarray = _zeros(len(BASS_MOVES))
    pair_moves: int = 0
    contrary_fifths: int = 0
    contrary_octaves: int = 0

    def __add__(self, other: HarmonyCounts) -> HarmonyCounts:
        if not isinstance(other, HarmonyCounts):
            return NotImplemented
        return HarmonyCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                                for f in fields(self)})  # fmt: skip

    def figures(self) -> dict[str, float]:
        """The headline figures by key (FIGURES' order); NaN where nothing was counted."""
        fq, fa, cad = self.final_quality, self.final_approach, self.cadences
        off, on = self.nct_off_beat, self.nct_on_beat
        k = {name: i for i, name in enumerate(NCT_KINDS)}
        off_n, on_n = int(off.sum()), int(on.sum())
        voc, bass = self.vocabulary, self.bass_moves
        moves = int(bass.sum())
        out = {
            "final_tonic": _pct(self.final_tonic, self.pieces),
            "key_kept": _pct(self.key_kept, self.pieces),
            "final_major": _pct(fq[0], self.pieces),
            "final_minor": _pct(fq[1], self.pieces),
            "final_open": _pct(fq[2], self.pieces),
            "final_other": _pct(fq[3], self.pieces),
            "picardy": _pct(self.picardy, self.minor_pieces),
            "final_root_position": _pct(self.final_root_position, self.pieces),
            "final_v_i": _pct(fa[0], self.pieces),
            "final_iv_i": _pct(fa[1], self.pieces),
            "final_other_approach": _pct(fa[2], self.pieces),
            "fermata_v_i_home": _pct(self.fermata_v_i_home, self.fermatas),
            "fermata_v_i_any": _pct(self.fermata_v_i_any, self.fermatas),
            **{f"cadence_{c}": _pct(cad[i], self.fermatas) for i, c in enumerate(CADENCES)},
            "nct": _pct(off_n + on_n, self.notes),
            "offbeat_passing": _pct(off[k["passing"]], off_n),
            "offbeat_neighbour": _pct(off[k["neighbour"]], off_n),
            "offbeat_leapt": _pct(off[k["appoggiatura"]] + off[k["leapt"]], off_n),
            "offbeat_anticipation": _pct(off[k["anticipation"]], off_n),
            "offbeat_other": _pct(off[k["suspension"]] + off[k["other"]], off_n),
            "onbeat_suspension": _pct(on[k["suspension"]], on_n),
            "onbeat_stepwise": _pct(on[k["passing"]] + on[k["neighbour"]], on_n),
            "onbeat_leapt": _pct(on[k["appoggiatura"]] + on[k["leapt"]], on_n),
            "onbeat_other": _pct(on[k["anticipation"]] + on[k["other"]], on_n),
            "suspensions_per_100_beats": _pct(
                on[k["suspension"]] + off[k["suspension"]], self.beats
            ),
            "fresh_dissonance": _pct(self.fresh_dissonances, self.beats),
            **{_VOCAB_KEYS[i]: _pct(voc[i], self.beats) for i in range(len(VOCABULARY))},
            "non_triad_seventh": _pct(voc[2:].sum(), self.beats),
            "doubled_lt": _pct(self.doubled_leading_tones, self.beats),
            "doubled_lt_of_dominants": _pct(self.doubled_leading_tones, self.dominant_beats),
            "seventh_unresolved": _pct(self.sevenths - self.sevenths_resolved, self.sevenths),
            "dominant_seventh_unresolved": _pct(
                self.dominant_sevenths - self.dominant_sevenths_resolved, self.dominant_sevenths
            ),
            **{_BASS_KEYS[i]: _pct(bass[i], moves) for i in range(len(BASS_MOVES))},
            "contrary_per_100": _pct(
                self.contrary_fifths + self.contrary_octaves, self.pair_moves
            ),  # fmt: skip
            "contrary_fifths_per_100": _pct(self.contrary_fifths, self.pair_moves),
            "contrary_octaves_per_100": _pct(self.contrary_octaves, self.pair_moves),
        }
        return {key: out[key] for key, _, _ in FIGURES}

    def distributions(self) -> dict[str, dict[str, float]]:
        """Class shares (%) for plots: name -> {class: share}."""

        def share(counts: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
            total = int(counts.sum())
            return {n: _pct(c, total) for n, c in zip(names, counts)}

        return {
            "final chord": share(self.final_quality, FINAL_QUALITIES),
            "final approach": share(self.final_approach, APPROACHES),
            "ended on": share(self.ended_on, ENDED_ON),
            "cadences": share(self.cadences, CADENCES),
            "off-beat NCTs": share(self.nct_off_beat, NCT_KINDS),
            "on-beat NCTs": share(self.nct_on_beat, NCT_KINDS),
            "beat sonorities": share(self.vocabulary, VOCABULARY),
            "bass moves": share(self.bass_moves, BASS_MOVES),
        }

    def as_json(self) -> dict:
        """Counts, figures and distributions as plain JSON-able values."""
        counts = {f.name: (getattr(self, f.name).tolist() if isinstance(getattr(self, f.name),
                  np.ndarray) else int(getattr(self, f.name))) for f in fields(self)}  # fmt: skip
        return {"counts": counts, "figures": self.figures(), "distributions": self.distributions()}


_VOCAB_KEYS = ("triad", "seventh", "incomplete", "open_fifth", "other_chord")
_BASS_KEYS = ("bass_step", "bass_third", "bass_fourth_fifth", "bass_sixth", "bass_octave",
              "bass_awkward")  # fmt: skip


def _pct(count, total) -> float:
    """100 * count / total; NaN when there is nothing to count."""
    return 100.0 * float(count) / float(total) if total else float("nan")


def counts_of(a: Analysis, score: Score) -> HarmonyCounts:
    """The counts of one analysed piece."""
    h = HarmonyCounts(pieces=1)
    key = a.key
    h.minor_pieces = int(key.mode == "minor")
    if a.final is not None:
        f = a.final
        tonic = f.root == key.tonic
        h.key_kept = int(tonic)
        h.final_tonic = int(tonic and f.quality in TRIADS_MM)
        quality = {"major": 0, "minor": 1, "open fifth": 2, "unison": 2}.get(f.quality, 3)
        h.final_quality[quality] += 1
        h.picardy = int(key.mode == "minor" and tonic and f.quality == "major")
        h.final_root_position = int(f.inversion == 0)
        ap = a.final_approach
        if ap is not None and ap.quality in DOMINANT and ap.root == (f.root + 7) % 12:
            h.final_approach[0] += 1
        elif ap is not None and ap.quality in TRIADS_MM and ap.root == (f.root + 5) % 12:
            h.final_approach[1] += 1
        else:
            h.final_approach[2] += 1
        degree = (f.root - key.tonic) % 12
        relative = 9 if key.mode == "major" else 3
        ended = {0: 0, 7: 1, 5: 2, relative: 3}.get(degree, 4)
        h.ended_on[ended] += 1
    h.fermatas = len(a.cadences)
    for c in a.cadences:
        h.cadences[CADENCES.index(c.kind)] += 1
        h.fermata_v_i_home += c.v_i_home
        h.fermata_v_i_any += c.v_i_any
    h.notes = sum(1 for _ in score.notes())
    for n in a.ncts:
        (h.nct_on_beat if n.on_beat else h.nct_off_beat)[NCT_KINDS.index(n.kind)] += 1
    h.beats = len(a.beats)
    h.fresh_dissonances = len(a.fresh_dissonances)
    for b in a.beats:
        h.vocabulary[VOCABULARY.index(a.sonorities[b])] += 1
    h.dominant_beats = len(a.dominant_beats)
    h.doubled_leading_tones = len(a.doubled_leading_tones)
    h.sevenths = len(a.sevenths)
    h.sevenths_resolved = sum(s.resolved for s in a.sevenths)
    dominant = [s for s in a.sevenths if s.quality == "dominant 7th"]
    h.dominant_sevenths = len(dominant)
    h.dominant_sevenths_resolved = sum(s.resolved for s in dominant)
    h.bass_moves = bass_moves(score)
    h.pair_moves, h.contrary_fifths, h.contrary_octaves = contrary_perfects(score)
    return h


def measure(score: Score) -> HarmonyCounts:
    """The counts of one piece."""
    return counts_of(analyse(score), score)


def aggregate(items: Iterable[Score | HarmonyCounts]) -> HarmonyCounts:
    """Sum the counts of many pieces (Scores are measured first); rates come from the totals."""
    total = HarmonyCounts()
    for item in items:
        total = total + (item if isinstance(item, HarmonyCounts) else measure(item))
    return total
