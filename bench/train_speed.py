"""Training speed of the shipped recipes on this machine: tokens per second.

    .venv/bin/python bench/train_speed.py [--steps 30] [--threads 2] [--json]

Runs the first steps of each shipped model's recipe (from its bundle's config.json) in this
process and prints tokens per second (tokens that count in the loss), after a warm-up step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.runtime.bundle import MODELS_DIR, load_bundle  # noqa: E402
from composer.train.loop import Progress, TrainConfig, train  # noqa: E402


def measure(name: str, steps: int, threads: int) -> dict:
    recipe = load_bundle(MODELS_DIR / name).config["training"]["recipe"]
    times: list[tuple[float, float]] = []

    def on_progress(p: Progress) -> None:
        if p.valid is None:
            times.append((time.perf_counter(), p.tokens_per_second))

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig.from_dict(recipe)
        cfg.out, cfg.checkpoint_dir = str(Path(tmp) / "m"), str(Path(tmp) / "ck")
        cfg.max_steps, cfg.threads, cfg.checkpoint_every = steps, threads, 10**9
        cfg.epochs = max(cfg.epochs, 1)
        train(cfg, on_progress=on_progress)
    return {"model": name, "steps": steps, "threads": threads,
            "tokens_per_second": round(times[-1][1])}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [measure(n, args.steps, args.threads) for n in ("bach-satb", "jsb-quarter")]
    for r in rows:
        print(json.dumps(r) if args.json else f"{r['model']:12s} {r['tokens_per_second']:>8,} "
              f"tokens/s ({r['threads']} threads, {r['steps']} steps)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
