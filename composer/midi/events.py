"""Checked mido tracks -> the notes and metadata the reader keeps, in ticks.

``collect`` pairs each note-on with its note-off (first on, first off, per channel and pitch)
into parts keyed by (track, channel), skips drum notes (channel 10), caps the note count at
MAX_NOTES, and keeps the first tempo, time and key signature (and every tempo and time signature,
for pickup bars and changes), track names, program changes, 'fermata' markers and Composer's
settings (a sequencer-specific event, or the 'composer:' text of older files).
``ticks_per_quarter`` gives the file's time resolution, converting SMPTE divisions at the first
tempo.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import mido

from composer.midi.read import read_error
from composer.midi.write import (
    FERMATA_MARKER,
    SETTINGS_PREFIX,
    from_midi_text,
    settings_from_sequencer,
)

if TYPE_CHECKING:
    from composer.midi.report import ReadReport

MAX_NOTES = 100_000  # note-ons per file, checked before any note list or grid is built
MAX_NAME = 200  # characters of a track name kept as a voice name
DRUM_CHANNEL = 9  # 0-based; General MIDI channel 10
DEFAULT_TEMPO_US = 500_000  # microseconds per quarter: MIDI's default, 120 bpm
SMPTE_FPS = {24: Fraction(24), 25: Fraction(25), 29: Fraction(2997, 100), 30: Fraction(30)}


@dataclass
class Events:
    """What the reader keeps of a file's messages; times in ticks from the start."""

    parts: dict[tuple[int, int], list[tuple[int, int, int]]]  # (track, channel) -> notes
    track_names: dict[int, str]
    programs: dict[tuple[int, int], int]
    channel_programs: dict[int, int]
    tempo_us: int | None = None
    time_signature: tuple[int, int] | None = None
    key: str | None = None
    fermatas: list[int] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    end: int = 0  # the latest end-of-track tick
    # every time signature and tempo, (tick, value) sorted by tick: pickup bars and changes
    time_signatures: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    tempos: list[tuple[int, int]] = field(default_factory=list)
    composer_file: bool = False  # written by Composer (its settings event): bars as written


