"""The app under hostile conditions: SIGTERM/SIGHUP/SIGINT close it with the work kept, a damaged
autosave is never offered (nor painted), a screenshot or display that fails is one line and exit
status 2, and `composer start` composes without a window when no display can be opened.
Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from composer.app import files, termination  # noqa: E402
from composer.app.display import display_problem  # noqa: E402
from composer.app.mainwindow import MainWindow  # noqa: E402
from composer.midi.io import write_midi  # noqa: E402
from composer.realtime.playback import RecordingOutput  # noqa: E402
from composer.score import HOLD, Key, Score  # noqa: E402


def chorale(bars: int = 2) -> Score:
    grid = np.full((bars * 16, 4), HOLD, np.int16)
    for v, p in enumerate((72, 65, 57, 48)):
        grid[::4, v] = p
    return Score(grid, tempo=90, key=Key.parse("C major"))


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.IniFormat)
    w = MainWindow(settings=settings, autosave_path=tmp_path / "autosave.json", audio=False,
                   sampler_loader=None)  # fmt: skip
    w.ask_on_close = lambda: "discard"
    qtbot.addWidget(w)
    w.show()
    yield w
    w.doc.dirty = False
    w.close()


class FakeApp:
    def __init__(self) -> None:
        self.code: int | None = None

    def exit(self, code: int) -> None:
        self.code = code


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_closes_cleanly_and_keeps_unexported_work(qtbot, window, sig):
    w = window
    w.doc.set_results([chorale(4)], "New chorale")  # not exported: dirty
    rec = RecordingOutput()
    w.player._port, w.player.output_id = rec, "port:test"
    w.play_stop()
    qtbot.waitUntil(lambda: bool(rec.sounding()), timeout=5000)
    app = FakeApp()
    uninstall = termination.install(app, w)
    try:
        os.kill(os.getpid(), getattr(signal, sig))
        qtbot.waitUntil(lambda: app.code is not None, timeout=10_000)
    finally:
        uninstall()
    assert app.code == 0 and not w.isVisible()
    assert not rec.sounding()  # every note released
    doc, _ = files.load_autosave(w.autosave_path)  # the work is there, and loads
    assert doc.piece == w.doc.piece


def test_a_signal_after_export_leaves_no_autosave(qtbot, window):
    window.doc.set_results([chorale()], "New chorale")
    window.doc.mark_exported()
    app = FakeApp()
    uninstall = termination.install(app, window)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: app.code is not None, timeout=10_000)
    finally:
        uninstall()
    assert not window.autosave_path.exists()


def _damage(data: dict, how: str) -> None:
    state = data["state"]
    score = state["scores"][0]
    if how == "meter 4/0":
        score["time_signature"] = [4, 0]
    elif how == "lock on voice 8":
        state["voice_locks"] = [7]
    elif how == "note lock past the end":
        state["note_locks"] = [[1, 100000]]
    elif how == "variation past the list":
        state["current"] = 9
    elif how == "tempo nan":
        score["tempo"] = float("nan")
    elif how == "tempo text":
        score["tempo"] = "fast"
    elif how == "pickup beyond the bar":
        score["pickup"] = 40
    elif how == "pitch 300":
        score["grid"] = __import__("base64").b64encode(np.full(8, 300, "<i2").tobytes()).decode()
        score["shape"] = [2, 4]
    elif how == "shape and bytes disagree":
        score["shape"] = [5, 4]
    elif how == "program 200":
        score["programs"] = [200, 0, 0, 0]
    elif how == "a list, not a session":
        data.clear()
    elif how == "key 'x'":
        score["key"] = [3, "x"]


DAMAGE = ["meter 4/0", "lock on voice 8", "note lock past the end", "variation past the list",
          "tempo nan", "tempo text", "pickup beyond the bar", "pitch 300",
          "shape and bytes disagree", "program 200", "a list, not a session",
          "key 'x'"]  # fmt: skip


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_autosave_is_set_aside_not_offered(qtbot, window, monkeypatch, how):
    window.doc.set_results([chorale()], "New chorale")
    data = json.loads(files.autosave_text(window.doc))
    _damage(data, how)
    window.autosave_path.write_text(json.dumps(data))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Yes)
    window.offer_recovery()
    assert not asked
    assert "damaged" in window.last_dialog.text()
    assert not window.autosave_path.exists()
    assert window.autosave_path.with_suffix(".damaged.json").exists()  # kept, for the curious


def test_a_sound_autosave_is_offered_and_painted(qtbot, window, monkeypatch):
    window.doc.set_results([chorale()], "New chorale")
    window.doc.toggle_voice_lock(2)
    window.autosave_path.write_text(files.autosave_text(window.doc))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Yes)
    window.doc.__init__()  # a fresh start
    window.offer_recovery()
    assert asked and window.doc.piece == chorale() and window.doc.voice_locks == {2}
    window.roll.grab()  # paints


# --- displays and screenshots --------------------------------------------------------------
def test_display_problem_names_the_reason(tmp_path):
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert "DISPLAY is not set" in display_problem({})
    assert "cannot open the X display ':97'" in display_problem({"DISPLAY": ":97"})
    assert "no 'nosuch' platform plugin" in display_problem({"QT_QPA_PLATFORM": "nosuch"})
    wayland = display_problem({"WAYLAND_DISPLAY": "w", "XDG_RUNTIME_DIR": str(tmp_path),
                               "XDG_SESSION_TYPE": "wayland"})  # fmt: skip
    assert "Wayland display" in wayland and "DISPLAY is not set" in wayland


def _env(**kw) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}  # fmt: skip
    env.update(kw)
    return env


def test_gui_on_an_unreachable_display_is_one_line_exit_2():
    out = subprocess.run([sys.executable, "-m", "composer", "gui"], capture_output=True,
                         text=True, env=_env(DISPLAY=":97"), timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "cannot open the X display ':97'" in out.stderr


def test_start_on_an_unreachable_display_composes_without_a_window(tmp_path, monkeypatch, capsys):
    from composer.cli.main import main

    for k in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DISPLAY", ":97")
    assert main(["start", "--seed", "1", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr()
    assert "no window (cannot open the X display ':97'" in out.err
    assert (tmp_path / "c.mid").exists()


def test_screenshot_to_an_unwritable_path_is_one_line_exit_2(tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    target = tmp_path / "file" / "shot.png"
    out = subprocess.run(
        [sys.executable, "-m", "composer", "gui", "--no-audio", "--screenshot", str(target),
         "--quit-after-compose", "--seed", "1"],
        capture_output=True, text=True, env=_env(QT_QPA_PLATFORM="offscreen",
                                                 XDG_DATA_HOME=str(tmp_path / "data"),
                                                 XDG_CONFIG_HOME=str(tmp_path / "config")),
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "screenshot" in errors[0] and str(target) in errors[0]
    assert "Traceback" not in out.stderr


def _handles(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has installed a handler for ``sig`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_running_app_closes_on_sigterm(tmp_path):
    piece = tmp_path / "p.mid"
    write_midi(chorale(), piece)
    env = _env(QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))  # fmt: skip
    cmd = [sys.executable, "-m", "composer", "gui", "--no-audio", str(piece)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not _handles(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM: closed" in err and "Traceback" not in err


@pytest.mark.parametrize("params", [
    {"seed": 2**40}, {"tempo": float("nan")}, {"tempo": 1e9}, {"bars": -3},
    {"time_signature": [4, 0]}, {"top_p": "x"}, {"variations": "1" * 40}, "not a table",
])  # fmt: skip
def test_damaged_saved_settings_leave_the_defaults(qtbot, tmp_path, params):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    good = {"mode": "new", "bars": 12, "key": "G major", "time_signature": [3, 4], "tempo": 70.0,
            "temperature": 0.8, "top_p": 0.9, "seed": 5, "variations": 2,
            "voice_leading": "bach", "particles": 8}  # fmt: skip
    settings.setValue("params", {**good, **params} if isinstance(params, dict) else params)
    settings.setValue("programs", ["x", "9" * 30, -1, 52])
    settings.sync()
    w = MainWindow(settings=settings, autosave_path=tmp_path / "a.json", audio=False,
                   sampler_loader=None)  # fmt: skip
    qtbot.addWidget(w)
    assert w.compose_panel.params().bars == 8  # the defaults, not half of a damaged set


def test_an_older_versions_default_settings_move_to_todays(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    saved = {"mode": "generate", "bars": 12, "key": "G major", "time_signature": [4, 4],
             "tempo": 70.0, "temperature": 1.0, "top_p": 0.95, "seed": 5, "variations": 2,
             "voice_leading": "bach", "particles": 16}  # fmt: skip
    settings.setValue("params", saved)  # no params_version: saved by version 1
    settings.sync()
    w = MainWindow(settings=settings, autosave_path=tmp_path / "a.json", audio=False,
                   sampler_loader=None)  # fmt: skip
    qtbot.addWidget(w)
    p = w.compose_panel.params()
    assert (p.temperature, p.particles) == (0.9, 32)  # that version's defaults: today's now
    assert (p.bars, p.seed, p.tempo) == (12, 5, 70.0)  # what the user chose stays
    w.save_settings()
    assert int(settings.value("params_version")) == 2
    chosen = {**saved, "temperature": 1.1}
    settings.setValue("params", chosen)  # a value chosen by hand under today's version
    settings.sync()
    w2 = MainWindow(settings=settings, autosave_path=tmp_path / "b.json", audio=False,
                    sampler_loader=None)  # fmt: skip
    qtbot.addWidget(w2)
    assert (w2.compose_panel.params().temperature, w2.compose_panel.params().particles) == (1.1, 16)
