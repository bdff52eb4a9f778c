"""Live mode: an endless chorale into MIDI ports, a live harmonizer, MIDI Beat Clock.

Three pieces, each usable from the CLI (``composer live``) and the app:

- **Stream**: the sampler's endless step stream played by :class:`composer.realtime.playback.Player`
  at a tempo (optionally sending MIDI Beat Clock), or by :class:`ClockFollowPlayer` on a DAW's
  clock (one 16th step every 6 clocks).
- **Harmonizer**: :class:`PortHarmonizer` takes each note played on an input port as the soprano
  and sounds alto, tenor and bass at once (channels 1, 2, 3; the soprano is echoed on channel 0
  if asked), by the rules of :class:`composer.realtime.harmonizer.HarmonizerCore`. The chord is
  computed and sent first; the model's bookkeeping (held steps) comes after, off the latency
  path. (On JACK, :mod:`composer.realtime.jack_live` answers inside JACK's process cycle, and
  :mod:`composer.realtime.jack_stream` streams at exact frames.)
- **Outputs**: :func:`open_outputs` opens what ``--out-port`` / ``--virtual`` / ``--synth``
  name; every output has ``send(mido.Message)``.

Stopping never leaves a note on: each object tracks what it sounded and releases it in
``close()`` / ``stop()``; :func:`terminate_on_signals` turns every catchable signal that would
end the process (SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, ...) into an exception so that the
``finally`` blocks run.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import mido
import numpy as np

from composer.errors import ComposerError
from composer.realtime.clock import BeatClockFollower, Clock, MonotonicClock
from composer.realtime.harmonizer import (
    HARMONY_CHANNELS,
    NOTE_ON,
    SOPRANO_CHANNEL,
    ChordModel,
    HarmonizerCore,
    NoteEvent,
)
from composer.realtime.playback import Output, StepRenderer, note_off, note_on, voice_channels

__all__ = ["HARMONY_CHANNELS", "SOPRANO_CHANNEL", "ChordModel", "PortHarmonizer", "Terminated"]

PREPARE_DELAY = 0.015  # s after a note event before the model prepares the next chords: its
# burst of arithmetic then comes after the chord has been delivered (a period or two later)


#: Signals whose default action ends the process and that a process may catch: each one ends
#: every note first. (SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL, SIGFPE are
#: faults of the process itself; SIGPIPE stays ignored, as Python sets it; SIGABRT is what
#: abort() raises after a C library's own failure.)
TERMINATING_SIGNALS = tuple(
    getattr(signal, name)
    for name in (
        "SIGINT SIGTERM SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGALRM SIGVTALRM SIGPROF SIGXCPU SIGXFSZ "
        "SIGIO SIGPWR SIGSTKFLT"
    ).split()
    if hasattr(signal, name)
)


class Terminated(Exception):
    """Raised in the main thread by a terminating signal inside :func:`terminate_on_signals`;
    ``exit_code`` is 128 + the signal's number, as a shell reports a process killed by it."""

    exit_code = 143  # SIGTERM's

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + int(signum)


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn every signal of :data:`TERMINATING_SIGNALS` into :class:`Terminated` (SIGINT into
    KeyboardInterrupt) in the main thread, so ``finally`` blocks run; once one has arrived,
    later ones are ignored until the block is left, so a second Ctrl-C cannot cut the note-offs
    short.

    A no-op outside the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = TERMINATING_SIGNALS

    def handler(signum: int, frame: Any) -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --- outputs ---------------------------------------------------------------------------------
def open_outputs(
    stack: contextlib.ExitStack,
    *,
    out_port: str | None = None,
    virtual: str | None = None,
    synth: bool = False,
    backend: str | None = None,
    synth_driver: str | None = None,
) -> list[Output]:
    """Open the outputs named (a port, a virtual port, the in-process synth); closed by stack.

    Raises PortError / AudioError with one-line messages.
    """
    outputs: list[Output] = []
    if out_port is not None or virtual is not None:
        from composer.realtime.ports import open_output

        port = open_output(out_port, virtual=virtual, backend=backend)
        stack.callback(port.close)
        outputs.append(port)
    if synth:
        from composer.audio.synth import LiveSynth

        live_synth = LiveSynth(driver=synth_driver)
        stack.callback(live_synth.close)
        outputs.append(live_synth)
    if not outputs:
        raise ComposerError("no output: give --out-port NAME, --virtual NAME or --synth")
    return outputs


def output_name(output: Any) -> str:
    """A short description of an output for status lines (a virtual port's real name: JACK
    calls a second "Composer" "Composer-01")."""
    name = getattr(output, "real_name", None) or getattr(output, "name", None)
    if name:
        return str(name)
    driver = getattr(output, "driver", None)
    return f"the synth ({driver})" if driver else type(output).__name__


def send_all(outputs: Sequence[Output], messages: Iterable[mido.Message]) -> None:
    for msg in messages:
        for out in outputs:
            out.send(msg)


