"""The harmony section of the evaluation report (composer/reports/report.py's ``extra``).

``harmony_section(out_dir, sections, reference)`` measures every section and the reference with
composer.theory.harmony_figures, writes ``harmony.png`` into ``out_dir`` (bar charts: endings
and cadences at a glance, final chords, cadence types, non-chord tones off and on the beat, beat
sonorities, bass moves; one bar per section beside the reference) and returns the markdown lines
of a "Harmony" section: each figure for the reference, each section and its ratio to the
reference.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from composer.reports.report import REFERENCE_COLOUR, _matplotlib, _save, _table, fmt, ratio
from composer.score import Score
from composer.theory.harmony_figures import FIGURES, HarmonyCounts, aggregate

IMAGE = "harmony.png"
PALETTE = ("#e377c2", "#ff7f0e", "#17becf", "#bcbd22", "#9467bd", "#8c564b")
# (panel title, distribution name or None for the headline panel, y label)
PANELS = (
    ("Endings and cadences", None, "%"),
    ("Final chord", "final chord", "% of pieces"),
    ("Final chord approached by", "final approach", "% of pieces"),
    ("Cadences at fermatas", "cadences", "% of fermatas"),
    ("Off-beat non-chord tones", "off-beat NCTs", "% of off-beat NCTs"),
    ("On-beat non-chord tones", "on-beat NCTs", "% of on-beat NCTs"),
    ("Beat sonorities", "beat sonorities", "% of beats"),
    ("Bass moves", "bass moves", "% of bass moves"),
)
HEADLINE = (
    ("final_tonic", "final\ntonic"),
    ("final_v_i", "final\nV-I"),
    ("fermata_v_i_any", "fermata\nV-I any key"),
    ("fermata_v_i_home", "fermata\nV-I home"),
    ("seventh_unresolved", "7ths not\nfalling"),
)


def harmony_section(
    out_dir: str | os.PathLike,
    sections: dict[str, list[Score]],
    reference: list[Score],
    reference_name: str = "Bach",
) -> list[str]:
    """Write harmony.png into ``out_dir``; return the markdown lines of the section."""
    counts = {name: aggregate(scores) for name, scores in sections.items()}
    ref = aggregate(reference)
    _save(harmony_figure(counts, ref, reference_name), Path(out_dir) / IMAGE)
    return harmony_markdown(counts, ref, reference_name)


def harmony_markdown(
    counts: dict[str, HarmonyCounts], ref: HarmonyCounts, reference_name: str
) -> list[str]:
    """The section's lines: a short guide, the picture and the table of figures."""
    names = list(counts)
    lines = ["## Harmony", ""]
    lines += [
        "Chords labelled beat by beat by `composer/theory/harmony.py` (definitions there and in "
        "`composer/theory/harmony_figures.py`); rates from total counts. Fermatas are each "
        "piece's own (Bach's, or the plan's in generated pieces).",
        "",
        f"![harmony]({IMAGE})",
        "",
    ]
    lines += _table(
        ["counted", reference_name, *names],
        [
            [what, str(getattr(ref, what)), *(str(getattr(counts[n], what)) for n in names)]
            for what in ("pieces", "fermatas", "beats", "notes")
        ],
    )
    lines.append("")
    header = ["figure", reference_name]
    for n in names:
        header += [n, "ratio"]
    ref_figures = ref.figures()
    figures = {n: c.figures() for n, c in counts.items()}
    rows, group = [], ""
    for key, label, g in FIGURES:
        if g != group:
            rows.append([f"**{g}**"] + [""] * (len(header) - 1))
            group = g
        row = [label, fmt(ref_figures[key])]
        for n in names:
            value = figures[n][key]
            row += [fmt(value), fmt(ratio(value, ref_figures[key]))]
        rows.append(row)
    lines += _table(header, rows)
    return lines + [""]


def harmony_figure(
    counts: dict[str, HarmonyCounts], ref: HarmonyCounts, reference_name: str
) -> Any:
    """Eight bar charts, one bar per set (the reference first) in each class."""
    figure_class, _ = _matplotlib()
    fig = figure_class(figsize=(18, 8.5), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    series = [(reference_name, ref, REFERENCE_COLOUR)]
    series += [(n, c, PALETTE[i % len(PALETTE)]) for i, (n, c) in enumerate(counts.items())]
    dists = [(name, c.distributions(), c.figures(), colour) for name, c, colour in series]
    width = 0.8 / len(series)
    for ax, (title, dist, ylabel) in zip(axes, PANELS):
        for k, (name, d, f, colour) in enumerate(dists):
            if dist is None:
                labels = [label for _, label in HEADLINE]
                values = [f[key] for key, _ in HEADLINE]
            else:
                labels, values = list(d[dist]), list(d[dist].values())
            offset = (k - (len(series) - 1) / 2) * width
            x = np.arange(len(labels)) + offset
            ax.bar(x, np.nan_to_num(values), width, label=name, color=colour)
        ax.set_xticks(range(len(labels)), labels, rotation=0 if dist is None else 30,
                      ha="center" if dist is None else "right", fontsize="small")  # fmt: skip
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    return fig
