"""Live mode without ports: the harmonizer, clock follow and signal handling, on a fake clock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import mido
import numpy as np
import pytest

from composer.cli.main import main
from composer.realtime.clock import BeatClockFollower, FakeClock, TempoEstimator
from composer.realtime.harmonizer import HarmonizerCore
from composer.realtime.live import (
    TERMINATING_SIGNALS,
    ClockFollowPlayer,
    PortHarmonizer,
    Terminated,
    terminate_on_signals,
)
from composer.realtime.playback import RecordingOutput, note_off, note_on
from composer.score import HOLD, REST


class ChordLog:
    """A chord model for tests: alto/tenor/bass a fixed distance below, every call logged."""

    def __init__(self, log: list, intervals=(4, 9, 24)) -> None:
        self.log = log
        self.intervals = intervals

    def chord(self, soprano: int):
        self.log.append(("chord", soprano))
        return tuple(soprano - i for i in self.intervals)

    def hold(self, steps: int) -> None:
        self.log.append(("hold", steps))


class LoggingOutput(RecordingOutput):
    def __init__(self, clock, log):
        super().__init__(clock)
        self.log = log

    def send(self, msg):
        super().send(msg)
        self.log.append(("send", msg.type))


def on(note, velocity=90):
    return mido.Message("note_on", note=note, velocity=velocity)


def off(note):
    return mido.Message("note_off", note=note)


def harmonizer(tempo=60.0, echo=False):
    log: list = []
    clock = FakeClock()
    out = LoggingOutput(clock, log)
    h = PortHarmonizer(ChordLog(log), out, tempo=tempo, echo=echo, clock=clock)
    return h, out, clock, log


def test_each_note_gets_alto_tenor_bass_at_once_and_they_end_with_it():
    h, out, clock, _ = harmonizer()
    h.handle(on(72, 100))
    clock.advance(0.5)
    h.handle(off(72))
    assert out.events == [
        (0.0, note_on(1, 68, 100)),
        (0.0, note_on(2, 63, 100)),
        (0.0, note_on(3, 48, 100)),
        (0.5, note_off(1, 68)),
        (0.5, note_off(2, 63)),
        (0.5, note_off(3, 48)),
    ]
    assert out.sounding() == set()


def test_echo_plays_the_soprano_on_channel_0_after_the_harmony():
    h, out, clock, _ = harmonizer(echo=True)
    h.handle(on(67, 80))
    assert [m for _, m in out.events] == [
        note_on(1, 63, 80), note_on(2, 58, 80), note_on(3, 43, 80), note_on(0, 67, 80),
    ]  # fmt: skip
    h.handle(mido.Message("note_on", note=67, velocity=0))  # velocity 0 is a note-off
    assert out.sounding() == set()


def test_the_chord_is_sent_before_any_bookkeeping():
    h, out, clock, log = harmonizer(tempo=60.0)  # a 16th lasts 0.25 s
    h.handle(on(72))
    clock.advance(1.0)
    h.handle(off(72))
    clock.advance(0.5)
    h.handle(on(74))
    assert log == [
        ("chord", 72), ("send", "note_on"), ("send", "note_on"), ("send", "note_on"),
        ("send", "note_off"), ("send", "note_off"), ("send", "note_off"),
        ("hold", 3),  # held 4 steps: the chord's own step + 3 held
        ("chord", 74), ("send", "note_on"), ("send", "note_on"), ("send", "note_on"),
        ("hold", 2),  # the 2 silent steps before it, caught up after sending
    ]  # fmt: skip


def test_legato_ends_the_previous_chord_before_the_next_and_ignores_its_late_note_off():
    h, out, clock, log = harmonizer(tempo=60.0)
    h.handle(on(72))
    clock.advance(0.5)
    h.handle(on(71))  # pressed before 72 is released
    clock.advance(0.1)
    h.handle(off(72))  # late release of the previous note: nothing to do
    assert [m for t, m in out.events if t == 0.5] == [
        note_off(1, 68), note_off(2, 63), note_off(3, 48),
        note_on(1, 67, 90), note_on(2, 62, 90), note_on(3, 47, 90),
    ]  # fmt: skip
    assert sorted(out.sounding()) == [(1, 67), (2, 62), (3, 47)]
    assert log[-1] == ("hold", 1)  # 72 lasted 2 steps: one was its chord, one is caught up
    h.close()
    assert out.sounding() == set()
    h.handle(on(60))  # closed: ignored
    assert out.sounding() == set()


def test_silent_voices_and_other_messages_are_skipped():
    class Sparse(ChordLog):
        def chord(self, soprano):
            return (soprano - 5, REST, soprano - 24)

    out = RecordingOutput(FakeClock())
    h = PortHarmonizer(Sparse([]), out, clock=out.clock)
    h.handle(mido.Message("control_change", control=64, value=127))
    h.handle(on(70))
    assert [m for _, m in out.events] == [note_on(1, 65, 90), note_on(3, 46, 90)]


def test_a_failing_model_is_reported_not_raised_in_the_callback_thread():
    class Broken(ChordLog):
        def chord(self, soprano):
            raise RuntimeError("model failed")

    out = RecordingOutput(FakeClock())
    h = PortHarmonizer(Broken([]), out, clock=out.clock)
    h.handle(on(70))
    assert isinstance(h.error, RuntimeError)
    assert out.events == []


# --- MIDI Beat Clock -------------------------------------------------------------------------
CLOCK = mido.Message("clock")


def test_tempo_is_estimated_from_clock_intervals():
    est = TempoEstimator()
    t = 0.0
    for _ in range(48):
        est.tick(t)
        t += 60.0 / 120 / 24
    assert est.tempo == pytest.approx(120.0)
    for _ in range(200):  # the DAW slows to 100 bpm: the estimate follows, smoothed
        est.tick(t)
        t += 60.0 / 100 / 24
    assert est.tempo == pytest.approx(100.0)


def test_follower_steps_every_six_clocks_and_obeys_start_stop_continue_songpos():
    steps: list[int] = []
    stops: list[bool] = []
    f = BeatClockFollower(steps.append, on_stop=lambda: stops.append(True))
    for _ in range(12):
        f.feed(CLOCK, 0.0)  # not started: no steps
    assert steps == []
    f.feed(mido.Message("start"), 0.0)
    for _ in range(13):
        f.feed(CLOCK, 0.0)
    assert steps == [0, 1, 2]
    f.feed(mido.Message("stop"), 0.0)
    for _ in range(12):
        f.feed(CLOCK, 0.0)
    assert steps == [0, 1, 2] and stops == [True]
    f.feed(mido.Message("songpos", pos=8), 0.0)
    f.feed(mido.Message("continue"), 0.0)
    for _ in range(7):
        f.feed(CLOCK, 0.0)
    assert steps == [0, 1, 2, 8, 9]
    f.feed(mido.Message("start"), 0.0)
    f.feed(CLOCK, 0.0)
    assert steps[-1] == 0


def test_clock_follow_player_plays_steps_on_the_clock_and_silences_on_stop():
    grid = [[72, 67, 64, 48], [HOLD] * 4, [74, HOLD, HOLD, 50], [HOLD] * 4] * 10
    clock = FakeClock()
    out = RecordingOutput(clock)
    p = ClockFollowPlayer(iter(np.array(grid)), out, clock=clock)
    interval = 60.0 / 120 / 24
    p.handle(mido.Message("start"))
    for _ in range(18):  # 3 steps
        p.handle(CLOCK)
        clock.advance(interval)
    assert p.tempo == pytest.approx(120.0)
    assert p.steps_played == 3
    step = 6 * interval
    assert [(round(t / step, 6), m) for t, m in out.events] == [
        (0, note_on(0, 72)), (0, note_on(1, 67)), (0, note_on(2, 64)), (0, note_on(3, 48)),
        (2, note_off(0, 72)), (2, note_off(3, 48)), (2, note_on(0, 74)), (2, note_on(3, 50)),
    ]  # fmt: skip
    p.handle(mido.Message("stop"))
    assert out.sounding() == set()
    p.handle(mido.Message("continue"))
    for _ in range(6):
        p.handle(CLOCK)  # step 3 is all HOLD after a stop: stays silent
    for _ in range(6):
        p.handle(CLOCK)  # step 4 strikes a new chord
    assert sorted(out.sounding()) == [(0, 72), (1, 67), (2, 64), (3, 48)]
    p.close()
    assert out.sounding() == set()


def test_clock_follow_player_stops_after_max_steps():
    grid = np.array([[60, 55, 52, 48], [62, 57, 53, 47]] * 10)
    out = RecordingOutput(FakeClock())
    p = ClockFollowPlayer(iter(grid), out, clock=out.clock, max_steps=3)
    p.handle(mido.Message("start"))
    for _ in range(6 * 5):
        p.handle(CLOCK)
    assert p.done.is_set()
    assert p.steps_played == 3
    assert out.sounding() == set()


# --- signals and the command line ------------------------------------------------------------
def test_sigterm_becomes_an_exception_and_a_second_one_is_ignored():
    cleaned = []
    with pytest.raises(Terminated):
        with terminate_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # the handler runs between bytecodes
                    pass
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # ignored while cleaning up
                cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"])
def test_every_terminating_signal_becomes_terminated_with_the_shell_exit_code(name):
    sig = getattr(signal, name)
    assert sig in TERMINATING_SIGNALS
    before = signal.getsignal(sig)
    with pytest.raises(Terminated) as e:
        with terminate_on_signals():
            os.kill(os.getpid(), sig)
            for _ in range(1000):
                pass
    assert e.value.exit_code == 128 + sig and str(e.value) == name
    assert signal.getsignal(sig) == before


def test_a_harmonizer_core_is_the_same_state_machine_in_any_time_unit():
    """HarmonizerCore counts steps in the caller's unit: seconds or JACK frames alike."""
    for unit in (1.0, 48000.0):
        core = HarmonizerCore(0.25 * unit, echo=True)  # a 16th = 0.25 s
        events = core.press(72, 100, (68, -1, 48), 0.0)
        assert [(e.status, e.channel, e.pitch) for e in events] == [
            (0x90, 1, 68), (0x90, 3, 48), (0x90, 0, 72)
        ]  # fmt: skip
        assert core.due == 0 and core.model_steps == 1
        assert core.lift(71, 0.5 * unit) == []  # not the sounding note
        events = core.press(74, 90, (70, 62, 50), 1.0 * unit)  # legato: 72's chord ends here
        assert [(e.status, e.pitch) for e in events[:3]] == [(0x80, 68), (0x80, 48), (0x80, 72)]
        assert core.due == 3  # steps 1-3 held; 74 takes step 4
        core.held(core.due)
        assert len(core.lift(74, 1.5 * unit)) == 4 and core.due == 1 and core.sounding == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["live", "--synth", "--harmonize"], "--harmonize needs --in-port"),
        (["live", "--synth", "--in-port", "x"], "--in-port is for --harmonize"),
        (["live", "--synth", "--clock", "follow"], "--clock follow needs --clock-port"),
    ],
)
def test_cli_rejects_incoherent_options_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_cli_requires_exactly_one_output(capsys):
    with pytest.raises(SystemExit) as e:
        main(["live", "--synth", "--virtual", "x"])
    assert e.value.code == 2


