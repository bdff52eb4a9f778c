"""MIDI bytes -> checked mido tracks: the structural checks before anything big is built.

``read_bytes`` refuses what is not a regular file of at most MAX_FILE_BYTES; ``smf_bytes``
finds the standard MIDI file in the data (unwrapping RIFF RMID) or says what the file is
instead (WAV, MP3, PDF, MusicXML, text...); ``split_chunks`` checks the header and the chunk
structure ourselves (mido is lenient, and slow on damage) and caps the track count;
``parse_track`` decodes one track with mido, turning every decoding failure into a
MidiFileError. ``read_error`` builds the one-line message every reading step raises:
"cannot read FILE: PROBLEM; WHAT TO DO".
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import struct

import mido
from mido.midifiles.meta import KeySignatureError

from composer.errors import MidiFileError

MAX_FILE_BYTES = 2 * 1024 * 1024  # mido builds ~80 bytes of objects per byte of track data
MAX_TRACKS = 1024
MAX_DELTA = 0x0FFFFFFF  # the largest delta time a 4-byte variable-length number can hold

FIX_EXPORT = "export it again as a standard MIDI file (.mid) from the program that made it"
FIX_DAMAGED = f"the file is damaged; {FIX_EXPORT}"


def read_error(path: str, problem: str, fix: str = FIX_DAMAGED) -> MidiFileError:
    """The error for a file that cannot be read: 'cannot read PATH: PROBLEM; FIX'."""
    return MidiFileError(f"cannot read {path}: {problem}; {fix}")


def too_big(name: str, size: int) -> MidiFileError:
    """The error for a file of ``size`` bytes, over MAX_FILE_BYTES."""
    return read_error(
        name,
        f"it is {size / 1e6:.1f} MB; Composer reads MIDI files up to "
        f"{MAX_FILE_BYTES / 1e6:.1f} MB (a chorale is about 10 kB)",
        "remove tracks you do not need or split the piece",
    )


def read_bytes(path: str | os.PathLike, name: str) -> bytes:
    """The file's bytes, refusing what is not a regular file of at most MAX_FILE_BYTES."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise read_error(name, "no such file", "check the path") from None
    except OSError as e:
        raise read_error(name, e.strerror or str(e), "check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise read_error(name, "it is a folder, not a file", "give the path of a .mid file")
    if not stat.S_ISREG(st.st_mode):
        raise read_error(name, "it is not a regular file", "give the path of a .mid file")
    if st.st_size > MAX_FILE_BYTES:
        raise too_big(name, st.st_size)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise read_error(name, e.strerror or str(e), "check the file's permissions") from None
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


def smf_bytes(data: bytes, name: str) -> bytes:
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
                    raise read_error(name, "it is an RMID file whose data is not a MIDI file")
                return inner
            pos += 8 + size + (size & 1)
        raise read_error(name, "it is an RMID file with no MIDI data inside")
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
    raise read_error(name, what, "give a standard MIDI file (.mid)")


def split_chunks(data: bytes, name: str, warnings: list[str]) -> tuple[int, int, list[bytes]]:
    """Check the header and chunk structure; return (format, division, track chunk bodies)."""
    if len(data) < 14:
        raise read_error(name, f"the header is cut short ({len(data)} bytes of 14)")
    hlen = int.from_bytes(data[4:8], "big")
    if hlen < 6:
        raise read_error(name, f"the header is {hlen} bytes long, shorter than the 6 it needs")
    if 8 + hlen > len(data):
        raise read_error(name, f"the header says it is {hlen} bytes long but the file ends first")
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt == 2:
        raise read_error(
            name,
            "it is a format 2 file (independent sequences), which Composer does not read",
            "export it as a format 0 or 1 MIDI file",
        )
    if fmt > 2:
        raise read_error(name, f"the header gives an unknown format {fmt} (MIDI has 0, 1 and 2)")
    if division == 0:
        raise read_error(name, "its time division is 0 ticks per quarter note")
    if ntracks > MAX_TRACKS:
        raise read_error(
            name,
            f"its header announces {ntracks} tracks; Composer reads files with up to "
            f"{MAX_TRACKS} tracks",
            "remove tracks you do not need",
        )
    if ntracks == 0:
        raise read_error(name, "its header says it has no tracks", FIX_EXPORT)
    chunks: list[bytes] = []
    pos = 8 + hlen
    while len(chunks) < ntracks:
        left = len(data) - pos
        if left < 8:
            raise read_error(
                name,
                f"the header announces {ntracks} tracks but the file ends after {len(chunks)}"
                + (f" (and {left} stray bytes)" if left > 0 else ""),
            )
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if kind == b"MTrk":
            if size > left - 8:
                raise read_error(
                    name,
                    f"track {len(chunks) + 1} says it is {size} bytes long but only "
                    f"{left - 8} bytes are left: the file is cut short",
                )
            chunks.append(data[pos + 8 : pos + 8 + size])
        elif not all(0x20 <= b < 0x7F for b in kind):
            raise read_error(
                name,
                f"expected track {len(chunks) + 1} at byte {pos} but found {kind!r}",
            )
        elif size > left - 8:
            raise read_error(name, f"a {kind.decode()!r} chunk runs past the end of the file")
        pos += 8 + size
    if len(data) > pos:
        warnings.append(f"ignored {len(data) - pos} bytes after the last track")
    if fmt == 0 and ntracks > 1:
        warnings.append(f"a format 0 file should have 1 track; read all {ntracks}")
    return fmt, division, chunks


def parse_track(body: bytes, division: int, index: int, name: str) -> mido.MidiTrack:
    """One track chunk -> mido messages; every decoding failure becomes a MidiFileError."""
    header = b"MThd" + struct.pack(">LHHH", 6, 0, 1, division)
    smf = header + b"MTrk" + struct.pack(">L", len(body)) + body
    where = f"track {index + 1}"
    try:
        track = mido.MidiFile(file=io.BytesIO(smf), clip=False).tracks[0]
    except EOFError:
        raise read_error(
            name, f"{where} is damaged: an event runs past the end of the track"
        ) from None
    except KeySignatureError:
        raise read_error(name, f"{where} has a damaged key signature") from None
    except (IndexError, KeyError):
        raise read_error(name, f"{where} has a meta event that is too short or damaged") from None
    except Exception as e:  # noqa: BLE001 - mido raises OSError/ValueError/...; all mean damage
        detail = str(e).split("\n")[0][:120] or type(e).__name__
        if "running status" in detail:
            detail = "data bytes with no status byte before them"
        raise read_error(name, f"{where} is damaged ({detail})") from None
    for msg in track:
        if msg.time > MAX_DELTA:
            raise read_error(
                name, f"{where} has a damaged time value (a delta of {msg.time} ticks)"
            )
    return track
