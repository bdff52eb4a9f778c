"""MIDI test fixtures built in code from literal bytes and messages.

``smf(tracks)`` assembles a standard MIDI file from raw track bodies; ``track(...)`` encodes
(delta, bytes) events into a track body; ``BAD_FILES`` lists broken files, each with the
fragment its MidiFileError message must contain. ``seed_files()`` gives real files written
by ``write_midi`` and by music21 for the fuzz tests.
"""

from __future__ import annotations

import functools
import random
import struct
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import mido
import numpy as np

from composer.midi.io import score_to_midifile
from composer.score import HOLD, REST, Key, Note, Score


def vlq(value: int) -> bytes:
    """A MIDI variable-length number."""
    return bytes(mido.midifiles.meta.encode_variable_int(value))


def track(*events: tuple[int, bytes], end: bool = True) -> bytes:
    """(delta ticks, event bytes) pairs -> a track body, with an end-of-track by default."""
    body = b"".join(vlq(d) + e for d, e in events)
    return body + (b"\x00\xff\x2f\x00" if end else b"")


def chunk(body: bytes, kind: bytes = b"MTrk", size: int | None = None) -> bytes:
    return kind + struct.pack(">L", len(body) if size is None else size) + body


def header(fmt: int = 1, ntracks: int = 1, division: int = 480, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">LHHH", length, fmt, ntracks, division)


def smf(tracks: list[bytes], fmt: int | None = None, division: int = 480) -> bytes:
    """Track bodies -> a whole file (format 0 for one track, 1 otherwise)."""
    fmt = (0 if len(tracks) == 1 else 1) if fmt is None else fmt
    return header(fmt, len(tracks), division) + b"".join(chunk(t) for t in tracks)


def on(pitch: int, channel: int = 0, velocity: int = 80) -> bytes:
    return bytes([0x90 | channel, pitch, velocity])


def off(pitch: int, channel: int = 0) -> bytes:
    return bytes([0x80 | channel, pitch, 0])


def meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + vlq(len(data)) + data


def melody(pitches: list[int], ticks: int = 480, channel: int = 0) -> bytes:
    """A track body: one note per pitch, each ``ticks`` long."""
    events: list[tuple[int, bytes]] = []
    for p in pitches:
        events += [(0, on(p, channel)), (ticks, off(p, channel))]
    return track(*events)


def running_status_notes(count: int, pitch: int = 60) -> bytes:
    """A track body of ``count`` 16th notes in running status (3 bytes per event)."""
    body = bytearray(b"\x00\x90" + bytes([pitch, 80]))
    body += (b"\x78" + bytes([pitch, 0]) + b"\x00" + bytes([pitch, 80])) * (count - 1)
    body += b"\x78" + bytes([pitch, 0])
    return bytes(body) + b"\x00\xff\x2f\x00"


def with_meta(kind: int, data: bytes) -> bytes:
    """A two-track file: a conductor track with one meta event, and TUNE."""
    return smf([track((0, meta(kind, data))), TUNE])


CONDUCTOR = track((0, meta(0x51, (500000).to_bytes(3, "big"))))
TUNE = melody([60, 62, 64, 65])


