"""A Score -> a file to open elsewhere: MIDI, WAV audio or MusicXML, chosen by the file's suffix.

The one way out for both the command line (``composer generate --out/--wav/--musicxml``) and
the app's File > Export...; each format's writer is imported only when it is used, so MIDI
export needs no FluidSynth (and MusicXML, written by composer.notation, no music21). Every file
is written atomically.

(The ``composer export`` command is another thing: a training checkpoint -> a model bundle, in
composer.train.bundle_writer.) May import composer.midi, composer.audio, composer.notation,
composer.score and composer.errors.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from composer.errors import ExportError
from composer.score import Score

Format = Literal["midi", "wav", "musicxml"]


@dataclass(frozen=True)
class FileFormat:
    """One format: its name, the label a file dialog shows, the suffixes it is chosen by (the
    first is the one a new file gets)."""

    name: Format
    label: str
    suffixes: tuple[str, ...]


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("midi", "MIDI file", (".mid", ".midi")),
    FileFormat("wav", "WAV audio", (".wav",)),
    FileFormat("musicxml", "MusicXML", (".musicxml", ".xml", ".mxl")),
)


def format_of(path: str | os.PathLike) -> Format:
    """The format a file name asks for, by its suffix (any case); ExportError for another."""
    suffix = Path(path).suffix.lower()
    for f in FORMATS:
        if suffix in f.suffixes:
            return f.name
    raise ExportError(
        f"cannot export {Path(path).name}: choose a name ending in .mid, .wav or .musicxml"
    )


def export_score(
    score: Score,
    path: str | os.PathLike,
    fmt: Format | None = None,
    programs: Sequence[int] | None = None,
    layout: str = "open",
) -> Path:
    """Write ``score`` to ``path`` as ``fmt`` (default: by the suffix, ``format_of``); returns
    the path. ``programs``: a General MIDI program per voice (default: the score's own).
    ``layout``: MusicXML as a staff per voice ("open") or S/A and T/B on two staves ("closed").
    Raises ExportError for a suffix or format it cannot write, AudioError when WAV cannot be
    rendered.
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt == "midi":
        from composer.midi.io import write_midi

        if programs is not None:
            score = dataclasses.replace(score, programs=tuple(programs), meta=dict(score.meta))
        write_midi(score, path)
    elif fmt == "wav":
        from composer.audio.synth import write_wav

        write_wav(score, path, programs=programs)
    elif fmt == "musicxml":
        from composer.notation.musicxml import write_musicxml

        if programs is not None:
            score = dataclasses.replace(score, programs=tuple(programs), meta=dict(score.meta))
        write_musicxml(score, path, layout=layout)
    else:
        raise ExportError(f"unknown export format {fmt!r}: choose midi, wav or musicxml")
    return path
