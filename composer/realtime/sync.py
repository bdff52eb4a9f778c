"""Where the beat is, period by period: the timelines a JACK stream client plays on.

A timeline answers one question in each JACK process callback: which MIDI-clock ticks (24 per
quarter note, 6 per 16th step) fall in this period, and at which frame offset. The stream client
(:mod:`composer.realtime.jack_stream`) plays a 16th step on every 6th tick and writes its notes
at that tick's offset, so the notes sit on the timeline's grid to the frame. Tick numbers count
from the timeline's own zero (a session's beat 0, the transport's bar 1, a MIDI start), so a
tick that is a multiple of a bar's ticks is a bar line. A tick of ``STOP`` (-1) says that the
timeline stopped or jumped at that offset: the client ends every note there and starts again on
the next bar line.

- :class:`TempoTimeline`: a fixed tempo from the client's first period (``--sync internal``);
  ``set_tempo`` changes it from the next tick.
- :class:`LinkTimeline`: an Ableton Link session (``--sync link``), through the
  ``LinkPython-extern`` package (``import link``): the session's tempo and beat phase, its
  start and stop (start/stop sync), ticks placed by ``timeAtBeat`` on Link's clock, mapped to
  frames by :class:`composer.realtime.jackio.JackTime`.
- :class:`TransportTimeline`: JACK transport (``--sync jack``), as Ardour, Qtractor and other
  Linux DAWs drive it: rolling or stopped, the position in bars, beats and ticks and the tempo
  from the timebase master (without one, the transport frame at ``--tempo``).
- :class:`MidiClockTimeline`: MIDI Beat Clock read by the client's own input port
  (``--clock follow`` on JACK): each clock is a tick at the frame it arrived; start, stop,
  continue and song position act at theirs.

Every timeline runs inside JACK's process callback: no waiting, no allocation beyond a few
small Python objects, one or two calls into Link or JACK per period.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

from composer.realtime.clock import CLOCKS_PER_QUARTER, CLOCKS_PER_STEP, TempoEstimator
from composer.realtime.jackio import ROLLING, JackTime

STOP = -1  # a tick number that means: stopped or jumped here
# A timeline that starts a hair after a tick (the transport's BBT is read at the middle of its
# integer tick, 1/3840 of a beat at 1920 per beat) still starts on it: a hundredth of a tick.
START_SLACK = 0.01

Ticks = list[tuple[int, int]]  # (frame offset in the period, tick number or STOP)


class Timeline(Protocol):
    """What a JACK stream client needs from a sync source."""

    name: str

    def attach(self, client: Any) -> None:
        """Called once with the JACK client before it is activated (register ports here)."""
        ...

    def span(self, frame: int, frames: int) -> Ticks:
        """The ticks in the period of ``frames`` frames starting at (64-bit) ``frame``."""
        ...

    @property
    def tempo(self) -> float | None:
        """Quarter notes per minute now (None while unknown)."""
        ...


def bar_ticks(time_signature: tuple[int, int]) -> int:
    """MIDI-clock ticks in one bar (24 per quarter note)."""
    num, den = time_signature
    return num * CLOCKS_PER_QUARTER * 4 // den


def quantum(time_signature: tuple[int, int]) -> float:
    """A bar in quarter-note beats: Link's quantum for the meter (4 for 4/4, 3 for 3/4)."""
    num, den = time_signature
    return num * 4 / den


