"""File work for the app, as plain functions the workers run: open, export, autosave.

No Qt. Each raises a ComposerError subclass with a one-line message for anything a user can
cause (a broken MIDI file, a format that cannot be written, an unwritable folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from composer.app.document import Document
from composer.errors import ComposerError, ExportError, MidiFileError
from composer.fileio import write_text_atomic
from composer.score import Score

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
EXPORT_FORMATS = {  # suffix -> label
    ".mid": "MIDI file",
    ".wav": "WAV audio",
    ".musicxml": "MusicXML",
}


def open_midi(path: str | os.PathLike) -> tuple[str, Score]:
    """Read a MIDI file: ('piece', Score) for four voices, ('melody', Score) for one voice.

    Raises MidiFileError for a broken file or another number of voices.
    """
    from composer.midi.io import read_midi

    path = Path(path)
    if not path.is_file():
        raise MidiFileError(f"{path} does not exist: choose an existing MIDI file")
    score = read_midi(path)
    if score.voices == 1:
        return "melody", score
    if score.voices == 4:
        return "piece", score
    raise MidiFileError(
        f"{path.name} has {score.voices} voices: Composer opens four-voice pieces (SATB) or "
        "one-voice melodies to harmonize"
    )


def export(score: Score, path: str | os.PathLike, programs: list[int] | None = None) -> Path:
    """Write ``score`` as MIDI, WAV or MusicXML, chosen by the file's suffix; atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        from composer.midi.io import write_midi

        if programs is not None:
            import dataclasses

            score = dataclasses.replace(score, programs=tuple(programs), meta=dict(score.meta))
        write_midi(score, path)
    elif suffix == ".wav":
        from composer.audio.synth import write_wav

        write_wav(score, path, programs=programs)
    elif suffix in (".musicxml", ".xml", ".mxl"):
        try:
            from composer.notation.musicxml import write_musicxml
        except ModuleNotFoundError as e:
            raise ExportError(f"MusicXML export is not available ({e.name} missing)") from None
        write_musicxml(score, path)
    else:
        raise ExportError(
            f"cannot export {path.name}: choose a name ending in .mid, .wav or .musicxml"
        )
    return path


def save_autosave(text: str, path: str | os.PathLike) -> None:
    """Write an autosave snapshot (JSON text from ``autosave_text``) atomically."""
    write_text_atomic(path, text)


def autosave_text(doc: Document, extra: dict | None = None) -> str:
    data = doc.to_dict()
    if extra:
        data["extra"] = extra
    return json.dumps(data, separators=(",", ":"))


def load_autosave(path: str | os.PathLike) -> tuple[Document, dict] | None:
    """The Document (and the extra settings) saved at ``path``, or None if there is none.

    Raises ComposerError if the file exists but cannot be read back.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        doc = Document.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ComposerError(
            f"the autosaved session at {path} is damaged ({e}); it was skipped"
        ) from None
    if doc.piece is None:
        return None
    return doc, data.get("extra", {})
