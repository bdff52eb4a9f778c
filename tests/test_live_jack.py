"""Live mode through real MIDI ports on a JACK server: stream, harmonizer, clock, signals.

Needs a running JACK server (``jackd --no-realtime -d dummy -r 48000 -p 256``); skipped without
one unless COMPOSER_REQUIRE_JACK=1. The ``composer live`` process tests also need the sampler
and its default model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from jack_fixtures import need_jack, rtmidi_jack_problem, settle, unique

from composer.realtime import ports
from composer.realtime.clock import FakeClock
from composer.realtime.live import ClockFollowPlayer, PortHarmonizer
from composer.realtime.playback import Player, RecordingOutput, note_off, note_on, sounding_after
from composer.score import HOLD

pytestmark = [pytest.mark.jack, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def jack() -> None:
    need_jack(rtmidi_jack_problem())


class Inbox:
    """An input callback that collects (arrival time, message); waits for a condition."""

    def __init__(self) -> None:
        self.events: list[tuple[float, mido.Message]] = []
        self._cond = threading.Condition()

    def __call__(self, msg: mido.Message) -> None:
        with self._cond:
            self.events.append((time.perf_counter(), msg))
            self._cond.notify_all()

    @property
    def messages(self) -> list[mido.Message]:
        with self._cond:
            return [m for _, m in self.events]

    def notes(self) -> list[mido.Message]:
        return [m for m in self.messages if m.type in ("note_on", "note_off")]

    def wait_until(self, predicate, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate([m for _, m in self.events]), timeout)


@pytest.fixture
def sink():
    """A virtual JACK input (a sink for our outputs): (its name, its Inbox)."""
    name = unique("sink")
    inbox = Inbox()
    port = ports.open_input(virtual=name, backend="jack", callback=inbox)
    yield name, inbox
    port.close()


@pytest.fixture
def source():
    """A virtual JACK output (a keyboard or a DAW for our inputs): (its name, the port)."""
    name = unique("src")
    port = ports.open_output(virtual=name, backend="jack")
    yield name, port
    port.close()


def chorale_steps():
    """An endless four-voice step source: a chord every two 16ths, moving by step."""
    k = 0
    while True:
        p = 60 + (k // 2) % 5
        yield np.array([p + 12, p + 7, p + 3, p - 12] if k % 2 == 0 else [HOLD] * 4, np.int16)
        k += 1


def send_clocks(port, count: int, tempo: float) -> None:
    """Send count MIDI clocks at tempo (quarter notes per minute), sleeping in between."""
    interval = 60.0 / tempo / 24
    t = time.perf_counter()
    for k in range(count):
        delay = t + k * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        port.send(mido.Message("clock"))


# --- the library through ports ---------------------------------------------------------------
def test_stream_into_a_port_reads_back_exactly_what_was_scheduled(sink):
    name, inbox = sink
    clock = FakeClock()
    expected = RecordingOutput(clock)
    Player(chorale_steps(), expected, clock=clock, tempo=120, max_steps=12).run()

    out = ports.open_output(name, backend="jack")
    try:
        player = Player(chorale_steps(), out, tempo=600, max_steps=12, lead_in=0.05)
        player.run()
        assert inbox.wait_until(lambda ms: len(ms) >= len(expected.messages))
    finally:
        out.close()
    assert inbox.messages == expected.messages
    assert sounding_after(inbox.messages) == set()


def test_clock_send_through_a_port(sink):
    name, inbox = sink
    out = ports.open_output(name, backend="jack")
    try:
        Player(chorale_steps(), out, tempo=600, max_steps=8, send_clock=True).run()
        assert inbox.wait_until(lambda ms: ms and ms[-1].type == "stop")
    finally:
        out.close()
    kinds = [m.type for m in inbox.messages]
    assert kinds[0] == "start" and kinds.count("clock") == 8 * 6 and kinds.count("stop") == 1
    assert kinds.count("note_on") == 4 * 4 and sounding_after(inbox.messages) == set()


def test_stopping_a_stream_through_a_port_releases_every_note(sink):
    name, inbox = sink
    out = ports.open_output(name, backend="jack")
    try:
        player = Player(chorale_steps(), out, tempo=300).start()
        assert inbox.wait_until(lambda ms: sum(m.type == "note_on" for m in ms) >= 12)
        player.stop()
        out.close()  # flushes what is queued
        assert inbox.wait_until(lambda ms: not sounding_after(ms), 5)
    finally:
        out.close()
    assert player.error is None
    assert sounding_after(inbox.messages) == set()


def test_an_output_port_that_goes_away_is_reported_and_reopened_when_back():
    name = unique("synth")
    first = Inbox()
    port_in = ports.open_input(virtual=name, backend="jack", callback=first)
    out = ports.open_output(name, backend="jack")

    def notices(what: str) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(what in n for n in seen):
            seen += out.check()
            time.sleep(0.02)
        return seen

    try:
        settle()
        out.send(mido.Message("note_on", note=60))
        assert first.wait_until(lambda ms: len(ms) == 1)
        port_in.close()  # the synth quits
        gone = notices("went away")
        assert any(f"{port_in.name} went away" in n for n in gone), gone
        out.send(mido.Message("note_off", note=60))  # dropped, no error
        again = Inbox()
        port_in = ports.open_input(virtual=name, backend="jack", callback=again)
        assert any("is back" in n for n in notices("is back"))
        settle()
        out.send(mido.Message("note_on", note=62))
        assert again.wait_until(lambda ms: ms == [mido.Message("note_on", note=62)])
    finally:
        out.close()
        port_in.close()


class Thirds:
    """A chord model for port tests: alto a third below, tenor an octave below, bass two."""

    def chord(self, soprano: int):
        return soprano - 4, soprano - 12, soprano - 24

    def hold(self, steps: int) -> None:
        pass


def test_harmonizer_through_ports(source, sink):
    kbd_name, kbd = source
    sink_name, inbox = sink
    out = ports.open_output(sink_name, backend="jack")
    harmonizer = PortHarmonizer(Thirds(), out, tempo=120, echo=True)
    port_in = ports.open_input(kbd_name, backend="jack", callback=harmonizer.handle)
    try:
        settle()
        kbd.send(mido.Message("note_on", note=72, velocity=100))
        assert inbox.wait_until(lambda ms: len(ms) >= 4)
        kbd.send(mido.Message("note_off", note=72))
        assert inbox.wait_until(lambda ms: len(ms) >= 8)
        kbd.send(mido.Message("note_on", note=74, velocity=90))
        assert inbox.wait_until(lambda ms: len(ms) >= 12)
    finally:
        port_in.close()
        harmonizer.close()
        out.close()
    assert inbox.wait_until(lambda ms: len(ms) >= 16)
    assert inbox.messages == [
        note_on(1, 68, 100), note_on(2, 60, 100), note_on(3, 48, 100), note_on(0, 72, 100),
        note_off(1, 68), note_off(2, 60), note_off(3, 48), note_off(0, 72),
        note_on(1, 70, 90), note_on(2, 62, 90), note_on(3, 50, 90), note_on(0, 74, 90),
        note_off(1, 70), note_off(2, 62), note_off(3, 50), note_off(0, 74),
    ]  # fmt: skip
    assert harmonizer.error is None


def test_clock_follow_through_ports(source, sink):
    daw_name, daw = source
    sink_name, inbox = sink
    out = ports.open_output(sink_name, backend="jack")
    player = ClockFollowPlayer(chorale_steps(), out, max_steps=8)
    port_in = ports.open_input(daw_name, backend="jack", callback=player.handle)
    try:
        settle()
        daw.send(mido.Message("start"))
        send_clocks(daw, 6 * 4, tempo=240)  # 4 steps
        assert inbox.wait_until(lambda ms: sum(m.type == "note_on" for m in ms) >= 8)
        daw.send(mido.Message("stop"))
        assert inbox.wait_until(lambda ms: not sounding_after(ms) and len(ms) >= 16)
    finally:
        port_in.close()
        player.close()
        out.close()
    assert player.steps_played == 4  # (its tempo estimate, from wall-clock arrivals, is not
    # asserted: test_jack_stream reads the clock follower's in JACK frames)
    ons = [m for m in inbox.messages if m.type == "note_on"]
    assert [m.note for m in ons] == [72, 67, 63, 48, 73, 68, 64, 49]
    assert sounding_after(inbox.messages) == set()
    assert player.error is None


# --- the `composer live` process ------------------------------------------------------------
def _sampler_ready() -> str | None:
    """None if `composer live` can generate here, else why not."""
    try:
        from composer.runtime.sampler import Sampler
    except ImportError as e:
        return f"no sampler yet ({e})"
    try:
        Sampler.load()
    except Exception as e:  # ModelError: no trained model in models/
        return f"no model: {e}"
    return None


@pytest.fixture(scope="module")
def sampler_ready() -> None:
    why = _sampler_ready()
    if why:
        pytest.skip(why)


class Live:
    """A `composer live ...` process; its stdout lines are collected on a thread."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "composer", "live", "--backend", "jack", *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self.lines.append(line)
                if "Ctrl-C" in line:
                    self._ready.set()
        except ValueError:  # finish() closed the pipe (communicate) while this read it
            pass

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready.wait(timeout):
            self.proc.kill()
            _, err = self.proc.communicate()
            pytest.fail(f"composer live did not start: {err[-2000:]}")

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err


