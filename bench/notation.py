"""Notation in and out, counted: 12 of Bach's chorales and 6 melodies through Composer's
MusicXML, and (with --musescore) through MuseScore 3 as a musician would use it.

For each chorale (data/chorales): Composer's MusicXML is counted (accidentals written against
accidentals needed, redundant ones, fermatas written against expected: every fermata of the
Score on each of the 4 voices) and read back (pickup, every note); with --musescore, MuseScore
renders it (PNG), re-exports MusicXML (counted the same way, read back) and MIDI (read back:
pickup, meter, key, every note).

For each melody (written below as a notation program would hold it, exported to MusicXML by
this script, then — with --musescore — opened and exported by MuseScore as MusicXML and MIDI,
and also written as a DAW would: a MIDI file that starts on its first note, no pickup bar):
the pickup, key and meter read from each form; then the melody is harmonized (the shipped
model, seed 1) and the harmonization's MusicXML counted, and with --musescore rendered and
counted again through MuseScore's re-export.

    .venv/bin/python bench/notation.py [--musescore] [--out out/notation] [--json FILE]

About 40 s without MuseScore, 2 minutes with it (2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from composer.midi.io import read_midi, read_midi_report, write_midi
from composer.notation.check import check_musicxml
from composer.notation.musicxml import write_musicxml
from composer.notation.read import read_score
from composer.paths import DATA_DIR
from composer.score import HOLD, REST, Key, Score

CHORALES = [
    "riem001-bwv269.mid", "riem004-bwv86.6.mid", "riem008-bwv40.8.mid", "riem017-bwv145.5.mid",
    "riem025-bwv148.6.mid", "riem061-bwv159.5.mid", "riem098-bwv244.15.mid",
    "riem117-bwv244.10.mid", "riem149-bwv384.mid", "riem194-bwv123.6.mid",
    "riem369-bwv354.mid", "riem053-bwv122.6.mid",
]  # fmt: skip

# Melodies: key, meter, tempo, pickup (16ths), and bars of NOTE:16ths tokens ("f" after the
# length: a fermata; "r" a rest). Public-domain tunes, in keys that test the spelling.
MELODIES = {
    "old-hundredth": ("G major", (4, 4), 72, 0, [
        "G4:4 G4:4 F#4:4 E4:4", "D4:4 G4:4 A4:4 B4:4f",
        "B4:4 B4:4 B4:4 A4:4", "G4:4 C5:4 B4:4 A4:4f",
        "G4:4 A4:4 B4:4 A4:4", "G4:4 E4:4 F#4:4 G4:4f"]),
    "amazing-grace": ("Db major", (3, 4), 66, 4, [
        "Ab3:4", "Db4:8 F4:2 Db4:2", "F4:8 Eb4:4", "Db4:8 Bb3:4", "Ab3:8 Ab3:4",
        "Db4:8 F4:2 Db4:2", "F4:8 Eb4:4", "Ab4:12f", "Ab4:8 F4:4", "Ab4:8 F4:2 Db4:2",
        "F4:8 Eb4:4", "Db4:8 Bb3:4", "Ab3:8 Ab3:4", "Db4:8 F4:2 Db4:2", "F4:8 Eb4:4",
        "Db4:8f"]),
    "ode-to-joy": ("D major", (4, 4), 100, 0, [
        "F#4:4 F#4:4 G4:4 A4:4", "A4:4 G4:4 F#4:4 E4:4", "D4:4 D4:4 E4:4 F#4:4",
        "F#4:6 E4:2 E4:8", "F#4:4 F#4:4 G4:4 A4:4", "A4:4 G4:4 F#4:4 E4:4",
        "D4:4 D4:4 E4:4 F#4:4", "E4:6 D4:2 D4:8f"]),
    "greensleeves": ("A minor", (3, 4), 80, 4, [
        "A4:4", "C5:8 D5:4", "E5:6 F5:2 E5:4", "D5:8 B4:4", "G4:6 A4:2 B4:4",
        "C5:8 A4:4", "A4:6 G#4:2 A4:4", "B4:8 G#4:4", "E4:8 A4:4", "C5:8 D5:4",
        "E5:6 F5:2 E5:4", "D5:8 B4:4", "G4:6 A4:2 B4:4", "C5:6 B4:2 A4:4",
        "G#4:6 F#4:2 G#4:4", "A4:8f"]),
    "ein-feste-burg": ("C major", (4, 4), 76, 4, [
        "C5:4", "C5:4 C5:4 G4:4 A4:4", "B4:4 C5:4 B4:4 A4:4", "G4:12f C5:4",
        "B4:4 A4:4 G4:4 A4:4", "F4:4 E4:4 D4:4 C4:4", "C4:12f"]),
    "passion-chorale": ("B minor", (4, 4), 66, 4, [
        "F#4:4", "B4:4 A4:4 G4:4 F#4:4", "E4:8 F#4:4f F#4:4", "B4:4 C#5:4 D5:4 D5:4",
        "C#5:4 C#5:4 B4:4f D5:4", "C#5:4 B4:4 A4:4 G4:4", "F#4:8 E4:4f F#4:4",
        "G4:4 F#4:4 E4:4 E4:4", "D4:8 C#4:4f F#4:4", "D5:4 C#5:4 B4:4 A#4:4", "B4:12f"]),
}  # fmt: skip

_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def melody_score(name: str) -> Score:
    key, meter, tempo, pickup, bars = MELODIES[name]
    cells: list[int] = []
    fermatas: list[int] = []
    for bar in bars:
        for token in bar.split():
            pitch, length = token.split(":")
            f = length.endswith("f")
            steps = int(length.rstrip("f"))
            if f:
                fermatas.append(len(cells))
            if pitch == "r":
                cells += [REST] * steps
            else:
                letter, rest = pitch[0], pitch[1:]
                alter = rest.count("#") - rest.count("b")
                octave = int(rest.strip("#b"))
                midi = (octave + 1) * 12 + _LETTER[letter] + alter
                cells += [midi] + [HOLD] * (steps - 1)
    grid = np.array(cells, np.int16)[:, None]
    return Score(grid, tempo=float(tempo), time_signature=meter, key=Key.parse(key),
                 pickup=pickup, fermatas=tuple(fermatas), voice_names=("Melody",),
                 programs=(73,), title=name.replace("-", " ").title()).validate()  # fmt: skip


def musescore(src: Path, out: Path) -> Path | None:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "mscore3", "-o", str(out),
                    str(src)], capture_output=True, timeout=180, env=env)  # fmt: skip
    for p in (out, out.with_name(f"{out.stem}-1{out.suffix}")):
        if p.exists():
            return p
    return None


def counts(data: bytes, score: Score) -> dict:
    c = check_musicxml(data)
    expected = len(score.fermatas) * score.voices
    return {"accidentals_written": c.accidentals_written,
            "accidentals_needed": c.accidentals_needed, "redundant": len(c.redundant),
            "missing": len(c.missing), "fermatas_written": sum(len(f) for f in c.fermatas),
            "fermatas_expected": expected, "pickup_right": c.pickup == score.pickup / 4,
            "staff_text": len(c.words)}  # fmt: skip


def daw_midi(score: Score, path: Path) -> None:
    """The melody as a DAW writes it: its first note at time zero, no pickup bar."""
    import dataclasses

    write_midi(dataclasses.replace(score, pickup=0, meta={}), path)
    import mido

    mid = mido.MidiFile(path)
    for track in mid.tracks:  # drop Composer's own settings event: not Composer's file now
        for msg in [m for m in track if m.type == "sequencer_specific"]:
            track.remove(msg)
    mid.save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--musescore", action="store_true", help="also through MuseScore 3")
    ap.add_argument("--out", type=Path, default=Path("out/notation"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.musescore and not (shutil.which("mscore3") and shutil.which("xvfb-run")):
        print("mscore3 or xvfb-run is not installed (apt-get install musescore3 xvfb)")
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: dict = {"chorales": {}, "melodies": {}}
    totals: dict[str, int] = {}

    def add(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, bool):
                v = int(v)
            totals[f"{prefix}.{k}"] = totals.get(f"{prefix}.{k}", 0) + v

    for name in CHORALES:
        score = read_midi(DATA_DIR / "chorales" / name)
        stem = name.removesuffix(".mid")
        src = write_musicxml(score, out / f"{stem}.musicxml")
        row = {"key": str(score.key), "meter": "{}/{}".format(*score.time_signature),
               "pickup": score.pickup, "composer": counts(src.read_bytes(), score)}  # fmt: skip
        back, _ = read_score(src)
        row["composer"]["notes_kept"] = bool(np.array_equal(back.grid, score.grid))
        add("chorales.composer", row["composer"])
        if args.musescore:
            musescore(src, out / f"{stem}.png")
            ms = musescore(src, out / f"{stem}-ms.musicxml")
            row["musescore"] = counts(ms.read_bytes(), score)
            back, _ = read_score(ms)
            row["musescore"]["notes_kept"] = bool(np.array_equal(back.grid, score.grid))
            mid, rep = read_midi_report(musescore(src, out / f"{stem}-ms.mid"))
            row["musescore_midi"] = {
                "pickup_right": mid.pickup == score.pickup,
                "meter_right": mid.time_signature == score.time_signature,
                "key_right": mid.key == score.key,
                "notes_kept": bool(np.array_equal(mid.grid, score.grid)),
            }
            add("chorales.musescore", row["musescore"])
            add("chorales.musescore_midi", row["musescore_midi"])
        rows["chorales"][stem] = row
        print(f"{stem:24} {row['key']:9} {row['meter']} pickup {score.pickup:2}  "
              + "  ".join(f"{k}: {v}" for k, v in row.items() if isinstance(v, dict)))  # fmt: skip

    from composer.runtime.sampler import Sampler
    from composer.runtime.settings import SamplingSettings

    sampler = Sampler.load()
    for name in MELODIES:
        tune = melody_score(name)
        src = write_musicxml(tune, out / f"{name}.musicxml")
        forms = {"musicxml": src}
        daw = out / f"{name}-daw.mid"
        daw_midi(tune, daw)
        forms["daw_midi"] = daw
        if args.musescore:
            forms["musescore_musicxml"] = musescore(src, out / f"{name}-ms.musicxml")
            forms["musescore_midi"] = musescore(src, out / f"{name}-ms.mid")
        row = {"key": str(tune.key), "meter": "{}/{}".format(*tune.time_signature),
               "pickup": tune.pickup, "read": {}}  # fmt: skip
        for form, path in forms.items():
            got, rep = read_score(path, melody=True)
            row["read"][form] = {
                "pickup_right": got.pickup == tune.pickup,
                "key_right": got.key == tune.key and str(got.key) == str(tune.key),
                "meter_right": got.time_signature == tune.time_signature,
                "notes_kept": bool(np.array_equal(got.grid[:, 0], tune.grid[:, 0])),
                "warnings": rep.warnings,
            }
            add(f"melodies.read.{form}", {k: v for k, v in row["read"][form].items()
                                          if k != "warnings"})  # fmt: skip
        melody, _ = read_score(forms.get("musescore_musicxml", src), melody=True)
        [h] = sampler.harmonize(melody, settings=SamplingSettings.voice_leading("bach", seed=1))
        h.title = melody.title
        hx = write_musicxml(h, out / f"{name}-harmonized.musicxml")
        row["harmonized"] = counts(hx.read_bytes(), h)
        add("melodies.harmonized", row["harmonized"])
        if args.musescore:
            musescore(hx, out / f"{name}-harmonized.png")
            ms = musescore(hx, out / f"{name}-harmonized-ms.musicxml")
            row["harmonized_musescore"] = counts(ms.read_bytes(), h)
            add("melodies.harmonized_musescore", row["harmonized_musescore"])
        rows["melodies"][name] = row
        read = " ".join(f"{f}:{'ok' if all(v for k, v in r.items() if k != 'warnings') else 'NO'}"
                        for f, r in row["read"].items())  # fmt: skip
        print(
            f"{name:16} {row['key']:9} {row['meter']} pickup {tune.pickup:2}  read {read}  "
            f"harmonized {row['harmonized']}"
        )

    rows["totals"] = totals
    print("\ntotals:")
    for k, v in totals.items():
        print(f"  {k}: {v}")
    print(f"({time.monotonic() - started:.0f} s; files in {out})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