def _write(data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "bad.mid"
        path.write_bytes(data)
        return path

    return make


def _missing(tmp: Path) -> Path:
    return tmp / "nope.mid"


def _folder(tmp: Path) -> Path:
    (tmp / "folder.mid").mkdir()
    return tmp / "folder.mid"


def _fifo(tmp: Path) -> Path:
    import os

    os.mkfifo(tmp / "pipe.mid")
    return tmp / "pipe.mid"


_WAV_FMT = struct.pack("<LHHLLHH", 16, 1, 1, 44100, 88200, 2, 16)
_WAV = b"RIFF" + struct.pack("<L", 36) + b"WAVEfmt " + _WAV_FMT + b"data\0\0\0\0"
_HOURS = track((0, on(60)), (480, off(60)), (0x0FFFFFFF, on(62)), (480, off(62)))

# (id, how to make the file in a temp folder, fragment of the error message)
BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing", _missing, "no such file"),
    ("folder", _folder, "folder"),
    ("fifo", _fifo, "not a regular file"),
    ("empty", _write(b""), "empty"),
    ("text", _write(b"Here are my notes: C D E F G\n" * 3), "text file"),
    ("wav", _write(_WAV), "WAV"),
    ("mp3", _write(b"ID3\x04\x00" + bytes(100)), "MP3"),
    ("zip", _write(b"PK\x03\x04" + bytes(100)), "zip"),
    ("xml", _write(b'<?xml version="1.0"?><score-partwise/>'), "XML"),
    ("wrong magic", _write(b"MTrk" + smf([TUNE])[4:]), "MThd"),
    ("magic case", _write(b"Mthd" + smf([TUNE])[4:]), "MThd"),
    ("binary garbage", _write(bytes(range(256)) * 4), "not with the MIDI header"),
    ("truncated header", _write(header()[:10]), "header is cut short"),
    ("header length 2", _write(header(length=2) + chunk(TUNE)), "shorter than the 6"),
    ("header length huge", _write(header(length=5000) + chunk(TUNE)), "header says"),
    ("truncated track", _write(smf([TUNE])[:30]), "cut short"),
    ("track length past end", _write(header() + chunk(TUNE, size=0xFFFFFFFF)), "cut short"),
    ("missing tracks", _write(header(1, 3) + chunk(TUNE)), "announces 3 tracks"),
    ("stray bytes for a track", _write(header(1, 2) + chunk(TUNE) + b"\x00\x01"), "stray"),
    ("garbage chunk", _write(header(1, 2) + chunk(TUNE) + b"\x00\x90\x3c\x40" * 4), "expected"),
    ("alien chunk past end", _write(header(1, 2) + chunk(TUNE) + chunk(b"x", b"XFIH", 99)), "past"),
    ("no tracks", _write(header(1, 0)), "no tracks"),
    ("5000 tracks", _write(smf([TUNE] * 5000)), "5000 tracks"),
    ("division 0", _write(smf([TUNE], division=0)), "division is 0"),
    ("bad smpte", _write(smf([TUNE], division=(256 - 13) << 8 | 40)), "SMPTE"),
    ("smpte 0 ticks", _write(smf([TUNE], division=(256 - 25) << 8)), "SMPTE"),
    ("format 2", _write(smf([TUNE, TUNE], fmt=2)), "format 2"),
    ("format 7", _write(smf([TUNE], fmt=7)), "unknown format 7"),
    ("endless vlq", _write(smf([b"\xff" * 40])), "runs past the end"),
    ("vlq past delta max", _write(smf([b"\x8f\xff\xff\xff\x7f" + on(60) + track()])), "time value"),
    ("unterminated sysex", _write(smf([b"\x00\xf0\x7f\x01\x02"])), "runs past the end"),
    ("unterminated meta", _write(smf([b"\x00\xff\x03\x20abc"])), "runs past the end"),
    ("huge meta length", _write(smf([b"\x00\xff\x01\x8f\xff\xff\x7f" + b"a" * 8])), "damaged"),
    ("event past track end", _write(smf([TUNE[:-2]]) + b"\x00\x00"), "runs past the end"),
    ("undefined status", _write(smf([track((0, b"\xf4\x01"))])), "undefined status"),
    ("running status without status", _write(smf([b"\x00\x3c\x40" + track()])), "no status byte"),
    ("data byte out of range", _write(smf([track((0, b"\x90\x3c\xff"))])), "data byte"),
    ("zero tempo", _write(with_meta(0x51, b"\0\0\0")), "tempo is 0"),
    ("short tempo", _write(with_meta(0x51, b"\x07")), "too short"),
    ("bad key signature", _write(with_meta(0x59, b"\x09\x00")), "key signature"),
    ("bad smpte offset", _write(with_meta(0x54, b"\xe0\0\0\0\0")), "meta event"),
    ("time signature 0/4", _write(with_meta(0x58, b"\x00\x02\x18\x08")), "signature 0/4"),
    ("time signature 4/2^200", _write(with_meta(0x58, b"\x04\xc8\x18\x08")), "damaged"),
    ("note hours after the start", _write(smf([_HOURS])), "16th steps"),
    ("a million notes", _write(smf([running_status_notes(1_000_000)])), "MB"),
    ("150,000 notes", _write(smf([running_status_notes(150_000)])), "more than 100,000 notes"),
    ("no notes", _write(smf([CONDUCTOR])), "no notes"),
    ("only note-offs", _write(smf([track((0, off(60)), (10, off(62)))])), "no notes"),
    ("zero-length notes", _write(smf([track((0, on(60)), (0, off(60)))])), "no notes"),
    ("drums only", _write(smf([melody([36, 38, 42], channel=9)])), "only drum"),
    ("empty rmid", _write(b"RIFF\x04\x00\x00\x00RMID"), "RMID"),
]