class _Walk:
    """Hands out consecutive ticks, each once, given where the period lies in beats.

    ``emit(q0, q1, at)`` yields every tick whose beat (tick / 24) lies before q1 (quarter-note
    beats at the period's end) and that was not handed out yet, with ``at(beat)`` its frame
    offset, clamped into the period (a tick that belonged to an earlier period comes at offset 0:
    counted in ``late``). A timeline that moved more than ``jump`` beats away from the ticks
    handed out (a locate, a new session timeline) is a STOP at offset 0, then the ticks go on
    from there.
    """

    def __init__(self, jump: float = 1.0) -> None:
        self.next: int | None = None
        self.jump = jump
        self.late = 0
        self.rolling = False

    def reset(self) -> None:
        self.next = None

    def transport(self, playing: bool) -> Ticks | None:
        """Follow the source's transport: None while it plays (the ticks start afresh when it
        starts); a STOP at offset 0 when it stops, then nothing while it stays stopped."""
        if not playing:
            if self.rolling:
                self.rolling = False
                self.reset()
                return [(0, STOP)]
            return []
        if not self.rolling:
            self.rolling = True
            self.reset()
        return None

    def emit(self, q0: float, q1: float, frames: int, at: Any) -> Ticks:
        out: Ticks = []
        per = CLOCKS_PER_QUARTER
        if self.next is None:
            self.next = math.ceil(q0 * per - START_SLACK)
        elif not q0 - self.jump <= self.next / per <= q1 + self.jump:
            out.append((0, STOP))
            self.next = math.ceil(q0 * per - START_SLACK)
        tick = self.next
        last = frames - 1
        while tick < q1 * per:
            offset = round(at(tick / per))
            if offset < 0:
                if offset < -1:
                    self.late += 1
                offset = 0
            out.append((min(offset, last), tick))
            tick += 1
        self.next = tick
        return out


class TempoTimeline:
    """A fixed tempo (quarter notes per minute), counted in frames from the first period plus
    ``lead_in`` seconds; ``set_tempo`` (any thread) takes effect from the next tick."""

    name = "internal"

    def __init__(self, tempo: float, lead_in: float = 0.05) -> None:
        if not tempo > 0:
            raise ValueError(f"tempo must be positive quarter notes per minute, not {tempo}")
        self._tempo = float(tempo)
        self._new: float | None = None
        self.lead_in = lead_in
        self.rate = 48000
        self._anchor: tuple[int, float] | None = None  # (tick, its frame)
        self._next = 0

    def attach(self, client: Any) -> None:
        self.rate = client.samplerate

    @property
    def tempo(self) -> float:
        return self._new or self._tempo

    def set_tempo(self, tempo: float) -> None:
        if not tempo > 0:
            raise ValueError(f"tempo must be positive, not {tempo}")
        self._new = float(tempo)

    def _tick_frames(self) -> float:
        return self.rate * 60.0 / (self._tempo * CLOCKS_PER_QUARTER)

    def span(self, frame: int, frames: int) -> Ticks:
        if self._anchor is None:
            self._anchor = (0, frame + self.lead_in * self.rate)
        out: Ticks = []
        end = frame + frames
        while True:
            tick = self._next
            if self._new is not None:  # re-anchor at this tick, at the old tempo's frame
                anchor_tick, anchor_frame = self._anchor
                here = anchor_frame + (tick - anchor_tick) * self._tick_frames()
                self._anchor = (tick, here)
                self._tempo, self._new = self._new, None
            anchor_tick, anchor_frame = self._anchor
            at = round(anchor_frame + (tick - anchor_tick) * self._tick_frames())
            if at >= end:
                return out
            out.append((max(0, at - frame), tick))
            self._next = tick + 1


