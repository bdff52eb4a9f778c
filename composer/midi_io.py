"""MIDI files <-> Score.

``write_midi(score, path)`` writes a type 1 file: a conductor track (title, tempo, time and key
signatures, fermata markers, generation settings as a text event) and one named track per voice
on its own channel. A pickup is written as leading rests that fill its first bar, so bar lines
line up in every DAW and notation program; reading trims them back into ``Score.pickup``.

``read_midi(path) -> Score`` reads type 0 and 1 files: voices from tracks, channels, or one
part split by pitch order; positions quantized in ticks to 16th steps; leading silence trimmed
into a pickup. ``read_midi_report`` also returns a ReadReport (notes moved by quantization,
notes dropped, warnings); ``read_midi_data`` reads bytes. Every file that cannot be read, for
whatever reason, raises MidiFileError naming the file, the problem and what to do; sizes are
capped (MAX_FILE_BYTES, MAX_TRACKS, MAX_NOTES, MAX_STEPS) before anything big is built.

Reading, in order: bytes -> chunks (our own structural checks) -> events of each track (mido)
-> notes paired in ticks -> quantized parts -> voices -> Score.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import itertools
import os
import stat
import struct
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

import mido
import numpy as np
from mido.midifiles.meta import KeySignatureError

from composer.errors import MidiFileError
from composer.fileio import atomic_path
from composer.score import CHOIR_AAHS, HOLD, REST, Key, Score, default_voice_names

TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // 4
VELOCITY = 80
FERMATA_MARKER = "fermata"
SETTINGS_PREFIX = "composer:"

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
    """mido key-signature name -> Key."""
    minor = name.endswith("m")
    return Key(_TONIC_PC[name[:-1] if minor else name], "minor" if minor else "major")


def _to_midi_text(text: str) -> str:
    """Text for a meta event: Latin-1 as before when it fits (mido writes Latin-1), else the
    UTF-8 bytes (as Latin-1 characters, so mido writes them unchanged)."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")


