"""The desktop app: document model, compose/export/undo/open through the real window, with the
real sampler and the shipped model (models/bach-satb). Qt runs offscreen.

A fixture fails any test that leaves a worker or a Python thread running.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from composer.app import workers  # noqa: E402
from composer.app.compose import ComposeParams, apply_locks  # noqa: E402
from composer.app.document import Document, Selection  # noqa: E402
from composer.app.mainwindow import MainWindow  # noqa: E402
from composer.app.pianoroll import VOICE_COLORS  # noqa: E402
from composer.app.player import MixOutput, loop_steps  # noqa: E402
from composer.midi.io import read_midi, write_midi  # noqa: E402
from composer.realtime.playback import RecordingOutput  # noqa: E402
from composer.score import HOLD, Key, Score  # noqa: E402

COMPOSE_TIMEOUT_MS = 120_000


# --- helpers (conftest_gui) ----------------------------------------------------------------
def chorale(bars: int = 4, shift: int = 0, seed: int = 0) -> Score:
    """A small four-voice piece: quarter notes in comfortable SATB ranges."""
    rng = np.random.default_rng(seed)
    steps = bars * 16
    grid = np.full((steps, 4), HOLD, np.int16)
    for v, base in enumerate((72, 65, 57, 48)):
        p = base + shift
        for t in range(0, steps, 4):
            p = int(np.clip(p + rng.integers(-2, 3), base - 5, base + 5))
            grid[t, v] = p
    return Score(grid, tempo=90, key=Key.parse("C major"))


def melody(bars: int = 4) -> Score:
    grid = np.full((bars * 16, 1), HOLD, np.int16)
    tune = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 72]
    for i, p in enumerate(tune[: bars * 4]):
        grid[i * 4, 0] = p
    return Score(grid, tempo=90, key=Key.parse("C major"))


@pytest.fixture(autouse=True)
def no_thread_left():
    """Fail a test that leaves a worker or any extra Python thread running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        # a _DummyThread only stands for a thread Python did not start (a worker's QThread,
        # once it started the sampler's helper thread); live_workers() covers those
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()
                 and not isinstance(t, threading._DummyThread)]  # fmt: skip
        if not workers.live_workers() and not extra:
            return
        time.sleep(0.05)
    pytest.fail(f"threads left running: {workers.live_workers()} {extra}")


@pytest.fixture(scope="session")
def sampler():
    from composer.runtime.sampler import Sampler

    try:
        return Sampler.load()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"the shipped model cannot be loaded: {e}")


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(sampler=None, audio: bool = False, name: str = "w") -> MainWindow:
        settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.IniFormat)
        loader = (lambda: sampler) if sampler is not None else None
        w = MainWindow(settings=settings, autosave_path=tmp_path / f"{name}-autosave.json",
                       audio=audio, sampler_loader=loader)  # fmt: skip
        w.ask_on_close = lambda: "discard"
        qtbot.addWidget(w)
        w.show()
        if sampler is not None:
            qtbot.waitUntil(lambda: w.sampler is not None, timeout=30_000)
        made.append(w)
        return w

    yield make
    for w in made:
        w.doc.dirty = False
        w.close()


def wait_workers(qtbot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.workers, timeout=COMPOSE_TIMEOUT_MS)


def compose(qtbot, w: MainWindow, **params) -> None:
    p = ComposeParams(**{"bars": 4, "variations": 2, "seed": 3, **params})
    with qtbot.waitSignal(w.composed, timeout=COMPOSE_TIMEOUT_MS):
        w.compose(p)
    wait_workers(qtbot, w)


def open_file(qtbot, w: MainWindow, path: Path) -> None:
    w.open_file(str(path))
    wait_workers(qtbot, w)


# --- the document alone ----------------------------------------------------------------------
def test_document_undo_redo_and_dirty():
    doc = Document()
    seen = []
    doc.listen(seen.append)
    a, b = chorale(seed=1), chorale(seed=2)
    doc.open_piece(a, "a.mid")
    assert not doc.dirty and doc.piece is a
    doc.set_results([b, a], "New chorale")
    assert doc.dirty and doc.piece is b and len(doc.variations) == 2
    doc.choose_variation(1)
    assert doc.piece is a
    assert doc.undo() and doc.piece is b
    assert doc.undo() and doc.piece is a and doc.variations == (a,)
    assert doc.redo() and doc.piece is b
    assert "piece" in seen and "history" in seen


