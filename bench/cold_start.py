"""Cold start of `composer generate --bars 16` as a whole process (start, load, generate, write).

    .venv/bin/python bench/cold_start.py [--runs 7] [--json]
    .venv/bin/python bench/cold_start.py --against ../main [--runs 15]

Runs the command as a fresh process several times (the numba cache warm, as after set-up) and
prints the median and the spread of wall times; --json prints one JSON line. --against TREE
alternates each run with the same command in another checkout (with its own .venv), so both
are timed under the same load: on a busy machine only figures taken side by side compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def command(python: str, out: Path) -> list[str]:
    return [python, "-m", "composer", "generate", "--bars", "16", "--seed", "3", "--out", str(out)]


def summary(times: list[float]) -> dict:
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--against", type=Path, default=None, help="another checkout to alternate with")
    args = ap.parse_args()
    trees = {"this": (REPO, sys.executable)}
    if args.against:
        other = args.against.resolve()
        trees["other"] = (other, str(other / ".venv" / "bin" / "python"))
    times: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (tree, python) in trees.items():  # warm the numba cache
            subprocess.run(command(python, Path(tmp) / f"{name}.mid"), check=True,
                           capture_output=True, cwd=tree)  # fmt: skip
        for _ in range(args.runs):
            for name, (tree, python) in trees.items():
                cmd = command(python, Path(tmp) / f"{name}.mid")
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, cwd=tree)
                times[name].append(time.perf_counter() - t0)
        same = (
            len(trees) == 1
            or (Path(tmp) / "this.mid").read_bytes() == (Path(tmp) / "other.mid").read_bytes()
        )
    this = summary(times["this"])
    result = {
        "cold_generate_16_bars_median_s": this["median_s"],
        "min_s": this["min_s"],
        "max_s": this["max_s"],
        "runs": args.runs,
    }
    if args.against:
        other = summary(times["other"])
        result.update({
            "against": str(args.against),
            "against_median_s": other["median_s"],
            "against_min_s": other["min_s"],
            "against_max_s": other["max_s"],
            "same_file": same,
        })  # fmt: skip
    print(json.dumps(result) if args.json else "\n".join(f"{k:32s} {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
