"""MusicXML export: written through music21, parsed back by music21, same music."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from composer.notation.musicxml import write_musicxml
from composer.score import Key, Note, Score

music21 = pytest.importorskip("music21")


def chorale_fragment() -> Score:
    """D minor, 4/4, a quarter pickup, a soprano note tied over a bar line (steps 4-17), a
    fermata at step 28, a rest in the tenor, and 16th/dotted values."""
    notes = [
        Note(0, 0, 4, 74), Note(0, 4, 17, 72), Note(0, 17, 20, 70), Note(0, 20, 28, 73),
        Note(0, 28, 36, 74),
        Note(1, 0, 2, 65), Note(1, 2, 4, 64), Note(1, 4, 20, 65), Note(1, 20, 28, 64),
        Note(1, 28, 36, 65),
        Note(2, 0, 8, 57), Note(2, 12, 20, 58), Note(2, 20, 21, 57), Note(2, 21, 28, 55),
        Note(2, 28, 36, 57),
        Note(3, 0, 4, 50), Note(3, 4, 20, 46), Note(3, 20, 28, 45), Note(3, 28, 36, 38),
    ]  # fmt: skip
    return Score.from_notes(
        notes, 36, key=Key(2, "minor"), pickup=4, fermatas=(0, 28), tempo=80.0
    ).validate()


def notes_of(part) -> list[tuple[float, float, int]]:
    return [
        (float(n.offset), float(n.quarterLength), n.pitch.midi)
        for n in part.stripTies().flatten().notes
    ]


def test_round_trip_through_music21(tmp_path: Path) -> None:
    score = chorale_fragment()
    path = tmp_path / "fragment.musicxml"
    assert write_musicxml(score, path) == path
    assert [p.name for p in tmp_path.iterdir()] == ["fragment.musicxml"]  # no temp file left

    parsed = music21.converter.parse(str(path))
    parts = list(parsed.parts)
    assert len(parts) == 4
    assert [p.partName for p in parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    for v, part in enumerate(parts):
        expected = [(n.start / 4, (n.end - n.start) / 4, n.pitch) for n in score.notes(v)]
        assert notes_of(part) == expected, f"voice {v}"

    clefs = [type(p.recurse().getElementsByClass("Clef")[0]).__name__ for p in parts]
    assert clefs == ["TrebleClef", "TrebleClef", "Treble8vbClef", "BassClef"]
    sig = parts[0].recurse().getElementsByClass("KeySignature")[0]
    assert sig.sharps == -1
    ts = parts[0].recurse().getElementsByClass("TimeSignature")[0]
    assert ts.ratioString == "4/4"


def test_pickup_fermatas_ties_and_spelling(tmp_path: Path) -> None:
    path = tmp_path / "fragment.musicxml"
    write_musicxml(chorale_fragment(), path)
    text = path.read_text()
    assert '<measure implicit="yes" number="0">' in text

    parsed = music21.converter.parse(str(path))
    soprano, alto = parsed.parts[0], parsed.parts[1]
    measures = list(soprano.getElementsByClass("Measure"))
    assert [m.number for m in measures] == [0, 1, 2]
    assert measures[0].duration.quarterLength == 1.0  # the pickup is one quarter long

    with_fermata = [n for n in soprano.flatten().notes if n.expressions]
    assert [(float(n.offset), n.pitch.midi) for n in with_fermata] == [(0.0, 74), (7.0, 74)]
    assert not any(n.expressions for n in alto.flatten().notes)

    # The soprano's C5 (steps 4-17, 13 16ths) has no single note value: written as tied notes.
    tied = [n for n in soprano.flatten().notes if n.tie is not None]
    assert tied and all(n.pitch.midi == 72 for n in tied)
    names = {n.pitch.midi: n.pitch.name for p in parsed.parts for n in p.flatten().notes}
    assert names[70] == "B-" and names[73] == "C#" and names[46] == "B-"


def test_ties_across_bar_lines(tmp_path: Path) -> None:
    # A whole note starting on beat 3 of bar 1 crosses into bar 2: two tied halves.
    score = Score.from_notes([Note(v, 8, 24, 60 - 7 * v) for v in range(4)], 32)
    path = tmp_path / "tie.musicxml"
    write_musicxml(score, path)
    part = music21.converter.parse(str(path)).parts[0]
    measures = list(part.getElementsByClass("Measure"))
    first, second = measures[0].notes[0], measures[1].notes[0]
    assert (first.tie.type, second.tie.type) == ("start", "stop")
    assert first.quarterLength == second.quarterLength == 2.0
    assert notes_of(part) == [(2.0, 4.0, 60)]


def test_without_music21_says_how_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['music21'] = None\n"
        "from composer.score import Score\n"
        "from composer.notation.musicxml import write_musicxml\n"
        "from composer.errors import ExportError\n"
        "try:\n"
        f"    write_musicxml(Score([[60, 55, 48, 36]]), {str(tmp_path / 'x.musicxml')!r})\n"
        "except ExportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "ERR" in out.stdout and "pip install music21" in out.stdout, out.stderr
    assert not (tmp_path / "x.musicxml").exists()
