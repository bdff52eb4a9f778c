"""A harmony teacher's faults (composer.theory.counterpoint) on small hand-written examples."""

import numpy as np

from composer.encoding import TOK_HOLD, sounding
from composer.score import Key
from composer.theory.counterpoint import beat_steps, faults

H = TOK_HOLD
C = Key.parse("C major")


def count(*rows: tuple[int, int, int, int], key: Key = C, fermata: int | None = None) -> int:
    """The faults of a passage given step by step (S, A, T, B; H holds), in 4/4 from a
    downbeat; ``fermata``: a fermata from that step to the end."""
    tokens = np.array(rows, np.int64)
    steps = len(tokens)
    pitches = sounding(tokens.reshape(-1), steps)
    fermatas = np.arange(steps) >= (steps if fermata is None else fermata)
    return faults(pitches, tokens != H, 0, steps, beat_steps(steps, (4, 4), 0), key, fermatas)


HOLD = (H, H, H, H)


def test_a_plain_cadence_has_no_fault():
    assert count((72, 67, 64, 48), HOLD, HOLD, HOLD, (72, 69, 65, 53), HOLD, HOLD, HOLD,
                 (71, 67, 62, 55), HOLD, HOLD, HOLD, (72, 67, 64, 48), HOLD) == 0  # fmt: skip


def test_passing_notes_move_by_step_and_are_fine():
    assert count((72, 67, 64, 48), HOLD, (71, H, H, H), HOLD, (69, 65, 60, 53), HOLD) == 0


def test_a_dissonance_leapt_into_is_a_fault():
    # G leaps up to B over the C in the bass (a seventh), then steps on to C
    assert count((67, 64, 60, 48), HOLD, (71, H, H, H), HOLD, (72, 67, 64, 48), HOLD) == 1


def test_a_dissonance_left_by_leap_is_a_fault():
    assert count((72, 67, 64, 48), HOLD, (71, H, H, H), HOLD, (67, 64, 60, 48), HOLD) == 1


def test_a_suspension_falls_by_step():
    prepared = [(72, 67, 64, 48), HOLD, HOLD, HOLD, (H, 65, 62, 50), HOLD]  # C held over D
    assert count(*prepared, (71, H, H, H), HOLD) == 0
    assert count(*prepared, (74, H, H, H), HOLD) == 1  # resolved upwards


def test_awkward_bass_leaps():
    assert count((72, 67, 64, 48), HOLD, HOLD, HOLD, (72, 69, 62, 54), HOLD) == 1  # tritone
    assert count((72, 67, 64, 48), HOLD, HOLD, HOLD, (74, 69, 66, 62), HOLD) == 1  # a ninth
    assert count((72, 67, 64, 48), HOLD, HOLD, HOLD, (71, 67, 62, 55), HOLD) == 0  # a fifth


def test_a_doubled_leading_tone_over_the_dominant():
    assert count((71, 67, 59, 55), HOLD) == 1  # B in soprano and tenor over G
    assert count((71, 67, 62, 55), HOLD) == 0
    assert count((71, 67, 59, 55), HOLD, key=Key.parse("E minor")) == 0  # not E minor's


def test_bare_fifths_on_a_beat():
    assert count((72, 67, 60, 48), HOLD) == 1
    # struck off the beat they are passing, not a chord
    assert count((72, 67, 64, 48), (H, H, 60, H), (H, H, 64, H), HOLD) == 0


def test_a_seventh_struck_on_a_beat_falls():
    v7 = (65, 62, 59, 55)  # G7 with the seventh (F) in the soprano, struck on the beat
    assert count(v7, HOLD, HOLD, HOLD, (64, 60, 60, 48), HOLD) == 0
    assert count(v7, HOLD, HOLD, HOLD, (67, 64, 60, 48), HOLD) == 1  # rises to G


def test_an_accented_passing_note_may_go_on_the_way_it_came():
    # C-D-E in the soprano over C, the D on the beat: a rising accented passing note
    c = (72, 67, 64, 48)
    assert count((71, 67, 62, 55), HOLD, (72, H, H, H), HOLD, (74, 67, 64, 48), HOLD,
                 (76, H, H, H), HOLD) == 0  # fmt: skip
    # the same D left by a leap up is a fault
    assert count((71, 67, 62, 55), HOLD, (72, H, H, H), HOLD, (74, 67, 64, 48), HOLD,
                 (79, H, H, H), HOLD) == 1  # fmt: skip
    assert count(c, HOLD, HOLD, HOLD) == 0