class LinkTimeline:
    """An Ableton Link session as a timeline (``import link``: the LinkPython-extern package).

    link: a ``link.Link``, enabled (see :func:`join_link`). quantum: a bar in beats (the
    meter's, :func:`quantum`): tick 0 and every bar's ticks fall on the session's bar lines.
    With start/stop sync on (as :func:`join_link` sets it) the timeline rolls while the session
    plays and stops when a peer stops it; ``start()`` asks the session to play if it is not.

    In each period: the period's first frame and the next period's first frame go to Link's
    clock (JACK's own frame -> time mapping plus the offset between the two clocks), the session
    state gives their beats, and every tick between them is placed at ``timeAtBeat``'s time,
    back on the frame grid. The tempo and phase are the session's at every period.
    """

    name = "link"

    def __init__(self, link: Any, quantum: float, tempo: float | None = None) -> None:
        self.link = link
        self.quantum = float(quantum)
        self.claim = TempoClaim(link, tempo)
        self.rate = 48000
        self._time: JackTime | None = None
        self._walk = _Walk()
        self._tempo: float | None = None

    def attach(self, client: Any) -> None:
        self.rate = client.samplerate
        self._time = JackTime(client, self.link.clock().micros)

    @property
    def tempo(self) -> float | None:
        return self._tempo

    @property
    def late(self) -> int:
        return self._walk.late

    def start(self) -> None:
        """Ask the session to play from its next bar line, if it is not playing already."""
        link = self.link
        state = link.captureAppSessionState()
        if not state.isPlaying():
            now = link.clock().micros()
            state.setIsPlaying(True, now)
            link.commitAppSessionState(state)

    def poll(self) -> None:
        """From the owner's thread now and then: keeps a tempo given (:class:`TempoClaim`)."""
        self.claim.poll()

    def leave(self) -> None:
        """Leave the session (after the client has stopped): see :func:`leave_link`."""
        link, self.link = self.link, None
        self.claim.session = None
        leave_link(link)

    def span(self, frame: int, frames: int) -> Ticks:
        if self.link is None:
            return []
        jt = self._time
        offset = jt.offset()
        t0 = jt.usecs(frame) + offset
        t1 = jt.usecs(frame + frames) + offset
        state = self.link.captureSessionState()
        self._tempo = state.tempo()
        stopped = self._walk.transport(state.isPlaying() or not self.link.startStopSyncEnabled)
        if stopped is not None:
            return stopped
        q = self.quantum
        q0 = state.beatAtTime(t0, q)
        q1 = state.beatAtTime(t1, q)
        if t1 <= t0:
            return []
        scale = frames / (t1 - t0)

        def at(beat: float) -> float:
            return (state.timeAtBeat(beat, q) - t0) * scale

        return self._walk.emit(q0, q1, frames, at)


def join_link(
    tempo: float | None,
    *,
    start_stop_sync: bool = True,
    wait: float = 1.0,
) -> Any:
    """Join (or start) an Ableton Link session on the local network; returns the ``link.Link``.

    Waits up to ``wait`` seconds for peers, so that a tempo given here (``--tempo``) is set on
    the session rather than overwritten by it when the peers are found (:class:`TempoClaim`
    sets it again if they come later); without ``tempo`` the session's tempo is followed (120 if
    there are no peers).
    """
    try:
        import link
    except ImportError:
        from composer.errors import ComposerError

        raise ComposerError(
            "--sync link needs the LinkPython-extern package: pip install LinkPython-extern "
            "(or chorale-composer[live])"
        ) from None
    session = link.Link(tempo or 120.0)
    session.startStopSyncEnabled = start_stop_sync
    session.enabled = True
    deadline = time.monotonic() + wait
    while session.numPeers() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if tempo:
        _set_tempo(session, tempo)
    return session


class TempoClaim:
    """Keeps a tempo given on the command line (``--tempo``) on a Link session: two sessions
    merge into the older one (or, founded within half a second, either), so a tempo set before
    the peers were found can be lost; ``poll()``, called now and then from the owner's thread,
    sets it again when peers first appear. (Not a Link callback: Link calls those on its own
    thread, which then needs the GIL while the session is being destroyed.)"""

    def __init__(self, session: Any, tempo: float | None) -> None:
        self.session = session
        self.tempo = tempo
        self._peers = session.numPeers() if session is not None else 0
        self.done = not tempo

    def poll(self) -> None:
        if self.done or self.session is None:
            return
        peers = self.session.numPeers()
        if peers and not self._peers:
            _set_tempo(self.session, self.tempo)
            self.done = True
        self._peers = peers


def leave_link(session: Any) -> None:
    """Leave a Link session and let the ``link.Link`` go now: the caller must hold no other
    reference. (Left to the interpreter's exit, Link's threads can still be running when its
    C++ object is destroyed, and the process aborts instead of exiting.)"""
    if session is not None:
        session.enabled = False


def _set_tempo(session: Any, tempo: float) -> None:
    state = session.captureAppSessionState()
    state.setTempo(float(tempo), session.clock().micros())
    session.commitAppSessionState(state)


