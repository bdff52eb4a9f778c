"""The app's audio/MIDI output: a thin Qt adapter over composer.realtime.playback.Player.

``AppPlayer`` owns one output at a time: the built-in synth (composer.audio.synth.LiveSynth), an
existing MIDI output port, or a virtual port named "Composer" (composer.realtime.ports). It plays
the piece from a step (16th) with an optional loop region, applies mute/solo, volume and
instrument per voice, and reports the playhead through ``position(step)``, the transport state
through ``stateChanged(PlayerState)`` and a playback that died through ``failed(message)``
(after ``stateChanged('stopped')``). Every stop path goes through
composer.realtime.playback.Player.stop(), which sends note-offs for every sounding note.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Literal

import mido
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from composer.errors import AudioError, ComposerError, PortError
from composer.score import HOLD, Score

SYNTH, VIRTUAL = "synth", "virtual"
PlayerState = Literal["playing", "paused", "stopped"]
VIRTUAL_NAME = "Composer"


def loop_steps(
    grid: np.ndarray, start: int, region: tuple[int, int] | None
) -> Iterator[np.ndarray]:
    """Rows of ``grid`` (int16[T, V]) from ``start``; with a region [a, b), repeat it forever.

    The first row of a playing range is made an onset (a HOLD there becomes its pitch), so a
    note that began before ``start`` is heard.
    """
    sounding = None

    def first_row(t: int) -> np.ndarray:
        nonlocal sounding
        if sounding is None:
            sounding = Score(grid).pitch_grid()
        row = grid[t].copy()
        held = row == HOLD
        row[held] = sounding[t][held]
        return row

    if region is None:
        if start < len(grid):
            yield first_row(start)
            yield from grid[start + 1 :]
        return
    a, b = region
    t = start if a <= start < b else a
    yield first_row(t)
    t += 1
    while True:
        if t >= b:
            t = a
            yield first_row(t)
        else:
            yield grid[t]
        t += 1


class MixOutput:
    """Wraps an output: note-ons of silenced channels are dropped (note-offs always pass)."""

    def __init__(self, out, audible: list[bool], channels: tuple[int, ...]) -> None:
        self.out = out
        self.muted = {ch for ch, on in zip(channels, audible, strict=False) if not on}

    def send(self, msg: mido.Message) -> None:
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel in self.muted:
            return
        self.out.send(msg)


class AppPlayer(QObject):
    """See the module docstring. ``audio_error`` says why the built-in synth is unavailable."""

    position = Signal(float)
    stateChanged = Signal(str)  # a PlayerState
    failed = Signal(str)  # why playback stopped on its own (a port or device error)

    def __init__(self, parent: QObject | None = None, audio: bool = True,
                 backend: str | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        from composer.realtime.playback import voice_channels

        self.channels = voice_channels(4)
        self.output_id = SYNTH
        self.backend = backend
        self.synth = None
        self.audio_error: str | None = None
        self._port = None
        self._player = None
        self._offset = 0  # step of the piece the current Player started at
        self._region: tuple[int, int] | None = None
        self._score: Score | None = None
        self.state: PlayerState = "stopped"
        self.audible = [True] * 4
        self.programs = [52] * 4
        self.volumes = [100] * 4
        self.tempo: float | None = None  # override of the piece's tempo (quarters per minute)
        self._timer = QTimer(self, interval=33)
        self._timer.timeout.connect(self._tick)
        if audio:
            self._open_synth()
        else:
            self.audio_error = "audio disabled"

    # --- outputs ----------------------------------------------------------------------------
    def _open_synth(self) -> None:
        try:
            from composer.audio.synth import LiveSynth

            self.synth = LiveSynth(programs=tuple(self.programs))
        except ComposerError as e:
            self.synth, self.audio_error = None, str(e)

    def outputs(self) -> list[tuple[str, str]]:
        """(id, label) of every output: the synth, the virtual port, then existing ports."""
        synth = "Built-in synth" + ("" if self.synth else " (no audio device)")
        out = [(SYNTH, synth)]
        if sys.platform != "win32":
            out.append((VIRTUAL, f'Virtual port "{VIRTUAL_NAME}" (for a DAW)'))
        for name in self.port_names():
            if VIRTUAL_NAME not in name or ":" not in name:
                out.append((f"port:{name}", f"MIDI port: {name}"))
        return out

    def port_names(self) -> list[str]:
        """Existing MIDI output ports; tries the default MIDI system, then JACK."""
        from composer.realtime import ports

        for backend in (self.backend, "jack") if self.backend is None else (self.backend,):
            try:
                names = ports.output_names(backend)
            except PortError:
                continue
            self.backend = backend
            return names
        return []

    def set_output(self, output_id: str) -> None:
        """Switch output; raises PortError/AudioError (the previous output is kept then)."""
        from composer.realtime import ports

        if output_id == self.output_id:
            return
        new_port = None
        if output_id == VIRTUAL:
            if sys.platform == "win32":
                raise PortError("virtual MIDI ports are not possible on Windows: create one with "
                                "loopMIDI and choose it from the list")  # fmt: skip
            try:
                new_port = ports.open_output(virtual=VIRTUAL_NAME, backend=self.backend)
            except PortError:
                if self.backend is not None:
                    raise
                new_port = ports.open_output(virtual=VIRTUAL_NAME, backend="jack")
        elif output_id.startswith("port:"):
            new_port = ports.open_output(output_id[5:], backend=self.backend)
        elif output_id == SYNTH:
            if self.synth is None:
                self._open_synth()
                if self.synth is None:
                    raise AudioError(self.audio_error or "no audio output")
        else:
            raise PortError(f"unknown output {output_id!r}")
        self.stop()
        self._close_port()
        self._port, self.output_id = new_port, output_id
        self._send_mix()

    def _output(self):
        out = self._port if self.output_id != SYNTH else self.synth
        if out is None:
            raise AudioError(self.audio_error or "no output: choose a MIDI port")
        return out

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.reset()  # all notes off on every channel
                self._port.close()
            except Exception:
                pass
            self._port = None

    # --- mix --------------------------------------------------------------------------------
    def set_program(self, voice: int, program: int) -> None:
        self.programs[voice] = program
        self._send_mix()

    def set_volume(self, voice: int, volume: int) -> None:
        self.volumes[voice] = volume
        self._send_mix()

    def set_audible(self, audible: list[bool]) -> None:
        """Which voices sound (mute/solo); applies from the next note of a playing piece."""
        self.audible = list(audible)
        if self._player is not None and self.state == "playing":
            muted = {ch for ch, on in zip(self.channels, audible, strict=False) if not on}
            for out in self._player.outputs:
                if isinstance(out, MixOutput):
                    out.muted = muted

    def _send_mix(self) -> None:
        try:
            out = self._output()
        except ComposerError:
            return
        for v, ch in enumerate(self.channels):
            out.send(mido.Message("program_change", channel=ch, program=self.programs[v]))
            out.send(mido.Message("control_change", channel=ch, control=7, value=self.volumes[v]))

    # --- transport --------------------------------------------------------------------------
    def play(self, score: Score, start: int = 0, region: tuple[int, int] | None = None) -> None:
        """Play ``score`` from step ``start``; loop steps [a, b) if region is given."""
        from composer.realtime.playback import Player

        self.stop()
        out = MixOutput(self._output(), self.audible, self.channels)
        self._score, self._region = score, region
        self._offset = start if region is None or region[0] <= start < region[1] else region[0]
        self._player = Player(loop_steps(score.grid, start, region), [out],
                              tempo=self.tempo or score.tempo, programs=self.programs,
                              channels=self.channels)  # fmt: skip
        self._send_mix()
        self._player.start()
        self._set_state("playing")
        self._timer.start()

    def set_tempo(self, tempo: float) -> None:
        self.tempo = tempo
        if self._player is not None:
            self._player.set_tempo(tempo)

    def current_step(self) -> float | None:
        """The playhead in steps of the piece, or None when stopped."""
        if self._player is None:
            return None
        played = self._offset + max(0, self._player.steps_played - 1)
        if self._region is not None:
            a, b = self._region
            if played >= b:
                played = a + (played - a) % (b - a)
        return float(played)

    def pause(self) -> int | None:
        """Stop sounding, keep the playhead; returns it (step) for resume."""
        step = self.current_step()
        self._halt()
        self._paused_at = int(step) if step is not None else 0
        self._set_state("paused")
        return step

    def resume(self) -> None:
        if self.state == "paused" and self._score is not None:
            self.play(self._score, self._paused_at, self._region)

    def stop(self) -> None:
        self._halt()
        if self.state != "stopped":
            self._set_state("stopped")
            self.position.emit(-1.0)

    def _halt(self) -> None:
        self._timer.stop()
        if self._player is not None:
            self._player.stop()  # sends note-offs for every sounding note
            self._player = None

    def _tick(self) -> None:
        p = self._player
        if p is None:
            return
        if p.done:
            err = p.error
            self.stop()
            if err is not None and not isinstance(err, KeyboardInterrupt):
                self.failed.emit(str(err))
            return
        step = self.current_step()
        if step is not None:
            self.position.emit(step)

    def _set_state(self, state: PlayerState) -> None:
        self.state = state
        self.stateChanged.emit(state)

    def close(self) -> None:
        """Stop, send note-offs, release the port and the audio device."""
        self.stop()
        self._close_port()
        if self.synth is not None:
            self.synth.close()
            self.synth = None