def release_all(outputs: Sequence[Output], sounding: Iterable[tuple[int, int]]) -> None:
    """note_off for each (channel, note) on every output; a failing output does not stop it."""
    messages = [note_off(ch, n) for ch, n in sounding]
    for out in outputs:
        for msg in messages:
            with contextlib.suppress(Exception):
                out.send(msg)


# --- the sampler (loaded lazily) -------------------------------------------------------------
def sampler_stream(
    model_dir: str | None = None,
    *,
    key: str | None = None,
    time_signature: tuple[int, int] = (4, 4),
    seed: int | None = None,
    temperature: float = 1.0,
    top_p: float = 0.95,
) -> Iterator[np.ndarray]:
    """The sampler's endless stream of steps (int16[4]: S, A, T, B; pitch / HOLD / REST)."""
    sampler, settings, parsed = _load_sampler(model_dir, key, seed, temperature, top_p)
    return sampler.stream(key=parsed, time_signature=time_signature, settings=settings)


def sampler_harmonizer(
    model_dir: str | None = None,
    *,
    key: str | None = None,
    time_signature: tuple[int, int] = (4, 4),
    seed: int | None = None,
    temperature: float = 1.0,
    top_p: float = 0.95,
    warm: bool = False,
) -> Any:
    """The sampler's live harmonizer: ``chord(soprano) -> (alto, tenor, bass)``, ``hold(steps)``.

    warm: first run a throwaway harmonizer of the same sampler through a chord and a held
    step, so the first real chord does not pay for loading the compiled kernels (milliseconds:
    a whole JACK period); the returned harmonizer's own state is untouched.
    """
    sampler, settings, parsed = _load_sampler(model_dir, key, seed, temperature, top_p)
    if warm:
        spare = sampler.harmonizer(key=parsed, time_signature=time_signature, settings=settings)
        spare.chord(72)
        spare.hold(1)
    return sampler.harmonizer(key=parsed, time_signature=time_signature, settings=settings)


def _load_sampler(model_dir, key, seed, temperature, top_p):
    from composer.runtime.sampler import Sampler
    from composer.runtime.settings import SamplingSettings
    from composer.score import Key

    parsed = Key.parse(key) if key else None
    settings = SamplingSettings(temperature=temperature, top_p=top_p, seed=seed)
    return Sampler.load(model_dir=model_dir), settings, parsed


# --- the harmonizer --------------------------------------------------------------------------
class PortHarmonizer:
    """The live harmonizer through MIDI ports: each note played on an input becomes the soprano;
    alto, tenor and bass sound at once on the outputs.

    model: a :class:`composer.realtime.harmonizer.ChordModel`. tempo: quarter notes per minute
    used to count how many 16th steps a note was held, so the model's sense of time follows the
    player. echo: also send the soprano on ``channels[0]``. ``handle(msg)`` is the input port's
    callback. The rules (legato, steps) are :class:`HarmonizerCore`'s; here the chord is computed
    and sent first, and the model's bookkeeping (held steps) comes after, off the latency path.

    A model with ``prepare()`` (composer.runtime.stream.LiveHarmonizer) is asked, on a thread of
    its own a moment after each note event, to work out the next chords ahead, so the next note is
    answered without computing; ``close()`` stops that thread.
    """

    def __init__(
        self,
        model: ChordModel,
        outputs: Output | Sequence[Output],
        *,
        tempo: float = 90.0,
        echo: bool = False,
        channels: Sequence[int] = (SOPRANO_CHANNEL, *HARMONY_CHANNELS),
        clock: Clock | None = None,
        on_chord: Callable[[int, Sequence[int]], None] | None = None,
    ) -> None:
        self.model = model
        self.outputs: tuple[Output, ...] = (
            tuple(outputs) if isinstance(outputs, list | tuple) else (outputs,)
        )
        self.core = HarmonizerCore(15.0 / tempo, echo=echo, channels=channels)
        self.clock: Clock = clock or MonotonicClock()
        self.on_chord = on_chord
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._prepare = getattr(model, "prepare", None)
        self._prepare_due = threading.Event()
        self._preparer: threading.Thread | None = None
        if self._prepare is not None:
            self._preparer = threading.Thread(target=self._prepare_ahead,
                                              name="harmonizer-prepare", daemon=True)  # fmt: skip
            self._preparer.start()
            self._prepare_due.set()  # the first chord too

    @property
    def chords(self) -> int:
        return self.core.chords

    def handle(self, msg: mido.Message) -> None:
        """Take one input message (any channel); note_on / note_off act, others are ignored."""
        kind = msg.type
        if kind not in ("note_on", "note_off"):
            return
        try:
            with self._lock:
                if self._closed:
                    return
                t = self.clock.now()
                core = self.core
                if kind == "note_on" and msg.velocity > 0:
                    harmony = self.model.chord(msg.note)  # the latency path: compute ...
                    self._send(core.press(msg.note, msg.velocity, harmony, t))  # ... send ...
                    self._hold()  # ... and only then the bookkeeping
                    if self.on_chord is not None:
                        self.on_chord(msg.note, tuple(int(p) for p in harmony))
                else:
                    self._send(core.lift(msg.note, t))
                    self._hold()
            self._prepare_due.set()
        except Exception as e:  # the callback thread must not die; the owner reads .error
            self.error = e

    def _send(self, events: list[NoteEvent]) -> None:
        send_all(self.outputs, [_message(e) for e in events])

    def _hold(self) -> None:
        due = self.core.due
        if due:
            self.model.hold(due)
            self.core.held(due)

    def _prepare_ahead(self) -> None:
        """The preparer thread: after each note event (and a moment for its messages to go
        out), the model works out the next chords; not under the lock (it checks for itself that
        nothing moved meanwhile)."""
        while True:
            self._prepare_due.wait()
            self._prepare_due.clear()
            if self._closed:
                return
            time.sleep(PREPARE_DELAY)
            if self._prepare_due.is_set():
                continue  # a newer event: prepare after that one
            try:
                self._prepare()
            except Exception as e:
                self.error = e
                return

    @property
    def sounding(self) -> list[tuple[int, int]]:
        return list(self.core.sounding)

    def close(self) -> None:
        """End the sounding chord and ignore further input. Safe to call twice."""
        with self._lock:
            self._closed = True
            release_all(self.outputs, [(e.channel, e.pitch) for e in self.core.release()])
        if self._preparer is not None:
            self._prepare_due.set()
            self._preparer.join(timeout=5)