class TransportTimeline:
    """JACK transport as a timeline: rolling or stopped, and where, from ``transport_query``.

    With a timebase master (the DAW) the position is its bar, beat and tick and the tempo its
    beats per minute (beats of ``beat_type``: quarter notes for x/4), read every period; its
    integer ticks (``ticks_per_beat``, 1920 in Ardour) are taken at their middle. Without one,
    the transport frame at ``tempo``. A locate (or any jump of more than a beat) is a STOP, then
    the stream waits for the next bar line; so is the transport stopping.
    """

    name = "jack"

    def __init__(self, tempo: float = 120.0) -> None:
        self.fallback_tempo = float(tempo)
        self.rate = 48000
        self.client: Any = None
        self._walk = _Walk()
        self._tempo: float | None = None
        self.master = False  # whether the last period had a timebase master's BBT

    def attach(self, client: Any) -> None:
        self.client = client
        self.rate = client.samplerate

    @property
    def tempo(self) -> float | None:
        return self._tempo

    @property
    def late(self) -> int:
        return self._walk.late

    def span(self, frame: int, frames: int) -> Ticks:
        state, pos = self.client.transport_query_struct()
        stopped = self._walk.transport(state == ROLLING)
        if stopped is not None:
            return stopped
        self.master = bool(pos.valid & 0x10)  # JackPositionBBT
        if self.master and pos.beats_per_minute > 0 and pos.ticks_per_beat > 0:
            per_quarter = 4.0 / pos.beat_type if pos.beat_type > 0 else 1.0
            beats = ((pos.bar - 1) * pos.beats_per_bar + (pos.beat - 1)
                     + (pos.tick + 0.5) / pos.ticks_per_beat)  # fmt: skip
            qpm = pos.beats_per_minute * per_quarter
            fpq = self.rate * 60.0 / qpm  # frames per quarter note
            q0 = beats * per_quarter
            if pos.valid & 0x40:  # JackBBTFrameOffset: the BBT is bbt_offset frames earlier
                q0 += pos.bbt_offset / fpq
        else:
            qpm = self.fallback_tempo
            fpq = self.rate * 60.0 / qpm
            q0 = pos.frame / fpq
        self._tempo = qpm
        q1 = q0 + frames / fpq
        return self._walk.emit(q0, q1, frames, lambda beat: (beat - q0) * fpq)


class MidiClockTimeline:
    """MIDI Beat Clock as a timeline, read by a JACK input port of the stream client's own
    (``clock``; connect the DAW's clock output to it): each clock (0xF8) is the next tick at the
    frame it arrived; start (0xFA) is tick 0 (a bar line) after a STOP; stop (0xFC) is a STOP;
    continue (0xFB) goes on from the song position (0xF2, in 16ths) or where it stopped.

    ``tempo``: estimated from the clocks' frame times (quarter notes per minute).
    """

    name = "midi-clock"

    def __init__(self, port_name: str = "clock") -> None:
        self.port_name = port_name
        self.port: Any = None
        self.rate = 48000
        self.running = False
        self.tick = 0
        self.estimator = TempoEstimator()
        self.clocks = 0

    def attach(self, client: Any) -> None:
        self.rate = client.samplerate
        self.port = client.midi_inports.register(self.port_name)

    @property
    def tempo(self) -> float | None:
        return self.estimator.tempo

    def span(self, frame: int, frames: int) -> Ticks:
        out: Ticks = []
        for offset, buffer in self.port.incoming_midi_events():
            data = bytes(buffer)
            if not data:
                continue
            status = data[0]
            if status == 0xF8:
                self.clocks += 1
                self.estimator.tick((frame + offset) / self.rate)
                if self.running:
                    out.append((offset, self.tick))
                    self.tick += 1
            elif status == 0xFA:
                self.tick = 0
                self.running = True
                out.append((offset, STOP))
            elif status == 0xFC:
                if self.running:
                    out.append((offset, STOP))
                self.running = False
            elif status == 0xFB:
                self.running = True
            elif status == 0xF2 and len(data) >= 3:
                self.tick = (data[1] | (data[2] << 7)) * CLOCKS_PER_STEP
        return out


__all__ = [
    "STOP",
    "LinkTimeline",
    "MidiClockTimeline",
    "TempoClaim",
    "TempoTimeline",
    "Timeline",
    "TransportTimeline",
    "bar_ticks",
    "join_link",
    "leave_link",
    "quantum",
]
