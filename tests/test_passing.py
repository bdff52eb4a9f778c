"""theory.passing: passing notes count for a candidate, neighbour notes against it; only short
notes struck off the beat, reached and left by step, counted where the note after is struck."""

from __future__ import annotations

import numpy as np

from composer.theory.counterpoint import beat_steps
from composer.theory.passing import passing_balance

BEATS = beat_steps(16, (4, 4), 0)  # steps 0, 4, 8, 12


def voice_line(*notes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(pitches int[1, 16, 4], struck) with the alto singing ``notes`` (pitch, steps) and the
    other voices holding C major."""
    pitches = np.tile(np.array([72, 64, 55, 48]), (16, 1))
    struck = np.zeros((16, 4), bool)
    struck[0] = True
    t = 0
    for pitch, length in notes:
        pitches[t : t + length, 1] = pitch
        struck[t, 1] = True
        t += length
    assert t == 16
    return pitches[None], struck[None]


def balance(line, first=0, stop=16) -> int:
    return int(passing_balance(*line, first, stop, BEATS)[0])


def test_a_passing_eighth_counts_once_where_the_next_note_is_struck():
    line = voice_line((64, 2), (65, 2), (67, 4), (67, 8))  # E-F-G: F passes on the off-beat
    assert balance(line) == 1
    assert balance(line, 0, 4) == 0  # the G is not written yet
    assert balance(line, 4, 8) == 1 and balance(line, 8, 16) == 0


def test_a_neighbour_note_counts_against():
    assert balance(voice_line((64, 2), (65, 2), (64, 4), (64, 8))) == -1  # E-F-E
    assert balance(voice_line((64, 2), (62, 2), (64, 12))) == -1  # E-D-E, lower


def test_notes_on_the_beat_longer_ones_and_leaps_do_not_count():
    assert balance(voice_line((64, 4), (65, 4), (67, 8))) == 0  # F on the beat (accented)
    assert balance(voice_line((64, 1), (65, 3), (67, 12))) == 0  # F a dotted eighth
    assert balance(voice_line((64, 2), (67, 2), (69, 12))) == 0  # reached by a leap
    assert balance(voice_line((64, 2), (65, 2), (69, 12))) == 0  # left by a leap
    assert balance(voice_line((64, 2), (64, 2), (65, 12))) == 0  # a note struck again


def test_the_batch_counts_each_candidate_and_every_voice():
    a, sa = voice_line((64, 2), (65, 2), (67, 4), (69, 2), (71, 2), (72, 4))  # two passing
    b, sb = voice_line((64, 2), (65, 2), (64, 12))  # one neighbour
    bass = a.copy()
    bass[0, 2:, 3] = [50, 50] + [52] * 12  # C-D-E in the bass too
    sbass = sa.copy()
    sbass[0, [2, 4], 3] = True
    pitches, struck = np.concatenate([a, b, bass]), np.concatenate([sa, sb, sbass])
    assert passing_balance(pitches, struck, 0, 16, BEATS).tolist() == [2, -1, 3]
