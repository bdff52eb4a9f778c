"""The live harmonizer as a JACK client: each chord leaves in the JACK period its soprano came in.

python-rtmidi (the ``--backend jack`` ports of :mod:`composer.realtime.ports`) makes one JACK
client per port and hands input to Python through a ring buffer read by another thread, so an answer
always waits for the next period (5.3 ms at 256 frames / 48 kHz) or two. Here one JACK client,
``Composer``, owns a MIDI input and a MIDI output port; its process callback reads the input
events of the current period and, for each note-on, calls the model's ``chord()`` and writes
the harmony note-ons (and the soprano echo) at the same frame offset into the output buffer of
the same period. The harmonizer's latency is then JACK's own port-to-port latency.

Needs the optional ``JACK-Client`` package (``import jack``, libjack through cffi) and a
running JACK server; :func:`jack_unavailable` says why not, and ``composer live`` falls back
to python-rtmidi with a one-line note.

Real-time care: the callback never waits. The model's bookkeeping (``hold(steps)`` for the 16th
steps a chord lasts) runs on a worker thread, one step per lock hold, and then, if the model
has it, ``prepare()``, which works out ahead the chord under every likely next note (the
callback then only picks one: composer.runtime.stream.LiveHarmonizer); a note-on that finds the
worker inside a step is answered at the start of the next period (counted in ``late``); one
that finds bookkeeping still pending (the worker has not run yet) does it itself before
answering (counted in ``caught_up``). ``bookkeeping="callback"`` does all bookkeeping in the
callback instead (no worker). Time is JACK's frame clock: 16th steps are counted from frame
times (``last_frame_time + offset``), so the model follows the player's timing exactly.

Stopping never leaves a note on: :meth:`JackHarmonizer.close` asks the callback to write
note-offs for the sounding chord in its next period and waits one more period so they are
delivered; if the client is gone (JACK shut it down, or the callback no longer runs) the
note-offs go through a one-off JACK client connected to the same destinations.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import mido

from composer.errors import PortError
from composer.realtime.harmonizer import (
    HARMONY_CHANNELS,
    NOTE_OFF,
    NOTE_ON,
    SOPRANO_CHANNEL,
    ChordModel,
    HarmonizerCore,
    NoteEvent,
)
from composer.realtime.jackio import (
    CLIENT_NAME,
    FrameCounter,
    jack_unavailable,
    open_client,
    release_once,
)
from composer.realtime.live import release_all
from composer.realtime.playback import Output
from composer.realtime.ports import find_port

__all__ = ["JackHarmonizer", "jack_unavailable", "release_once"]

MAX_PENDING = 256  # input events carried to the next period at most (then dropped)


class JackHarmonizer:
    """Each note played on the input becomes the soprano; alto, tenor, bass leave in its period.

    model: ``chord(soprano) -> (alto, tenor, bass)`` (MIDI pitches; negative = silent) and
    ``hold(steps)``. tempo: quarter notes per minute, to count the 16th steps a note lasts.
    echo: also send the soprano on ``channels[0]``. out_name: the output port's name
    (``Composer:out``, or the ``--virtual`` name). outputs: more outputs with
    ``send(mido.Message)`` (the in-process synth), fed from the worker thread, not the callback.
    bookkeeping: ``"worker"`` (default) or ``"callback"`` (see the module docstring).

    The soprano line is monophonic: a new note ends the chord before it (legato); a chord ends
    when its played note ends. Counters: ``chords``, ``late`` (answered a period late),
    ``caught_up`` (bookkeeping done in the callback before a chord), ``callback_max`` (seconds,
    the longest process callback).
    """

    def __init__(
        self,
        model: ChordModel,
        *,
        tempo: float = 90.0,
        echo: bool = False,
        channels: Sequence[int] = (SOPRANO_CHANNEL, *HARMONY_CHANNELS),
        client_name: str = CLIENT_NAME,
        in_name: str = "in",
        out_name: str = "out",
        outputs: Sequence[Output] = (),
        bookkeeping: str = "worker",
        on_chord: Callable[[int, Sequence[int]], None] | None = None,
    ) -> None:
        if bookkeeping not in ("worker", "callback"):
            raise ValueError(f"bookkeeping must be 'worker' or 'callback', not {bookkeeping!r}")
        self.model = model
        self.outputs = tuple(outputs)
        self.on_chord = on_chord
        self.worker = bookkeeping == "worker"
        self.error: BaseException | None = None
        self.done = threading.Event()  # set when the client stops by itself (error, shutdown)
        self.late = self.caught_up = 0
        self.cycles = 0  # process callbacks so far
        self.callback_max = 0.0

        self.client = open_client(client_name)
        self.inport = self.client.midi_inports.register(in_name)
        self.outport = self.client.midi_outports.register(out_name)
        self.name = self.client.name
        # the rules, in JACK frames (a 16th step = step_frames); its model_steps are counted under
        # _model_lock, its target set by the callback
        self.core = HarmonizerCore(self.client.samplerate * 15.0 / tempo, echo=echo,
                                   channels=channels)  # fmt: skip
        self._destinations: set[str] = set()  # ports our output is connected to

        self._model_lock = threading.Lock()
        self._frames = FrameCounter()  # 64-bit frame time of the current period's start
        self._pending: collections.deque[tuple[int, int]] = collections.deque()
        self._outbox: collections.deque[list[mido.Message]] = collections.deque()
        self._wake = threading.Event()
        # The callback wakes the worker only as it returns: a worker woken earlier would take
        # the GIL from the callback's remaining Python for a switch interval or more.
        self._wake_due = False
        self._quit = False
        self._stop = False  # close() asks the callback to release and go quiet
        self._stopped = threading.Event()  # the callback has released and a period has passed
        self._stop_cycles = 0
        self._gone = False  # JACK shut the client down
        self._closed = False

        self.client.set_process_callback(self._process)
        self.client.set_shutdown_callback(self._on_shutdown)
        self.client.set_port_connect_callback(self._on_connect)
        self._thread = threading.Thread(target=self._work, name="harmonizer-bookkeeping",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._wake.set()  # the worker prepares the first chord before anyone plays
        self.client.activate()
        self.client.get_ports()  # lets the connect callback see ports that existed before

    # --- wiring ------------------------------------------------------------------------------
    @property
    def in_port_name(self) -> str:
        return self.inport.name

    @property
    def out_port_name(self) -> str:
        return self.outport.name

    def connect_input(self, query: str) -> str:
        """Connect the MIDI output port named by query (exact or a unique part) to our input."""
        names = [p.name for p in self.client.get_ports(is_midi=True, is_output=True)
                 if p.name != self.outport.name]  # fmt: skip
        full = find_port(query, names, "input")
        self.client.connect(full, self.inport)
        return full

    def connect_output(self, query: str) -> str:
        """Connect our output to the MIDI input port named by query (exact or a unique part)."""
        names = [p.name for p in self.client.get_ports(is_midi=True, is_input=True)
                 if p.name != self.inport.name]  # fmt: skip
        full = find_port(query, names, "output")
        self.client.connect(self.outport, full)
        self._destinations.add(full)
        return full

    def settle(self, cycles: int = 2, timeout: float = 2.0) -> bool:
        """Wait until ``cycles`` process cycles have run: JACK applies a new connection between
        cycles, so after this a note sent to a connected input reaches the harmonizer."""
        goal = self.cycles + cycles
        deadline = time.monotonic() + timeout
        while self.cycles < goal:
            if time.monotonic() > deadline or self._gone:
                return False
            time.sleep(0.001)
        return True

    def _on_connect(self, a: Any, b: Any, connected: bool) -> None:
        if a is not None and b is not None and a.name == self.outport.name:
            (self._destinations.add if connected else self._destinations.discard)(b.name)

    def _on_shutdown(self, status: Any, reason: str) -> None:
        self._gone = True
        if self.error is None:
            self.error = PortError(f"JACK stopped the harmonizer's client ({reason or status})")
        self.done.set()

    # --- the process callback (JACK's thread) ---------------------------------------------
    def _process(self, frames: int) -> None:
        t0 = time.perf_counter()
        self.cycles += 1
        out = self.outport
        out.clear_buffer()
        self._frame = self._frames.update(self.client.last_frame_time)
        try:
            if self._stop or self.error is not None:
                self._quiet(out)
                return
            last = 0  # JACK wants events in offset order
            pending = self._pending
            while pending:  # carried over from the last period: answered at offset 0
                note, velocity = pending[0]
                if not self._event(out, 0, note, velocity):
                    break
                pending.popleft()
            for offset, data in self.inport.incoming_midi_events():
                if len(data) < 3:
                    continue
                status, note, velocity = data[0][0] & 0xF0, data[1][0], data[2][0]
                if status == NOTE_OFF:
                    velocity = 0
                elif status != NOTE_ON:
                    continue
                last = max(last, offset)
                if pending or not self._event(out, last, note, velocity):
                    if len(pending) < MAX_PENDING:
                        pending.append((note, velocity))
        except Exception as e:  # the callback must go on: release now, the owner reads .error
            self.error = e
            self.done.set()
            self._release(out, frames - 1)
        finally:
            if self._wake_due:
                self._wake_due = False
                self._wake.set()
            self.callback_max = max(self.callback_max, time.perf_counter() - t0)

    @property
    def chords(self) -> int:
        return self.core.chords

    @property
    def step_frames(self) -> float:
        return self.core.step_length

    def _event(self, out: Any, offset: int, note: int, velocity: int) -> bool:
        """Act on one note event at offset (frames); False if it must wait for the model."""
        core = self.core
        frame = self._frame + offset
        if velocity == 0:
            self._write(out, offset, core.lift(note, frame))
            self._wake_bookkeeping()
            return True
        if not self._model_lock.acquire(blocking=False):
            self.late += 1  # the worker is inside one hold() step: next period
            return False
        try:
            if core.due:  # bookkeeping the worker has not done yet
                self.caught_up += 1
                self._hold(core.due)
            harmony = self.model.chord(note)  # the latency path
            events = core.press(note, velocity, harmony, frame)
        finally:
            self._model_lock.release()
        self._write(out, offset, events)
        self._wake_bookkeeping()
        if self.on_chord is not None:
            self.on_chord(note, harmony)
        return True

    def _write(self, out: Any, offset: int, events: list[NoteEvent]) -> None:
        """Write note events at offset (frames); hand them to the other outputs too."""
        if not events:
            return
        for event in events:
            out.write_midi_event(offset, event.bytes())
        if self.outputs:
            self._outbox.append([_message(e) for e in events])
            self._wake_due = True

    def _release(self, out: Any, offset: int) -> None:
        """Write note-offs for the sounding chord at offset (frames)."""
        self._write(out, offset, self.core.release())

    def _quiet(self, out: Any) -> None:
        """Stopping: release in this period, confirm two periods later (delivered by then, even
        with jackd in its asynchronous mode, which hands outputs on one period late)."""
        if self.core.sounding:
            self._release(out, 0)
        self._stop_cycles += 1
        if self._stop_cycles >= 3:
            self._stopped.set()

    def _wake_bookkeeping(self) -> None:
        if not self.core.due:
            return
        if self.worker:
            self._wake_due = True
        elif self._model_lock.acquire(blocking=False):
            try:
                self._hold(self.core.due)
            finally:
                self._model_lock.release()

    def _hold(self, steps: int) -> None:
        if steps > 0:
            self.model.hold(steps)
            self.core.held(steps)

    # --- the worker (an ordinary thread) --------------------------------------------------
    def _work(self) -> None:
        while not self._quit:
            self._wake.wait()
            self._wake.clear()
            while self._outbox:
                messages = self._outbox.popleft()
                with contextlib.suppress(Exception):
                    for out in self.outputs:
                        for msg in messages:
                            out.send(msg)
            while self.worker and not self._quit:
                with self._model_lock:  # one step per hold: the callback rarely finds it busy
                    if not self.core.due:
                        break
                    try:
                        self._hold(1)
                    except Exception as e:
                        self.error = e
                        self.done.set()
                        return
            prepare = getattr(self.model, "prepare", None)
            if self.worker and prepare is not None and not self._quit:
                # Prepare once the chord has been handed on (a period later), so its burst of
                # arithmetic does not compete with the synth or DAW playing it; a new event
                # in the meantime comes first.
                if self._wake.wait(self.client.blocksize / self.client.samplerate + 0.001):
                    continue
                try:  # not under the lock: the model checks its state did not move meanwhile
                    prepare()
                except Exception as e:
                    self.error = e
                    self.done.set()
                    return

    # --- stopping ----------------------------------------------------------------------------
    @property
    def sounding(self) -> list[tuple[int, int]]:
        return list(self.core.sounding)

    def close(self, timeout: float = 1.0) -> None:
        """Release the sounding chord, stop the worker, close the client. Safe to call twice.

        The note-offs leave in the client's next period; if it does not run within timeout
        seconds (or JACK has shut it down), they go through a one-off JACK client instead.
        """
        if self._closed:
            return
        self._closed = True
        self._stop = True
        released = not self._gone and self._stopped.wait(timeout)
        self._quit = True
        self._wake.set()
        with contextlib.suppress(Exception):
            self.client.deactivate()
        self._thread.join(timeout)
        notes = [(e.channel, e.pitch) for e in self.core.release()]
        if notes and not released:
            release_once(notes, sorted(self._destinations), f"{self.name}-release")
        self._outbox.clear()  # the worker has stopped; only the note-offs matter now
        if notes:
            release_all(self.outputs, notes)
        with contextlib.suppress(Exception):
            self.client.close()


def _message(event: NoteEvent) -> mido.Message:
    if event.status == NOTE_ON:
        return mido.Message("note_on", channel=event.channel, note=event.pitch,
                            velocity=event.velocity)  # fmt: skip
    return mido.Message("note_off", channel=event.channel, note=event.pitch)
