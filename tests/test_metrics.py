"""Voice-leading metrics on hand-made Scores with known answers."""

from __future__ import annotations

import math

import numpy as np

from composer.reports.metrics import LENGTH_BINS, Metrics, aggregate, measure
from composer.score import HOLD, REST, Key, Score


def chords(*rows: tuple[int, int, int, int], length: int = 4, **meta) -> Score:
    """One SATB chord per row, each ``length`` 16ths long (a repeated pitch is re-struck)."""
    grid = []
    for row in rows:
        grid.append(list(row))
        grid.extend([[HOLD if p >= 0 else REST for p in row]] * (length - 1))
    return Score(np.array(grid), **meta)


# C major: I -> V in good voice leading (no parallels), all in range and in key.
GOOD = ((72, 67, 64, 48), (71, 67, 62, 43))


def test_clean_progression_has_no_faults() -> None:
    m = measure(chords(*GOOD, key=Key(0)))
    # Moves between the two chords: S 72->71, T 64->62, B 48->43 change; A stays.
    # Pairs with both moving: S-T, S-B, T-B = 3 voice-pair moves.
    assert m.pair_moves == 3
    assert (m.parallel_fifths, m.parallel_octaves) == (0, 0)
    assert m.parallels_per_100 == 0.0
    assert m.crossings == 0 and m.crossing_checks == 3 * 8
    assert m.wide_spacings == 0 and m.spacing_checks == 8
    assert (m.out_of_range, m.range_checked) == (0, 8)  # the alto's G4 is struck twice
    assert m.in_key == m.keyed_notes == 8
    assert m.notes == 8 and m.pieces == 1 and m.steps == 8


def test_parallel_fifth_and_octave() -> None:
    # C major chord -> D minor chord with every voice up a step:
    # S-A 72/67 -> 74/69 (4th -> 4th), S-T 72/64 -> 74/65 (6th -> 7th), S-B 72/48 -> 74/50
    # (octaves -> octaves: parallel 8ve), A-T 67/64 -> 69/65, A-B 67/48 -> 69/50 (12th ->
    # 12th: parallel 5th), T-B 64/48 -> 65/50.
    m = measure(chords((72, 67, 64, 48), (74, 69, 65, 50)))
    assert m.pair_moves == 6
    assert m.parallel_fifths == 1
    assert m.parallel_octaves == 1
    assert math.isclose(m.parallels_per_100, 100 * 2 / 6)
    assert math.isclose(m.parallel_fifths_per_100, 100 / 6)


def test_contrary_fifths_and_static_voices_are_not_parallels() -> None:
    # Bass and soprano a 12th apart (pc 7) -> a 5th apart, moving in contrary motion:
    # S 67 -> 62 (down), B 48 -> 55 (up); intervals 19 -> 7, both fifths, not parallel.
    m = measure(chords((67, 64, 60, 48), (62, 59, 59, 55)))
    assert m.parallel_fifths == 0
    # A 5th held while another voice moves is no move of that pair.
    m = measure(chords((72, 67, 60, 48), (72, 67, 62, 48)))
    assert m.pair_moves == 0 and m.parallels_per_100 != m.parallels_per_100  # NaN: nothing moved


def test_unison_parallels_count_as_octaves() -> None:
    m = measure(chords((72, 64, 64, 48), (74, 65, 65, 50)))
    # A-T unison -> unison (parallel), S-B octaves -> octaves (parallel).
    assert m.parallel_octaves == 2


def test_crossing_share() -> None:
    # Alto above soprano in the second chord (4 of 8 steps for that pair); other pairs fine.
    m = measure(chords((72, 67, 64, 48), (67, 69, 64, 48)))
    assert m.crossing_checks == 24
    assert m.crossings == 4
    assert math.isclose(m.crossing_pct, 100 * 4 / 24)
    assert (m.crossed_onsets, m.onsets) == (1, 2)  # the second chord is crossed
    assert m.crossed_onsets_pct == 50.0


def test_spacing_share() -> None:
    # First chord: S-A a 10th apart (16 semitones), wide; second chord: fine.
    m = measure(chords((76, 60, 55, 48), (72, 67, 64, 48)))
    assert (m.wide_spacings, m.spacing_checks) == (4, 8)
    assert m.wide_spacing_pct == 50.0
    # An octave exactly is not wider than an octave; T-B is never checked.
    m = measure(chords((72, 60, 55, 36)))
    assert m.wide_spacings == 0


def test_range_key_and_histograms() -> None:
    # Soprano's 84 (C6) is above its range (B3-A5); the F#4 is out of C major.
    score = chords((84, 66, 60, 48), (72, 67, 64, 48), key=Key(0))
    m = measure(score)
    assert (m.out_of_range, m.range_checked) == (1, 8)
    assert (m.in_key, m.keyed_notes) == (7, 8)
    # Pitch classes relative to C: C x5 (84, 60, 48, 72, 48), E, F#, G.
    expected = np.zeros(12, int)
    expected[[0, 4, 6, 7]] = [5, 1, 1, 1]
    assert m.pitch_classes.tolist() == expected.tolist()
    assert m.note_lengths[3] == 8 and m.note_lengths.sum() == 8  # all quarters (4 16ths)
    assert m.mean_note_length == 4.0
    # In G major the same pitch classes shift: C is 5 semitones above G.
    g = measure(Score(score.grid, key=Key(7)))
    assert g.pitch_classes[5] == 5 and g.in_key == 8


def test_note_lengths_and_missing_key() -> None:
    grid = np.full((24, 4), REST, np.int16)
    grid[0, 0], grid[1, 0] = 72, 74  # a 16th, then a note of 22 16ths (last bin)
    grid[2:, 0] = HOLD
    m = measure(Score(grid))
    assert m.note_lengths[0] == 1 and m.note_lengths[LENGTH_BINS - 1] == 1
    assert m.keyed_notes == 0 and math.isnan(m.in_key_pct)
    assert m.pitch_classes.sum() == 0  # no key, no tonic to count from


def test_aggregate_sums_counts_and_rates_come_from_totals() -> None:
    parallel = chords((72, 67, 64, 48), (74, 69, 65, 50))  # 2 parallels in 6 moves
    clean = chords(*GOOD)  # 0 in 3 moves
    total = aggregate([parallel, clean, clean])
    assert total.pieces == 3
    assert total.pair_moves == 12 and total.parallel_fifths + total.parallel_octaves == 2
    assert math.isclose(total.parallels_per_100, 100 * 2 / 12)  # not the mean of the rates
    assert total.notes == measure(parallel).notes + 2 * measure(clean).notes
    assert aggregate([measure(parallel), clean]).pair_moves == 9
    assert aggregate([]).pieces == 0 and math.isnan(aggregate([]).parallels_per_100)
    assert isinstance(total.figures()["crossing_pct"], float)
    assert isinstance(Metrics() + Metrics(), Metrics)
