"""Score -> MIDI file, and the conventions the reader reads back.

``write_midi(score, path)`` writes a type 1 file: a conductor track (title, tempo, time and key
signatures, fermata markers, generation settings as a sequencer-specific event) and one named
track per voice on its own channel, TICKS_PER_QUARTER ticks per quarter note. A pickup is
written as leading rests that fill its first bar, so bar lines line up in every DAW and notation
program; reading (composer.midi.io) trims them back into ``Score.pickup``.

The pieces the reader shares with the writer live here too: the fermata marker, the settings
text event, key-signature names and the encoding of meta-event text.
"""

from __future__ import annotations

import os

import mido

from composer.fileio import atomic_path
from composer.score import Key, Score

TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // 4
VELOCITY = 80
FERMATA_MARKER = "fermata"
SETTINGS_PREFIX = "composer:"
SEQUENCER_ID = 0x7D  # MIDI's manufacturer id for non-commercial use

# mido key-signature names, by (sharps, mode).
_MAJOR_KEYS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
               1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}  # fmt: skip
_MINOR_KEYS = {-7: "Abm", -6: "Ebm", -5: "Bbm", -4: "Fm", -3: "Cm", -2: "Gm", -1: "Dm", 0: "Am",
               1: "Em", 2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m", 6: "D#m", 7: "A#m"}  # fmt: skip
_TONIC_PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
             "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11}  # fmt: skip


def key_to_mido(key: Key) -> str:
    """Key -> mido key-signature name ('Dm', 'Bb', ...)."""
    return (_MINOR_KEYS if key.mode == "minor" else _MAJOR_KEYS)[key.sharps]


def key_from_mido(name: str) -> Key:
    """mido key-signature name -> Key, spelled as the signature says (Db: 5 flats, C#: 7 sharps)."""
    minor = name.endswith("m")
    tonic = name[:-1] if minor else name
    return Key(_TONIC_PC[tonic], "minor" if minor else "major", tonic)


def settings_event_data(text: str) -> tuple[int, ...]:
    """The data of Composer's sequencer-specific settings event: the non-commercial
    manufacturer id 0x7D, then 'composer:' and the settings as UTF-8."""
    return (SEQUENCER_ID, *f"{SETTINGS_PREFIX} {text}".strip().encode("utf-8"))


def settings_from_sequencer(data: tuple[int, ...] | list[int]) -> str | None:
    """The settings text of a sequencer-specific event written by Composer, else None."""
    head = (SEQUENCER_ID, *SETTINGS_PREFIX.encode("ascii"))
    if tuple(data[: len(head)]) != head:
        return None
    return bytes(data[len(head) :]).decode("utf-8", errors="replace")


def _to_midi_text(text: str) -> str:
    """Text for a meta event: Latin-1 as before when it fits (mido writes Latin-1), else the
    UTF-8 bytes (as Latin-1 characters, so mido writes them unchanged)."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")


def from_midi_text(text: str) -> str:
    """Meta-event text as mido decoded it (Latin-1) -> UTF-8 when its bytes are UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def score_to_midifile(score: Score) -> mido.MidiFile:
    """Build the type 1 mido.MidiFile that ``write_midi`` saves."""
    score.validate()
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    lead = (score.steps_per_bar - score.pickup) % score.steps_per_bar if score.pickup else 0

    def tick(step: int) -> int:
        return (step + lead) * TICKS_PER_STEP

    conductor: list[tuple[int, mido.MetaMessage]] = [
        (0, mido.MetaMessage("track_name", name=_to_midi_text(score.title or "Composer"))),
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(score.tempo))),
        (
            0,
            mido.MetaMessage(
                "time_signature",
                numerator=score.time_signature[0],
                denominator=score.time_signature[1],
            ),
        ),  # fmt: skip
    ]
    if score.key is not None:
        conductor.append((0, mido.MetaMessage("key_signature", key=key_to_mido(score.key))))
    # The settings as a sequencer-specific event, which notation programs do not print (a
    # text event becomes lyrics or staff text in MuseScore); always written, so a reader knows
    # the file is Composer's and its bars are as written.
    text = " ".join(f"{k}={v}" for k, v in score.meta.items())
    conductor.append((0, mido.MetaMessage("sequencer_specific", data=settings_event_data(text))))
    for f in score.fermatas:
        conductor.append((tick(f), mido.MetaMessage("marker", text=FERMATA_MARKER)))
    end = tick(score.steps)
    mid.tracks.append(_to_track(conductor, end))

    for v in range(score.voices):
        channel = v if v < 9 else v + 1  # skip the drum channel
        events: list[tuple[int, mido.Message | mido.MetaMessage]] = [
            (0, mido.MetaMessage("track_name", name=_to_midi_text(score.voice_names[v]))),
            (0, mido.Message("program_change", channel=channel, program=score.programs[v])),
        ]
        for n in score.notes(v):
            events.append((tick(n.start), mido.Message(
                "note_on", channel=channel, note=n.pitch, velocity=VELOCITY)))  # fmt: skip
            events.append((tick(n.end), mido.Message(
                "note_off", channel=channel, note=n.pitch, velocity=0)))  # fmt: skip
        mid.tracks.append(_to_track(events, end))
    return mid


def _to_track(
    events: list[tuple[int, mido.Message | mido.MetaMessage]], end: int
) -> mido.MidiTrack:
    """Absolute-tick events -> a track with delta times; note-offs sort before note-ons."""
    order = {"note_off": 0}
    events = sorted(events, key=lambda e: (e[0], order.get(e[1].type, 1)))
    track = mido.MidiTrack()
    now = 0
    for t, msg in events:
        msg.time = t - now  # each message is made for its one place here: no copy
        track.append(msg)
        now = t
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track


def write_midi(score: Score, path: str | os.PathLike) -> None:
    """Write ``score`` as a type 1 MIDI file, atomically."""
    mid = score_to_midifile(score)
    with atomic_path(path) as tmp:
        mid.save(filename=str(tmp))
