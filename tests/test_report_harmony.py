"""The report's harmony section: the picture exists, the table holds the figures computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from composer.reports.harmony import harmony_section
from composer.reports.report import fmt, ratio, write_report
from composer.score import HOLD, Key, Score
from composer.theory.harmony_figures import FIGURES, aggregate

pytest.importorskip("matplotlib")

C_MAJOR = Key(0)


def chords(*rows: tuple[int, int, int, int], key: Key = C_MAJOR, **meta) -> Score:
    grid = []
    for row in rows:
        grid += [list(row)] + [[HOLD] * 4] * 3
    return Score(np.array(grid), key=key, **meta)


# C major: I IV V7 I (fermata), Bach-like; and a piece ending on V with a doubled leading tone
BACH = [chords((72, 67, 64, 48), (72, 69, 65, 53), (71, 65, 62, 43), (72, 64, 60, 48),
               fermatas=(12,))]  # fmt: skip
ODD = [chords((72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 59, 43), fermatas=(8,))]


def test_report_has_a_harmony_section(tmp_path: Path) -> None:
    lines = harmony_section(tmp_path, {"generated": ODD}, BACH)
    path = write_report(tmp_path, {"generated": ODD}, BACH, piano_rolls=0, extra=lines)
    assert (tmp_path / "harmony.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "distributions.png",
        "harmony.png",
        "report.md",
    ]  # and no temporary files left
    text = path.read_text()
    assert "## Harmony" in text and "![harmony](harmony.png)" in text
    assert text.index("## Harmony") < text.index("## Distributions")
    ref, gen = aggregate(BACH).figures(), aggregate(ODD).figures()
    assert ref["final_tonic"] == 100.0 and gen["final_tonic"] == 0.0
    assert gen["doubled_lt"] > 0 and gen["cadence_half"] == 100.0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    for key, label, _ in FIGURES:
        cells = [c.strip() for c in rows[label].strip("|").split("|")]
        assert cells[1:] == [fmt(ref[key]), fmt(gen[key]), fmt(ratio(gen[key], ref[key]))], label
    assert "| fermatas | 1 | 1 |" in text
