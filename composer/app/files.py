"""File work for the app, as plain functions the workers run: open and autosave (export is
composer.export.export_score, shared with the command line).

No Qt. Each raises a ComposerError subclass with a one-line message for anything a user can
cause (a broken MIDI file, a format that cannot be written, an unwritable folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from composer.app.document import Document
from composer.errors import ComposerError, MidiFileError
from composer.fileio import write_text_atomic
from composer.score import Score

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
OPEN_SUFFIXES = MIDI_SUFFIXES + MUSICXML_SUFFIXES
EXPORT_WORDS = {"harmonize": "harmonized", "continue": "continued", "regenerate": "rewritten",
                "generate": "chorale"}  # fmt: skip


def open_score(path: str | os.PathLike):
    """Read a MIDI or MusicXML file: ('piece', Score, ReadReport) for four voices, ('melody',
    Score, ReadReport) for one voice (a score with other parts gives its top part).

    Raises MidiFileError for a broken file or another number of voices.
    """
    from composer.notation.read import read_score

    path = Path(path)
    if not path.is_file():
        raise MidiFileError(f"{path} does not exist: choose an existing MIDI or MusicXML file")
    score, report = read_score(path)
    if score.voices == 1:
        return "melody", score, report
    if score.voices == 4:
        return "piece", score, report
    if report.kind == "musicxml":  # a song with accompaniment: its top part is the melody
        score, report = read_score(path, melody=True)
        return "melody", score, report
    raise MidiFileError(
        f"{path.name} has {score.voices} voices: Composer opens four-voice pieces (SATB) or "
        "one-voice melodies to harmonize"
    )


def open_midi(path: str | os.PathLike) -> tuple[str, Score]:
    """``open_score`` without the report."""
    kind, score, _ = open_score(path)
    return kind, score


def suggest_export_path(source: str, last_dir: str, mode: str = "", suffix: str = ".mid") -> Path:
    """A new file name for an export, beside the input when there is one: 'tune.mid' ->
    'tune-harmonized.mid' (then '-2', '-3' ... if taken); never the input itself."""
    word = EXPORT_WORDS.get(mode, "export")
    if source:
        src = Path(source)
        folder, stem = src.parent, f"{src.stem}-{word}"
    else:
        folder, stem = Path(last_dir), "chorale"
    path = folder / f"{stem}{suffix}"
    k = 2
    while path.exists() or (source and path == Path(source)):
        path = folder / f"{stem}-{k}{suffix}"
        k += 1
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

    Raises ComposerError if the file exists but cannot be read back, or holds a session that
    cannot be shown (composer.app.autosave_check).
    """
    from composer.app.autosave_check import check_document

    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        doc = check_document(Document.from_dict(data))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError,
            ComposerError) as e:  # fmt: skip
        raise ComposerError(
            f"the autosaved session at {path} is damaged ({e}); it was skipped"
        ) from None
    if doc.piece is None:
        return None
    return doc, data.get("extra", {})
