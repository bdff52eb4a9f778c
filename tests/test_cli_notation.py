"""The composing commands with notation in and out, as a musician runs them: a MusicXML melody
harmonized in its own key and instrument choice, warnings for what reading dropped, enharmonic
keys kept, meters the model cannot write refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from midi_fixtures import meta, smf, track
from notation_fixtures import attributes, metronome, note, partwise
from test_notation_read import TUNE, notes, tempo, ts

from composer.midi.io import read_midi
from composer.notation.check import check_musicxml
from composer.notation.read import read_score

Q = 4


def composer(*args):
    return subprocess.run([sys.executable, "-m", "composer", *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def melody_musicxml(tmp_path: Path) -> Path:
    """A two-part score (a piccolo tune over a bass) in B minor, 3/4, with a pickup."""
    tune = [attributes(fifths=2, mode="minor", time="3/4") + metronome(84) + note("F", 4, Q,
            alter=1)]  # fmt: skip
    tune += [note("B", 4, 2 * Q) + note("C", 5, Q, alter=1),
             note("D", 5, Q) + note("C", 5, Q, alter=1) + note("B", 4, Q),
             note("A", 4, Q, alter=1) + note("B", 4, Q) + note("C", 5, Q, alter=1),
             note("B", 4, 2 * Q, fermata=True)]  # fmt: skip
    bass = [attributes(fifths=2, mode="minor", time="3/4", clef="F4") + note("F", 3, Q, alter=1)]
    bass += [note("B", 2, 3 * Q)] * 3 + [note("B", 2, 2 * Q)]
    data = partwise({"Piccolo": tune, "Bass": bass}, title="A tune", pickup=True)
    data = data.replace(b"<part-name>Piccolo</part-name>", b"<part-name>Piccolo</part-name>"
                        b'<score-instrument id="P1-I1"><instrument-name>Piccolo'
                        b'</instrument-name></score-instrument><midi-instrument id="P1-I1">'
                        b"<midi-program>73</midi-program></midi-instrument>")  # fmt: skip
    path = tmp_path / "tune.musicxml"
    path.write_bytes(data)
    return path


def test_harmonize_a_musicxml_melody_in_its_key_with_a_choir(tmp_path: Path) -> None:
    path = melody_musicxml(tmp_path)
    melody, _ = read_score(path, part="Piccolo")
    assert melody.programs == (72,) and str(melody.key) == "B minor" and melody.pickup == 4
    out = composer("harmonize", path, "--part", "Piccolo", "--seed", "2", "--out",
                   tmp_path / "h.mid", "--musicxml", tmp_path / "h.musicxml",
                   "--layout", "closed")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "B minor, 3/4, 84 bpm" in out.stdout
    h = read_midi(tmp_path / "h.mid")
    assert np.array_equal(h.grid[:, 0], melody.grid[:, 0]) and h.pickup == 4
    assert h.programs == (52, 52, 52, 52)  # the choir, not a piccolo bass
    assert h.title == "A tune" and h.fermatas == melody.fermatas
    c = check_musicxml((tmp_path / "h.musicxml").read_bytes())
    assert c.parts == ["Soprano, Alto", "Tenor, Bass"] and c.fifths == 2 and c.mode == "minor"
    assert c.title == "A tune" and any("Harmonized by Composer" in x for x in c.creators)
    assert c.redundant == [] and c.missing == [] and c.pickup == 1.0
    organ = composer("harmonize", path, "--seed", "2", "--instrument", "organ", "--particles",
                     "0", "--out", tmp_path / "o.mid")  # fmt: skip
    assert organ.returncode == 0, organ.stderr
    assert read_midi(tmp_path / "o.mid").programs == (19,) * 4
    asked = composer("harmonize", path, "--seed", "2", "--instrument", "melody", "--particles",
                     "0", "--out", tmp_path / "m.mid")  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert read_midi(tmp_path / "m.mid").programs == (72,) * 4


def test_harmonize_reports_a_dropped_ritardando(tmp_path: Path) -> None:
    conductor = track((0, ts(4, 4)), (0, tempo(80)), (480 * 9, tempo(60)),
                      (0, meta(0x59, b"\xff\x00")))  # fmt: skip
    path = tmp_path / "rit.mid"
    path.write_bytes(smf([conductor, track(*notes(TUNE))]))
    out = composer("harmonize", path, "--seed", "1", "--particles", "0", "--out",
                   tmp_path / "h.mid")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "it slows from 80 to 60 bpm at bar 3" in out.stderr
    assert "pickup" in out.stderr  # the tune starts at time zero: its pickup was guessed


def test_db_major_stays_db_major_and_6_8_is_refused(tmp_path: Path) -> None:
    out = composer("generate", "--bars", "2", "--key", "Db major", "--seed", "1", "--out",
                   tmp_path / "d.mid", "--musicxml", tmp_path / "d.musicxml")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Db major" in out.stdout and "C# major" not in out.stdout
    assert str(read_midi(tmp_path / "d.mid").key) == "Db major"
    c = check_musicxml((tmp_path / "d.musicxml").read_bytes())
    assert c.fifths == -5 and c.redundant == [] and c.missing == []
    assert any("Composed by Composer (model bach-satb)" in x for x in c.creators)
    bad = composer("generate", "--time-signature", "6/8", "--out", tmp_path / "x.mid")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "6/8 is a compound meter" in bad.stderr and not (tmp_path / "x.mid").exists()


def test_a_broken_musicxml_melody_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.musicxml"
    path.write_bytes(b'<?xml version="1.0"?><score-partwise><part-list>')
    out = composer("harmonize", path, "--out", tmp_path / "x.mid")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("composer: error: cannot read")
    tune = partwise({"Tune": [attributes() + note("C", 5, 16)]})
    (tmp_path / "t.xml").write_bytes(tune)
    out = composer("harmonize", tmp_path / "t.xml", "--part", "Alto", "--out", tmp_path / "x.mid")
    assert out.returncode == 2 and "no part named 'Alto'" in out.stderr