def test_a_leap_over_a_passing_bass_is_no_fault():
    # the bass passes C-D-E under a C chord; the soprano leaps G-C as the bass strikes D
    rows = [(67, 64, 60, 48), HOLD, (72, H, H, 50), HOLD, (72, 67, 60, 52), HOLD]
    assert count(*rows) == 0
    # the same leap with the bass standing on C: a plain chord tone, no fault either
    assert count((67, 64, 60, 48), HOLD, (72, H, H, H), HOLD, (72, 67, 60, 52), HOLD) == 0
    # but a leap into a seventh over a bass that stands still is one (D-F over G)
    assert count((74, 67, 59, 55), HOLD, (77, H, H, H), HOLD, (76, 67, 60, 48), HOLD) == 1


def test_a_chord_seventh_falls_in_every_inversion():
    cadence = [(72, 67, 64, 48), HOLD]  # I: the seventh's note of resolution
    # V6/5 (B in the bass): the seventh F, a diminished fifth above it, falls to E ...
    v65 = (67, 65, 62, 59)
    assert count(v65, HOLD, HOLD, HOLD, (67, 64, 60, 60), HOLD) == 0
    # ... or rises to G: a fault the rule against the bass alone did not see
    assert count(v65, HOLD, HOLD, HOLD, (67, 67, 64, 60), HOLD) == 1
    # V4/3 (D in the bass): F a third above it
    v43 = (71, 67, 65, 62)
    assert count(v43, HOLD, HOLD, HOLD, (72, 67, 64, 60), HOLD) == 0
    assert count(v43, HOLD, HOLD, HOLD, (76, 72, 67, 60), HOLD) == 1  # F rises to G
    # V4/2: the seventh in the bass falls to I6
    v42 = (71, 67, 62, 53)
    assert count(v42, HOLD, HOLD, HOLD, (72, 67, 64, 52), HOLD) == 0
    assert count(v42, HOLD, HOLD, HOLD, (72, 67, 64, 55), HOLD, *cadence) == 1
    # the seventh held or struck again is judged when it moves on
    assert count(v43, HOLD, HOLD, HOLD, (72, 67, 65, 62), HOLD, (72, 67, 64, 60), HOLD) == 0
    # a V7 without its fifth (G B F G) is a seventh chord too
    assert count((71, 65, 55, 43), HOLD, HOLD, HOLD, (72, 67, 64, 48), HOLD) == 1
    # vii°7 of A minor in an inversion (B in the bass): its seventh F falls to E
    dim7 = (74, 68, 65, 59)
    minor = Key.parse("A minor")
    assert count(dim7, HOLD, HOLD, HOLD, (72, 69, 64, 57), HOLD, key=minor) == 0
    assert count(dim7, HOLD, HOLD, HOLD, (76, 69, 67, 57), HOLD, key=minor) >= 1


def test_a_chord_seventh_may_rise_by_step_into_a_cadence():
    # ii6/5 (F A C D) with the melody's C rising to D over V at a half cadence: Bach's
    ii65 = (72, 69, 62, 53)
    half = (74, 67, 59, 55)
    assert count(ii65, HOLD, HOLD, HOLD, half, HOLD, HOLD, HOLD) == 1
    assert count(ii65, HOLD, HOLD, HOLD, half, HOLD, HOLD, HOLD, fermata=4) == 0
    # a fermata more than a beat later does not excuse it, nor does a leap into one
    assert count(ii65, HOLD, HOLD, HOLD, half, HOLD, HOLD, HOLD, HOLD, HOLD, fermata=9) == 1
    leap = (79, 71, 62, 55)
    assert count(ii65, HOLD, HOLD, HOLD, leap, HOLD, HOLD, HOLD, fermata=4) == 1


def test_an_augmented_second_or_a_diminished_fourth_through_the_leading_tone():
    a_minor = Key.parse("A minor")
    # iv6 to V in A minor: the alto's F to G# is an augmented second; F to E is not
    iv6 = (74, 65, 62, 53)
    assert count(iv6, HOLD, HOLD, HOLD, (71, 68, 64, 52), HOLD, key=a_minor) == 1
    assert count(iv6, HOLD, HOLD, HOLD, (71, 64, 56, 52), HOLD, key=a_minor) == 0
    # V to i: the tenor's leading tone up a diminished fourth to the minor third ...
    v = (71, 64, 56, 52)
    assert count(v, HOLD, HOLD, HOLD, (69, 64, 60, 45), HOLD, key=a_minor) == 1
    assert count(v, HOLD, HOLD, HOLD, (72, 64, 57, 45), HOLD, key=a_minor) == 0
    # ... where up a fourth to a Picardy third is no fault
    assert count(v, HOLD, HOLD, HOLD, (69, 64, 61, 45), HOLD, key=a_minor) == 0


