"""What the tests through a real JACK server share: skipping without one, unique port names."""

from __future__ import annotations

import os
import uuid

import pytest

from composer.errors import PortError
from composer.realtime import ports

START = "jackd --no-realtime -d dummy -r 48000 -p 256"


def need_jack(problem: str | None) -> None:
    """Skip when ``problem`` (why JACK cannot be used) is set; fail instead when
    COMPOSER_REQUIRE_JACK=1, as in CI, where a missing server is a broken setup."""
    if not problem:
        return
    if os.environ.get("COMPOSER_REQUIRE_JACK") == "1":
        pytest.fail(f"COMPOSER_REQUIRE_JACK=1 but {problem}")
    pytest.skip(f"{problem} (start one: {START})")


def rtmidi_jack_problem() -> str | None:
    """Why python-rtmidi cannot reach a JACK server, or None."""
    try:
        ports.list_ports("jack")
    except PortError:
        return "no JACK server is running"
    return None


def unique(prefix: str) -> str:
    """A port or client name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


_cycles: dict = {}


def settle(cycles: int = 3, timeout: float = 5.0) -> None:
    """Wait until JACK has run ``cycles`` more process cycles (it applies new connections between
    cycles), through a client of its own; without JACK-Client, a short sleep instead."""
    import time

    try:
        import jack
    except (ImportError, OSError):
        time.sleep(0.05)
        return
    if "client" not in _cycles:
        client = jack.Client(unique("settle"), no_start_server=True)
        _cycles["n"] = 0

        def count(frames: int) -> None:
            _cycles["n"] += 1

        client.set_process_callback(count)
        client.activate()
        _cycles["client"] = client
    goal = _cycles["n"] + cycles
    deadline = time.monotonic() + timeout
    while _cycles["n"] < goal and time.monotonic() < deadline:
        time.sleep(0.001)


# --- independent JACK-native references (tests and bench/live.py) ----------------------------
# They use JACK-Client directly and nothing of composer.realtime: what they read is what a synth
# or DAW on the same server would play, at JACK frame times (``last_frame_time + offset``).


class FrameSink:
    """A JACK client with one MIDI input that records (frame time, bytes) of every event, and,
    per period, the transport state and frame (to place events on the transport's timeline)."""

    def __init__(self, name: str | None = None) -> None:
        import threading

        import jack

        self.client = jack.Client(name or unique("sink"), no_start_server=True)
        self.port = self.client.midi_inports.register("in")
        self.rate = self.client.samplerate
        self.events: list[tuple[int, bytes]] = []
        self.periods: list[tuple[int, int]] = []  # (period start, transport frame) when rolling
        self.xruns = 0
        self.xrun_frames: list[int] = []  # about when JACK reported each xrun
        self.cond = threading.Condition()
        self.hook = None  # hook(frame, events) in the callback, e.g. to read a Link session
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    @property
    def name(self) -> str:
        return self.port.name

    def _xrun(self, delay: float) -> None:
        self.xruns += 1
        self.xrun_frames.append(self.client.frame_time)

    def clean(self, frames, before: int = 4, after: int = 16) -> list[bool]:
        """For each frame time, whether it lies clear of every xrun (not within ``before``
        periods before one or ``after`` periods after it): around an xrun of a --no-realtime
        server on a loaded machine, JACK itself drops or delays what clients wrote, and its
        frame -> time mapping jumps, so frame figures there measure the machine, not the code."""
        period = self.client.blocksize
        xs = list(self.xrun_frames)
        return [all(not (x - before * period <= f <= x + after * period) for x in xs)
                for f in frames]  # fmt: skip

    def _process(self, frames: int) -> None:
        start = self.client.last_frame_time
        got = [(start + t, bytes(d)) for t, d in self.port.incoming_midi_events()]
        if got:
            state, pos = self.client.transport_query_struct()
            if state == 1:
                self.periods.append((start, pos.frame))
            if self.hook is not None:
                self.hook(start, got)
            with self.cond:
                self.events.extend(got)
                self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.events), timeout)

    def onsets(self) -> list[int]:
        """Frame times of note-ons (velocity > 0)."""
        with self.cond:
            return [f for f, d in self.events if d[0] & 0xF0 == 0x90 and d[2] > 0]

    def transport_frame(self, frame: int) -> int | None:
        """The transport frame at which an event at (JACK) frame was played, if rolling."""
        import bisect

        k = bisect.bisect_right(self.periods, (frame, 2**63)) - 1
        if k < 0:
            return None
        start, transport = self.periods[k]
        return transport + frame - start

    def messages(self):
        import mido

        with self.cond:
            return [mido.Message.from_bytes(d) for _, d in self.events]

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class TransportMaster:
    """A JACK timebase master, as a DAW is: BBT from the transport frame by a tempo map of
    (from transport frame, quarter notes per minute) segments, 4/4, 1920 ticks per beat
    (integer ticks, as Ardour writes them). ``beat_at(frame)``: the exact beat (quarter notes
    from bar 1) at a transport frame, to measure against."""

    TICKS = 1920

    def __init__(self, tempo_map: list[tuple[int, float]], name: str | None = None) -> None:
        import jack

        self.client = jack.Client(name or unique("master"), no_start_server=True)
        self.rate = self.client.samplerate
        self.tempo_map = sorted(tempo_map)
        self.client.set_process_callback(lambda frames: None)
        self.client.activate()
        assert self.client.set_timebase_callback(self._timebase)

    def _segment(self, frame: int) -> tuple[float, float, float]:
        """(start frame, beats at its start, quarter notes per minute) of frame's segment."""
        beats, start, tempo = 0.0, 0, self.tempo_map[0][1]
        for seg_start, seg_tempo in self.tempo_map[1:]:
            if frame < seg_start:
                break
            beats += (seg_start - start) * tempo / (60.0 * self.rate)
            start, tempo = seg_start, seg_tempo
        return start, beats, tempo

    def beat_at(self, frame: int) -> float:
        start, beats, tempo = self._segment(frame)
        return beats + (frame - start) * tempo / (60.0 * self.rate)

    def _timebase(self, state, blocksize, pos, new_pos) -> None:
        beats = self.beat_at(pos.frame)
        whole = int(beats)
        pos.valid = 0x10
        pos.bar = whole // 4 + 1
        pos.beat = whole % 4 + 1
        pos.tick = int((beats - whole) * self.TICKS)
        pos.bar_start_tick = float(whole // 4 * 4 * self.TICKS)
        pos.beats_per_bar = 4.0
        pos.beat_type = 4.0
        pos.ticks_per_beat = float(self.TICKS)
        pos.beats_per_minute = self._segment(pos.frame)[2]

    def close(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self.client.transport_stop()
            self.client.release_timebase()
        self.client.deactivate()
        self.client.close()


class ClockSender:
    """A JACK client that sends MIDI Beat Clock: start, then 24 clocks per quarter note by a
    tempo map of (from clock number, quarter notes per minute), each clock displaced by a random
    jitter of up to ``jitter`` frames either way; ``ideal[k]``: clock k's frame without jitter,
    ``sent[k]`` where it went."""

    def __init__(self, tempo_map: list[tuple[int, float]], clocks: int, jitter: int = 0,
                 seed: int = 1, name: str | None = None) -> None:  # fmt: skip
        import random

        import jack

        self.client = jack.Client(name or unique("clocksrc"), no_start_server=True)
        self.port = self.client.midi_outports.register("out")
        self.rate = self.client.samplerate
        self.tempo_map = sorted(tempo_map)
        self.clocks = clocks
        self.jitter = jitter
        self.rng = random.Random(seed)
        self.ideal: list[float] = []
        self.sent: list[int] = []
        self.start_frame: int | None = None
        self.stop_after = False
        self.stopped_at: int | None = None
        self._go = False
        self.client.set_process_callback(self._process)
        self.client.activate()

    @property
    def name(self) -> str:
        return self.port.name

    def interval(self, k: int) -> float:
        tempo = self.tempo_map[0][1]
        for start, t in self.tempo_map:
            if k >= start:
                tempo = t
        return self.rate * 60.0 / (tempo * 24)

    def go(self, stop_after: bool = True) -> None:
        self.stop_after = stop_after
        self._go = True

    def _process(self, frames: int) -> None:
        port = self.port
        port.clear_buffer()
        if not self._go:
            return
        start = self.client.last_frame_time
        if self.start_frame is None:
            self.start_frame = start + frames  # clock 0 one period after the start message
            port.write_midi_event(0, b"\xfa")
            self.ideal.append(float(self.start_frame))
        events = []
        while len(self.sent) < self.clocks:
            k = len(self.sent)
            while len(self.ideal) <= k:
                self.ideal.append(self.ideal[-1] + self.interval(len(self.ideal) - 1))
            at = round(self.ideal[k]) + self.rng.randint(-self.jitter, self.jitter)
            at = max(at, self.sent[-1] + 1 if self.sent else at)
            if at >= start + frames:
                break
            offset = max(0, at - start)
            events.append((offset, b"\xf8"))
            self.sent.append(start + offset)
        if len(self.sent) == self.clocks and self.stop_after and self.stopped_at is None:
            offset = min(frames - 1, (events[-1][0] + 1) if events else 0)
            events.append((offset, b"\xfc"))
            self.stopped_at = start + offset
        for offset, data in events:
            port.write_midi_event(offset, data)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class LinkClock:
    """JACK frames -> an Ableton Link peer's clock (microseconds), through libjack's own
    ``jack_frames_to_time`` and the offset between the two clocks read back to back."""

    def __init__(self, client, peer) -> None:
        import ctypes

        import jack

        lib = ctypes.CDLL("libjack.so.0")
        lib.jack_get_time.restype = ctypes.c_uint64
        lib.jack_frames_to_time.restype = ctypes.c_uint64
        lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self.lib = lib
        self.ptr = int(jack._ffi.cast("uintptr_t", client._ptr))
        self.peer = peer

    def micros(self, frame: int) -> int:
        a = self.lib.jack_get_time()
        link_now = self.peer.clock().micros()
        b = self.lib.jack_get_time()
        return self.lib.jack_frames_to_time(self.ptr, frame & 0xFFFFFFFF) + link_now - (a + b) // 2


def link_beats(sink: FrameSink, peer, quantum: float) -> list[tuple[int, bytes, float, float]]:
    """Make sink record, for every event, (frame, bytes, the peer's beat at that frame, its
    tempo); returns the list it fills."""
    clock = LinkClock(sink.client, peer)
    out: list = []

    def hook(start, events):
        state = peer.captureSessionState()
        for frame, data in events:
            out.append((frame, data, state.beatAtTime(clock.micros(frame), quantum), state.tempo()))

    sink.hook = hook
    return out
