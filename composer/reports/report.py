"""The evaluation report: musical figures of generated pieces beside Bach's, with plots.

``write_report(dir, sections, reference)`` writes into ``dir``:

- ``report.md``: for each figure of ``composer.reports.metrics`` (parallels, crossing, spacing,
range,
  key), the reference's value, each section's value and its ratio to the reference;
- then any ``extra`` sections the caller gives as markdown lines (composer/reports/quality.py
  gives the harmony section of composer/reports/harmony.py, which draws ``harmony.png``);
- ``distributions.png``: pitch-class (relative to the tonic) and note-length distributions of
  every section beside the reference;
- ``piano_roll_<section>_<n>.png``: piano rolls of the first few pieces of each section
  (soprano, alto, tenor, bass in four colours, bar lines, fermatas).

Plots use matplotlib's Agg canvas directly (no pyplot, no global backend switch), so it runs
without a display and from any thread. Every file is written atomically.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ExportError
from composer.fileio import atomic_path, write_text_atomic
from composer.reports.metrics import FIGURES, LENGTH_BINS, Metrics, aggregate
from composer.score import PITCH_NAMES, Score

VOICE_COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#7f3f98")  # S, A, T, B
REFERENCE_COLOUR = "#444444"
INTERVAL_NAMES = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")


def fmt(value: float, digits: int = 2) -> str:
    """A figure as the report prints it: fixed digits, an en dash for 'not defined'."""
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def ratio(value: float, reference: float) -> float:
    """value / reference, NaN when either is undefined or the reference is 0."""
    if math.isnan(value) or math.isnan(reference) or reference == 0:
        return float("nan")
    return value / reference


def write_report(
    out_dir: str | os.PathLike,
    sections: dict[str, list[Score]],
    reference: list[Score],
    reference_name: str = "Bach",
    piano_rolls: int = 2,
    title: str = "Composer: musical evaluation",
    extra: Sequence[str] = (),
) -> Path:
    """Write report.md and its PNG plots into ``out_dir``; return the path of report.md.

    sections: name -> pieces (e.g. {"generated t=1.0": [...], "harmonized": [...]}).
    reference: the pieces every section is compared with (Bach's chorales).
    piano_rolls: how many pieces of each section get a piano-roll picture.
    extra: markdown lines of further sections (e.g. composer.reports.harmony's).
    """
    out = Path(out_dir)
    metrics = {name: aggregate(scores) for name, scores in sections.items()}
    ref = aggregate(reference)

    images = {"distributions": "distributions.png"}
    _save(_distributions_figure(metrics, ref, reference_name), out / images["distributions"])
    rolls: list[tuple[str, str]] = []
    for name, scores in sections.items():
        for i, score in enumerate(scores[:piano_rolls]):
            filename = f"piano_roll_{slug(name)}_{i + 1}.png"
            _save(_piano_roll_figure(score, f"{name}, piece {i + 1}"), out / filename)
            rolls.append((f"{name}, piece {i + 1}", filename))

    text = render_markdown(metrics, ref, reference_name, title, images, rolls, extra)
    path = out / "report.md"
    write_text_atomic(path, text)
    return path


def render_markdown(
    metrics: dict[str, Metrics],
    ref: Metrics,
    reference_name: str,
    title: str,
    images: dict[str, str],
    rolls: Sequence[tuple[str, str]],
    extra: Sequence[str] = (),
) -> str:
    """The text of report.md (``extra``: markdown lines placed after the voice leading)."""
    names = list(metrics)
    lines = [f"# {title}", ""]
    lines += ["## Pieces", ""]
    lines += _table(
        ["", reference_name, *names],
        [
            ["pieces", str(ref.pieces), *(str(metrics[n].pieces) for n in names)],
            ["notes", str(ref.notes), *(str(metrics[n].notes) for n in names)],
            ["16th steps", str(ref.steps), *(str(metrics[n].steps) for n in names)],
            ["voice-pair moves", str(ref.pair_moves), *(str(metrics[n].pair_moves) for n in names)],
        ],
    )
    lines += ["", "## Voice leading", ""]
    lines += [
        f"Each figure for each section, beside {reference_name}'s, and the ratio "
        f"(section / {reference_name}; 1 = the same, – = not defined).",
        "",
    ]
    header = ["figure", reference_name]
    for n in names:
        header += [n, "ratio"]
    rows = []
    for attr, label, unit in FIGURES:
        ref_value = getattr(ref, attr)
        row = [label + (f" ({unit})" if unit and unit not in label else ""), fmt(ref_value)]
        for n in names:
            value = getattr(metrics[n], attr)
            row += [fmt(value), fmt(ratio(value, ref_value))]
        rows.append(row)
    lines += _table(header, rows)
    lines += ["", "Definitions: see `composer/reports/metrics.py`.", ""]
    lines += list(extra)

    lines += ["## Distributions", "", f"![distributions]({images['distributions']})", ""]
    lines += ["Pitch classes relative to the tonic (% of notes):", ""]
    lines += _table(
        ["", *INTERVAL_NAMES],
        [[reference_name, *(fmt(x * 100, 1) for x in ref.pitch_class_distribution)]]
        + [[n, *(fmt(x * 100, 1) for x in metrics[n].pitch_class_distribution)] for n in names],
    )
    lines += ["", "Note lengths in 16ths (% of notes; the last column is 16 or more):", ""]
    lines += _table(
        ["", *(str(i) for i in range(1, LENGTH_BINS + 1))],
        [[reference_name, *(fmt(x * 100, 1) for x in ref.note_length_distribution)]]
        + [[n, *(fmt(x * 100, 1) for x in metrics[n].note_length_distribution)] for n in names],
    )
    if rolls:
        lines += ["", "## Piano rolls", ""]
        for caption, filename in rolls:
            lines += [f"### {caption}", "", f"![{caption}]({filename})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def slug(name: str) -> str:
    """A section name as a file-name part: 'generated t=1.0' -> 'generated_t_1_0'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "section"


# --- plots ------------------------------------------------------------------------------------
def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("matplotlib"):
            raise
        raise ExportError(
            "the report's plots need matplotlib, which is not installed: `pip install matplotlib`"
        ) from None
    return Figure, FigureCanvasAgg


def _save(fig: Any, path: Path) -> None:
    _, canvas_class = _matplotlib()
    canvas_class(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _distributions_figure(metrics: dict[str, Metrics], ref: Metrics, reference_name: str) -> Any:
    figure_class, _ = _matplotlib()
    fig = figure_class(figsize=(13, 4.2), layout="constrained")
    ax_pc, ax_len = fig.subplots(1, 2, width_ratios=(12, 16))
    series = [(reference_name, ref, REFERENCE_COLOUR)]
    palette = ("#e377c2", "#ff7f0e", "#17becf", "#bcbd22", "#9467bd", "#8c564b")
    series += [(n, m, palette[i % len(palette)]) for i, (n, m) in enumerate(metrics.items())]
    width = 0.8 / len(series)
    for k, (name, m, colour) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        ax_pc.bar(np.arange(12) + offset, m.pitch_class_distribution * 100, width,
                  label=name, color=colour)  # fmt: skip
        ax_len.bar(np.arange(1, LENGTH_BINS + 1) + offset, m.note_length_distribution * 100,
                   width, label=name, color=colour)  # fmt: skip
    ax_pc.set_xticks(range(12), INTERVAL_NAMES)
    ax_pc.set_xlabel("pitch class above the tonic")
    ax_pc.set_ylabel("% of notes")
    ax_pc.set_title("Pitch classes")
    ax_len.set_xticks(range(1, LENGTH_BINS + 1),
                      [str(i) for i in range(1, LENGTH_BINS)] + [f"{LENGTH_BINS}+"])  # fmt: skip
    ax_len.set_xlabel("note length (16ths)")
    ax_len.set_title("Note lengths")
    ax_len.legend(loc="upper right", fontsize="small")
    return fig


def _piano_roll_figure(score: Score, caption: str) -> Any:
    figure_class, _ = _matplotlib()
    width = min(30.0, max(8.0, score.steps / 16))
    fig = figure_class(figsize=(width, 4.5), layout="constrained")
    ax = fig.subplots()
    pitches = [n.pitch for n in score.notes()]
    low, high = (min(pitches) - 2, max(pitches) + 2) if pitches else (48, 72)
    for bar in range(1, score.bars + 1):
        x = score.bar_start(bar)
        if 0 < x < score.steps:
            ax.axvline(x, color="#bbbbbb", linewidth=0.8, zorder=0)
    for v in range(score.voices):
        colour = VOICE_COLOURS[v % len(VOICE_COLOURS)]
        for n in score.notes(v):
            ax.broken_barh([(n.start + 0.05, n.end - n.start - 0.1)], (n.pitch - 0.4, 0.8),
                           facecolors=colour, edgecolors="black", linewidth=0.3)  # fmt: skip
        ax.plot([], [], color=colour, linewidth=6, label=score.voice_names[v])
    if score.fermatas:
        ax.plot(score.fermatas, [high - 0.7] * len(score.fermatas), "kv", markersize=5,
                label="fermata")  # fmt: skip
    ax.set_xlim(0, max(score.steps, 1))
    ax.set_ylim(low, high)
    cs = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(cs, [f"{PITCH_NAMES[0]}{p // 12 - 1}" for p in cs])
    ticks = [
        score.bar_start(b) for b in range(1, score.bars + 1) if score.bar_start(b) < score.steps
    ]
    ax.set_xticks(ticks, [str(score.bar_of(t)) for t in ticks])
    ax.set_xlabel("bar")
    ax.set_ylabel("pitch")
    key = f", {score.key}" if score.key else ""
    ax.set_title(f"{caption}{key}, {score.time_signature[0]}/{score.time_signature[1]}")
    fig.legend(loc="outside right upper", fontsize="small")
    return fig
