"""The musical quality report (``composer evaluate --report DIR``).

Generates chorales (in the keys and meters of Bach's held-out chorales) and harmonizes the
sopranos of held-out chorales, then writes a report (composer/report.py) setting their
voice-leading figures and distributions beside Bach's own corpus. No torch: the sampler only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from composer.corpus import load_chorales
from composer.metrics import FIGURES, aggregate
from composer.report import write_report
from composer.sampler import Sampler, SamplingSettings


def run_report(
    model: str | None,
    out_dir: str | Path,
    pieces: int = 12,
    seed: int = 1,
    temperature: float = 1.0,
    top_p: float = 0.95,
) -> dict:
    """Write the report into ``out_dir``; return {"figures": {...}, "text": summary}."""
    from tqdm import tqdm

    sampler = Sampler.load(model)
    bach = load_chorales()
    held_out = [s for s in load_chorales("valid") + load_chorales("test") if s.steps >= 32]
    models = held_out[:pieces]
    generated, harmonized = [], []
    for i, ref in enumerate(tqdm(models, desc="composing", unit="piece")):
        settings = SamplingSettings(seed=seed + i, temperature=temperature, top_p=top_p)
        bars = max(4, min(24, ref.bars))
        [g] = sampler.generate(
            bars=bars,
            key=ref.key or "C major",
            time_signature=ref.time_signature,
            tempo=ref.tempo,
            settings=settings,
        )
        generated.append(g)
        melody = dataclasses.replace(ref, grid=ref.grid[:, :1].copy(), meta={})
        [h] = sampler.harmonize(melody, key=ref.key, settings=settings)
        harmonized.append(h)
    sections = {"generated": generated, "harmonized (held-out sopranos)": harmonized}
    path = write_report(out_dir, sections, bach)
    figures = {"bach": aggregate(bach).figures()}
    for name, scores in sections.items():
        figures[name.split(" ")[0]] = aggregate(scores).figures()
    lines = [f"report: {path}"]
    for attr, label, _ in FIGURES:
        row = "  ".join(f"{k} {v[attr]:.2f}" for k, v in figures.items())
        lines.append(f"{label}: {row}")
    return {"figures": figures, "text": "\n".join(lines), "path": str(path)}
