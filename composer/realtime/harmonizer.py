"""The live harmonizer's state machine, with no clock and no ports: :class:`HarmonizerCore`.

Both harmonizers are thin shells around it: :class:`composer.realtime.live.PortHarmonizer`
(mido ports, times in seconds on an injected clock) and
:class:`composer.realtime.jack_live.JackHarmonizer` (a JACK client, times in JACK frames). The
core decides which notes start and end on each played note and how many 16th steps the chord
model must have consumed; the shells decide when the model computes (``chord()``) and is held
(``hold()``), and how the notes leave.

Rules: each played note becomes the soprano; alto, tenor and bass (and the soprano itself with
``echo``) sound at once on ``channels[1:]`` (``channels[0]``). The soprano line is monophonic: a
new note ends the chord before it (legato), whose late note-off is then ignored; a chord ends
when its played note ends. Time counts in 16th steps from the first chord, rounded: a chord fills
the step it starts in, and the model is held for the steps each note (and each silence) lasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

NOTE_ON, NOTE_OFF = 0x90, 0x80
HARMONY_CHANNELS = (1, 2, 3)  # alto, tenor, bass
SOPRANO_CHANNEL = 0


class ChordModel(Protocol):
    """``chord(soprano) -> (alto, tenor, bass)`` MIDI pitches (negative: a silent voice), then
    ``hold(steps)`` for the 16th steps the chord lasts (composer.runtime.stream.LiveHarmonizer)."""

    def chord(self, soprano: int) -> Sequence[int]: ...

    def hold(self, steps: int) -> None: ...


class NoteEvent(NamedTuple):
    """One note message: status NOTE_ON or NOTE_OFF, channel 0-15, MIDI pitch, velocity."""

    status: int
    channel: int
    pitch: int
    velocity: int

    def bytes(self) -> bytes:
        return bytes((self.status | self.channel, self.pitch, self.velocity))


class HarmonizerCore:
    """Which chord sounds, and how many 16th steps the model is due, for a played soprano line.

    step_length: one 16th step in the caller's time unit (seconds, JACK frames, ...); every
    ``t`` passed in is in that unit. Counters the shells report: ``chords``.
    """

    def __init__(
        self,
        step_length: float,
        *,
        echo: bool = False,
        channels: Sequence[int] = (SOPRANO_CHANNEL, *HARMONY_CHANNELS),
    ) -> None:
        if step_length <= 0:
            raise ValueError(f"a 16th step must last a positive time, not {step_length}")
        self.step_length = float(step_length)
        self.echo = echo
        self.channels = tuple(channels)
        self.note = -1  # the played note whose chord sounds, or -1
        self.sounding: list[tuple[int, int]] = []  # (channel, pitch) of that chord
        self.chords = 0
        self.target = 0  # 16th steps the model should have consumed by now
        self.model_steps = 0  # 16th steps it has consumed (chords and holds)
        self.origin: float | None = None  # time of the first chord

    def step_at(self, t: float) -> int:
        """The 16th step (from the first chord) that time t falls on, rounded."""
        return int(round((t - (self.origin or 0.0)) / self.step_length))

    @property
    def due(self) -> int:
        """Held steps the model owes (``hold(due)`` then ``held(due)``)."""
        return max(0, self.target - self.model_steps)

    def held(self, steps: int) -> None:
        """The model was held for ``steps`` more steps."""
        self.model_steps += steps

    def press(self, note: int, velocity: int, harmony: Sequence[int], t: float) -> list[NoteEvent]:
        """A note-on of ``note`` at time t answered by ``harmony`` (the model's chord, already
        computed: it counts as one step): the events to send, note-offs of the chord before
        first."""
        events = self.release()
        notes = self.sounding
        for ch, pitch in zip(self.channels[1:], harmony, strict=False):
            pitch = int(pitch)
            if 0 <= pitch <= 127:
                events.append(NoteEvent(NOTE_ON, ch, pitch, velocity))
                notes.append((ch, pitch))
        if self.echo:
            events.append(NoteEvent(NOTE_ON, self.channels[0], note, velocity))
            notes.append((self.channels[0], note))
        self.note = note
        self.chords += 1
        self.model_steps += 1
        if self.origin is None:
            self.origin = t
        self._aim(self.step_at(t) + 1)  # the chord fills the step it starts in
        return events

    def lift(self, note: int, t: float) -> list[NoteEvent]:
        """A note-off of ``note`` at time t: the chord's note-offs, or nothing for a note already
        replaced by a later one (legato)."""
        if note != self.note:
            return []
        events = self.release()
        self._aim(self.step_at(t))
        return events

    def release(self) -> list[NoteEvent]:
        """Note-offs for the sounding chord (stopping, or the next chord); it is then silent."""
        events = [NoteEvent(NOTE_OFF, ch, pitch, 0) for ch, pitch in self.sounding]
        self.sounding = []
        self.note = -1
        return events

    def _aim(self, steps: int) -> None:
        self.target = max(self.target, steps)