def test_the_same_chord_struck_again_on_the_next_beat():
    c = (72, 67, 64, 48)
    assert count(c, HOLD, HOLD, HOLD, c, HOLD) == 1
    assert count(c, HOLD, HOLD, HOLD, HOLD, HOLD) == 0  # held: no fault
    assert count(c, HOLD, HOLD, HOLD, (72, 64, 55, 48), HOLD) == 0  # two voices move
    # a phrase ending under a fermata and the next beginning on its chord
    steps = 8
    tokens = np.array([c, HOLD, HOLD, HOLD, c, HOLD, HOLD, HOLD], np.int64)
    pitches = sounding(tokens.reshape(-1), steps)
    beats = beat_steps(steps, (4, 4), 0)
    fermatas = np.array([True] * 4 + [False] * 4)
    assert faults(pitches, tokens != H, 0, steps, beats, C, fermatas) == 0
    assert faults(pitches, tokens != H, 0, steps, beats, C) == 1


def test_a_chromatic_clash_counts_twice():
    assert count((66, 62, 57, 50), (H, H, H, H), (65, H, H, H), HOLD, key=Key.parse("G major")) == 0
    # F natural in the soprano against F# in the tenor, over D
    assert count((65, 62, 54, 50), HOLD, key=Key.parse("G major")) == 2


def test_a_soprano_rocking_between_two_notes():
    rows = [(72, 67, 64, 48), HOLD, (71, H, H, H), HOLD, (72, 69, 65, 53), HOLD, (71, H, H, H)]
    assert count(*rows[:-1]) == 0
    assert count(*rows) == 1


def test_a_beat_with_no_third_anywhere():
    sus = (72, 65, 55, 48)  # C F G C: a 4th, resolved to the third within the beat or not
    assert count(sus, HOLD, (H, 64, H, H), HOLD, (72, 67, 64, 48)) == 0
    assert count(sus, HOLD, HOLD, HOLD, (72, 67, 64, 48)) == 1


def test_six_four_chords_cadential_passing_or_pedal_only():
    c64 = (72, 67, 64, 55)  # C major over G
    g = (71, 67, 62, 55)
    hold3 = [HOLD] * 3
    assert count((72, 69, 65, 53), *hold3, c64, *hold3, g, *hold3, (72, 67, 64, 48)) == 0
    # A-G-F in the bass: passing
    assert count((72, 69, 64, 57), *hold3, c64, *hold3, (72, 69, 65, 53), *hold3, C_CHORD) == 0
    # leapt into from C and left for F: neither cadential, passing nor a pedal
    assert count(C_CHORD, *hold3, c64, *hold3, (72, 69, 65, 53), *hold3, C_CHORD) == 1
    # over a G held from the beat before, then left for F: no pedal, for no 5/3 follows
    assert count(g, *hold3, c64, *hold3, (72, 69, 65, 53), *hold3, C_CHORD) == 1
    # held for two beats, then resolved over the same bass: cadential
    held = [HOLD] * 7
    assert count((72, 69, 65, 53), *hold3, c64, *held, g, *hold3, C_CHORD) == 0
    # the bass stays but a sixth chord follows (I6/4 to vi6 over G): no resolution
    e6 = (76, 71, 64, 55)
    assert count((72, 69, 65, 53), *hold3, c64, *hold3, e6, *hold3, C_CHORD) == 1
    # a diminished six-four (B D F over F) left by leap
    assert count(C_CHORD, *hold3, (74, 71, 62, 53), *hold3, C_CHORD) == 1


def test_a_diminished_triad_in_root_position():
    assert count((74, 65, 62, 59), HOLD) == 1  # B D F over B
    assert count((74, 65, 59, 62), HOLD) == 0  # vii°6: D in the bass


C_CHORD = (72, 67, 64, 48)


def test_a_sinking_texture():
    assert count((60, 55, 52, 48), HOLD) == 1  # the soprano on middle C
    assert count((67, 55, 52, 48), HOLD) == 1  # the alto on G3
    assert count((67, 60, 52, 48), HOLD) == 0
