"""Bach's own voice-leading figures, the reference for generated chorales.

Reads every distinct four-part chorale of music21's corpus (music21.corpus.chorales.Iterator),
converts it to a Score on the 16th grid (composer.corpus.m21_to_score) and prints the figures of
composer.reports.metrics, per piece summed into totals (rates from total counts).

    .venv/bin/python bench/bach_metrics.py [--limit N] [--json out.json]

About a minute on 2 cores (music21 parsing and key analysis dominate).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from composer.corpus import m21_to_score
from composer.reports.metrics import FIGURES, aggregate, measure


def bach_scores(limit: int | None = None):
    """Yield (name, Score) for each distinct chorale music21 can give on the 16th grid."""
    from music21 import corpus

    seen: set[str] = set()
    it = corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename")
    for filename in it:
        if filename in seen:
            continue
        seen.add(filename)
        if limit is not None and len(seen) > limit:
            return
        try:
            chorale = corpus.parse(filename)
            yield filename, m21_to_score(chorale)
        except Exception as e:  # noqa: BLE001 - odd files are reported and skipped
            print(f"  skipped {filename}: {type(e).__name__}: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N distinct chorales only")
    ap.add_argument("--json", default=None, help="also write the totals as JSON here")
    args = ap.parse_args()

    t0 = time.perf_counter()
    per_piece = [measure(s) for _, s in bach_scores(args.limit)]
    total = aggregate(per_piece)
    print(f"{total.pieces} chorales, {total.notes} notes, {total.steps} 16th steps, "
          f"{total.pair_moves} voice-pair moves ({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    for name, label, unit in FIGURES:
        print(f"  {label:55s} {getattr(total, name):8.3f}{unit}")
    print(f"  parallel 5ths {total.parallel_fifths}, 8ves/unisons {total.parallel_octaves}; "
          f"crossings {total.crossings}/{total.crossing_checks}; "
          f"wide {total.wide_spacings}/{total.spacing_checks}")  # fmt: skip
    rates = np.array([m.parallels_per_100 for m in per_piece if m.pair_moves])
    print(f"  per-piece parallels per 100 moves: median {np.median(rates):.2f}, "
          f"pieces with none {np.mean(rates == 0) * 100:.0f}%")  # fmt: skip
    print("  pitch classes from the tonic (%):",
          " ".join(f"{x * 100:.1f}" for x in total.pitch_class_distribution))  # fmt: skip
    print("  note lengths 1..16 16ths (%):",
          " ".join(f"{x * 100:.1f}" for x in total.note_length_distribution))  # fmt: skip
    if args.json:
        out = {"pieces": total.pieces, **total.figures(),
               "pitch_classes": total.pitch_classes.tolist(),
               "note_lengths": total.note_lengths.tolist()}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