def _from_midi_text(text: str) -> str:
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
    if score.meta:
        text = " ".join(f"{k}={v}" for k, v in score.meta.items())
        conductor.append(
            (0, mido.MetaMessage("text", text=_to_midi_text(f"{SETTINGS_PREFIX} {text}")))
        )
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
        track.append(msg.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track


def write_midi(score: Score, path: str | os.PathLike) -> None:
    """Write ``score`` as a type 1 MIDI file, atomically."""
    mid = score_to_midifile(score)
    with atomic_path(path) as tmp:
        mid.save(filename=str(tmp))


# =============================================================================================
# Reading
# =============================================================================================

MAX_FILE_BYTES = 2 * 1024 * 1024  # mido builds ~80 bytes of objects per byte of track data
MAX_NOTES = 100_000  # note-ons per file, checked before any note list or grid is built
MAX_STEPS = 20_000  # 16th steps from the first note to the end (about 55 minutes at 90 bpm)
MAX_VOICES = 4
MAX_TRACKS = 1024
MAX_NAME = 200  # characters of a track name kept as a voice name
MAX_TRAILING_BARS = 4  # end-of-track silence kept after the last note, in bars
MAX_DELTA = 0x0FFFFFFF  # the largest delta time a 4-byte variable-length number can hold
DRUM_CHANNEL = 9  # 0-based; General MIDI channel 10
DEFAULT_TEMPO_US = 500_000  # microseconds per quarter: MIDI's default, 120 bpm
SMPTE_FPS = {24: Fraction(24), 25: Fraction(25), 29: Fraction(2997, 100), 30: Fraction(30)}

_FIX_EXPORT = "export it again as a standard MIDI file (.mid) from the program that made it"
_FIX_DAMAGED = f"the file is damaged; {_FIX_EXPORT}"


@dataclass
class ReadReport:
    """What ``read_midi_report`` did to a file to make a Score of it.

    notes: notes in the Score. notes_moved: notes whose start or end was moved onto the
    16th-step grid. notes_dropped / notes_shortened: notes left out or cut short to fit the
    voices. voice_sources: where each voice came from ('track 2 "Alto"', 'track 1 channel 3',
    'track 1 part 2 of 4'). ticks_per_quarter: the file's time resolution.
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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_midi(path: str | os.PathLike, max_voices: int = MAX_VOICES) -> Score:
    """Read a type 0 or type 1 MIDI file into a Score (see ``read_midi_report``)."""
    return read_midi_report(path, max_voices)[0]


def read_midi_report(
    path: str | os.PathLike, max_voices: int = MAX_VOICES
) -> tuple[Score, ReadReport]:
    """Read a type 0 or type 1 MIDI file into a Score, and say what was changed on the way.

    Voices: each track (or each channel of a track) with notes is a part, in file order. A
    part that plays chords is split into voices by pitch order (top note -> first voice), as
    long as the parts need no more than ``max_voices`` voices in all; with more parts than
    that, the ``max_voices`` parts with most notes are kept (a warning says which). Drum
    notes (channel 10) are ignored.
    Time: positions are quantized in ticks to the nearest 16th step (ticks * 4 /
    ticks_per_quarter; halves round up); a note never becomes shorter than one step. Leading
    silence is trimmed: whole bars of it disappear and a partial bar becomes ``pickup``.
    The end of the track is the end of the piece, if it comes at most MAX_TRAILING_BARS bars
    after the last note.
    Metadata: the first tempo (bpm rounded to 2 decimals), time signature and key signature;
    'fermata' markers; track names as voice names; program changes; the 'composer:' text
    event as ``Score.meta``.

    Raises MidiFileError (naming the file, the problem and what to do) for every file that
    cannot be read: missing, not MIDI, damaged, too big or too long, or with no usable notes.
    """
    name = str(path)
    return read_midi_data(_read_bytes(path, name), name, max_voices)


def read_midi_data(
    data: bytes, name: str = "<MIDI data>", max_voices: int = MAX_VOICES
) -> tuple[Score, ReadReport]:
    """``read_midi_report`` for a file's bytes (e.g. dropped or received); ``name`` is used in
    messages. Data longer than MAX_FILE_BYTES is refused."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(name, len(data))
    if not data:
        raise _error(name, "the file is empty", _FIX_EXPORT)
    report = ReadReport(path=name)
    data = _smf_bytes(data, name)
    fmt, division, chunks = _split_chunks(data, name, report.warnings)
    tracks = [_parse_track(chunk, division, i, name) for i, chunk in enumerate(chunks)]
    report.format, report.tracks = fmt, len(tracks)
    events = _collect(tracks, name, report)
    tpq = _ticks_per_quarter(division, events.tempo_us, name, report.warnings)
    report.ticks_per_quarter = float(tpq)
    score = _build_score(events, tpq, max_voices, name, report)
    return score, report


def _error(path: str, problem: str, fix: str = _FIX_DAMAGED) -> MidiFileError:
    return MidiFileError(f"cannot read {path}: {problem}; {fix}")


def _too_big(name: str, size: int) -> MidiFileError:
    return _error(
        name,
        f"it is {size / 1e6:.1f} MB; Composer reads MIDI files up to "
        f"{MAX_FILE_BYTES / 1e6:.1f} MB (a chorale is about 10 kB)",
        "remove tracks you do not need or split the piece",
    )


# --- bytes and chunks --------------------------------------------------------------------------


def _read_bytes(path: str | os.PathLike, name: str) -> bytes:
    """The file's bytes, refusing what is not a regular file of at most MAX_FILE_BYTES."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _error(name, "no such file", "check the path") from None
    except OSError as e:
        raise _error(name, e.strerror or str(e), "check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise _error(name, "it is a folder, not a file", "give the path of a .mid file")
    if not stat.S_ISREG(st.st_mode):
        raise _error(name, "it is not a regular file", "give the path of a .mid file")
    if st.st_size > MAX_FILE_BYTES:
        raise _too_big(name, st.st_size)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise _error(name, e.strerror or str(e), "check the file's permissions") from None
    return data


_SIGNATURES = (
    (b"RIFF", "a RIFF file"),
    (b"ID3", "an MP3 audio file"),
    (b"\xff\xfb", "an MP3 audio file"),
    (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (a compressed MusicXML .mxl file?)"),
    (b"<?xml", "an XML file (MusicXML?)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


def _smf_bytes(data: bytes, name: str) -> bytes:
    """The standard MIDI file inside ``data`` (unwrapping RIFF RMID), or a clear refusal."""
    if data[:4] == b"MThd":
        return data
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        pos = 12
        while pos + 8 <= len(data):
            size = int.from_bytes(data[pos + 4 : pos + 8], "little")
            if data[pos : pos + 4] == b"data":
                inner = data[pos + 8 : pos + 8 + size]
                if inner[:4] != b"MThd":
                    raise _error(name, "it is an RMID file whose data is not a MIDI file")
                return inner
            pos += 8 + size + (size & 1)
        raise _error(name, "it is an RMID file with no MIDI data inside")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        what = "a WAV audio file"
    elif data[:4].lower() == b"mthd":
        what = f"its header says {data[:4]!r} instead of b'MThd'"
    else:
        what = next((w for sig, w in _SIGNATURES if data.startswith(sig)), "")
        if not what:
            try:  # an incremental decoder accepts a character cut at the end of the sample
                text = codecs.getincrementaldecoder("utf-8")().decode(data[:512])
            except UnicodeDecodeError:
                text = ""
            if text and all(c.isprintable() or c in "\r\n\t" for c in text):
                what = "a text file"
            else:
                what = f"it starts with {data[:4]!r}, not with the MIDI header b'MThd'"
    if what.startswith(("a ", "an ")):
        what = f"it is {what}, not a MIDI file"
    raise _error(name, what, "give a standard MIDI file (.mid)")


def _split_chunks(data: bytes, name: str, warnings: list[str]) -> tuple[int, int, list[bytes]]:
    """Check the header and chunk structure; return (format, division, track chunk bodies)."""
    if len(data) < 14:
        raise _error(name, f"the header is cut short ({len(data)} bytes of 14)")
    hlen = int.from_bytes(data[4:8], "big")
    if hlen < 6:
        raise _error(name, f"the header is {hlen} bytes long, shorter than the 6 it needs")
    if 8 + hlen > len(data):
        raise _error(name, f"the header says it is {hlen} bytes long but the file ends first")
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt == 2:
        raise _error(
            name,
            "it is a format 2 file (independent sequences), which Composer does not read",
            "export it as a format 0 or 1 MIDI file",
        )
    if fmt > 2:
        raise _error(name, f"the header gives an unknown format {fmt} (MIDI has 0, 1 and 2)")
    if division == 0:
        raise _error(name, "its time division is 0 ticks per quarter note")
    if ntracks > MAX_TRACKS:
        raise _error(
            name,
            f"its header announces {ntracks} tracks; Composer reads files with up to "
            f"{MAX_TRACKS} tracks",
            "remove tracks you do not need",
        )
    if ntracks == 0:
        raise _error(name, "its header says it has no tracks", _FIX_EXPORT)
    chunks: list[bytes] = []
    pos = 8 + hlen
    while len(chunks) < ntracks:
        left = len(data) - pos
        if left < 8:
            raise _error(
                name,
                f"the header announces {ntracks} tracks but the file ends after {len(chunks)}"
                + (f" (and {left} stray bytes)" if left > 0 else ""),
            )
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if kind == b"MTrk":
            if size > left - 8:
                raise _error(
                    name,
                    f"track {len(chunks) + 1} says it is {size} bytes long but only "
                    f"{left - 8} bytes are left: the file is cut short",
                )
            chunks.append(data[pos + 8 : pos + 8 + size])
        elif not all(0x20 <= b < 0x7F for b in kind):
            raise _error(
                name,
                f"expected track {len(chunks) + 1} at byte {pos} but found {kind!r}",
            )
        elif size > left - 8:
            raise _error(name, f"a {kind.decode()!r} chunk runs past the end of the file")
        pos += 8 + size
    if len(data) > pos:
        warnings.append(f"ignored {len(data) - pos} bytes after the last track")
    if fmt == 0 and ntracks > 1:
        warnings.append(f"a format 0 file should have 1 track; read all {ntracks}")
    return fmt, division, chunks


def _parse_track(body: bytes, division: int, index: int, name: str) -> mido.MidiTrack:
    """One track chunk -> mido messages; every decoding failure becomes a MidiFileError."""
    header = b"MThd" + struct.pack(">LHHH", 6, 0, 1, division)
    smf = header + b"MTrk" + struct.pack(">L", len(body)) + body
    where = f"track {index + 1}"
    try:
        track = mido.MidiFile(file=io.BytesIO(smf), clip=False).tracks[0]
    except EOFError:
        raise _error(name, f"{where} is damaged: an event runs past the end of the track") from None
    except KeySignatureError:
        raise _error(name, f"{where} has a damaged key signature") from None
    except (IndexError, KeyError):
        raise _error(name, f"{where} has a meta event that is too short or damaged") from None
    except Exception as e:  # noqa: BLE001 - mido raises OSError/ValueError/...; all mean damage
        detail = str(e).split("\n")[0][:120] or type(e).__name__
        if "running status" in detail:
            detail = "data bytes with no status byte before them"
        raise _error(name, f"{where} is damaged ({detail})") from None
    for msg in track:
        if msg.time > MAX_DELTA:
            raise _error(name, f"{where} has a damaged time value (a delta of {msg.time} ticks)")
    return track


# --- events ------------------------------------------------------------------------------------


@dataclass
class _Events:
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


def _collect(tracks: list[mido.MidiTrack], name: str, report: ReadReport) -> _Events:
    """Pair note-ons with note-offs (first on, first off, per channel and pitch) in ticks."""
    ev = _Events({}, {}, {}, {})
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
                    raise _error(
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
                ev.track_names.setdefault(ti, _from_midi_text(msg.name)[:MAX_NAME])
            elif kind == "marker" and msg.text.strip().lower() == FERMATA_MARKER:
                ev.fermatas.append(tick)
            elif kind == "text" and msg.text.startswith(SETTINGS_PREFIX):
                ev.meta.update(_parse_settings(_from_midi_text(msg.text)[len(SETTINGS_PREFIX) :]))
            elif kind in ("set_tempo", "time_signature", "key_signature"):
                value = {
                    "set_tempo": lambda m: m.tempo,
                    "time_signature": lambda m: (m.numerator, m.denominator),
                    "key_signature": lambda m: m.key,
                }[kind](msg)
                first = firsts.get(kind)
                if first is None or (tick, ti) < first[:2]:
                    firsts[kind] = (tick, ti, value)
                if first is not None and first[2] != value:
                    changes[kind] = changes.get(kind, 0) + 1
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
            raise _error(name, "its tempo is 0 microseconds per quarter note (infinitely fast)")
    if "time_signature" in firsts:
        ev.time_signature = firsts["time_signature"][2]  # type: ignore[assignment]
    if "key_signature" in firsts:
        ev.key = str(firsts["key_signature"][2])
    for kind, what in (("set_tempo", "tempo"), ("time_signature", "time signature"),
                       ("key_signature", "key signature")):  # fmt: skip
        if changes.get(kind):
            report.warnings.append(f"the {what} changes; kept the first one")
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


def _ticks_per_quarter(
    division: int, tempo_us: int | None, name: str, warnings: list[str]
) -> Fraction:
    """Ticks per quarter note; SMPTE divisions (frames per second) are converted at the
    file's first tempo (120 bpm when it has none)."""
    if not division & 0x8000:
        return Fraction(division)
    fps, per_frame = 256 - (division >> 8), division & 0xFF
    if fps not in SMPTE_FPS or per_frame == 0:
        raise _error(name, f"its SMPTE time division is damaged ({fps} fps, {per_frame} ticks)")
    us = tempo_us or DEFAULT_TEMPO_US
    warnings.append(
        f"SMPTE timing ({fps} fps x {per_frame}) converted to beats at {60e6 / us:.2f} bpm"
    )
    return SMPTE_FPS[fps] * per_frame * us / 1_000_000


# --- from notes to a Score ---------------------------------------------------------------------


@dataclass
class _QNote:
    """A note on the grid: start and end in 16th steps, MIDI pitch; short = under a step."""

    start: int
    end: int
    pitch: int
    short: bool = False


def _build_score(
    ev: _Events, tpq: Fraction, max_voices: int, name: str, report: ReadReport
) -> Score:
    """Quantize, pick parts, split them into voices, trim leading silence, fill the grid."""
    if not any(ev.parts.values()):
        if report.drum_notes:
            raise _error(
                name,
                f"it has only drum notes (channel 10, {report.drum_notes} notes) and no "
                "pitched notes",
                "give a file with a melody or a chorale in it",
            )
        raise _error(name, "it has no notes", "give a file with a melody or a chorale in it")
    p, q = tpq.numerator, tpq.denominator

    def step(tick: int) -> int:  # nearest 16th step, halves up: round(tick * 4 / tpq)
        return (8 * tick * q + p) // (2 * p)

    def on_grid(tick: int) -> bool:
        return (4 * tick * q) % p == 0

    keys = sorted(ev.parts)
    if len(keys) > max_voices:
        kept = sorted(sorted(keys, key=lambda k: -len(ev.parts[k]))[:max_voices])
        dropped = [k for k in keys if k not in kept]
        report.warnings.append(
            f"the file has {len(keys)} parts but Composer reads {max_voices} voices: kept the "
            f"{max_voices} with most notes ({', '.join(_part_label(k, ev) for k in kept)}), "
            f"dropped {', '.join(_part_label(k, ev) for k in dropped[:8])}"
            + (f" and {len(dropped) - 8} more" if len(dropped) > 8 else "")
        )
        report.notes_dropped += sum(len(ev.parts[k]) for k in dropped)
        keys = kept

    parts: list[list[_QNote]] = []
    for k in keys:
        notes = []
        for start, end, pitch in ev.parts[k]:
            s, e = step(start), step(end)
            if not (on_grid(start) and on_grid(end)):
                report.notes_moved += 1
            notes.append(_QNote(s, max(e, s + 1), pitch, short=e <= s))
        parts.append(notes)

    first = min(part[0].start for part in parts if part)
    last = max(n.end for part in parts for n in part)
    if last - first > MAX_STEPS:
        raise _error(
            name,
            f"it lasts {last - first:,} 16th steps from its first note to its last; Composer "
            f"reads pieces up to {MAX_STEPS:,} steps ({MAX_STEPS // 16:,} bars of 4/4)",
            "check for a stray note far after the music, or split the piece",
        )

    num, den = _time_signature(ev.time_signature, name, report.warnings)
    per_bar = num * 16 // den
    end = step(ev.end)
    if end <= last or end - last > MAX_TRAILING_BARS * per_bar:
        end = last

    alloc = _allocate([_polyphony(part) for part in parts], max_voices)
    voices: list[list[_QNote]] = []
    names: list[str | None] = []
    programs: list[int] = []
    for k, part, n in zip(keys, parts, alloc, strict=True):
        split = _split_part(part, n, report)
        voices.extend(split)
        label = _part_label(k, ev)
        report.voice_sources.extend(
            [label] if n == 1 else [f"{label} part {i + 1} of {n}" for i in range(n)]
        )
        ti, channel = k
        alone = sum(1 for kk in keys if kk[0] == ti) == 1
        names.extend([ev.track_names.get(ti) if alone and n == 1 else None] * n)
        program = ev.programs.get(k, ev.channel_programs.get(channel, CHOIR_AAHS))
        programs.extend([program] * n)

    steps = end - first
    grid = np.full((steps, len(voices)), REST, dtype=np.int16)
    for v, notes in enumerate(voices):
        for n in notes:
            grid[n.start - first, v] = n.pitch
            grid[n.start - first + 1 : n.end - first, v] = HOLD
    report.notes = sum(len(vn) for vn in voices)

    default_names = default_voice_names(len(voices))
    if any(n > 1 for n in alloc):
        names = [None] * len(voices)
    voice_names = tuple(
        nm if nm is not None else d for nm, d in zip(names, default_names, strict=True)
    )
    fermatas = sorted({step(t) - first for t in ev.fermatas} & set(range(steps)))
    conductor = report.tracks == 1 or all(k[0] != 0 for k in ev.parts)
    title = ev.track_names.get(0, "") if conductor else ""
    score = Score(
        grid,
        tempo=round(60_000_000 / (ev.tempo_us or DEFAULT_TEMPO_US), 2),
        time_signature=(num, den),
        key=key_from_mido(ev.key) if ev.key else None,
        pickup=(per_bar - first % per_bar) % per_bar,
        fermatas=tuple(fermatas),
        voice_names=voice_names,
        programs=tuple(programs),
        title=title,
        meta=ev.meta,
    )
    return score.validate()


def _time_signature(ts: tuple[int, int] | None, name: str, warnings: list[str]) -> tuple[int, int]:
    """The file's first time signature, or 4/4; refuses a damaged one."""
    if ts is None:
        return (4, 4)
    num, den = ts
    if num == 0 or den > 64:
        raise _error(name, f"its time signature {num}/{den} is damaged")
    if (num * 16) % den:
        warnings.append(f"time signature {num}/{den} does not fit the 16th grid; read as 4/4")
        return (4, 4)
    return (num, den)


def _part_label(key: tuple[int, int], ev: _Events) -> str:
    ti, channel = key
    label = f"track {ti + 1}"
    if ev.track_names.get(ti):
        label += f' "{ev.track_names[ti]}"'
    if any((ti, c) in ev.parts for c in range(16) if c != channel):
        label += f" channel {channel + 1}"
    return label


def _polyphony(notes: list[_QNote]) -> int:
    """The most notes sounding at once. A note ending at a step does not overlap one starting
    there, and an overlap of one step is legato, not a second voice: notes longer than a step
    count as a step shorter."""
    ends = [n.end - 1 if n.end - n.start > 1 else n.end for n in notes]
    marks = sorted([(n.start, 1) for n in notes] + [(e, -1) for e in ends])
    most = now = 0
    for _, d in marks:
        now += d
        most = max(most, now)
    return most


def _allocate(polyphony: list[int], budget: int) -> list[int]:
    """Voices per part: one each, then more to the parts that play chords, within budget."""
    alloc = [1] * len(polyphony)
    while sum(alloc) < budget:
        need = [p - a for p, a in zip(polyphony, alloc, strict=True)]
        best = max(range(len(need)), key=lambda i: need[i])
        if need[best] <= 0:
            break
        alloc[best] += 1
    return alloc


_CROSSING_PENALTY = 24  # semitones of cost for a new note that crosses a held note


def _split_part(notes: list[_QNote], n: int, report: ReadReport) -> list[list[_QNote]]:
    """Split one part's notes (sorted by start) into ``n`` voices, high to low.

    Notes are taken in onset order. Notes starting together go to free voices in pitch order
    (top -> highest free voice), choosing the free voices that keep each voice's line closest
    to its last pitch without crossing notes still held. Two voices that started the same
    pitch together (a unison, which MIDI cannot tell apart) may swap those notes when that
    suits the next chord better. When a chord needs more voices than are free, held notes
    are cut short (oldest first); a chord with more notes than voices loses notes shorter
    than a step first, then inner notes.
    """
    if n == 1 and all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False)):
        return [notes]  # a plain line
    pitches = sorted((x.pitch for x in notes), reverse=True)
    last = [pitches[min(len(pitches) - 1, (2 * i + 1) * len(pitches) // (2 * n))]
            for i in range(n)]  # fmt: skip  # each voice's last pitch, at first its typical one
    voices: list[list[_QNote]] = [[] for _ in range(n)]
    i = 0
    while i < len(notes):
        t, j = notes[i].start, i
        while j < len(notes) and notes[j].start == t:
            j += 1
        chord = sorted(notes[i:j], key=lambda x: -x.pitch)
        i = j
        sounding = [bool(vn) and vn[-1].end > t for vn in voices]
        excess = len(chord) - sounding.count(False)
        held = sorted((v for v in range(n) if sounding[v]), key=lambda v: voices[v][-1].start)
        for v in held[: max(0, excess)]:
            voices[v][-1] = dataclasses.replace(voices[v][-1], end=t)
            sounding[v] = False
            report.notes_shortened += 1
        if len(chord) > n:  # keep notes of a step or more, then the outer ones
            longs = [x for x in chord if not x.short]
            if len(longs) >= n:
                kept = longs[: n - n // 2] + longs[len(longs) - n // 2 :]
            else:
                kept = longs + [x for x in chord if x.short][: n - len(longs)]
                kept.sort(key=lambda x: -x.pitch)
            report.notes_dropped += len(chord) - len(kept)
            chord = kept
        unisons = [
            (a, b)
            for a, b in itertools.combinations(range(n), 2)
            if voices[a] and voices[b] and sounding[a] != sounding[b]
            and (voices[a][-1].start, voices[a][-1].pitch)
            == (voices[b][-1].start, voices[b][-1].pitch)
        ][:3]  # fmt: skip
        best: tuple[int, tuple[int, ...], tuple[tuple[int, int], ...]] | None = None
        for k in range(len(unisons) + 1):
            for swaps in itertools.combinations(unisons, k):
                state = list(sounding)
                for a, b in swaps:
                    state[a], state[b] = state[b], state[a]
                cost, combo = _best_voices(chord, state, voices, last)
                if best is None or cost < best[0]:
                    best = (cost, combo, swaps)
        assert best is not None
        for a, b in best[2]:
            voices[a][-1], voices[b][-1] = voices[b][-1], voices[a][-1]
        for x, v in zip(chord, best[1], strict=True):
            voices[v].append(x)
            last[v] = x.pitch
    return voices


def _best_voices(
    chord: list[_QNote], sounding: list[bool], voices: list[list[_QNote]], last: list[int]
) -> tuple[int, tuple[int, ...]]:
    """The free voices for a chord (pitches high to low), in voice order, and their cost:
    semitones from each voice's last pitch, plus a penalty for crossing a held note."""
    free = [v for v, s in enumerate(sounding) if not s]
    held = [(v, voices[v][-1].pitch) for v, s in enumerate(sounding) if s]
    best: tuple[int, tuple[int, ...]] | None = None
    for combo in itertools.combinations(free, len(chord)):
        cost = 0
        for x, v in zip(chord, combo, strict=True):
            cost += abs(x.pitch - last[v])
            for h, hp in held:
                if (h < v and x.pitch > hp) or (h > v and x.pitch < hp):
                    cost += _CROSSING_PENALTY
        if best is None or cost < best[0]:
            best = (cost, combo)
    assert best is not None
    return best
