"""Score and Key: parsing, notes, validation, transposition, slicing."""

import numpy as np
import pytest

from composer.errors import ScoreError
from composer.score import HOLD, REST, Key, Note, Score


@pytest.mark.parametrize(
    "text, tonic, mode",
    [
        ("D minor", 2, "minor"),
        ("Bb major", 10, "major"),
        ("f#m", 6, "minor"),
        ("C", 0, "major"),
        ("Eb", 3, "major"),
        ("g# min", 8, "minor"),
    ],
)
def test_key_parse(text, tonic, mode):
    k = Key.parse(text)
    assert (k.tonic, k.mode) == (tonic, mode)
    assert Key.parse(str(k)) == k
    assert Key.from_index(k.index) == k


def test_key_parse_refuses_nonsense():
    with pytest.raises(ScoreError, match="D minor"):
        Key.parse("H minor")


def test_key_signature_sharps():
    assert Key.parse("D major").sharps == 2
    assert Key.parse("D minor").sharps == -1
    assert Key.parse("F# minor").sharps == 3


def score():
    g = np.array([[72, 67, 64, 48], [HOLD, HOLD, REST, HOLD], [74, 67, 62, 47], [HOLD] * 4])
    return Score(g, key=Key.parse("C major"), fermatas=(2,), pickup=2)


def test_notes_and_pitch_grid():
    s = score()
    assert list(s.notes(0)) == [Note(0, 0, 2, 72), Note(0, 2, 4, 74)]
    assert list(s.notes(2)) == [Note(2, 0, 1, 64), Note(2, 2, 4, 62)]
    assert s.pitch_grid()[1].tolist() == [72, 67, REST, 48]
    assert s.fermata_mask().tolist() == [False, False, True, True]


def test_from_notes_round_trip():
    s = score()
    back = Score.from_notes(list(s.notes()), s.steps, key=s.key, fermatas=s.fermatas, pickup=2)
    assert back == s


def test_validate_rejects_orphan_hold_and_bad_pitch():
    with pytest.raises(ScoreError, match="HOLD"):
        Score(np.array([[HOLD, 60, 60, 60]])).validate()
    with pytest.raises(ScoreError, match="not a MIDI pitch"):
        Score(np.array([[200, 60, 60, 60]])).validate()


def test_transpose_moves_pitches_and_key():
    s = score().transpose(3)
    assert s.grid[0].tolist() == [75, 70, 67, 51]
    assert s.grid[1, 0] == HOLD
    assert s.key == Key.parse("Eb major")
    with pytest.raises(ScoreError):
        score().transpose(60)


def test_slice_restates_held_notes():
    s = score().slice(1, 4)
    assert s.grid[0].tolist() == [72, 67, REST, 48]
    assert s.fermatas == (1,)


def test_bars_and_bar_numbers():
    s = Score(np.full((16 * 4, 4), 60, np.int16), pickup=4)
    assert s.bars == 4
    assert s.bar_of(0) == 0 and s.bar_of(4) == 1 and s.bar_start(2) == 20
