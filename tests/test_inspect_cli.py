"""``composer inspect`` end to end, through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from midi_fixtures import music21_chorale_bytes, off, on, smf, track

from composer.midi.io import read_midi, write_midi
from composer.score import Key, Note, Score

PYTHON = "/work/main/.venv/bin/python"
if not Path(PYTHON).exists():
    PYTHON = sys.executable


def composer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "composer", *args], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[1])  # fmt: skip


@pytest.fixture
def chorale_file(tmp_path: Path) -> Path:
    notes = [Note(0, 0, 4, 67), Note(0, 4, 20, 72), Note(1, 0, 20, 64), Note(2, 0, 20, 55),
             Note(3, 0, 4, 43), Note(3, 4, 20, 48)]  # fmt: skip
    score = Score.from_notes(notes, 20, tempo=90.0, time_signature=(3, 4), key=Key(7),
                             pickup=4, fermatas=(4,))  # fmt: skip
    path = tmp_path / "chorale.mid"
    write_midi(score, path)
    return path


def test_inspect_json(chorale_file: Path) -> None:
    out = composer("inspect", str(chorale_file), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["voices"] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert info["steps"] == 20 and info["pickup"] == 4
    assert info["bars"] == read_midi(chorale_file).bars  # Score's own count of bars
    assert info["key"] == "G major"
    assert info["time_signature"] == "3/4"
    assert info["tempo"] == 90.0
    assert info["ranges"] == ["G4-C5", "E4-E4", "G3-G3", "G2-C3"]
    assert info["ranges_midi"][0] == [67, 72]
    assert info["fermatas"] == [4]
    assert info["notes_moved"] == 0 and info["warnings"] == []


def test_inspect_text(chorale_file: Path) -> None:
    out = composer("inspect", str(chorale_file))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    bars = read_midi(chorale_file).bars
    assert "4 voices, 20 steps" in text and f"{bars} bars" in text and "pickup of 4 steps" in text
    assert "key G major, time 3/4, tempo 90 bpm" in text
    assert "Soprano  G4-C5" in text and "Bass     G2-C3" in text
    assert "fermatas at steps 4" in text
    assert "quantization moved 0 notes" in text


def test_inspect_reports_quantization_and_warnings(tmp_path: Path) -> None:
    body = track((0, on(60)), (130, off(60)), (0, on(62)), (350, off(62)), (0, on(64)),
                 (20, off(64)), (0, bytes([0xFF, 0x2F, 0])), end=False)  # fmt: skip
    path = tmp_path / "rough.mid"
    path.write_bytes(smf([body]) + b"junk")
    info = json.loads(composer("inspect", str(path), "--json").stdout)
    assert info["voices"] == ["Voice 1"]
    assert info["notes_moved"] == 3
    assert any("ignored 4 bytes" in w for w in info["warnings"])
    text = composer("inspect", str(path)).stdout
    assert "quantization moved 3 notes" in text and "warning: ignored 4 bytes" in text


def test_inspect_music21_chorale(tmp_path: Path) -> None:
    path = tmp_path / "bwv66.6.mid"
    path.write_bytes(music21_chorale_bytes("bach/bwv66.6"))
    info = json.loads(composer("inspect", str(path), "--json").stdout)
    assert info["voices"] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert info["key"] == "F# minor" and info["tempo"] == 96.0
    assert info["ranges"][0] == "E4-E5"


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"RIFF\x24\0\0\0WAVEfmt ", "WAV audio file"),
        (b"MThd\0\0\0\x06\0\x02\0\x01\x01\xe0", "format 2"),
    ],  # fmt: skip
    ids=["missing", "empty", "wav", "format 2"],
)
def test_inspect_bad_file_is_one_error_line_and_exit_2(tmp_path: Path, content, fragment) -> None:
    path = tmp_path / "bad.mid"
    if content is not None:
        path.write_bytes(content)
    for extra in ([], ["--json"]):
        out = composer("inspect", str(path), *extra)
        assert out.returncode == 2
        assert out.stdout == ""
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("composer: error: cannot read ")
        assert str(path) in lines[0] and fragment in lines[0]
