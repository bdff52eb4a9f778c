"""The app's Live panel streaming in an Ableton Link session (a second Link peer in this
process), through the built-in-synth slot (a recording output): no JACK, no sound card."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
link = pytest.importorskip("link", reason="LinkPython-extern is not installed")

from composer.app.live_panel import LivePanel  # noqa: E402
from composer.realtime.playback import RecordingOutput  # noqa: E402
from composer.score import HOLD, Key  # noqa: E402


def steps():
    k = 0
    while True:
        p = 60 + (k // 2) % 5
        yield np.array([p + 12, p + 7, p + 3, p - 12] if k % 2 == 0 else [HOLD] * 4, np.int16)
        k += 1


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_live_panel_streams_on_a_link_session_and_stops_every_note(qtbot):
    peer = link.Link(100.0)
    peer.startStopSyncEnabled = True
    peer.enabled = True
    out = RecordingOutput()
    app_player = SimpleNamespace(backend=None, synth=out, audio_error=None, stop=lambda: None)
    sampler = SimpleNamespace(stream=lambda key, settings: steps())
    panel = LivePanel(app_player, lambda: (sampler, Key.parse("C major"), 90.0, None))
    qtbot.addWidget(panel)
    try:
        panel.out_port.setCurrentIndex(panel.out_port.findData("synth"))
        panel.clock.setCurrentIndex(panel.clock.findData("link"))
        assert panel.clock.currentText() == "Ableton Link session"
        panel.start.setChecked(True)
        assert "Ableton Link session" in panel.info.text(), panel.info.text()
        player = panel.session
        assert wait_until(lambda: sum(m.type == "note_on" for m in out.messages) >= 8)
        # the session's tempo, not the app's 90 (two peers founded together merge either way:
        # the test sets it once they are one) and its bar: step 0 on a bar line
        state = peer.captureAppSessionState()
        state.setTempo(100.0, peer.clock().micros())
        peer.commitAppSessionState(state)
        timing = panel._link
        assert wait_until(lambda: abs(timing.link.captureAppSessionState().tempo() - 100) < 1e-3)
        first, beat = player.timing._first
        assert first == 0 and beat % 4 == 0
        beat_seconds = player.timing.step_time(4) - player.timing.step_time(0)
        assert beat_seconds == pytest.approx(60 / 100, rel=1e-4)
        panel.start.setChecked(False)  # stop: every note ends, the app leaves the session
        assert out.sounding() == set()
        assert panel._link is None and panel.session is None
    finally:
        panel.shutdown()
        peer.enabled = False
