"""Harmonization NLL of alto, tenor and bass given Bach's soprano, on held-out chorales:
no lookahead, the backward LSTM's lookahead, and the particle lookahead as the particles double.

    .venv/bin/python bench/lookahead.py [--model models/bach-satb] [--split valid] [--json]

The particle figure is -log p(S, ATB) + log p(S) per ATB token, log p(S) estimated by the
sampler's particle filter. That estimate is low on average by an amount that shrinks as the
particles grow, so the figure rises towards the model's exact value as they double: where it has
settled, the lookahead's gain is measured, not assumed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.runtime.bundle import load_bundle  # noqa: E402
from composer.runtime.sampler import Sampler  # noqa: E402
from composer.train.bundle_writer import model_from_bundle  # noqa: E402
from composer.train.evaluate import evaluate_satb  # noqa: E402
from composer.train.loop import load_pieces  # noqa: E402


def say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--split", default="valid", help="valid or test")
    ap.add_argument("--particles", default="16,32,64,128,256")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    bundle = load_bundle(args.model)
    model, sampler = model_from_bundle(bundle), Sampler(bundle)
    scores, _, _ = load_pieces("bach", args.split)
    result: dict = {"model": str(bundle.path), "split": args.split, "pieces": len(scores)}
    base = evaluate_satb(model, scores)
    result["without_lookahead"] = round(base["harmonize_atb_nll_without_lookahead"], 4)
    result["lstm_lookahead"] = round(base["harmonize_atb_nll_with_lookahead"], 4)
    counts = [int(x) for x in args.particles.split(",")]
    curve = {}
    for n in counts[:-1]:
        t0 = time.perf_counter()
        curve[n] = round(evaluate_satb(model, scores, sampler, n)["harmonize_atb_nll_particles"], 4)
        say(args, f"particles {n:4d}: {curve[n]:.4f} ({time.perf_counter() - t0:.0f} s)")
    # the most particles piece by piece: the same figure, and how many pieces it wins
    t0 = time.perf_counter()
    n, total, tokens, wins = counts[-1], 0.0, 0, 0
    for score in scores:
        r = evaluate_satb(model, [score], sampler, n)
        atb = score.steps * 3
        total += r["harmonize_atb_nll_particles"] * atb
        tokens += atb
        wins += r["harmonize_atb_nll_particles"] < r["harmonize_atb_nll_without_lookahead"]
    curve[n] = round(total / tokens, 4)
    say(args, f"particles {n:4d}: {curve[n]:.4f} ({time.perf_counter() - t0:.0f} s)")
    result["pieces_won"] = f"{wins} of {len(scores)}"
    result["particle_lookahead"] = curve
    best = curve[max(curve)]
    result["gain_over_none"] = round(result["without_lookahead"] - best, 4)
    result["gain_percent"] = round(100 * (result["without_lookahead"] - best)
                                   / result["without_lookahead"], 1)  # fmt: skip
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:20s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
