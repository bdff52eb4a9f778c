"""The evaluation report: files exist, the tables hold the numbers metrics computes."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from composer.reports.metrics import FIGURES, aggregate
from composer.reports.report import fmt, ratio, slug, write_report
from composer.score import HOLD, Key, Score

pytest.importorskip("matplotlib")


C_MAJOR = Key(0)


def chords(*rows: tuple[int, int, int, int], key: Key | None = C_MAJOR, **meta) -> Score:
    grid = []
    for row in rows:
        grid += [list(row)] + [[HOLD] * 4] * 3
    return Score(np.array(grid), key=key, **meta)


REFERENCE = [
    chords((72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48), (72, 65, 57, 53)),
    chords((67, 64, 60, 48), (69, 65, 60, 53), (71, 67, 62, 55), (72, 64, 55, 48), fermatas=(12,)),
]
PARALLELS = [chords((72, 67, 64, 48), (74, 69, 65, 50), (76, 71, 67, 52), (77, 67, 69, 53))]
CROSSED = [chords((67, 72, 64, 48), (67, 71, 62, 43), pickup=4, time_signature=(3, 4))]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_files_and_numbers(tmp_path: Path) -> None:
    sections = {"generated t=1.0": PARALLELS, "crossed": CROSSED}
    path = write_report(tmp_path / "rep", sections, REFERENCE, piano_rolls=2)
    assert path == tmp_path / "rep" / "report.md"
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == [
        "distributions.png",
        "piano_roll_crossed_1.png",
        "piano_roll_generated_t_1_0_1.png",
        "report.md",
    ]  # and no temporary files left
    for name in files[:-1]:
        w, h = png_size(path.parent / name)
        assert w > 500 and h > 300

    text = path.read_text()
    ref = aggregate(REFERENCE)
    gen, crossed = aggregate(PARALLELS), aggregate(CROSSED)
    assert gen.parallels_per_100 > 0 and crossed.crossing_pct > 0  # the fixtures do something
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    for attr, label, _ in FIGURES:
        row = next(line for key, line in rows.items() if key.startswith(label))
        cells = [c.strip() for c in row.strip("|").split("|")]
        r, g, c = getattr(ref, attr), getattr(gen, attr), getattr(crossed, attr)
        assert cells[1:] == [fmt(r), fmt(g), fmt(ratio(g, r)), fmt(c), fmt(ratio(c, r))], label
    assert f"| pieces | {len(REFERENCE)} | 1 | 1 |" in text
    assert "![distributions](distributions.png)" in text
    assert "(piano_roll_crossed_1.png)" in text
    pc_row = next(line for line in text.splitlines() if line.startswith("| Bach | "))
    assert fmt(ref.pitch_class_distribution[0] * 100, 1) in pc_row


def test_ratio_and_format() -> None:
    assert ratio(1.0, 2.0) == 0.5
    assert fmt(ratio(1.0, 0.0)) == "–" and fmt(float("nan")) == "–"
    assert fmt(2.345) == "2.35" and fmt(2.345, 1) == "2.3"
    assert slug("generated t=1.0") == "generated_t_1_0" and slug("***") == "section"


def test_report_rewrites_atomically(tmp_path: Path) -> None:
    write_report(tmp_path, {"a": PARALLELS}, REFERENCE, piano_rolls=0)
    first = (tmp_path / "report.md").read_text()
    write_report(tmp_path, {"a": CROSSED}, REFERENCE, piano_rolls=0)
    second = (tmp_path / "report.md").read_text()
    assert first != second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["distributions.png", "report.md"]
