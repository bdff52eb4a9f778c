"""The endless stream as a JACK client of its own: every note at the frame where its time falls.

python-rtmidi's JACK ports write every message at frame 0 of the next period, so a note a synth
plays sits up to one period (5.3 ms at 256 frames, 48 kHz) off the 16th grid. Here one JACK
client, ``Composer``, owns a MIDI output port; a generator thread keeps the next steps of the
stream ready (each step's note-offs and note-ons as raw MIDI bytes, and which notes sound after
it), and the process callback only asks the timeline (:mod:`composer.realtime.sync`: a tempo,
Ableton Link, JACK transport or MIDI clock) which ticks fall in the period and copies the ready
bytes out at their frame offsets. So a note is on the grid to the frame, whatever the period.

- Steps start on every 6th tick (24 ticks per quarter note); with ``send_clock`` the client
  also writes MIDI Beat Clock (start, a clock on every tick, stop) at the same frames.
- The stream starts on a bar line of the timeline, and after any stop or jump (Link or the
  transport stopped, a locate, a MIDI stop) every note ends at that frame and the music goes on
  from its next bar at the timeline's next bar line, the notes held across it struck again.
- A destination port (``connect_output``) that goes away is reported, and connected again when
  a port of that name comes back (:meth:`JackStreamer.service`, from the owner's thread).
- Stopping never leaves a note on: :meth:`JackStreamer.close` asks the callback to end every
  note (and send a MIDI stop) in its next period and waits for it to be delivered; if the
  callback no longer runs, the note-offs go through a one-off client
  (:func:`composer.realtime.jackio.release_once`).

Counters: ``steps_played``, ``underruns`` (a step was due before the generator had it ready:
its notes are skipped), ``late`` (ticks placed at offset 0 because their frame had passed, after
an xrun), ``callback_max`` (seconds).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from composer.realtime.clock import CLOCKS_PER_STEP, try_realtime_priority
from composer.realtime.harmonizer import NOTE_OFF, NOTE_ON
from composer.realtime.jackio import CLIENT_NAME, FrameCounter, open_client, release_once
from composer.realtime.playback import VELOCITY, StepRenderer, voice_channels
from composer.realtime.ports import find_port
from composer.realtime.sync import STOP, Timeline, bar_ticks

CLOCK, START, STOP_CLOCK = b"\xf8", b"\xfa", b"\xfc"


class ReadyStep(NamedTuple):
    """One step of the stream, rendered ahead by the generator thread."""

    index: int  # the step's number in the music (16ths from its start)
    messages: tuple[bytes, ...]  # note-offs then note-ons, as played after the step before
    sounding: tuple[tuple[int, int], ...]  # (channel, pitch) sounding after the step
    cells: np.ndarray  # int[V]: pitch, HOLD or REST per voice


class JackStreamer:
    """Plays a step source (each step int[V]: pitch / HOLD / REST per voice) on a timeline, as a
    JACK client whose process callback writes each note at its frame.

    timeline: where the ticks fall (:mod:`composer.realtime.sync`). time_signature: the bar the
    stream starts on and restarts at. max_steps: stop after this many steps (``done`` is set;
    the last notes end where the next step would start). send_clock: MIDI Beat Clock on the same
    port. ahead: steps kept ready. on_step(index, cells): called on the generator thread soon
    after each step was played (a playhead for a GUI), not in the callback.
    """

    def __init__(
        self,
        source: Iterable[Sequence[int] | np.ndarray],
        timeline: Timeline,
        *,
        time_signature: tuple[int, int] = (4, 4),
        max_steps: int | None = None,
        send_clock: bool = False,
        channels: Sequence[int] | None = None,
        velocity: int = VELOCITY,
        programs: Sequence[int] | None = None,
        client_name: str = CLIENT_NAME,
        out_name: str = "out",
        ahead: int = 32,
        on_step: Callable[[int, np.ndarray], None] | None = None,
    ) -> None:
        self.timeline = timeline
        self.max_steps = max_steps
        self.send_clock = send_clock
        self.ahead = ahead
        self.on_step = on_step
        self.bar_ticks = bar_ticks(time_signature)
        self.bar_steps = self.bar_ticks // CLOCKS_PER_STEP
        self.channels = tuple(channels) if channels is not None else voice_channels(4)
        self.programs = tuple(programs) if programs is not None else None
        self.renderer = StepRenderer(self.channels, velocity)
        self.error: BaseException | None = None
        self.done = threading.Event()  # the stream ended (max_steps, source, error, shutdown)
        self.steps_played = 0
        self.underruns = 0
        self.stops = 0  # stops and jumps of the timeline
        self.cycles = 0
        self.callback_max = 0.0
        self.notices: collections.deque[str] = collections.deque()  # for the owner to print

        self._source = iter(source)
        self._next_index = 0
        self._ready: collections.deque[ReadyStep] = collections.deque()
        self._exhausted = False
        self._played: collections.deque[ReadyStep] = collections.deque()  # for on_step
        self._wake = threading.Event()
        self._wake_due = False
        self._quit = False
        self._stop = False
        self._stopped = threading.Event()
        self._stop_cycles = 0
        self._gone = False
        self._closed = False
        self._active = False
        self._armed = False  # start() was called: the timeline is read from the next period
        self._aligned = False  # playing since a bar line (False: waiting for the next one)
        self._restrike = False
        self._clock_running = False
        self._programs_sent = False
        self._sounding: dict[tuple[int, int], None] = {}  # ordered set of (channel, pitch)
        self._frames = FrameCounter()
        self._wanted: dict[str, bool] = {}  # destination port -> connected (as we believe)
        self._ports_changed = threading.Event()

        self.client = open_client(client_name)
        self.outport = self.client.midi_outports.register(out_name)
        self.name = self.client.name
        timeline.attach(self.client)
        self._fill()  # the first steps are ready before the first period
        self.client.set_process_callback(self._process)
        self.client.set_shutdown_callback(self._on_shutdown)
        self.client.set_port_registration_callback(self._on_registration)
        self._thread = threading.Thread(target=self._work, name="stream-generator", daemon=True)
        self._thread.start()

    # --- wiring ------------------------------------------------------------------------------
    @property
    def out_port_name(self) -> str:
        """The output port's real name (``Composer:out``, or ``Composer-01:out`` when another
        client took the name first)."""
        return self.outport.name

    @property
    def sounding(self) -> list[tuple[int, int]]:
        return list(self._sounding)

    @property
    def tempo(self) -> float | None:
        return self.timeline.tempo

    def _activate(self) -> None:
        if not self._active:
            self.client.activate()
            self._active = True

    def start(self) -> JackStreamer:
        """Play: the stream starts on the timeline's next bar line, once the connections made so
        far are live (JACK applies them between cycles)."""
        self._activate()
        self.settle()
        self._armed = True
        return self

    def connect_output(self, query: str) -> str:
        """Connect our output to the MIDI input named by query (exact or a unique part); it is
        watched from then on (:meth:`service`)."""
        self._activate()
        names = [p.name for p in self.client.get_ports(is_midi=True, is_input=True)]
        full = find_port(query, names, "output")
        self.client.connect(self.outport, full)
        self._wanted[full] = True
        return full

    def settle(self, cycles: int = 2, timeout: float = 2.0) -> bool:
        """Wait until ``cycles`` process cycles have run (JACK applies connections between
        cycles); False if they did not within timeout seconds."""
        goal = self.cycles + cycles
        deadline = time.monotonic() + timeout
        while self.cycles < goal:
            if time.monotonic() > deadline or self._gone:
                return False
            time.sleep(0.001)
        return True

    def service(self) -> list[str]:
        """Call from the owner's thread now and then: reconnects destinations that came back
        and returns what to tell the user (ports that went away or came back)."""
        if self._ports_changed.is_set() and not self._closed:
            self._ports_changed.clear()
            present = {p.name for p in self.client.get_ports(is_midi=True, is_input=True)}
            for name, connected in list(self._wanted.items()):
                if connected and name not in present:
                    self._wanted[name] = False
                    self.notices.append(f"{name} went away; the stream goes on and will "
                                        "connect to it again when it is back")  # fmt: skip
                elif not connected and name in present:
                    with contextlib.suppress(Exception):
                        self.client.connect(self.outport, name)
                        self._wanted[name] = True
                        self.notices.append(f"{name} is back: connected again")
        poll = getattr(self.timeline, "poll", None)
        if poll is not None:
            poll()
        notices = list(self.notices)
        self.notices.clear()
        return notices

    def _on_registration(self, port: Any, registered: bool) -> None:
        self._ports_changed.set()  # checked by service(), outside JACK's notification thread

    def _on_shutdown(self, status: Any, reason: str) -> None:
        from composer.errors import PortError

        self._gone = True
        if self.error is None:
            self.error = PortError(f"JACK stopped the stream's client ({reason or status})")
        self.done.set()

    # --- the generator (an ordinary thread) ------------------------------------------------
    def _fill(self) -> None:
        """Render steps until ``ahead`` are ready (or the source or max_steps ends)."""
        ready = self._ready
        while len(ready) < self.ahead and not self._exhausted:
            if self.max_steps is not None and self._next_index >= self.max_steps:
                self._exhausted = True
                break
            try:
                cells = np.asarray(next(self._source))
            except StopIteration:
                self._exhausted = True
                break
            messages = tuple(bytes(m.bytes()) for m in self.renderer.render(cells))
            sounding = tuple((ch, p) for ch, p in zip(self.channels, self.renderer.current)
                             if p is not None)  # fmt: skip
            ready.append(ReadyStep(self._next_index, messages, sounding, cells))
            self._next_index += 1

    def _work(self) -> None:
        # SCHED_FIFO where allowed: a thread of this process preempted while it holds the GIL
        # would hold up the process callback, which needs the GIL too
        try_realtime_priority()
        while not self._quit:
            self._wake.wait(0.1)
            self._wake.clear()
            if self._quit:
                return
            while self._played:
                step = self._played.popleft()
                if self.on_step is not None:
                    with contextlib.suppress(Exception):
                        self.on_step(step.index, step.cells)
            try:
                self._fill()
            except Exception as e:  # the source failed: the callback ends every note
                self.error = e
                self.done.set()
                return

    # --- the process callback (JACK's thread) ---------------------------------------------
    def _process(self, frames: int) -> None:
        t0 = time.perf_counter()
        self.cycles += 1
        out = self.outport
        out.clear_buffer()
        frame = self._frames.update(self.client.last_frame_time)
        try:
            if self._stop or self.error is not None or self.done.is_set():
                self._quiet(out)
                return
            if not self._armed:
                return
            if not self._programs_sent and self.programs:
                for ch, program in zip(self.channels, self.programs):
                    out.write_midi_event(0, bytes((0xC0 | ch, program)))
            self._programs_sent = True
            for offset, tick in self.timeline.span(frame, frames):
                if tick == STOP:
                    self._silence(out, offset)
                    self._aligned = False
                    self.stops += 1
                    continue
                if not self._aligned:
                    if tick % self.bar_ticks:
                        continue
                    self._aligned = self._restrike = True
                    if self.send_clock:
                        out.write_midi_event(offset, START)
                        self._clock_running = True
                step = tick % CLOCKS_PER_STEP == 0
                if step and self._over():  # the last step's notes end where the next would start
                    self._silence(out, offset)
                    self.done.set()
                    break
                if self.send_clock:
                    out.write_midi_event(offset, CLOCK)
                if step:
                    self._play(out, offset)
        except Exception as e:  # the callback must go on: end every note now
            self.error = e
            self.done.set()
            self._silence(out, frames - 1)
        finally:
            if self._wake_due:
                self._wake_due = False
                self._wake.set()
            self.callback_max = max(self.callback_max, time.perf_counter() - t0)

    def _play(self, out: Any, offset: int) -> None:
        """The step due at offset: copy its ready messages out."""
        ready = self._ready
        if self._restrike:  # after a start or a stop: the music goes on from its next bar
            while ready and ready[0].index % self.bar_steps:
                ready.popleft()
        if not ready:
            self.underruns += 1
            self._wake_due = True
            return
        step = ready.popleft()
        sounding = self._sounding
        if self._restrike:  # everything was ended: strike what sounds after this step
            self._restrike = False
            for ch, pitch in step.sounding:
                out.write_midi_event(offset, bytes((NOTE_ON | ch, pitch, self.renderer.velocity)))
                sounding[(ch, pitch)] = None
        else:
            for data in step.messages:
                out.write_midi_event(offset, data)
                key = (data[0] & 0x0F, data[1])
                if data[0] & 0xF0 == NOTE_ON and data[2] > 0:
                    sounding[key] = None
                else:
                    sounding.pop(key, None)
        self.steps_played += 1
        self._played.append(step)
        self._wake_due = True

    def _over(self) -> bool:
        """Whether every step has been played (max_steps, or the source ended)."""
        if self.max_steps is not None and self.steps_played >= self.max_steps:
            return True
        return self._exhausted and not self._ready

    def _silence(self, out: Any, offset: int) -> None:
        """End every sounding note (and the MIDI clock) at offset."""
        for ch, pitch in self._sounding:
            out.write_midi_event(offset, bytes((NOTE_OFF | ch, pitch, 0)))
        self._sounding.clear()
        if self._clock_running:
            out.write_midi_event(offset, STOP_CLOCK)
            self._clock_running = False
        self._aligned = False

    def _quiet(self, out: Any) -> None:
        """Stopping: end every note in this period, confirm two periods later (delivered by
        then, even with jackd in its asynchronous mode, which hands outputs on a period late)."""
        self._silence(out, 0)
        self._stop_cycles += 1
        if self._stop_cycles >= 3:
            self._stopped.set()

    # --- stopping ----------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the stream has ended by itself (True) or timeout seconds passed."""
        return self.done.wait(timeout)

    def close(self, timeout: float = 1.0) -> None:
        """End every note, stop the generator, close the client. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop = True
        released = not self._gone and self._stopped.wait(timeout)
        destinations = set(name for name, on in self._wanted.items() if on)
        with contextlib.suppress(Exception):
            destinations.update(p.name for p in self.client.get_all_connections(self.outport))
        self._quit = True
        self._wake.set()
        with contextlib.suppress(Exception):
            self.client.deactivate()
        self._thread.join(timeout)
        notes = list(self._sounding)
        self._sounding.clear()
        if not released and (notes or self._clock_running):
            release_once(notes, sorted(destinations), f"{self.name}-release",
                         extra=[STOP_CLOCK] if self._clock_running else ())  # fmt: skip
        self._clock_running = False
        with contextlib.suppress(Exception):
            self.client.close()

    stop = close


__all__ = ["JackStreamer", "ReadyStep"]