def test_composer_live_streams_n_bars_into_a_port_then_exits(sampler_ready, sink):
    name, inbox = sink
    live = Live("--out-port", name, "--bars", "2", "--tempo", "400", "--seed", "3")
    code, err = live.finish(timeout=90)
    assert code == 0, err
    assert inbox.wait_until(lambda ms: not sounding_after(ms), 2)
    notes = inbox.notes()
    ons = [m for m in notes if m.type == "note_on"]
    assert len(ons) >= 4  # every voice starts a note
    assert {m.channel for m in ons} == {0, 1, 2, 3}
    assert sounding_after(notes) == set()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_killing_composer_live_releases_every_note(sampler_ready, sink, sig, code):
    name, inbox = sink
    live = Live("--out-port", name, "--tempo", "400")
    live.wait_ready()
    assert inbox.wait_until(lambda ms: sum(m.type == "note_on" for m in ms) >= 8, 30)
    live.proc.send_signal(sig)
    returncode, err = live.finish()
    assert returncode == code, err
    assert "Traceback" not in err
    assert inbox.wait_until(lambda ms: not sounding_after(ms), 2), sounding_after(inbox.messages)


def test_composer_live_harmonizes_through_ports(sampler_ready, source, sink):
    kbd_name, kbd = source
    sink_name, inbox = sink
    live = Live("--harmonize", "--in-port", kbd_name, "--out-port", sink_name, "--echo",
                "--key", "C major", "--seed", "1")  # fmt: skip
    live.wait_ready()

    def expect(predicate, what: str) -> None:
        if not inbox.wait_until(predicate):
            live.proc.send_signal(signal.SIGTERM)
            pytest.fail(f"{what}; the sink got {inbox.messages}; composer live: {live.finish()[1]}")

    for k, soprano in enumerate((72, 71, 72, 74, 76)):
        kbd.send(mido.Message("note_on", note=soprano, velocity=90))
        expect(lambda ms, k=k: sum(m.type == "note_on" for m in ms) >= 4 * (k + 1),
               f"note {k} was not answered")  # fmt: skip
        settle()
        kbd.send(mido.Message("note_off", note=soprano))
        expect(lambda ms: not sounding_after(ms), f"note {k}'s chord was not released")
    live.proc.send_signal(signal.SIGTERM)
    returncode, err = live.finish()
    assert returncode == 143, err
    ons = [m for m in inbox.messages if m.type == "note_on"]
    assert [m.channel for m in ons] == [1, 2, 3, 0] * 5, inbox.messages
    sopranos = [m.note for m in ons if m.channel == 0]
    assert sopranos == [72, 71, 72, 74, 76]
    for k in range(5):  # the model's alto, tenor, bass lie below the soprano
        a, t, b, s = (m.note for m in ons[4 * k : 4 * k + 4])
        assert b < s and t < s and a < s
    assert sounding_after(inbox.messages) == set()


def test_composer_live_follows_a_daw_clock(sampler_ready, source, sink):
    daw_name, daw = source
    sink_name, inbox = sink
    live = Live("--out-port", sink_name, "--clock", "follow", "--clock-port", daw_name,
                "--bars", "1")  # fmt: skip
    live.wait_ready()
    daw.send(mido.Message("start"))
    send_clocks(daw, 6 * 17, tempo=480)  # one 4/4 bar is 16 steps; the 17th step ends it
    returncode, err = live.finish()
    assert returncode == 0, err
    assert inbox.wait_until(lambda ms: not sounding_after(ms), 2)
    assert sum(m.type == "note_on" for m in inbox.messages) >= 4
