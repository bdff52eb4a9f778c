"""composer.theory.voiceleading: the one definition of voice-pair moves and parallel fifths and
octaves, shared by the metrics, the harmony figures and the app's marks on the roll."""

import numpy as np
import pytest

from composer.reports.metrics import measure
from composer.score import HOLD, REST, Score
from composer.theory.harmony import contrary_perfects
from composer.theory.voiceleading import out_of_range, pair_motions, parallel, parallels


def chords(*rows, length=4) -> Score:
    grid = []
    for row in rows:
        grid.append(list(row))
        grid.extend([[HOLD if p >= 0 else REST for p in row]] * (length - 1))
    return Score(np.array(grid, np.int16))


@pytest.mark.parametrize(
    "upper,lower,kind",
    [
        ((72, 74), (48, 50), "octaves"),  # compound octave, both up a step
        ((67, 69), (48, 50), "fifths"),  # a 12th, both up
        ((64, 62), (64, 62), "octaves"),  # unison, both down
        ((67, 62), (48, 55), None),  # fifths by contrary motion
        ((72, 72), (48, 50), None),  # the upper voice holds its pitch
        ((65, 67), (60, 62), None),  # fourths
        ((67, 69), (-1, 62), None),  # a rest
        ((67, 71), (60, 62), None),  # fifth -> third
    ],
)
def test_parallel_names_the_fault_of_one_move(upper, lower, kind):
    assert parallel(upper, lower) == kind


def test_the_marks_the_metrics_and_the_pair_rule_agree():
    s = chords((72, 67, 64, 48), (74, 69, 65, 50), (76, 72, 67, 48), (74, 71, 62, 55))
    found = parallels(s)
    m = measure(s)
    assert len(found) == m.parallel_fifths + m.parallel_octaves == 2
    pitch = s.pitch_grid()
    for p in found:
        upper = (int(pitch[p.before, p.upper]), int(pitch[p.step, p.upper]))
        lower = (int(pitch[p.before, p.lower]), int(pitch[p.step, p.lower]))
        assert parallel(upper, lower) == p.kind
    assert sum(int(pm.moves.sum()) for pm in pair_motions(s)) == m.pair_moves
    assert contrary_perfects(s)[0] == m.pair_moves


def test_voice_leading_locations_match_metrics():
    grid = np.full((16, 4), HOLD, np.int16)
    grid[0] = (67, 64, 60, 48)
    grid[4] = (69, 65, 62, 50)  # C-C to D-D: parallel octaves (T-B)
    grid[8] = (71, 67, 64, 57)
    grid[12] = (72, 40, 65, REST)  # alto far below its range
    s = Score(grid)
    found = parallels(s)
    m = measure(s)
    assert len(found) == m.parallel_fifths + m.parallel_octaves > 0
    assert any(p.kind == "octaves" and (p.upper, p.lower) == (2, 3) and p.step == 4 for p in found)
    assert [(o.voice, o.start) for o in out_of_range(s)] == [(1, 12)]
