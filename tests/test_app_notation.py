"""The app follows the file it opens (key, meter, tempo, pickup; "Auto" for what the file does
not give), harmonizes in the melody's key, offers enharmonic keys, keeps the selection on a
focusing click, numbers a pickup bar 0, suggests a new export name beside the input, plays with
a chosen ensemble, and shows the score engraved, following playhead, selection and undo."""

# ruff: noqa: F811 - the window fixtures come from test_gui and are taken by name as arguments

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("verovio")

from notation_fixtures import attributes, metronome, note, partwise  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from test_gui import (  # noqa: E402, F401 - the fixtures are used by name
    chorale,
    compose,
    make_window,
    no_thread_left,
    open_file,
    sampler,
    wait_workers,
)

from composer.app.document import Selection  # noqa: E402
from composer.app.files import suggest_export_path  # noqa: E402
from composer.app.panels import KEYS  # noqa: E402
from composer.midi.io import write_midi  # noqa: E402
from composer.score import HOLD, Key, Score  # noqa: E402

Q = 4


def g_major_tune(tmp_path: Path, key: bool = True) -> Path:
    """G major, 3/4 at 66 bpm, a quarter pickup."""
    first = attributes(fifths=1, time="3/4") if key else attributes(fifths=None, time="3/4")
    first += metronome(66) + note("D", 4, Q)
    bars = [note("G", 4, Q) + note("A", 4, Q) + note("B", 4, Q),
            note("A", 4, 2 * Q) + note("F", 4, Q, alter=1),
            note("G", 4, 2 * Q, fermata=True)]  # fmt: skip
    path = tmp_path / ("tune.musicxml" if key else "nokey.musicxml")
    path.write_bytes(partwise({"Tune": [first] + bars}, title="Tune", pickup=True))
    return path


def test_opening_a_melody_sets_key_meter_tempo_and_pickup(qtbot, make_window, tmp_path) -> None:
    w = make_window()
    w.compose_panel.key.setCurrentText("F# minor")  # a stale key from before
    open_file(qtbot, w, g_major_tune(tmp_path))
    p = w.compose_panel.params()
    assert (p.key, p.time_signature, p.tempo, p.pickup, p.mode) == (
        "G major",
        (3, 4),
        66.0,
        4,
        "harmonize",
    )
    read = w.compose_panel.read_label.text()
    assert "From the file: key, time, tempo; a pickup of 4 16ths" in read
    open_file(qtbot, w, g_major_tune(tmp_path, key=False))
    assert w.compose_panel.key.currentText() == "Auto"  # nothing read: harmonize estimates it


def test_harmonize_uses_the_melodys_key(qtbot, make_window, sampler, tmp_path) -> None:
    w = make_window(sampler)
    w.compose_panel.key.setCurrentText("F# minor")
    open_file(qtbot, w, g_major_tune(tmp_path))
    with qtbot.waitSignal(w.composed, timeout=120_000):
        w.compose(w.compose_panel.params())
    wait_workers(qtbot, w)
    piece = w.doc.piece
    assert str(piece.key) == "G major" and piece.voices == 4 and piece.pickup == 4
    assert piece.meta["key"] == "G major"


def test_enharmonic_keys_are_offered_and_kept(qtbot, make_window, sampler) -> None:
    assert {"Db major", "C# major", "Gb major", "F# major", "Eb minor", "D# minor"} <= set(KEYS)
    w = make_window(sampler)
    compose(qtbot, w, key="Db major", mode="generate", bars=2, variations=1)
    assert str(w.doc.piece.key) == "Db major" and w.doc.piece.key.sharps == -5


