"""Harmony figures (composer/theory/harmony_figures.py) of Bach, generated and harmonized music.

Columns, side by side:
- Bach, all: every chorale of data/chorales (the reference over the whole corpus);
- Bach, held-out: the valid and test chorales;
- generated: N chorales from ``Sampler.generate`` with seeds 1..N (issue 10's design: 12 or 16
  bars, 4/4 or 3/4, major or minor, keys cycling through Bach's common ones; the defaults:
  temperature 0.9, top-p 0.95, voice leading 'bach', 32 candidates with the cadence and
  ending conditions);
- harmonized: the sopranos of the first N held-out chorales (their own fermatas and keys)
  harmonized by ``Sampler.harmonize`` with seeds 1..N (the defaults: 32 particles).
Each model column is followed by its ratio to Bach, held-out.

    .venv/bin/python bench/harmony.py [--pieces N] [--model DIR] [--json]
        [--temperature T] [--top-p P] [--particles N] [--free-ending] [--no-counterpoint]

About 1 s per generated piece and 2-3 s per harmonization on 2 cores; the analysis itself is
about 10 ms a piece.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.corpus import load_chorales  # noqa: E402
from composer.score import Key, Score  # noqa: E402
from composer.theory.harmony_figures import FIGURES, HarmonyCounts, aggregate  # noqa: E402

MAJOR_TONICS = ("G", "D", "F", "C", "A", "Bb")  # Bach's commonest major and minor keys
MINOR_TONICS = ("A", "D", "E", "G", "B", "C")


def design(seed: int) -> dict:
    """The generation settings of piece ``seed`` (1-based): cycles bars, meter, mode and key."""
    i = seed - 1
    minor = (i // 4) % 2 == 1
    tonics = MINOR_TONICS if minor else MAJOR_TONICS
    return {
        "bars": (12, 16)[i % 2],
        "time_signature": ((4, 4), (3, 4))[(i // 2) % 2],
        "key": Key.parse(f"{tonics[(i // 8) % len(tonics)]} {'minor' if minor else 'major'}"),
    }


def generated(sampler, pieces: int, decoding: dict) -> list[Score]:
    from composer.runtime.settings import SamplingSettings

    out = []
    for seed in range(1, pieces + 1):
        d = design(seed)
        settings = SamplingSettings.voice_leading("bach", seed=seed, **decoding)
        [score] = sampler.generate(tempo=80.0, settings=settings, **d)
        out.append(score)
    return out


def harmonized(sampler, held_out: list[Score], pieces: int, decoding: dict) -> list[Score]:
    from composer.runtime.settings import SamplingSettings

    out = []
    for seed, ref in enumerate(held_out[:pieces], start=1):
        melody = dataclasses.replace(ref, grid=ref.grid[:, :1].copy(), meta={})
        settings = SamplingSettings.voice_leading("bach", seed=seed, **decoding)
        [score] = sampler.harmonize(melody, key=ref.key, settings=settings)
        out.append(score)
    return out


def table(columns: dict[str, HarmonyCounts], reference: str) -> str:
    """Text table: one row per figure, one column per set, ratios to ``reference``."""
    figures = {name: c.figures() for name, c in columns.items()}
    names = list(columns)
    header = "figure".ljust(50) + "".join(n[:16].rjust(17) for n in names[:2])
    for n in names[2:]:
        header += n[:16].rjust(17) + "ratio".rjust(7)
    lines = [header]
    group = ""
    for key, label, g in FIGURES:
        if g != group:
            lines.append(f"-- {g}")
            group = g
        row = label[:49].ljust(50) + "".join(f"{figures[n][key]:17.2f}" for n in names[:2])
        ref = figures[reference][key]
        for n in names[2:]:
            v = figures[n][key]
            r = v / ref if ref and not math.isnan(ref) and not math.isnan(v) else float("nan")
            row += f"{v:17.2f}{r:7.2f}"
        lines.append(row)
    counts = "  ".join(f"{n}: {c.pieces} pieces, {c.fermatas} fermatas, {c.beats} beats, "
                       f"{c.notes} notes" for n, c in columns.items())  # fmt: skip
    return "\n".join(lines + ["", counts])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=20, help="generated and harmonized pieces")
    ap.add_argument("--model", default=None, help="bundle (default: models/bach-satb)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    ap.add_argument("--temperature", type=float, default=None, help="default: the sampler's")
    ap.add_argument("--top-p", type=float, default=None, help="default: the sampler's")
    ap.add_argument("--particles", type=int, default=None, help="default: the sampler's")
    ap.add_argument("--free-ending", action="store_true", help="no tonic-ending condition")
    ap.add_argument("--no-counterpoint", action="store_true",
                    help="no weights for a teacher's faults (theory/counterpoint.py)")  # fmt: skip
    args = ap.parse_args()
    decoding = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                  ("particles", args.particles)) if v is not None}  # fmt: skip
    if args.free_ending:
        decoding["tonic_ending"] = False
    if args.no_counterpoint:
        decoding["counterpoint"] = False

    t0 = time.perf_counter()
    held_out = [s for s in load_chorales("valid") + load_chorales("test") if s.steps >= 32]
    columns = {"Bach, all": aggregate(load_chorales()), "Bach, held-out": aggregate(held_out)}
    times = {"analysis of the corpus": time.perf_counter() - t0}
    if args.pieces > 0:
        from composer.runtime.sampler import Sampler

        sampler = Sampler.load(args.model)
        t = time.perf_counter()
        columns["generated"] = aggregate(generated(sampler, args.pieces, decoding))
        times["generated"] = time.perf_counter() - t
        t = time.perf_counter()
        columns["harmonized"] = aggregate(harmonized(sampler, held_out, args.pieces, decoding))
        times["harmonized"] = time.perf_counter() - t
    if args.json:
        out = {name: c.as_json() for name, c in columns.items()}
        print(json.dumps({"pieces": args.pieces, "model": args.model, "decoding": decoding,
                          "columns": out, "seconds": times}))  # fmt: skip
        return 0
    print(table(columns, "Bach, held-out"))
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