def _message(event: NoteEvent) -> mido.Message:
    if event.status == NOTE_ON:
        return note_on(event.channel, event.pitch, event.velocity)
    return note_off(event.channel, event.pitch)


# --- following a DAW's clock -----------------------------------------------------------------
class ClockFollowPlayer:
    """Plays a step source on MIDI Beat Clock from a DAW: one 16th step every 6 clocks.

    ``handle(msg)`` is the clock input's callback. Start plays step 0 on the next clock; stop
    silences the sounding notes (the stream resumes on continue or start). The next step is
    drawn from the source right after a step is sent, so a clock only sends. max_steps: stop
    after this many steps (``done`` is set). ``tempo`` is the DAW's tempo estimated from the
    clock (quarter notes per minute, smoothed).
    """

    def __init__(
        self,
        source: Iterable[Sequence[int] | np.ndarray],
        outputs: Output | Sequence[Output],
        *,
        channels: Sequence[int] | None = None,
        max_steps: int | None = None,
        clock: Clock | None = None,
        on_step: Callable[[int, np.ndarray], None] | None = None,
    ) -> None:
        self.outputs: tuple[Output, ...] = (
            tuple(outputs) if isinstance(outputs, list | tuple) else (outputs,)
        )
        self.channels = tuple(channels) if channels is not None else voice_channels(4)
        self.renderer = StepRenderer(self.channels)
        self.max_steps = max_steps
        self.clock: Clock = clock or MonotonicClock()
        self.on_step = on_step
        self.follower = BeatClockFollower(self._on_step, on_stop=self._silence)
        self.steps_played = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._source = iter(source)
        self._next: np.ndarray | None = None
        self._sounding: dict[tuple[int, int], None] = {}
        self._lock = threading.Lock()
        self._prefetch()

    @property
    def tempo(self) -> float | None:
        return self.follower.tempo

    @property
    def sounding(self) -> list[tuple[int, int]]:
        return list(self._sounding)

    def handle(self, msg: mido.Message) -> None:
        try:
            with self._lock:
                if not self.done.is_set():
                    self.follower.feed(msg, self.clock.now())
        except BaseException as e:
            self.error = e
            self._silence()
            self.done.set()

    def _prefetch(self) -> None:
        if self.max_steps is not None and self.steps_played >= self.max_steps:
            self._next = None
            return
        try:
            self._next = np.asarray(next(self._source))
        except StopIteration:
            self._next = None

    def _on_step(self, index: int) -> None:
        cells = self._next
        if cells is None:
            self._silence()
            self.done.set()
            return
        self._send(self.renderer.render(cells))
        self.steps_played += 1
        if self.on_step is not None:
            self.on_step(index, cells)
        self._prefetch()

    def _send(self, messages: list[mido.Message]) -> None:
        for msg in messages:
            for out in self.outputs:
                out.send(msg)
            if msg.type == "note_on" and msg.velocity > 0:
                self._sounding[(msg.channel, msg.note)] = None
            else:
                self._sounding.pop((msg.channel, msg.note), None)

    def _silence(self) -> None:
        release_all(self.outputs, list(self._sounding))
        self._sounding.clear()
        self.renderer.release()

    def close(self) -> None:
        """Silence everything and ignore further clock. Safe to call twice."""
        with self._lock:
            self.done.set()
            self._silence()
