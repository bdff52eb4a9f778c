"""Clocks: the time source the scheduler waits on, and MIDI Beat Clock (follow and send).

- :class:`MonotonicClock` is the real one: ``time.perf_counter`` seconds; ``wait_until`` sleeps
  until shortly before the target, then spins to hit it (sub-millisecond onsets).
- :class:`FakeClock` jumps straight to the target: tests run a whole piece instantly and assert
  exact (time, message) lists.
- :class:`BeatClockFollower` turns MIDI Beat Clock from a DAW (24 clocks per quarter note,
  start, stop, continue, song position) into 16th steps (one every 6 clocks) and a smoothed
  tempo estimate.

MIDI Beat Clock *sending* is part of the scheduler (``Player(send_clock=True)``): the clock
ticks are events on the same timeline as the notes.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

CLOCKS_PER_QUARTER = 24
CLOCKS_PER_STEP = 6  # 24 per quarter / 4 sixteenths


class Clock(Protocol):
    """A monotonic time source in seconds that a scheduler waits on."""

    def now(self) -> float: ...

    def wait_until(self, t: float, stop: threading.Event) -> bool:
        """Return at time t (seconds, as now()); False at once if stop is set."""
        ...


class MonotonicClock:
    """Real time: ``time.perf_counter`` (monotonic) in seconds.

    ``wait_until`` sleeps on the stop event until ``spin`` seconds before the target, then
    busy-waits the rest: the OS's sleep overshoots by 0.05-1 ms, the spin does not.
    """

    def __init__(self, spin: float = 0.0015) -> None:
        self.spin = spin
        self.now = time.perf_counter

    def wait_until(self, t: float, stop: threading.Event) -> bool:
        now = self.now
        while True:
            if stop.is_set():
                return False
            remaining = t - now()
            if remaining <= self.spin:
                break
            stop.wait(remaining - self.spin)
        while now() < t:
            time.sleep(0)  # lets other threads take the GIL (an input callback) while spinning
        return not stop.is_set()


def try_realtime_priority(priority: int = 1) -> bool:
    """Give the calling thread real-time scheduling (SCHED_FIFO) if the system allows it.

    Under load, an ordinary thread's sleeps overshoot by milliseconds; a SCHED_FIFO thread's do
    not. The lowest real-time priority (1) keeps it above ordinary threads and below JACK's
    (10 and up). Returns False where not permitted
    (no root or rtprio limit, or no such API, e.g. macOS, Windows): timing is then best effort.
    """
    setter = getattr(os, "sched_setscheduler", None)
    if setter is None:
        return False
    try:
        setter(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError):
        return False
    return True


class FakeClock:
    """Virtual time for tests: ``wait_until`` moves the time to the target at once."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = float(start)

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def wait_until(self, t: float, stop: threading.Event) -> bool:
        if stop.is_set():
            return False
        self.t = max(self.t, t)
        return True


class TempoEstimator:
    """Tempo (quarter notes per minute) from the arrival times of MIDI clocks.

    Each interval is one 24th of a quarter note. The estimate is the mean interval over the last
    ``window`` clocks (first to last arrival, so the jitter of single arrivals, e.g. one audio
    period under JACK, does not add up); a gap longer than ``max_gap`` seconds (the DAW paused)
    starts a new window.
    """

    def __init__(self, window: int = 48, max_gap: float = 0.5) -> None:
        self.max_gap = max_gap
        self._times: collections.deque[float] = collections.deque(maxlen=window)
        self._tempo: float | None = None

    def reset(self) -> None:
        self._times.clear()

    def tick(self, t: float) -> None:
        """A clock arrived at time t (seconds)."""
        times = self._times
        if times and not 0 < t - times[-1] < self.max_gap:
            times.clear()
        times.append(t)
        if len(times) >= 2:
            span = times[-1] - times[0]
            if span > 0:
                self._tempo = 60.0 * (len(times) - 1) / (CLOCKS_PER_QUARTER * span)

    @property
    def tempo(self) -> float | None:
        """Estimated quarter notes per minute, or None before two clocks."""
        return self._tempo


class BeatClockFollower:
    """Follows MIDI Beat Clock: calls ``on_step(index)`` on every 6th clock while running.

    ``feed(msg, t)`` takes each incoming message (mido.Message) and its arrival time in
    seconds. Start resets to step 0 (the first clock after it plays step 0); continue resumes
    where stop left off; song position (in 16ths, one per step) moves the position; stop calls
    ``on_stop()`` (the caller silences its notes). Other messages are ignored.
    """

    def __init__(
        self,
        on_step: Callable[[int], None],
        on_stop: Callable[[], None] | None = None,
        on_start: Callable[[], None] | None = None,
        window: int = 48,
    ) -> None:
        self.on_step = on_step
        self.on_stop = on_stop
        self.on_start = on_start
        self.estimator = TempoEstimator(window=window)
        self.running = False
        self.clocks = 0  # clocks since start (position in 24ths of a quarter)

    @property
    def tempo(self) -> float | None:
        return self.estimator.tempo

    @property
    def step(self) -> int:
        """The next step to play (16ths since start)."""
        return -(-self.clocks // CLOCKS_PER_STEP)

    def feed(self, msg, t: float) -> None:
        kind = msg.type
        if kind == "clock":
            self.estimator.tick(t)
            if not self.running:
                return
            if self.clocks % CLOCKS_PER_STEP == 0:
                self.on_step(self.clocks // CLOCKS_PER_STEP)
            self.clocks += 1
        elif kind == "start":
            self.clocks = 0
            self.running = True
            if self.on_start:
                self.on_start()
        elif kind == "continue":
            self.running = True
        elif kind == "stop":
            self.running = False
            if self.on_stop:
                self.on_stop()
        elif kind == "songpos":
            self.clocks = msg.pos * CLOCKS_PER_STEP
