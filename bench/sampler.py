"""Sampler speed, side by side in one run: numba vs torch vs the memory floor, batch 1 vs 16.

    .venv/bin/python bench/sampler.py [--model models/bach-satb] [--tokens 4096] [--json]

- numba_us_per_token: the numba sampler generating free music at batch 1 (chunks of 16 steps).
- torch_us_per_token: torch doing the same work on the same weights at its best single-step
  setting (mkldnn off, 1 thread, inference_mode): embeddings, one LSTM step, output layer,
  masks, top-p sampling, per token.
- floor_us_per_token: a compiled loop that only reads every weight a token needs, once.
- batch16_speedup: tokens per second of 16 variations as one batch over batch 1.
- matvec_gmacs: the compute ceiling of one core, the kernels' own product at 8 sequences (the
  packed panels) on weights that stay in cache, in billions of multiply-adds per second;
  batch16_ceiling: the speed-up 16 variations would reach if their products (the whole output
  layer counted) ran at that rate on every core and nothing else (cell, sampling, masks) cost
  anything.
Each figure is the median of --repeats runs, measured alternately in one process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import floor_kernels  # noqa: E402  (bench/, beside this script)

from composer.encoding import TOK_START, satb_conditioning  # noqa: E402
from composer.errors import ComposerError  # noqa: E402
from composer.runtime import kernels  # noqa: E402
from composer.runtime.plans import Plan  # noqa: E402
from composer.runtime.sampler import THREADS, Sampler  # noqa: E402
from composer.runtime.settings import SamplingSettings  # noqa: E402
from composer.score import Key  # noqa: E402
from composer.theory.plan import plan_fermatas  # noqa: E402


def numba_run(sampler: Sampler, steps: int, batch: int, seed: int) -> float:
    """Seconds to sample ``steps`` steps (x4 tokens) for ``batch`` sequences, no lookahead."""
    ts = (4, 4)
    plan = Plan(
        steps,
        ts,
        0,
        Key(0),
        plan_fermatas(steps, ts, 0),
        np.full(steps * 4, -1, np.int64),
        lookahead=False,
    )
    t0 = time.perf_counter()
    sampler.sample(plan, SamplingSettings(seed=seed), batch, seed)
    return time.perf_counter() - t0


def torch_run(sampler: Sampler, steps: int, seed: int) -> float:
    import torch

    from composer.train.bundle_writer import model_from_bundle

    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    model = model_from_bundle(sampler.bundle)
    gen = torch.Generator().manual_seed(seed)
    slot, pos, ferm, key = (
        torch.from_numpy(a)
        for a in satb_conditioning(steps, (4, 4), 0, plan_fermatas(steps, (4, 4), 0), Key(0))
    )
    t = sampler.tables
    lo = torch.from_numpy(t.range_lo)
    hi = torch.from_numpy(t.range_hi)
    vocab = torch.arange(model.config.vocab)
    zeros_look = torch.zeros(1, 1, model.config.lookahead)
    with torch.inference_mode():
        t0 = time.perf_counter()
        state = None
        prev = torch.tensor([[TOK_START]])
        for i in range(steps * 4):
            x = (
                model.tok_emb(prev)
                + model.slot_emb(slot[i].view(1, 1))
                + model.pos_emb(pos[i].view(1, 1))
                + model.ferm_emb(ferm[i].view(1, 1))
                + model.key_emb(key[i].view(1, 1))
            )
            x = torch.cat([x, zeros_look], dim=-1)
            h, state = model.lstm(x, state)
            logits = model.head(h[0, 0])
            s = int(slot[i])
            allowed = ((vocab >= lo[s]) & (vocab <= hi[s])) | (vocab == 128) | (vocab == 129)
            logits = logits.masked_fill(~allowed, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            sorted_p, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_p, 0) - sorted_p < 0.95
            sorted_p = sorted_p * keep
            choice = torch.multinomial(sorted_p, 1, generator=gen)
            prev = order[choice].view(1, 1)
        return time.perf_counter() - t0


def token_weights(sampler: Sampler) -> np.ndarray:
    """Every weight a token multiplies (both LSTM layers and the output layer), as one array."""
    t = sampler.tables
    parts = [t.W_first.reshape(-1), t.W_up[: t.layers - 1].reshape(-1), t.head_W.reshape(-1)]
    return np.ascontiguousarray(np.concatenate(parts).reshape(-1, t.hidden))


def floor_run(sampler: Sampler, tokens: int) -> float:
    weights = token_weights(sampler)
    t0 = time.perf_counter()
    floor_kernels.read_all(weights, tokens)
    return time.perf_counter() - t0


def matvec_run(repeats: int) -> float:
    """Multiply-adds per microsecond of a step's products at batch 8 (kernels.layer_product, the
    packed panels), on weights that stay in cache."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 512)).astype(np.float32)
    x = rng.standard_normal((8, 512)).astype(np.float32)
    out = np.zeros((8, 64), np.float32)
    t0 = time.perf_counter()
    floor_kernels.repeat_matvec(w, kernels.pack_panels(w), x, out, repeats)
    return w.size * 8 * repeats / ((time.perf_counter() - t0) * 1e6)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--tokens", type=int, default=4096, help="tokens per run at batch 1")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        sampler = Sampler.load(args.model)
    except ComposerError as e:  # a JSB benchmark model, a missing bundle: one line, exit 2
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps = args.tokens // 4
    numba_run(sampler, 16, 1, 0)  # warm caches
    floor_run(sampler, 10)
    matvec_run(1)
    rows: dict[str, list[float]] = {
        "numba": [], "torch": [], "floor": [], "batch16": [], "matvec": []
    }  # fmt: skip
    for r in range(args.repeats):
        rows["numba"].append(numba_run(sampler, steps, 1, r) / (steps * 4) * 1e6)
        rows["torch"].append(torch_run(sampler, steps // 4, r) / (steps) * 1e6)
        rows["floor"].append(floor_run(sampler, steps * 4) / (steps * 4) * 1e6)
        rows["batch16"].append(numba_run(sampler, steps // 4, 16, r) / (steps * 16) * 1e6)
        rows["matvec"].append(matvec_run(2000))
    med = {k: statistics.median(v) for k, v in rows.items()}
    result = {
        "model": str(sampler.bundle.path),
        "hidden": sampler.tables.hidden,
        "layers": sampler.tables.layers,
        "numba_us_per_token": round(med["numba"], 2),
        "torch_us_per_token": round(med["torch"], 2),
        "floor_us_per_token": round(med["floor"], 2),
        "batch16_us_per_token": round(med["batch16"], 2),
        "torch_over_numba": round(med["torch"] / med["numba"], 2),
        "numba_over_floor": round(med["numba"] / med["floor"], 2),
        "batch16_speedup": round(med["numba"] / med["batch16"], 2),
        "matvec_gmacs": round(med["matvec"] / 1e3, 1),
        "batch16_ceiling": round(
            med["numba"] / (token_weights(sampler).size / (THREADS * med["matvec"])), 2
        ),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:22s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
