"""Cold start of `composer generate --bars 16` as a whole process (start, load, generate, write).

    .venv/bin/python bench/cold_start.py [--runs 7] [--json]

Runs the command as a fresh process several times (the numba cache warm, as after set-up) and
prints the median and the spread of wall times; --json prints one JSON line.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "composer",
            "generate",
            "--bars",
            "16",
            "--seed",
            "3",
            "--out",
            str(Path(tmp) / "x.mid"),
        ]
        subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)  # warm the numba cache
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
            times.append(time.perf_counter() - t0)
    result = {
        "cold_generate_16_bars_median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "runs": args.runs,
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k:32s} {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
