"""Score -> MusicXML, through music21, for notation programs (MuseScore, Finale, Dorico, ...).

One part per voice (named from ``Score.voice_names``) with the usual chorale clefs (SATB:
treble, treble, treble-8vb, bass), the key and time signatures, the tempo, a pickup written as an
anacrusis (bar 0, shorter than a full bar), fermatas on the soprano's notes and ties across bar
lines (music21's makeMeasures/makeTies). Pitches are spelled from the key.

Needs music21 (``pip install music21``); it is imported only when a file is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from composer.errors import ExportError
from composer.fileio import write_bytes_atomic
from composer.score import HOLD, REST, Score

QUARTERS_PER_STEP = 0.25
SATB_CLEFS = ("treble", "treble", "treble8vb", "bass")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")


def _music21() -> Any:
    try:
        import music21
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("music21"):
            raise
        raise ExportError(
            "MusicXML export needs music21, which is not installed: `pip install music21`"
        ) from None
    return music21


def write_musicxml(score: Score, path: str | os.PathLike) -> Path:
    """Write ``score`` as an uncompressed MusicXML file (``.musicxml``/``.xml``), atomically."""
    _music21()
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(to_music21(score)).parse()
    path = Path(path)
    write_bytes_atomic(path, data)
    return path


def to_music21(score: Score) -> Any:
    """Build the ``music21.stream.Score`` that ``write_musicxml`` writes."""
    _music21()
    from music21 import clef, expressions, key, metadata, meter, note, stream, tempo

    score.validate()
    m_key = _m21_key(score, key)
    spell = _speller(score, m_key)
    lead_steps = (score.steps_per_bar - score.pickup) % score.steps_per_bar if score.pickup else 0
    lead = lead_steps * QUARTERS_PER_STEP
    fermatas = set(score.fermatas)

    out = stream.Score()
    out.metadata = metadata.Metadata()
    out.metadata.title = score.title or "Chorale"
    out.metadata.composer = "Composer"
    for v in range(score.voices):
        part = stream.Part(id=f"P{v + 1}")
        part.partName = score.voice_names[v]
        part.partAbbreviation = score.voice_names[v][:1]
        part.insert(0, _clef(score, v, clef))
        if m_key is not None:
            part.insert(0, key.Key(m_key.tonic.name, m_key.mode))
        part.insert(0, meter.TimeSignature(f"{score.time_signature[0]}/{score.time_signature[1]}"))
        if v == 0:
            part.insert(0, tempo.MetronomeMark(number=round(score.tempo, 2), referent=1.0))
        if lead:
            part.insert(0, note.Rest(quarterLength=lead))  # removed again after makeMeasures
        for start, end, pitch in _events(score, v):
            ql = (end - start) * QUARTERS_PER_STEP
            if pitch == REST:
                el = note.Rest(quarterLength=ql)
            else:
                el = note.Note(spell(pitch), quarterLength=ql)
                if v == 0 and start in fermatas:
                    mark = expressions.Fermata()
                    mark.type = "upright"  # above the staff
                    el.expressions.append(mark)
            part.insert(lead + start * QUARTERS_PER_STEP, el)
        measured = part.makeMeasures()
        measured.makeTies(inPlace=True)
        if lead:
            _make_anacrusis(measured, lead, stream)
        measured.partName = part.partName
        measured.partAbbreviation = part.partAbbreviation
        out.insert(0, measured)
    return out


def _events(score: Score, v: int) -> list[tuple[int, int, int]]:
    """(start step, end step, pitch or REST) spans covering the whole voice, notes and rests."""
    col = score.grid[:, v]
    spans: list[tuple[int, int, int]] = []
    t = 0
    while t < score.steps:
        cell = int(col[t])
        end = t + 1
        if cell >= 0:
            while end < score.steps and col[end] == HOLD:
                end += 1
        else:
            while end < score.steps and col[end] == REST:
                end += 1
        spans.append((t, end, cell if cell >= 0 else REST))
        t = end
    return spans


def _make_anacrusis(part: Any, lead: float, stream: Any) -> None:
    """Turn the first measure (``lead`` quarters of rest, then the pickup) into a bar 0 with
    ``paddingLeft = lead``, and move every later bar ``lead`` earlier."""
    measures = list(part.getElementsByClass(stream.Measure))
    first = measures[0]
    for el in list(first.notesAndRests):
        if el.offset < lead:
            first.remove(el)  # the padding rest (makeMeasures never splits it: lead < a bar)
        else:
            first.coreSetElementOffset(el, el.offset - lead)
    first.coreElementsChanged()
    first.paddingLeft = lead
    first.number = 0
    first.showNumber = stream.enums.ShowNumber.NEVER  # <measure implicit="yes" number="0">
    for number, m in enumerate(measures[1:], start=1):
        m.number = number
        part.coreSetElementOffset(m, m.offset - lead)
    part.coreElementsChanged()


def _m21_key(score: Score, key_module: Any) -> Any:
    """The music21 Key, spelled from the signature (Bb minor, not A# minor)."""
    if score.key is None:
        return None
    return key_module.KeySignature(score.key.sharps).asKey(score.key.mode)


def _speller(score: Score, m_key: Any):
    """MIDI pitch -> music21 pitch name with octave, spelled from the key: scale notes (with
    the raised 6th and 7th in minor) as in the key, others with sharps in sharp keys, flats in
    flat keys."""
    from music21 import interval, pitch

    flats = score.key is not None and score.key.sharps < 0
    names = list(_FLAT_NAMES if flats else _SHARP_NAMES)
    if m_key is not None:
        scale = [m_key.pitchFromDegree(d) for d in range(1, 8)]
        if m_key.mode == "minor":
            up = interval.Interval("A1")
            scale += [up.transposePitch(scale[5]), up.transposePitch(scale[6])]
        for p in scale:
            names[p.pitchClass] = p.name

    def spell(midi: int) -> str:
        p = pitch.Pitch(names[midi % 12])
        p.octave = 4
        p.octave += (midi - p.midi) // 12  # B#, Cb: the octave follows the letter
        return p.nameWithOctave

    return spell


def _clef(score: Score, v: int, clef_module: Any) -> Any:
    if score.voices == 4:
        name = SATB_CLEFS[v]
    else:
        pitches = score.grid[:, v][score.grid[:, v] >= 0]
        mean = float(pitches.mean()) if pitches.size else 60.0
        name = "treble" if mean >= 60 else "treble8vb" if mean >= 52 else "bass"
    return {
        "treble": clef_module.TrebleClef,
        "treble8vb": clef_module.Treble8vbClef,
        "bass": clef_module.BassClef,
    }[name]()