def test_document_locks_and_mask():
    doc = Document()
    s = chorale()
    doc.open_piece(s)
    onset = next(s.notes(1))
    assert doc.toggle_note_lock(1, onset.start + 1) is True  # inside the note: its onset locks
    assert doc.is_locked(1, onset.end - 1) and not doc.is_locked(0, onset.start)
    mask = doc.lock_mask()
    assert mask[onset.start : onset.end, 1].all() and mask.sum() == onset.end - onset.start
    doc.toggle_voice_lock(3)
    assert doc.lock_mask()[:, 3].all()
    doc.undo()
    assert 3 not in doc.voice_locks and (1, onset.start) in doc.note_locks
    doc.select(Selection(2, 3, (0, 1)))
    doc.lock_selection(True)
    start, end = doc.selection.steps(s)
    assert (start, end) == (16, 48)
    assert all((0, n.start) in doc.note_locks for n in s.notes(0) if 16 <= n.start < 48)


def test_document_round_trips_through_autosave_dict():
    doc = Document()
    doc.open_piece(chorale(seed=1), "x.mid")
    doc.set_results([chorale(seed=2), chorale(seed=3)], "New chorale")
    doc.toggle_voice_lock(2)
    back = Document.from_dict(doc.to_dict())
    assert back.piece == doc.piece and back.variations == doc.variations
    assert back.voice_locks == {2} and len(back.undo_stack) == len(doc.undo_stack)
    assert back.undo() and back.piece == doc.undo_stack[-1].piece


def test_document_restore_takes_the_saved_history_and_tells_its_listeners():
    saved = Document()
    saved.open_piece(chorale(seed=1), "x.mid")
    saved.set_results([chorale(seed=2)], "New chorale")
    doc, heard = Document(), []
    doc.listen(heard.append)
    doc.restore(Document.from_dict(saved.to_dict()))
    assert doc.piece == saved.piece and doc.source == "x.mid" and doc.dirty
    assert {"piece", "variations", "locks", "history", "selection"} <= set(heard)
    assert doc.undo() and doc.piece == chorale(seed=1)


def test_harmonizing_keeps_the_melody_other_results_drop_it():
    doc = Document()
    tune = chorale(seed=1)
    doc.open_melody(tune)
    doc.set_results([chorale(seed=2)], "Harmonize melody", keep_melody=True)
    assert doc.melody is tune
    doc.set_results([chorale(seed=3)], "Continue")
    assert doc.melody is None


def test_modes_have_one_name_each():
    from composer.app.compose import MODE_LABELS, MODES

    assert MODES == ("generate", "continue", "harmonize", "regenerate") == tuple(MODE_LABELS)
    assert ComposeParams(mode="new").mode == "generate"  # as saved by earlier versions


def test_a_cancelled_job_aborts_instead_of_failing(qtbot):
    from composer.errors import Cancelled

    def job(progress, cancel):
        raise Cancelled()

    runner = workers.Runner()
    failed, aborted = [], []
    runner.failed.connect(lambda name, msg: failed.append(msg))
    w = runner.run(job, on_cancel=lambda: aborted.append(1), name="job")
    qtbot.waitUntil(lambda: not runner.workers, timeout=10_000)
    w.wait()
    assert aborted == [1] and failed == []


def test_apply_locks_restores_locked_notes_and_cuts_holds():
    orig = chorale(seed=1)
    new = chorale(seed=2)
    mask = np.zeros(orig.grid.shape, bool)
    mask[4:8, 1] = True  # one quarter note of the alto
    out = apply_locks(orig, new, mask)
    assert np.array_equal(out.grid[4:8, 1], orig.grid[4:8, 1])
    assert out.grid[8, 1] != HOLD or new.grid[8, 1] != HOLD
    out.validate()
    assert np.array_equal(out.grid[:, 0], new.grid[:, 0])


def test_loop_steps_and_mix_output():
    s = chorale(bars=2)
    rows = list(loop_steps(s.grid, 2, None))
    assert len(rows) == s.steps - 2 and rows[0][0] == s.grid[0, 0]  # held note re-struck
    it = loop_steps(s.grid, 0, (16, 20))
    first = [next(it) for _ in range(9)]
    assert np.array_equal(first[0], s.grid[16]) and np.array_equal(first[4], s.grid[16])
    rec = RecordingOutput()
    mix = MixOutput(rec, [True, False, True, True], (0, 1, 2, 3))
    import mido

    mix.send(mido.Message("note_on", channel=1, note=60, velocity=80))
    mix.send(mido.Message("note_on", channel=0, note=72, velocity=80))
    mix.send(mido.Message("note_off", channel=1, note=60))
    assert [(m.type, m.channel) for m in rec.messages] == [("note_on", 0), ("note_off", 1)]


