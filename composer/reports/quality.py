"""The musical quality report (``composer evaluate --report DIR``).

Generates chorales (in the keys, meters and lengths of Bach's held-out chorales) and harmonizes
the sopranos of the same held-out chorales, each twice: by the model alone (one pass, voice
leading 'free', no candidates chosen for their cadences and ending) and as Composer writes them
by default (Bach's rules: no parallel fifths or octaves, no crossing; candidates that cadence at
the fermatas and end on the tonic). Writes
a report (composer/reports/report.py) setting their voice-leading and harmony figures and
distributions beside Bach's own corpus, with Bach's own harmonizations of those held-out chorales
as a section of their own. No torch: the sampler only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from composer.corpus import load_chorales
from composer.reports.harmony import harmony_section
from composer.reports.metrics import FIGURES, aggregate
from composer.reports.report import write_report
from composer.runtime.sampler import Sampler
from composer.runtime.settings import SamplingSettings
from composer.theory import harmony_figures


def run_report(
    model: str | None,
    out_dir: str | Path,
    pieces: int = 12,
    seed: int = 1,
    temperature: float = 0.9,
    top_p: float = 0.95,
) -> dict:
    """Write the report into ``out_dir``; return {"figures": {...}, "text": summary}."""
    from tqdm import tqdm

    sampler = Sampler.load(model)
    bach = load_chorales()
    held_out = [s for s in load_chorales("valid") + load_chorales("test") if s.steps >= 32]
    models = held_out[:pieces]
    sections: dict[str, list] = {"Bach, held-out": list(models)}  # the pieces harmonized below
    for i, ref in enumerate(tqdm(models, desc="composing", unit="piece")):
        melody = dataclasses.replace(ref, grid=ref.grid[:, :1].copy(), meta={})
        bars = max(4, min(24, ref.bars))
        for style, label in (("free", "model alone"), ("bach", "default")):
            alone = style == "free"
            settings = SamplingSettings.voice_leading(
                style,
                seed=seed + i,
                temperature=temperature,
                top_p=top_p,
                **({"particles": 0, "tonic_ending": False} if alone else {}),
            )
            [g] = sampler.generate(
                bars=bars,
                key=ref.key or "C major",
                time_signature=ref.time_signature,
                tempo=ref.tempo,
                settings=settings,
            )
            [h] = sampler.harmonize(melody, key=ref.key, settings=settings)
            sections.setdefault(f"generated, {label}", []).append(g)
            sections.setdefault(f"harmonized, {label}", []).append(h)
    harmony = harmony_section(out_dir, sections, bach)  # harmony.png and its markdown
    path = write_report(out_dir, sections, bach, extra=harmony)
    figures = {"Bach": aggregate(bach).figures()}
    for name, scores in sections.items():
        figures[name] = aggregate(scores).figures()
    for name, scores in (("Bach", bach), *sections.items()):  # harmony figures beside them
        figures[name].update(harmony_figures.aggregate(scores).figures())
    lines = [f"report: {path}", "figure".ljust(48) + "".join(k[:22].rjust(24) for k in figures)]
    for attr, label, *_ in FIGURES + harmony_figures.FIGURES:
        lines.append(label[:47].ljust(48) + "".join(f"{v[attr]:24.2f}" for v in figures.values()))
    return {"figures": figures, "text": "\n".join(lines), "path": str(path)}