def collect(tracks: list[mido.MidiTrack], name: str, report: ReadReport) -> Events:
    """Pair note-ons with note-offs (first on, first off, per channel and pitch) in ticks."""
    ev = Events({}, {}, {}, {})
    firsts: dict[str, tuple[int, int, object]] = {}  # meta kind -> (tick, track, value)
    changes: dict[str, int] = {}
    note_ons = unclosed = zero = 0
    for ti, track in enumerate(tracks):
        tick = 0
        sounding: dict[tuple[int, int], deque[int]] = {}
        setup: list[tuple[int, int]] = []  # this track's (track, channel) with a program change
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    report.drum_notes += 1
                    continue
                note_ons += 1
                if note_ons > MAX_NOTES:
                    raise read_error(
                        name,
                        f"it has more than {MAX_NOTES:,} notes, more than Composer reads",
                        "split the piece or remove tracks you do not need",
                    )
                sounding.setdefault((msg.channel, msg.note), deque()).append(tick)
            elif kind == "note_off" or kind == "note_on":
                queue = sounding.get((msg.channel, msg.note))
                if queue:
                    start = queue.popleft()
                    if tick > start:
                        ev.parts.setdefault((ti, msg.channel), []).append((start, tick, msg.note))
                    else:
                        zero += 1
            elif kind == "program_change":
                ev.programs.setdefault((ti, msg.channel), msg.program)
                if msg.channel != DRUM_CHANNEL:
                    setup.append((ti, msg.channel))
                ev.channel_programs.setdefault(msg.channel, msg.program)
            elif kind == "track_name":
                ev.track_names.setdefault(ti, from_midi_text(msg.name)[:MAX_NAME])
            elif kind == "marker" and msg.text.strip().lower() == FERMATA_MARKER:
                ev.fermatas.append(tick)
            elif kind == "text" and msg.text.startswith(SETTINGS_PREFIX):
                ev.meta.update(_parse_settings(from_midi_text(msg.text)[len(SETTINGS_PREFIX) :]))
                ev.composer_file = True
            elif kind == "sequencer_specific" and settings_from_sequencer(msg.data) is not None:
                ev.meta.update(_parse_settings(settings_from_sequencer(msg.data) or ""))
                ev.composer_file = True
            elif kind in ("set_tempo", "time_signature", "key_signature"):
                value = {
                    "set_tempo": lambda m: m.tempo,
                    "time_signature": lambda m: (m.numerator, m.denominator),
                    "key_signature": lambda m: m.key,
                }[kind](msg)
                first = firsts.get(kind)
                if first is None or (tick, ti) < first[:2]:
                    firsts[kind] = (tick, ti, value)
                if kind == "key_signature" and first is not None and first[2] != value:
                    changes[kind] = changes.get(kind, 0) + 1
                elif kind == "time_signature":
                    ev.time_signatures.append((tick, value))  # type: ignore[arg-type]
                elif kind == "set_tempo":
                    ev.tempos.append((tick, value))  # type: ignore[arg-type]
        for (channel, pitch), queue in sounding.items():
            for start in queue:
                if tick > start:
                    ev.parts.setdefault((ti, channel), []).append((start, tick, pitch))
                    unclosed += 1
                else:
                    zero += 1
        ev.end = max(ev.end, tick)
        silent = not any((ti, c) in ev.parts for c in range(16))
        if silent and setup and ti in ev.track_names and (ti > 0 or len(tracks) == 1):
            ev.parts[setup[0]] = []  # a named instrument track with no notes: a silent voice
    for part in ev.parts.values():
        part.sort()
    if unclosed:
        report.warnings.append(f"{unclosed} notes had no note-off; ended them with their track")
    if zero:
        report.warnings.append(f"ignored {zero} notes of zero length")
    if "set_tempo" in firsts:
        ev.tempo_us = int(firsts["set_tempo"][2])
        if ev.tempo_us == 0:
            raise read_error(name, "its tempo is 0 microseconds per quarter note (infinitely fast)")
    if "time_signature" in firsts:
        ev.time_signature = firsts["time_signature"][2]  # type: ignore[assignment]
    if "key_signature" in firsts:
        ev.key = str(firsts["key_signature"][2])
    if changes.get("key_signature"):
        report.warnings.append("the key signature changes; kept the first one")
    # tempo and meter changes are reported by composer.midi.io, which knows the bars
    ev.time_signatures.sort(key=lambda e: e[0])
    ev.tempos.sort(key=lambda e: e[0])
    return ev


def _parse_settings(text: str) -> dict[str, str]:
    """'k=v k2=two words' -> {'k': 'v', 'k2': 'two words'} (the 'composer:' text event)."""
    out: dict[str, str] = {}
    last = None
    for word in text.split():
        k, eq, v = word.partition("=")
        if eq and k:
            out[k] = v
            last = k
        elif last is not None:
            out[last] += " " + word
    return out


def ticks_per_quarter(
    division: int, tempo_us: int | None, name: str, warnings: list[str]
) -> Fraction:
    """Ticks per quarter note; SMPTE divisions (frames per second) are converted at the
    file's first tempo (120 bpm when it has none)."""
    if not division & 0x8000:
        return Fraction(division)
    fps, per_frame = 256 - (division >> 8), division & 0xFF
    if fps not in SMPTE_FPS or per_frame == 0:
        raise read_error(name, f"its SMPTE time division is damaged ({fps} fps, {per_frame} ticks)")
    us = tempo_us or DEFAULT_TEMPO_US
    warnings.append(
        f"SMPTE timing ({fps} fps x {per_frame}) converted to beats at {60e6 / us:.2f} bpm"
    )
    return SMPTE_FPS[fps] * per_frame * us / 1_000_000