# --- the window ------------------------------------------------------------------------------
def test_window_title_and_no_audio_status(make_window):
    w = make_window(audio=False)
    assert w.windowTitle() == "Composer"
    assert "No audio device" in w.audio_label.text()
    assert w.player.outputs()[0][0] == "synth"


def test_compose_puts_notes_on_the_roll(qtbot, make_window, sampler):
    w = make_window(sampler)
    assert w.doc.piece is None
    compose(qtbot, w, mode="generate", bars=4, variations=2, key="D minor")
    piece = w.doc.piece
    assert piece is not None and piece.voices == 4 and piece.bars >= 4
    assert w.variations_panel.list.count() == 2
    notes = list(piece.notes())
    assert len(notes) > 16
    # The roll draws each voice in its colour: sample the middle of a visible note.
    w.roll.scroll_to_start()
    w.roll.center_on_music()
    image = w.roll.viewport().grab().toImage()
    ratio = w.roll.viewport().devicePixelRatioF()
    hits = 0
    for n in notes[:40]:
        r = w.roll.note_rect(n.start, n.end, n.pitch)
        x, y = int(r.center().x() * ratio), int(r.center().y() * ratio)
        if 0 <= x < image.width() and 0 <= y < image.height():
            c = image.pixelColor(x, y)
            want = QColor(VOICE_COLORS[n.voice])
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) < 30:
                hits += 1
                assert w.roll.note_at(r.center()) is not None
    assert hits >= 5
    assert "bar" in w.roll.describe(notes[0])
    # choosing another variation shows it
    w.variations_panel.list.setCurrentRow(1)
    assert w.doc.piece is w.doc.variations[1]


def test_export_midi_reads_back(qtbot, make_window, sampler, tmp_path):
    w = make_window(sampler)
    compose(qtbot, w, bars=2, variations=1)
    assert w.doc.dirty
    out = tmp_path / "out.mid"
    w.export(str(out))
    wait_workers(qtbot, w)
    back = read_midi(out)
    assert np.array_equal(back.grid, w.doc.piece.grid)
    assert not w.doc.dirty


@pytest.mark.parametrize("suffix", [".wav", ".musicxml"])
def test_export_wav_and_musicxml(qtbot, make_window, tmp_path, suffix):
    w = make_window()
    src = tmp_path / "in.mid"
    write_midi(chorale(bars=2), src)
    open_file(qtbot, w, src)
    out = tmp_path / f"out{suffix}"
    w.export(str(out))
    wait_workers(qtbot, w)
    assert w.last_dialog is None, w.last_dialog and w.last_dialog.text()
    data = out.read_bytes()
    assert data[:4] == b"RIFF" if suffix == ".wav" else b"<score-partwise" in data


def test_undo_restores_the_previous_piece(qtbot, make_window, sampler, tmp_path):
    w = make_window(sampler)
    src = tmp_path / "a.mid"
    write_midi(chorale(bars=4), src)
    open_file(qtbot, w, src)
    before = w.doc.piece
    compose(qtbot, w, bars=4, variations=1)
    after = w.doc.piece
    assert after != before
    w.activateWindow()
    QTest.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert w.doc.piece == before
    QTest.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.doc.piece == after


def test_broken_file_shows_a_dialog_and_the_app_lives_on(qtbot, make_window, tmp_path):
    w = make_window()
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    open_file(qtbot, w, bad)
    qtbot.waitUntil(lambda: w.last_dialog is not None and w.last_dialog.isVisible())
    assert "broken.mid" in w.last_dialog.text()
    w.last_dialog.done(0)  # auto-close
    assert w.isVisible() and w.doc.piece is None
    good = tmp_path / "good.mid"
    write_midi(chorale(), good)
    open_file(qtbot, w, good)
    assert w.doc.piece is not None and w.doc.piece.voices == 4


def test_melody_opens_for_harmonizing(qtbot, make_window, sampler, tmp_path):
    w = make_window(sampler)
    src = tmp_path / "tune.mid"
    write_midi(melody(), src)
    open_file(qtbot, w, src)
    assert w.doc.melody is not None and w.compose_panel.params().mode == "harmonize"
    compose(qtbot, w, mode="harmonize", key="C major", variations=1)
    piece = w.doc.piece
    assert piece.voices == 4
    tune = [(n.start, n.pitch) for n in melody().notes(0)]
    assert [(n.start, n.pitch) for n in piece.notes(0)][: len(tune)] == tune


