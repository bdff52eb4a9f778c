"""What reading a MIDI file changed to make a Score of it (the ReadReport), shared by every
stage of the reader."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class ReadReport:
    """What ``read_midi_report`` did to a file to make a Score of it.

    notes: notes in the Score. notes_moved: notes whose start or end was moved onto the
    16th-step grid. notes_dropped / notes_shortened: notes left out or cut short to fit the
    voices. voice_sources: where each voice came from ('track 2 "Alto"', 'track 1 channel 3',
    'track 1 part 2 of 4'). ticks_per_quarter: the file's time resolution. found: which of
    key, time signature and tempo the file gives (the rest are defaults). kind: 'midi' or
    'musicxml'.
    """

    path: str
    format: int = 1
    tracks: int = 0
    ticks_per_quarter: float = 0.0
    notes: int = 0
    notes_moved: int = 0
    notes_dropped: int = 0
    notes_shortened: int = 0
    drum_notes: int = 0
    voice_sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # of "key", "time_signature", "tempo"
    kind: str = "midi"  # or "musicxml"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
