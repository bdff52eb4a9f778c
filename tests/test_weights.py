"""Training's loss weights: the cadences and the final chord."""

import numpy as np

from composer.score import HOLD, Key, Score
from composer.train.dataset import final_chord_step, satb_example

H = HOLD
HOLD_ALL = (H, H, H, H)


def cadence(fermatas=(12,)) -> Score:
    """C major, 4/4, 16ths: I, IV, V on beats 1-3, I on beat 4 held for a bar."""
    rows = []
    for chord in ((72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48)):
        rows += [chord] + [HOLD_ALL] * 3
    rows += [HOLD_ALL] * 16
    return Score(np.array(rows), key=Key.parse("C major"), fermatas=fermatas)


def test_the_final_chord_is_the_last_fermata_or_else_the_last_chord_struck():
    assert final_chord_step(cadence()) == 12
    assert final_chord_step(cadence(fermatas=(4, 12))) == 12
    assert final_chord_step(cadence(fermatas=())) == 12
    silent = Score(np.full((8, 4), -1), key=Key.parse("C major"))
    assert final_chord_step(silent) == -1


def test_the_weights_multiply_and_never_reach_what_is_fixed():
    score = cadence()
    assert (satb_example(score, None, "free").weight == 1).all()
    w = satb_example(score, None, "free", cadence_weight=2, ending_weight=5).weight
    w = w.reshape(-1, 4)
    assert (w[:4] == 1).all()  # before the cadence's half note
    assert (w[4:12] == 2).all()  # the cadence
    assert (w[12] == 2 * 5).all()  # the final chord: the cadence's weight and the ending's
    assert (w[13:] == 1).all()
    fixed = satb_example(score, None, "soprano", ending_weight=5).weight.reshape(-1, 4)
    assert (fixed[:, 0] == 0).all() and (fixed[12, 1:] == 5).all()