def test_regenerate_selection_keeps_locked_and_unselected(qtbot, make_window, sampler, tmp_path):
    w = make_window(sampler)
    src = tmp_path / "a.mid"
    write_midi(chorale(bars=4), src)
    open_file(qtbot, w, src)
    before = w.doc.piece
    w.doc.select(Selection(2, 3, (1, 2)))
    w.doc.toggle_voice_lock(2)
    compose(qtbot, w, mode="regenerate", variations=1, seed=11)
    after = w.doc.piece
    a, b = 16, 48
    assert np.array_equal(after.grid[:, [0, 2, 3]], before.grid[:, [0, 2, 3]])
    assert np.array_equal(after.grid[:a, 1], before.grid[:a, 1])
    assert np.array_equal(after.grid[b + 1 :, 1], before.grid[b + 1 :, 1])


def test_autosave_is_offered_back(qtbot, make_window, tmp_path):
    w = make_window(name="first")
    src = tmp_path / "a.mid"
    write_midi(chorale(), src)
    open_file(qtbot, w, src)
    w.doc.set_results([chorale(seed=5), chorale(seed=6)], "New chorale")
    w.autosave_now()
    wait_workers(qtbot, w)
    assert w.autosave_path.is_file()
    w2 = make_window(name="second")
    w2.autosave_path = w.autosave_path
    assert w2.restore_autosave()
    assert w2.doc.piece == w.doc.piece and len(w2.doc.variations) == 2
    assert w2.doc.undo() and w2.doc.piece == chorale()
    assert w2.variations_panel.list.count() == 1


def test_close_asks_when_not_exported(qtbot, make_window, tmp_path):
    w = make_window()
    w.doc.set_results([chorale()], "New chorale")
    w.autosave_now()
    wait_workers(qtbot, w)
    asked = []
    w.ask_on_close = lambda: asked.append(1) or "cancel"
    w.close()
    assert asked and w.isVisible()
    w.ask_on_close = lambda: "discard"
    w.close()
    assert not w.isVisible() and not w.autosave_path.exists()


def test_playback_moves_the_playhead_and_ends_with_notes_off(qtbot, make_window):
    w = make_window()
    w.doc.set_results([chorale(bars=1)], "New chorale")
    rec = RecordingOutput()
    w.player._port, w.player.output_id = rec, "port:test"
    w.transport.tempo.setValue(220)
    positions = []
    w.player.position.connect(lambda p: positions.append(p))
    w.play_stop()
    assert w.player.state == "playing"
    qtbot.waitUntil(lambda: w.player.state == "stopped", timeout=10_000)
    assert any(p > 0 for p in positions) and positions[-1] == -1.0
    ons = [m for m in rec.messages if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == sum(1 for _ in w.doc.piece.notes())
    assert not rec.sounding()
    # Space stops a playing piece at once, notes off
    w.play_stop()
    w.play_stop()
    assert w.player.state == "stopped" and not rec.sounding()


def test_drag_selects_bars_and_voices(qtbot, make_window, tmp_path):
    w = make_window()
    w.doc.set_results([chorale(bars=4)], "New chorale")
    w.roll.scroll_to_start()
    from PySide6.QtCore import QPointF

    s = w.doc.piece
    a = QPointF(w.roll.step_to_x(17), w.roll.pitch_to_y(90) + 1)
    b = QPointF(w.roll.step_to_x(40), w.roll.pitch_to_y(30))
    sel = w.roll.select_rect(a, b)
    assert (sel.first_bar, sel.last_bar) == (2, 3) and sel.voices == (0, 1, 2, 3)
    assert w.compose_panel.params().mode == "regenerate"
    assert s is w.doc.piece


def test_signal_emit_keeps_reference_counts():
    """Guards against PySide6 6.12.0's Signal.emit refcount bug (aborts the app on 3.11)."""
    import subprocess
    import sys

    code = (
        "from PySide6.QtCore import QObject, Signal\n"
        "class P(QObject):\n    s = Signal(float)\n"
        "p = P()\np.s.connect(lambda x: None)\n"
        "for i in range(300000): p.s.emit(float(i))\nprint('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-300:]


def test_cli_registers_gui():
    from composer.cli.main import build_parser

    args = build_parser().parse_args(["gui", "x.mid", "--screenshot", "s.png"])
    assert args.file == "x.mid" and args.screenshot == "s.png" and callable(args.func)


def test_quitting_waits_for_a_job_that_cannot_be_cancelled(qtbot, capfd):
    # loading a model ignores cancel(); quitting while it runs must wait for it, or Qt aborts
    release = threading.Event()
    w = workers.Worker(lambda: release.wait(10), inject=False, name="load model")
    w.start()
    threading.Timer(0.3, release.set).start()
    assert workers.stop_all(timeout_ms=50) is False  # it outlived the timeout ...
    assert not w.isRunning() and not workers.live_workers()  # ... and was waited for
    assert "waiting for 'load model' to finish" in capfd.readouterr().err
