"""A harmony teacher's faults (composer.theory.counterpoint) on small hand-written examples."""

import numpy as np

from composer.encoding import TOK_HOLD, sounding
from composer.score import Key
from composer.theory.counterpoint import beat_steps, faults

H = TOK_HOLD
C = Key.parse("C major")


def count(*rows: tuple[int, int, int, int], key: Key = C) -> int:
    """The faults of a passage given step by step (S, A, T, B; H holds), in 4/4 from a
    downbeat."""
    tokens = np.array(rows, np.int64)
    steps = len(tokens)
    pitches = sounding(tokens.reshape(-1), steps)
    return faults(pitches, tokens != H, 0, steps, beat_steps(steps, (4, 4), 0), key)


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


def test_a_chromatic_clash_counts_twice():
    assert count((66, 62, 57, 50), (H, H, H, H), (65, H, H, H), HOLD, key=Key.parse("G major")) == 0
    # F natural in the soprano against F# in the tenor, over D
    assert count((65, 62, 54, 50), HOLD, key=Key.parse("G major")) == 2


def test_a_soprano_rocking_between_two_notes():
    rows = [(72, 67, 64, 48), HOLD, (71, H, H, H), HOLD, (72, H, H, H), HOLD, (71, H, H, H)]
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


def test_a_diminished_triad_in_root_position():
    assert count((74, 65, 62, 59), HOLD) == 1  # B D F over B
    assert count((74, 65, 59, 62), HOLD) == 0  # vii°6: D in the bass


C_CHORD = (72, 67, 64, 48)


def test_a_sinking_texture():
    assert count((60, 55, 52, 48), HOLD) == 1  # the soprano on middle C
    assert count((67, 55, 52, 48), HOLD) == 1  # the alto on G3
    assert count((67, 60, 52, 48), HOLD) == 0
