"""The harmony analysis: every label on a small hand-written example, and the counted figures."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from composer.score import HOLD, REST, Key, Score
from composer.theory.harmony import (
    Chord,
    analyse,
    bass_moves,
    cadence_kind,
    classify_sonority,
    contrary_perfects,
    key_of,
    label_chords,
    nct_kind,
)
from composer.theory.harmony_figures import FIGURES, HarmonyCounts, aggregate, measure

C_MAJOR, A_MINOR = Key(0, "major"), Key(9, "minor")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def p(name: str) -> int:
    """'C4' -> 60, 'F#3' -> 54, 'Bb2' -> 46."""
    letter, accidental, octave = re.fullmatch(r"([A-G])([#b]?)(-?\d)", name).groups()
    return 12 * (int(octave) + 1) + _PC[letter] + {"#": 1, "b": -1, "": 0}[accidental]


def voices(*parts: str, key: Key | None = C_MAJOR, fermatas=(), **meta) -> Score:
    """Four parts, each 'C5:4 D5:2 -:2' (pitch:16ths, '-' a rest), soprano first."""
    rows = []
    for part in parts:
        col = []
        for token in part.split():
            name, length = token.split(":")
            length = int(length)
            col += [REST] * length if name == "-" else [p(name)] + [HOLD] * (length - 1)
        rows.append(col)
    assert len({len(c) for c in rows}) == 1, [len(c) for c in rows]
    return Score(np.array(rows).T, key=key, fermatas=fermatas, **meta)


def chords(*rows: str, length: int = 4, **kw) -> Score:
    """One chord per row, 'S A T B' names, each ``length`` 16ths long."""
    parts = [" ".join(f"{r.split()[v]}:{length}" for r in rows) for v in range(4)]
    return voices(*parts, **kw)


# --- chord labels -----------------------------------------------------------------------------
def test_numerals_in_major_and_minor() -> None:
    def c(root: str, quality: str, bass: str) -> Chord:
        return Chord(0, 4, _PC[root[0]] + ("#" in root), quality, _PC[bass[0]] + ("#" in bass),
                     frozenset())  # fmt: skip

    assert c("C", "major", "C").numeral(C_MAJOR) == "I"
    assert c("C", "major", "G").numeral(C_MAJOR) == "I64"
    assert c("G", "dominant 7th", "G").numeral(C_MAJOR) == "V7"
    assert c("G", "dominant 7th", "B").numeral(C_MAJOR) == "V65"
    assert c("G", "dominant 7th", "D").numeral(C_MAJOR) == "V43"
    assert c("G", "dominant 7th", "F").numeral(C_MAJOR) == "V42"
    assert c("B", "diminished", "D").numeral(C_MAJOR) == "vii°6"
    assert c("D", "minor 7th", "F").numeral(C_MAJOR) == "ii65"
    assert c("D", "major", "D").numeral(C_MAJOR) == "II"
    assert c("A", "minor", "A").numeral(A_MINOR) == "i"
    assert c("E", "major", "G#").numeral(A_MINOR) == "V6"
    assert c("F", "major", "F").numeral(A_MINOR) == "VI"
    assert c("G#", "diminished 7th", "G#").numeral(A_MINOR) == "vii°7"
    assert c("B", "half-diminished 7th", "B").numeral(A_MINOR) == "iiø7"


def test_labels_root_quality_inversion() -> None:
    score = chords(
        "C5 G4 E4 C3",  # I
        "D5 B4 G4 F3",  # V42
        "C5 G4 E4 E3",  # I6
        "C5 A4 D4 F3",  # ii65 (D F A C, F in the bass)
        "B4 G4 D4 G2",  # V
        "B4 F4 D4 G#3",  # vii°7 of A minor -> resolves to A
        "A4 E4 C4 A2",  # vi
        "G4 G4 C4 C3",  # open fifth
        "C5 C4 C4 C3",  # unison
        "C5 C#5 D4 D#3",  # a cluster: no template explains two thirds of it
    )
    got = [(c.root, c.quality, c.inversion) for c in label_chords(score)]
    assert got == [
        (0, "major", 0),
        (7, "dominant 7th", 3),
        (0, "major", 1),
        (2, "minor 7th", 1),
        (7, "major", 0),
        (8, "diminished 7th", 0),
        (9, "minor", 0),
        (0, "open fifth", 0),
        (0, "unison", 0),
        (got[-1][0], "other", got[-1][2]),
    ]
    a = analyse(score)
    assert [c.numeral(C_MAJOR) for c in a.chords[:5]] == ["I", "V42", "I6", "ii65", "V"]


def test_a_chord_change_on_the_second_eighth_under_a_leaping_bass() -> None:
    score = voices("C5:4 C5:4", "E4:4 E4:4", "G3:2 A3:2 G3:4", "C3:2 A2:2 C3:4")
    labels = [(c.start, c.root, c.quality) for c in label_chords(score)]
    assert labels[:2] == [(0, 0, "major"), (2, 9, "minor")]
    assert analyse(score).ncts == []


def test_a_passing_bass_note_does_not_make_a_chord() -> None:
    score = voices("C5:4 C5:4", "G4:4 G4:4", "E4:4 E4:4", "C3:2 D3:2 E3:4")
    a = analyse(score)
    assert [(c.start, c.root, c.quality) for c in a.chords] == [(0, 0, "major"), (4, 0, "major")]
    assert [(n.voice, n.step, n.kind, n.on_beat) for n in a.ncts] == [(3, 2, "passing", False)]


def test_a_passing_bass_under_a_complete_chord_is_still_passing() -> None:
    # vi, then D3 passes under G-G-B (a complete G major), then ii65: no chord on the eighth
    score = voices("G4:4 A4:4", "G4:4 G4:4", "B3:4 E4:4", "E3:2 D3:2 C3:4", key=Key(7))
    a = analyse(score)
    assert [(c.start, c.numeral(a.key)) for c in a.chords] == [(0, "vi"), (4, "ii65")]
    assert ncts(score) == [(3, 2, "passing", False)]


def test_key_is_estimated_when_missing() -> None:
    c_major = chords("C5 G4 E4 C3", "D5 A4 F4 D3", "D5 B4 G4 G2", "C5 G4 E4 C3", key=None)
    a_minor = chords("A4 E4 C4 A2", "B4 E4 G#3 E3", "C5 E4 A3 A2", "B4 E4 G#3 E3", "A4 E4 C4 A2",
                     key=None)  # fmt: skip
    assert key_of(c_major) == C_MAJOR
    assert key_of(a_minor) == A_MINOR
    assert key_of(chords("C5 G4 E4 C3", key=A_MINOR)) == A_MINOR  # a given key wins


# --- cadences ---------------------------------------------------------------------------------
def cadence(*rows: str, key: Key = C_MAJOR):
    score = chords(*rows, key=key, fermatas=(4 * (len(rows) - 1),))
    [c] = analyse(score).cadences
    return c


def test_authentic_cadence_v7_i() -> None:
    c = cadence("E5 G4 C4 C3", "F5 A4 C4 F3", "D5 F4 B3 G2", "C5 E4 C4 C3")
    assert (c.kind, c.v_i_home, c.v_i_any) == ("authentic", True, True)
    assert c.approach.numeral(C_MAJOR) == "V7" and c.chord.numeral(C_MAJOR) == "I"


def test_plagal_cadence_iv_i() -> None:
    c = cadence("C5 G4 E4 C3", "D5 G4 D4 G2", "C5 A4 F4 F3", "C5 G4 E4 C3")
    assert (c.kind, c.v_i_home, c.v_i_any) == ("plagal", False, False)


def test_half_cadence_i_v() -> None:
    c = cadence("E5 G4 C4 C3", "F5 A4 C4 F3", "E5 G4 C4 C3", "D5 G4 B3 G2")
    assert (c.kind, c.v_i_home, c.v_i_any) == ("half", False, False)


def test_deceptive_cadence_v_vi() -> None:
    c = cadence("E5 G4 C4 C3", "D5 G4 B3 G3", "C5 E4 C4 A2")
    assert (c.kind, c.chord.numeral(C_MAJOR)) == ("deceptive", "vi")


def test_authentic_cadence_in_another_key() -> None:
    # C major, a phrase ending E major -> A minor: V-I in A minor, not in the home key
    c = cadence("C5 G4 E4 C3", "C5 A4 E4 A2", "B4 G#4 E4 E3", "C5 A4 E4 A2")
    assert (c.kind, c.v_i_home, c.v_i_any) == ("authentic", False, True)


def test_cadence_kind_needs_a_real_dominant_and_a_triad() -> None:
    tonic = Chord(0, 4, 0, "major", 0, frozenset({0, 4, 7}))
    minor_v = Chord(0, 4, 7, "minor", 7, frozenset({7, 10, 2}))
    open_tonic = Chord(0, 4, 0, "open fifth", 0, frozenset({0, 7}))
    major_v = Chord(0, 4, 7, "major", 7, frozenset({7, 11, 2}))
    assert cadence_kind(tonic, major_v, C_MAJOR, C_MAJOR) == "authentic"
    assert cadence_kind(tonic, minor_v, C_MAJOR, C_MAJOR) == "other"
    assert cadence_kind(open_tonic, major_v, C_MAJOR, C_MAJOR) == "other"
    assert cadence_kind(tonic, None, C_MAJOR, C_MAJOR) == "other"


# --- non-chord tones --------------------------------------------------------------------------
def ncts(score: Score) -> list[tuple[int, int, str, bool]]:
    return [(n.voice, n.step, n.kind, n.on_beat) for n in analyse(score).ncts]


def test_passing_tone() -> None:
    score = voices("C5:2 D5:2 E5:4", "G4:4 G4:4", "E4:4 C4:4", "C3:4 C3:4")
    assert ncts(score) == [(0, 2, "passing", False)]


def test_a_passing_seventh_on_the_second_eighth_leaves_a_triad() -> None:
    score = voices("C5:2 B4:2 A4:4", "G4:4 F4:4", "E4:4 C4:4", "C3:4 F3:4")
    a = analyse(score)
    assert [(c.root, c.quality) for c in a.chords] == [(0, "major"), (5, "major")]
    assert ncts(score) == [(0, 2, "passing", False)]


def test_neighbour_tone() -> None:
    score = voices("E5:2 F5:2 E5:4", "G4:4 G4:4", "C4:4 C4:4", "C3:4 C3:4")
    assert ncts(score) == [(0, 2, "neighbour", False)]


def test_suspension_4_3_resolving_inside_the_beat() -> None:
    score = voices("C5:6 B4:2 C5:4", "G4:4 G4:4 G4:4", "E4:4 D4:4 E4:4", "C3:4 G2:4 C3:4")
    assert ncts(score) == [(0, 4, "suspension", True)]
    assert analyse(score).chord_at(4).numeral(C_MAJOR) == "V"


def test_suspension_4_3_held_through_the_beat_still_reads_as_v() -> None:
    score = voices("C5:8 B4:4", "G4:4 G4:8", "E4:4 D4:8", "C3:4 G2:8")
    a = analyse(score)
    assert [(n.voice, n.step, n.kind) for n in a.ncts] == [(0, 4, "suspension")]
    assert a.chord_at(4).root == 7 and a.chord_at(4).quality == "major"


def test_suspension_7_6_reads_as_the_chord_of_its_resolution() -> None:
    # G major, then D5 held over E3 (a 7th) falling to C5 (a 6th): C major in first inversion
    score = voices("D5:4 D5:4 C5:4", "G4:4 G4:8", "B3:4 G3:8", "G2:4 E3:8")
    a = analyse(score)
    assert a.chord_at(4).numeral(C_MAJOR) == "I6"
    assert ncts(score) == [(0, 4, "suspension", True)]


def test_appoggiatura_on_the_beat() -> None:
    score = voices("G4:4 C5:2 B4:2 C5:4", "E4:4 D4:4 E4:4", "C4:4 B3:4 C4:4", "C3:4 G2:4 C3:4")
    assert ncts(score) == [(0, 4, "appoggiatura", True)]


def test_escape_tone_and_anticipation() -> None:
    escape = voices("E5:2 F5:2 C5:4", "G4:4 G4:4", "C4:4 E4:4", "C3:4 C3:4")
    assert ncts(escape) == [(0, 2, "leapt", False)]
    anticipation = voices("D5:2 C5:2 C5:4", "B4:4 G4:4", "G4:4 E4:4", "G3:4 C3:4")
    assert ncts(anticipation) == [(0, 2, "anticipation", False)]


def test_nct_kind_rules() -> None:
    assert nct_kind(60, 62, 64, held=False) == "passing"
    assert nct_kind(64, 62, 60, held=False) == "passing"
    assert nct_kind(64, 65, 64, held=False) == "neighbour"
    assert nct_kind(55, 60, 59, held=False) == "appoggiatura"
    assert nct_kind(64, 65, 60, held=False) == "leapt"
    assert nct_kind(55, 65, 60, held=False) == "leapt"
    assert nct_kind(62, 60, 60, held=False) == "anticipation"
    assert nct_kind(None, 62, 60, held=False) == "other"
    assert nct_kind(72, 72, 71, held=True) == "suspension"
    assert nct_kind(72, 72, 74, held=True) == "other"  # rising: a retardation, not counted


# --- beats ------------------------------------------------------------------------------------
def test_unprepared_dissonance_against_the_bass() -> None:
    second = voices("C5:4 D5:4", "G4:8", "E4:8", "C3:4 C3:4")  # D5 struck over C3
    fourth = voices("C5:4 C5:4", "G4:4 A4:4", "E4:4 F4:4", "C3:4 C3:4")  # F4 struck over C3
    prepared = voices("C5:4 C5:2 B4:2", "G4:4 F4:4", "E4:4 D4:4", "C3:4 D3:4")  # C5 held over D3
    consonant = voices("C5:4 A4:4", "G4:4 F4:4", "E4:4 C4:4", "C3:4 F3:4")
    assert analyse(second).fresh_dissonances == [4]
    assert analyse(fourth).fresh_dissonances == [4]
    assert analyse(prepared).fresh_dissonances == []
    assert analyse(consonant).fresh_dissonances == []


def test_beat_sonorities() -> None:
    score = chords("C5 G4 E4 C3", "G4 C4 G3 C3", "C5 E4 C4 C3", "F5 D4 B3 G2", "D5 C#5 C4 C3")
    a = analyse(score)
    assert [a.sonorities[b] for b in a.beats] == [
        "triad",
        "open fifth",
        "incomplete",
        "seventh",
        "other",
    ]
    assert classify_sonority({7, 11, 5}) == "seventh"  # V7 without its fifth
    assert classify_sonority({0}) == "incomplete"


def test_doubled_leading_tone_on_v() -> None:
    doubled = chords("C5 G4 E4 C3", "B4 G4 B3 G2", "C5 G4 E4 C3")
    single = chords("C5 G4 E4 C3", "B4 G4 D4 G2", "C5 G4 E4 C3")
    assert analyse(doubled).doubled_leading_tones == [4]
    assert analyse(doubled).dominant_beats == [4]
    assert analyse(single).doubled_leading_tones == []


def test_sevenths_that_resolve_and_that_do_not() -> None:
    resolved = chords("D5 F4 B3 G2", "C5 E4 C4 C3")
    rising = chords("D5 F4 B3 G2", "C5 G4 C4 C3")
    [s] = analyse(resolved).sevenths
    assert (s.voice, s.step, s.pitch, s.resolved) == (1, 0, p("F4"), True)
    [s] = analyse(rising).sevenths
    assert (s.voice, s.resolved, s.quality) == (1, False, "dominant 7th")
    both = aggregate([resolved, rising])
    assert (both.sevenths, both.sevenths_resolved, both.dominant_sevenths) == (2, 1, 2)
    assert both.figures()["dominant_seventh_unresolved"] == 50.0
    ii7 = measure(chords("C5 A4 F4 D3", "B4 G4 D4 G2"))  # ii7's C5 falls to B4
    assert (ii7.sevenths, ii7.sevenths_resolved, ii7.dominant_sevenths) == (1, 1, 0)


# --- endings, bass, voice pairs ---------------------------------------------------------------
def test_picardy_third_and_the_final_chord() -> None:
    score = chords("C5 E4 A3 A2", "B4 E4 G#3 E3", "C#5 E4 A3 A2", key=A_MINOR, fermatas=(8,))
    h = measure(score)
    assert (h.picardy, h.final_tonic, h.key_kept, h.final_root_position) == (1, 1, 1, 1)
    assert h.final_quality.tolist() == [1, 0, 0, 0]  # major
    assert h.final_approach.tolist() == [1, 0, 0]  # V-I
    assert h.ended_on.tolist() == [1, 0, 0, 0, 0]
    f = h.figures()
    assert f["picardy"] == 100.0 and f["final_major"] == 100.0 and f["cadence_authentic"] == 100.0


def test_ending_off_the_tonic() -> None:
    score = chords("C5 G4 E4 C3", "A4 F4 C4 F3", "B4 G4 D4 G2", fermatas=(8,))  # ends on V
    h = measure(score)
    assert (h.final_tonic, h.key_kept, h.picardy, h.minor_pieces) == (0, 0, 0, 0)
    assert h.ended_on.tolist() == [0, 1, 0, 0, 0]
    assert h.cadences.tolist() == [0, 0, 1, 0, 0]  # half
    assert math.isnan(h.figures()["picardy"])  # no minor-key piece


def test_fifths_and_octaves_by_contrary_motion() -> None:
    score = chords("E5 C4 G3 C3", "D5 G4 D4 G2")
    # tenor-bass G3/C3 (5th) -> D4/G2 (12th), alto-bass C4/C3 -> G4/G2 (octave -> 2 octaves);
    # soprano-alto E5/C4 -> D5/G4 is contrary too, but from a sixth to a fifth
    assert contrary_perfects(score) == (6, 1, 1)
    h = measure(score)
    assert h.figures()["contrary_per_100"] == pytest.approx(100 * 2 / 6)
    similar = chords("E5 C4 G3 C3", "F5 A4 C4 F3")  # parallel, not contrary
    assert contrary_perfects(similar) == (6, 0, 0)


def test_bass_leap_profile() -> None:
    bass = "C3:4 D3:4 F3:4 C3:4 F#3:4 F#2:4 D3:4 D3:4 -:4 G3:4 A4:4"
    score = voices(*["-:44"] * 3, bass)
    # step, third, fourth, tritone, octave, sixth, (repeat), (rest), ninth
    assert bass_moves(score).tolist() == [1, 1, 1, 1, 1, 2]


# --- sets -------------------------------------------------------------------------------------
def test_counts_add_up_and_rates_come_from_totals() -> None:
    tonic = chords("E5 G4 C4 C3", "D5 F4 B3 G2", "C5 E4 C4 C3", fermatas=(8,))
    dominant = chords("C5 G4 E4 C3", "A4 F4 C4 F3", "B4 G4 D4 G2", fermatas=(8,))
    a, b = measure(tonic), measure(dominant)
    total = aggregate([tonic, dominant])
    assert total.pieces == 2 and total.final_tonic == 1 and total.fermatas == 2
    assert total.beats == a.beats + b.beats and total.notes == 24
    assert (total.cadences == a.cadences + b.cadences).all()
    assert total.figures()["final_tonic"] == 50.0
    assert aggregate([a, b]).figures() == pytest.approx(total.figures(), nan_ok=True)
    assert list(total.figures()) == [key for key, _, _ in FIGURES]
    assert math.isnan(HarmonyCounts().figures()["final_tonic"])
    j = total.as_json()
    assert j["counts"]["pieces"] == 2 and j["distributions"]["cadences"]["authentic"] == 50.0


def test_a_bach_like_phrase_end_to_end() -> None:
    # G major: I IV6 V6 I | ii65 V I (fermata)
    rows = ("B4 G4 D4 G3", "C5 G4 E4 E3", "D5 A4 D4 F#3", "D5 G4 B3 G3", "A4 G4 E4 C3",
            "A4 F#4 D4 D3", "G4 D4 B3 G2")  # fmt: skip
    score = chords(*rows, key=Key(7), fermatas=(24,))
    a = analyse(score)
    assert [c.numeral(a.key) for c in a.chords] == ["I", "IV6", "V6", "I", "ii65", "V", "I"]
    assert a.cadences[0].kind == "authentic" and a.cadences[0].v_i_home
    assert a.ncts == [] and a.fresh_dissonances == [] and a.doubled_leading_tones == []
    [seventh] = a.sevenths  # G4 of ii65 falls to F#4 as V comes
    assert (seventh.voice, seventh.step, seventh.pitch, seventh.resolved) == (1, 16, p("G4"), True)
