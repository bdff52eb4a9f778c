"""Composer's MusicXML as a real notation program reads it: MuseScore 3 (Debian's musescore3),
run headless under Xvfb, renders each file and exports what it understood as MusicXML and MIDI;
those are read back and checked: parts, key, meter, pickup, fermatas, no accidental that the key
signature already gives, every note (through MuseScore's MusicXML and its MIDI).

Skipped, saying why, where mscore3 or xvfb-run is not installed (CI installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from composer.midi.io import read_midi, read_midi_report
from composer.notation.check import check_musicxml
from composer.notation.musicxml import write_musicxml
from composer.notation.read import read_musicxml
from composer.score import Key

CHORALES = Path(__file__).resolve().parents[1] / "data" / "chorales"

pytestmark = pytest.mark.skipif(
    shutil.which("mscore3") is None or shutil.which("xvfb-run") is None,
    reason="MuseScore 3 under Xvfb is not installed (apt-get install musescore3 xvfb xauth): "
    "cannot check Composer's MusicXML in a real notation program",
)


def musescore(src: Path, out: Path) -> Path:
    """Convert ``src`` with MuseScore 3 headless (format by ``out``'s suffix)."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "mscore3", "-o",
                          str(out), str(src)], capture_output=True, text=True, timeout=180,
                         env=env)  # fmt: skip
    produced = out if out.exists() else out.with_name(f"{out.stem}-1{out.suffix}")  # PNG pages
    assert produced.exists(), f"mscore3 wrote nothing: {run.stdout[-400:]} {run.stderr[-400:]}"
    return produced


def pieces():
    """An F# minor chorale (sharps, the raised 7th E#, a quarter pickup), an Ab major chorale
    moved to Db major (five flats), and a G major 3/4 chorale in the closed layout."""
    fsharp = read_midi(CHORALES / "riem025-bwv148.6.mid")
    db = read_midi(CHORALES / "riem117-bwv244.10.mid").transpose(5)
    db.key = Key.parse("Db major")
    g34 = read_midi(CHORALES / "riem001-bwv269.mid")
    return [("f-sharp-minor", fsharp, "open"), ("d-flat-major", db, "open"),
            ("g-major-3-4", g34, "closed")]  # fmt: skip


@pytest.mark.parametrize("name, score, layout", pieces(), ids=[p[0] for p in pieces()])
def test_musescore_reads_composers_musicxml_as_written(name, score, layout, tmp_path) -> None:
    src = write_musicxml(score, tmp_path / f"{name}.musicxml", layout=layout)
    ours = check_musicxml(src.read_bytes())
    png = musescore(src, tmp_path / f"{name}.png")
    assert png.stat().st_size > 10_000  # a rendered page

    shown = check_musicxml(musescore(src, tmp_path / f"{name}-ms.musicxml").read_bytes())
    assert shown.parts == ours.parts
    assert (shown.fifths, shown.mode, shown.time) == (score.key.sharps, score.key.mode,
                                                      f"{score.time_signature[0]}/"
                                                      f"{score.time_signature[1]}")  # fmt: skip
    assert shown.pickup == score.pickup / 4 and shown.first_measure_number == "0"
    assert shown.fermatas == ours.fermatas  # on every voice, at the same notes
    assert all(len(f) >= len(score.fermatas) for f in shown.fermatas)
    assert shown.redundant == [] and shown.missing == []
    assert shown.accidentals_written == shown.accidentals_needed == ours.accidentals_needed
    assert shown.notes == ours.notes

    back, _ = read_musicxml(tmp_path / f"{name}-ms.musicxml")
    assert np.array_equal(back.grid, score.grid)  # every note, through MuseScore's MusicXML
    assert (back.pickup, back.key, back.fermatas) == (score.pickup, score.key, score.fermatas)

    midi, report = read_midi_report(musescore(src, tmp_path / f"{name}-ms.mid"))
    # MuseScore writes the pickup as a bar of its own time signature (1/4, then 4/4) and a
    # short last bar the same way: read as a pickup, with no meter change reported
    assert midi.pickup == score.pickup and midi.time_signature == score.time_signature
    assert not any("time signature" in w for w in report.warnings)
    # MuseScore's MIDI writes every mode as major: the signature must be right; the mode is
    # guessed from the notes (bench/notation.py counts how often it is right)
    assert midi.key.sharps == score.key.sharps
    if layout == "open":
        assert np.array_equal(midi.grid, score.grid)