def example_score(steps: int = 32, pickup: int = 4, seed: int = 0) -> Score:
    """A small 4-voice chorale-like Score with a pickup, a fermata, repeated notes and rests."""
    rng = np.random.default_rng(seed)
    centers = (72, 65, 57, 48)
    notes = []
    for v, c in enumerate(centers):
        t = 0
        while t < steps:
            length = int(rng.choice([1, 2, 4, 4, 8]))
            if rng.random() > 0.1:
                notes.append(Note(v, t, min(steps, t + length), c + int(rng.integers(-5, 6))))
            t += length
    return Score.from_notes(
        notes, steps, tempo=90.0, key=Key(7), pickup=pickup, fermatas=(steps // 2,),
        meta={"seed": str(seed)},
    )  # fmt: skip


def score_bytes(score: Score) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.mid"
        score_to_midifile(score).save(filename=str(path))
        return path.read_bytes()


@functools.cache
def music21_chorale_bytes(name: str = "bach/bwv66.6", measures: int | None = None) -> bytes:
    """music21's own MIDI export of a chorale from its corpus (optionally its first bars)."""
    import music21

    s = music21.corpus.parse(name)
    if measures is not None:
        s = s.measures(0, measures)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m21.mid"
        s.write("midi", fp=str(path))
        return path.read_bytes()


@functools.cache
def seed_files() -> tuple[bytes, ...]:
    """Real files for the fuzz tests: small ones from write_midi (several shapes) and one
    from music21 (the first bars of a chorale, in its own layout: 10080 ticks a quarter)."""
    scores = [example_score(16, 0, 1), example_score(24, 4, 2), example_score(12, 0, 3)]
    threefour = example_score(24, 0, 4)
    threefour.time_signature = (3, 4)
    scores.append(threefour)
    files = [score_bytes(s) for s in scores]
    files.append(music21_chorale_bytes("bach/bwv66.6", 2))
    return tuple(files)


# --- mutations for the fuzz tests -------------------------------------------------------------

_INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF, 0xF0, 0xF7, 0x2F, 0x51, 0x58, 0x59, 0x90)
_INTERESTING_32 = (0, 1, 5, 6, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _chunk_length_offsets(data: bytes) -> list[int]:
    """Offsets of the 32-bit length fields of the header and of each chunk."""
    offsets, pos = [], 0
    while pos + 8 <= len(data):
        offsets.append(pos + 4)
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    return offsets or [4]


def _one_mutation(
    data: bytes, rng: random.Random, others: Sequence[bytes], inner: bool = False
) -> tuple[str, bytes]:
    b = bytearray(data)
    n = max(1, len(b))
    kind = rng.choice(_INNER_KINDS if inner else MUTATION_KINDS[:-1])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        for _ in range(rng.randint(1, 4)):
            if b:
                value = rng.choice(_INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
                b[rng.randrange(len(b))] = value
    elif kind == "insert":
        at = rng.randrange(n + 1)
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "delete":
        at = rng.randrange(n)
        del b[at : at + rng.randint(1, 64)]
    elif kind == "truncate":
        del b[rng.randrange(n) :]
    elif kind == "splice":
        other = rng.choice(others)
        b = b[: rng.randrange(n + 1)] + other[rng.randrange(len(other) + 1) :]
    elif kind == "duplicate":
        at = rng.randrange(n)
        piece = b[at : at + rng.randint(1, 256)]
        to = rng.randrange(len(b) + 1)
        b[to:to] = piece * rng.randint(1, 8)
    elif kind == "length":
        at = rng.choice(_chunk_length_offsets(bytes(b)))
        value = rng.choice(_INTERESTING_32) if rng.random() < 0.5 else rng.randrange(2**32)
        b[at : at + 4] = value.to_bytes(4, "big")
    elif kind == "header":
        at = rng.choice((8, 10, 12))
        b[at : at + 2] = rng.choice((0, 1, 2, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF,
                                     rng.randrange(65536))).to_bytes(2, "big")  # fmt: skip
    elif kind == "vlq":
        at = rng.randrange(n)
        b[at : at + 5] = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 5)))
    elif kind == "status":
        at = rng.randrange(n)
        if b:
            b[at % len(b)] = rng.randrange(0x80, 0x100)
    elif kind == "in-track":
        return kind, _mutate_inside_a_track(bytes(b), rng, others)
    return kind, bytes(b)


def _mutate_inside_a_track(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    """Damage the events of one track and fix its length field, so the chunk structure holds
    and the damage reaches the event parser and the voice assignment."""
    offsets = [o for o in _chunk_length_offsets(data)[1:] if o + 4 <= len(data)]
    if not offsets:
        return data
    at = rng.choice(offsets)
    size = int.from_bytes(data[at : at + 4], "big")
    body = data[at + 4 : at + 4 + size]
    for _ in range(rng.randint(1, 3)):
        _, body = _one_mutation(body, rng, others, inner=True)
    return data[:at] + len(body).to_bytes(4, "big") + body + data[at + 4 + size :]


MUTATION_KINDS = ("flip", "byte", "insert", "delete", "truncate", "splice", "duplicate",
                  "length", "header", "vlq", "status", "in-track", "stacked")  # fmt: skip
_INNER_KINDS = ("flip", "byte", "insert", "delete", "truncate", "duplicate", "vlq", "status")


def mutate(data: bytes, rng: random.Random, others: Sequence[bytes]) -> tuple[str, bytes]:
    """A random damaged copy of ``data``: one mutation (of MUTATION_KINDS) or, one time in
    four, two to four stacked. Returns (kind, bytes)."""
    if rng.random() < 0.25:
        for _ in range(rng.randint(2, 4)):
            _, data = _one_mutation(data, rng, others)
        return "stacked", data
    return _one_mutation(data, rng, others)


__all__ = ["BAD_FILES", "HOLD", "REST", "example_score", "seed_files", "smf", "track"]