def test_live_modules_import_neither_torch_nor_qt():
    code = (
        "import sys, composer.realtime.live, composer.realtime.playback, composer.realtime.ports, "
        "composer.realtime.clock, "
        "composer.cli.live, composer.cli.ports; "
        "print([m for m in ('torch', 'PySide6', 'rtmidi') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_model_that_prepares_plays_the_same_chords_and_its_thread_ends_with_close():
    """The sampler's harmonizer prepares the next chords on a thread of the PortHarmonizer's
    after each note event: the chords are those it computes without preparing, and close()
    leaves no thread behind."""
    import threading
    import time
    from types import SimpleNamespace

    from composer.runtime.sampler import Sampler
    from composer.runtime.settings import SamplingSettings

    sampler = Sampler.load()
    threads = threading.active_count()

    def play(prepare: bool):
        model = sampler.harmonizer(settings=SamplingSettings(seed=4))
        chords_only = SimpleNamespace(chord=model.chord, hold=model.hold)
        clock = FakeClock()
        out = RecordingOutput(clock)
        h = PortHarmonizer(model if prepare else chords_only, out, tempo=120, clock=clock)
        for note in (72, 74, 76, 74, 72, 71, 72):
            deadline = time.monotonic() + 10  # the preparer works in real time
            while prepare and not model.prepared and time.monotonic() < deadline:
                time.sleep(0.005)
            h.handle(on(note))
            clock.advance(0.25)
            h.handle(off(note))
        h.close()
        assert h.error is None
        return [m for _, m in out.events], model.answered_ahead

    plain, none_ahead = play(False)
    prepared, ahead = play(True)
    assert prepared == plain and none_ahead == 0 and ahead == 7
    assert threading.active_count() == threads
