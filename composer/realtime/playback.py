"""Real-time playback: a Score or an endless stream of grid steps -> timed MIDI events -> outputs.

The :class:`Player` is a scheduler thread. It turns 16th steps into note_on / note_off messages
(:class:`StepRenderer`), keeps them ahead of the playhead by a small look-ahead window, and sends
each at its time on an injected clock (:mod:`composer.realtime.clock`). Outputs are anything with
``send(mido.Message)``: a mido output port, ``composer.audio.synth.LiveSynth``, a
:class:`RecordingOutput`.

Stopping never leaves a note hanging: the player tracks every note it has sounded, and on every
way out (``stop()``, the source raising, Ctrl-C, SIGTERM turned into an exception, the window
closing) its ``finally`` sends a note_off for each, like mido's and frescobaldi's players.

Example (tests use ``FakeClock`` and get the whole piece instantly)::

    clock = FakeClock()
    out = RecordingOutput(clock)
    Player(score, out, clock=clock).run()
    out.events  # [(0.0, program_change ...), (0.0, note_on ...), ...]
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import mido
import numpy as np

from composer.realtime.clock import (
    CLOCKS_PER_STEP,
    Clock,
    FakeClock,
    MonotonicClock,
    try_realtime_priority,
)
from composer.score import HOLD, REST, Score

VELOCITY = 80


class Output(Protocol):
    def send(self, msg: mido.Message) -> None: ...


def voice_channels(voices: int = 4) -> tuple[int, ...]:
    """MIDI channel of each voice: 0, 1, 2, ... skipping the drum channel 9."""
    return tuple(v if v < 9 else v + 1 for v in range(voices))


def note_on(channel: int, note: int, velocity: int = VELOCITY) -> mido.Message:
    return mido.Message("note_on", channel=channel, note=note, velocity=velocity)


def note_off(channel: int, note: int) -> mido.Message:
    return mido.Message("note_off", channel=channel, note=note, velocity=0)


class StepTiming(Protocol):
    """Where steps fall, from a source other than a fixed tempo (times on the player's clock)."""

    def begin(self, now: float, step: int) -> float:
        """Step ``step`` is the first to play from now on: returns its time (>= now)."""
        ...

    def step_time(self, step: int) -> float: ...

    def playing(self) -> bool: ...


class LinkTiming:
    """Steps on an Ableton Link session's beats, on the player's clock (``time.perf_counter``,
    CLOCK_MONOTONIC, which Link's clock, CLOCK_MONOTONIC_RAW, is mapped to at every call).

    link: an enabled ``link.Link`` (composer.realtime.sync.join_link). quantum: a bar in beats.
    ``begin`` places the first step on the session's next bar line (and asks the session to play
    if it is not); each step is a 16th (a quarter of a beat) after the one before, at the
    session's tempo and phase when it is scheduled (a lookahead ahead of its time). With
    start/stop sync, ``playing()`` is the session's state.
    """

    def __init__(self, link: Any, quantum: float, tempo: float | None = None) -> None:
        import time

        from composer.realtime.sync import TempoClaim

        self.link = link
        self.quantum = float(quantum)
        self.claim = TempoClaim(link, tempo)
        self._first: tuple[int, float] = (0, 0.0)  # (step, its beat)
        self._clock = time.perf_counter

    def _offset(self) -> float:
        """Link's clock minus the player's, in microseconds."""
        a = self._clock()
        micros = self.link.clock().micros()
        b = self._clock()
        return micros - (a + b) * 0.5e6

    def begin(self, now: float, step: int) -> float:
        link, q = self.link, self.quantum
        state = link.captureAppSessionState()
        t = now * 1e6 + self._offset()
        if not state.isPlaying():
            state.setIsPlaying(True, int(t))
            link.commitAppSessionState(state)
            state = link.captureAppSessionState()
        beat = state.beatAtTime(int(t), q)
        first = -(-beat // q) * q  # the next bar line
        self._first = (step, first)
        return self.step_time(step)

    def step_time(self, step: int) -> float:
        first_step, first_beat = self._first
        state = self.link.captureAppSessionState()
        micros = state.timeAtBeat(first_beat + (step - first_step) / 4.0, self.quantum)
        return (micros - self._offset()) / 1e6

    def playing(self) -> bool:
        if not self.link.startStopSyncEnabled:
            return True
        return self.link.captureAppSessionState().isPlaying()

    def leave(self) -> None:
        """Leave the session once the player has stopped (composer.realtime.sync.leave_link)."""
        from composer.realtime.sync import leave_link

        link, self.link = self.link, None
        self.claim.session = None
        leave_link(link)

    def poll(self) -> None:
        """From the owner's thread now and then: keeps a tempo given (sync.TempoClaim)."""
        self.claim.poll()


class RecordingOutput:
    """An output that records (time in seconds on ``clock``, message) pairs."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or MonotonicClock()
        self.events: list[tuple[float, mido.Message]] = []
        self._lock = threading.Lock()

    def send(self, msg: mido.Message) -> None:
        with self._lock:
            self.events.append((self.clock.now(), msg.copy()))

    @property
    def messages(self) -> list[mido.Message]:
        return [m for _, m in self.events]

    def sounding(self) -> set[tuple[int, int]]:
        """(channel, note) pairs switched on and not yet off."""
        return sounding_after(self.messages)


def sounding_after(messages: Iterable[mido.Message]) -> set[tuple[int, int]]:
    """(channel, note) pairs still on after the messages, in order."""
    on: set[tuple[int, int]] = set()
    for m in messages:
        if m.type == "note_on" and m.velocity > 0:
            on.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            on.discard((m.channel, m.note))
    return on


class StepRenderer:
    """Grid steps -> note messages, voice by voice.

    A pitch starts a note (ending the voice's previous one), HOLD continues it, REST ends it.
    ``render(cells)`` takes one step (int[V]: pitch, HOLD or REST per voice) and returns the
    messages that happen at its start, note_offs before note_ons.
    """

    def __init__(self, channels: Sequence[int] = voice_channels(4), velocity: int = VELOCITY):
        self.channels = tuple(channels)
        self.velocity = velocity
        self.current: list[int | None] = [None] * len(self.channels)

    def render(self, cells: Sequence[int] | np.ndarray) -> list[mido.Message]:
        offs: list[mido.Message] = []
        ons: list[mido.Message] = []
        for v, channel in enumerate(self.channels):
            cell = int(cells[v]) if v < len(cells) else REST
            if cell == HOLD:
                continue
            previous = self.current[v]
            if previous is not None:
                offs.append(note_off(channel, previous))
                self.current[v] = None
            if cell >= 0:
                ons.append(note_on(channel, cell, self.velocity))
                self.current[v] = cell
            elif cell != REST:
                raise ValueError(f"voice {v}: {cell} is not a MIDI pitch, HOLD or REST")
        return offs + ons

    def release(self) -> list[mido.Message]:
        """note_offs for every note still sounding (the end of the piece)."""
        offs = [
            note_off(ch, p) for ch, p in zip(self.channels, self.current, strict=True)
            if p is not None
        ]  # fmt: skip
        self.current = [None] * len(self.channels)
        return offs


_MSG, _STEP = 0, 1


class Player:
    """Plays a Score (its tempo and programs) or an endless step source on outputs.

    source: a Score, or an iterable of steps (each int[V]: pitch / HOLD / REST per voice).
    tempo: quarter notes per minute (a step lasts 15 / tempo seconds); default the Score's.
    lookahead: seconds of steps generated ahead of the playhead. lead_in: seconds between the
    first step being ready and its onset. max_steps: stop after this many steps (None: to the
    end of the source). programs: General MIDI program per voice sent first (default: the
    Score's; none for a step source). send_clock: MIDI Beat Clock (start, 24 clocks per
    quarter, stop) on the same outputs. on_step(index, cells) runs on the player thread when
    each step's time comes (a playhead for a GUI). realtime: give the player thread real-time
    scheduling where the system allows it (``realtime_granted`` tells); it keeps onsets within
    microseconds of their time on a loaded machine. timing: where the steps fall comes from it
    instead of the tempo (:class:`LinkTiming`: an Ableton Link session); while it says the
    music is stopped, every note is off, and playing resumes on its next bar line.

    ``start()`` plays on a thread, ``run()`` in the calling thread; ``stop()`` ends either and
    waits for the note_offs. ``error`` holds what the source or an output raised.
    """

    def __init__(
        self,
        source: Score | Iterable[Sequence[int] | np.ndarray],
        outputs: Output | Sequence[Output],
        *,
        tempo: float | None = None,
        clock: Clock | None = None,
        lookahead: float = 0.1,
        lead_in: float = 0.05,
        max_steps: int | None = None,
        channels: Sequence[int] | None = None,
        velocity: int = VELOCITY,
        programs: Sequence[int] | None = None,
        send_clock: bool = False,
        on_step: Callable[[int, np.ndarray], None] | None = None,
        realtime: bool = True,
        timing: StepTiming | None = None,
    ) -> None:
        if isinstance(source, Score):
            voices = source.voices
            steps: Iterable[Any] = iter(source.grid)
            tempo = tempo or source.tempo
            programs = source.programs if programs is None else programs
        else:
            voices = 4 if channels is None else len(channels)
            steps = source
        if not tempo or tempo <= 0:
            raise ValueError(f"tempo must be positive quarter notes per minute, not {tempo}")
        self.outputs: tuple[Output, ...] = (
            tuple(outputs) if isinstance(outputs, list | tuple) else (outputs,)
        )
        self.clock: Clock = clock or MonotonicClock()
        self.lookahead = lookahead
        self.lead_in = lead_in
        self.max_steps = max_steps
        self.channels = tuple(channels) if channels is not None else voice_channels(voices)
        self.programs = tuple(programs) if programs is not None else None
        self.send_clock = send_clock
        self.on_step = on_step
        self.realtime = realtime
        self.realtime_granted = False
        self.timing = timing
        self.renderer = StepRenderer(self.channels, velocity)
        self.error: BaseException | None = None
        self.steps_played = 0  # steps whose onset time has come
        self._source: Iterator[Any] = iter(steps)
        self._tempo = float(tempo)
        self._new_tempo: float | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._sounding: dict[tuple[int, int], None] = {}  # ordered set of (channel, note)
        self._clock_started = False
        self._pending: collections.deque[tuple[float, int, Any]] = collections.deque()
        self._next_step = 0
        self._anchor = (0, 0.0)  # (step, its time in seconds)
        self._exhausted = False

    # --- control ---------------------------------------------------------------------------
    @property
    def tempo(self) -> float:
        return self._new_tempo or self._tempo

    def set_tempo(self, tempo: float) -> None:
        """Change the tempo from the next step not yet scheduled (thread-safe)."""
        if tempo <= 0:
            raise ValueError(f"tempo must be positive, not {tempo}")
        self._new_tempo = float(tempo)

    @property
    def sounding(self) -> list[tuple[int, int]]:
        """(channel, note) pairs the outputs are sounding now."""
        return list(self._sounding)

    def start(self) -> Player:
        """Play on a daemon thread; returns self."""
        self._thread = threading.Thread(target=self._run_thread, name="composer-player",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop playing; waits (up to timeout seconds) until every note is off."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until playback has ended (True) or timeout seconds passed (False)."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # --- the scheduler ---------------------------------------------------------------------
    def _run_thread(self) -> None:
        if self.realtime and isinstance(self.clock, MonotonicClock):
            self.realtime_granted = try_realtime_priority()
        try:
            self.run()
        except BaseException:  # kept in self.error for the owner of the thread
            pass

    def run(self) -> None:
        """Play to the end of the source (or ``stop()``) in this thread; re-raises errors."""
        clock = self.clock
        try:
            self._send_programs()
            first = self._next_cells()
            if first is not None:
                self._source = itertools.chain([first], self._source)
            self._anchor = (0, clock.now() + self.lead_in)
            if self.timing is not None:
                self._anchor = (0, self.timing.begin(clock.now() + self.lead_in, 0))
            if self.send_clock:
                self._push(self._anchor[1], _MSG, mido.Message("start"))
                self._clock_started = True
            if first is None:
                self._finish(self._anchor[1])
            pending = self._pending
            while not self._stop.is_set():
                if self.timing is not None and not self.timing.playing():
                    if not self._pause():
                        break
                self._fill(clock.now() + self.lookahead)
                if not pending:
                    break
                t = pending[0][0]
                if not clock.wait_until(t, self._stop):
                    break
                while pending and pending[0][0] <= t:
                    _, kind, payload = pending.popleft()
                    if kind == _MSG:
                        self._send(payload)
                    else:
                        self.steps_played = payload[0] + 1
                        if self.on_step is not None:
                            self.on_step(*payload)
        except BaseException as e:
            self.error = e
            raise
        finally:
            self._pending.clear()
            self._release()
            self._done.set()

    def step_time(self, step: int) -> float:
        """When step (0 = the first) is due, in seconds on the clock, at the current tempo."""
        return self._step_time(step)

    def _step_time(self, step: int) -> float:
        if self.timing is not None:
            return self.timing.step_time(step)
        anchor_step, anchor_time = self._anchor
        return anchor_time + (step - anchor_step) * 15.0 / self._tempo

    def _pause(self) -> bool:
        """The timing stopped: end every note, wait until it plays again (False: stopped), then
        go on from the next step at its next bar line."""
        self._pending.clear()
        self._release()
        self.renderer.release()
        while not self.timing.playing():
            if self._stop.wait(0.005):
                return False
        start = self.timing.begin(self.clock.now() + self.lead_in, self._next_step)
        self._anchor = (self._next_step, start)
        if self.send_clock:
            self._push(self._anchor[1], _MSG, mido.Message("start"))
            self._clock_started = True
        return True

    def _next_cells(self) -> np.ndarray | None:
        if self.max_steps is not None and self._next_step >= self.max_steps:
            return None
        try:
            return np.asarray(next(self._source))
        except StopIteration:
            return None

    def _fill(self, horizon: float) -> None:
        """Generate steps until one lies beyond horizon (at least one if nothing is pending)."""
        pending = self._pending
        while not self._exhausted:
            if self._new_tempo is not None:  # re-anchor at the next unscheduled step
                self._anchor = (self._next_step, self._step_time(self._next_step))
                self._tempo, self._new_tempo = self._new_tempo, None
            t = self._step_time(self._next_step)
            if pending and t > horizon:
                return
            cells = self._next_cells()
            if cells is None:
                self._finish(t)
                return
            if self.send_clock:
                self._push(t, _MSG, mido.Message("clock"))
            for msg in self.renderer.render(cells):
                self._push(t, _MSG, msg)
            self._push(t, _STEP, (self._next_step, cells))
            if self.send_clock:
                dt = (self._step_time(self._next_step + 1) - t) / CLOCKS_PER_STEP
                for j in range(1, CLOCKS_PER_STEP):
                    self._push(t + j * dt, _MSG, mido.Message("clock"))
            self._next_step += 1

    def _finish(self, t: float) -> None:
        """The source has ended: release its notes (and stop the clock) at time t."""
        self._exhausted = True
        for msg in self.renderer.release():
            self._push(t, _MSG, msg)
        if self.send_clock:
            self._push(t, _MSG, mido.Message("stop"))

    def _push(self, t: float, kind: int, payload: Any) -> None:
        self._pending.append((t, kind, payload))

    def _send(self, msg: mido.Message) -> None:
        for out in self.outputs:
            out.send(msg)
        if msg.type == "note_on" and msg.velocity > 0:
            self._sounding[(msg.channel, msg.note)] = None
        elif msg.type in ("note_on", "note_off"):
            self._sounding.pop((msg.channel, msg.note), None)
        elif msg.type == "stop":
            self._clock_started = False

    def _send_programs(self) -> None:
        if self.programs:
            for channel, program in zip(self.channels, self.programs, strict=False):
                self._send(mido.Message("program_change", channel=channel, program=program))

    def _release(self) -> None:
        """note_off for every sounding note, on every output, whatever fails."""
        messages = [note_off(ch, note) for ch, note in self._sounding]
        if self._clock_started:
            messages.append(mido.Message("stop"))
        self._sounding.clear()
        self._clock_started = False
        for out in self.outputs:
            for msg in messages:
                try:
                    out.send(msg)
                except Exception:  # a closed port must not keep the others' notes on
                    pass


def play(score: Score, outputs: Output | Sequence[Output], clock: Clock | None = None) -> None:
    """Play a whole Score in this thread (blocking); every note is off when it returns."""
    Player(score, outputs, clock=clock).run()


__all__ = [
    "FakeClock",
    "LinkTiming",
    "StepTiming",
    "MonotonicClock",
    "Output",
    "Player",
    "RecordingOutput",
    "StepRenderer",
    "note_off",
    "note_on",
    "play",
    "sounding_after",
    "voice_channels",
]