def test_a_focusing_click_keeps_the_selection_a_second_click_clears_it(qtbot, make_window):
    w = make_window()
    w.doc.open_piece(chorale(4))
    w.doc.select(Selection(2, 3, (1, 2)))
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    w.compose_panel.seed.setFocus()
    qtbot.waitUntil(lambda: not w.roll.hasFocus(), timeout=5000)
    point = w.roll.visible_point(8, 60)
    QTest.mouseClick(w.roll.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert w.roll.hasFocus() and w.doc.selection == Selection(2, 3, (1, 2))
    w.roll._focus_click_until = 0.0  # the next click comes later
    QTest.mouseClick(w.roll.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert w.doc.selection is None


def test_the_pickup_is_bar_0_on_the_roll(make_window) -> None:
    w = make_window()
    grid = np.full((36, 4), HOLD, np.int16)
    grid[0::4] = [72, 67, 60, 48]
    w.doc.open_piece(Score(grid, pickup=4, key=Key(0)))
    a, b = w.roll.visible_point(1, 84), w.roll.visible_point(2, 40)
    sel = w.roll.select_rect(a, b)
    assert (sel.first_bar, sel.last_bar) == (0, 0)
    assert sel.steps(w.doc.piece) == (0, 4)


def test_export_suggests_a_new_name_beside_the_input(tmp_path) -> None:
    src = tmp_path / "songs" / "tune.mid"
    src.parent.mkdir()
    src.write_bytes(b"")
    path = suggest_export_path(str(src), str(tmp_path), "harmonize")
    assert path == src.parent / "tune-harmonized.mid"
    path.write_bytes(b"")
    assert suggest_export_path(str(src), str(tmp_path), "harmonize").name == "tune-harmonized-2.mid"
    assert suggest_export_path("", str(tmp_path)).name == "chorale.mid"


def test_the_mixer_sets_an_ensemble(make_window) -> None:
    w = make_window()
    assert w.mixer.ensemble.currentText() == "Choir"
    w.mixer.ensemble.setCurrentIndex(w.mixer.ensemble.findData("strings"))
    w.mixer.ensemble.activated.emit(w.mixer.ensemble.currentIndex())
    assert w.mixer.programs() == [40, 40, 41, 42]
    w.mixer.instruments[0].setCurrentIndex(w.mixer.instruments[0].findData(19))
    assert w.mixer.ensemble.currentText() == "Custom"


def test_the_score_view_follows_open_compose_undo_playhead_and_selection(
    qtbot, make_window, sampler, tmp_path
) -> None:
    w = make_window(sampler)
    view = w.score_view
    path = tmp_path / "c.mid"
    write_midi(chorale(4), path)
    with qtbot.waitSignal(view.engraved, timeout=30_000):
        open_file(qtbot, w, path)
    wait_workers(qtbot, w)
    first = view.engraving
    assert len(first.bars) == 4 and {n.voice for n in first.notes} == {0, 1, 2, 3}
    assert len(first.notes) == sum(1 for _ in chorale(4).notes())  # quarter notes: no ties
    with qtbot.waitSignal(view.engraved, timeout=120_000):
        compose(qtbot, w, mode="generate", bars=2, variations=1)
    wait_workers(qtbot, w)
    assert view.engraving is not first and len(view.engraving.bars) <= 3
    with qtbot.waitSignal(view.engraved, timeout=30_000):
        w.doc.undo()
    wait_workers(qtbot, w)
    assert [n.start for n in view.engraving.notes] == [n.start for n in first.notes]

    w._on_position(16.0)  # bar 2's downbeat: one note per voice sounds
    assert sorted(n.voice for n in view.engraving.sounding(16.0)) == [0, 1, 2, 3]
    assert view.playhead == 16.0

    bar2 = view.engraving.bars[1]
    r = view.page.rect_of(bar2.staves[2])  # bar 2, the tenor's staff
    QTest.mouseClick(view.page, Qt.LeftButton, Qt.NoModifier, r.center().toPoint())
    assert w.doc.selection == Selection(2, 2, (2,))
    last = view.engraving.bars[3]
    r = view.page.rect_of(last.staves[3])
    QTest.mouseClick(view.page, Qt.LeftButton, Qt.ShiftModifier, r.center().toPoint())
    assert w.doc.selection == Selection(2, 4, (2, 3))
