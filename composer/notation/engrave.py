"""Score -> engraved notation (SVG) with verovio, and where each note and bar landed on it.

``engrave(score, width)`` writes the score as Composer's MusicXML (composer.notation.musicxml),
has verovio lay it out in systems ``width`` pixels wide, and returns an Engraving: the SVG (made
readable by SVG Tiny renderers such as Qt's QSvgRenderer: verovio's nested ``<svg>`` becomes a
scaled group), the SVG ids of the notes with their voice and steps (from verovio's timemap), and
of the bars with the staff of each voice. A view draws the SVG and finds a note's or a bar's
rectangle by its id.

Needs verovio (``pip install verovio``), imported when a score is engraved. The toolkit is not
thread-safe: one toolkit, made on first use, serves every thread under a lock.

Units: SVG user units (pixels at 100%); steps are 16ths.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from composer.errors import ExportError
from composer.notation.musicxml import musicxml_bytes
from composer.score import Score

SCALE = 34  # verovio's scale in percent: a staff space is about 7.5 pixels
_lock = threading.Lock()
_toolkit = None


@dataclass
class EngravedNote:
    """A note head on the page: its SVG id, voice, onset and end in steps (end exclusive)."""

    id: str
    voice: int
    start: int
    end: int


@dataclass
class EngravedBar:
    """A bar on the page: its SVG id, bar number (0 = a pickup), the staff id of each voice."""

    id: str
    number: int
    staves: list[str] = field(default_factory=list)


@dataclass
class Engraving:
    svg: str
    width: float
    height: float
    notes: list[EngravedNote] = field(default_factory=list)
    bars: list[EngravedBar] = field(default_factory=list)

    def sounding(self, step: float) -> list[EngravedNote]:
        """The notes sounding at ``step`` (16ths, fractional)."""
        return [n for n in self.notes if n.start <= step < n.end]


def available() -> bool:
    try:
        import verovio  # noqa: F401
    except ImportError:
        return False
    return True


def _tk():
    global _toolkit
    if _toolkit is None:
        try:
            import verovio
        except ImportError:
            raise ExportError(
                "the score view needs verovio, which is not installed: pip install verovio"
            ) from None
        verovio.enableLog(verovio.LOG_OFF)
        # verovio keeps its default resource path per thread (set where it was imported): give
        # it in this thread, and to the toolkit, so any worker thread can engrave
        data = str(Path(verovio.__file__).parent / "data")
        verovio.setDefaultResourcePath(data)
        tk = verovio.toolkit()
        tk.setResourcePath(data)
        _toolkit = tk
    return _toolkit


def engrave(score: Score, width: int = 900) -> Engraving:
    """Lay ``score`` out in systems ``width`` pixels wide (four staves)."""
    view = dataclasses.replace(score, meta={}, title="")  # no title block or credits in a view
    xml = musicxml_bytes(view).decode("utf-8")
    with _lock:
        tk = _tk()
        tk.setOptions({
            "pageWidth": max(400, int(width * 100 / SCALE)),
            "pageHeight": 60000,
            "adjustPageHeight": True,
            "scale": SCALE,
            "breaks": "auto",
            "header": "none",
            "footer": "none",
            "pageMarginTop": 40,
            "pageMarginBottom": 40,
            "pageMarginLeft": 30,
            "pageMarginRight": 30,
            "svgViewBox": True,
        })  # fmt: skip
        if not tk.loadData(xml):
            raise ExportError("verovio could not read the score")
        svg = tk.renderToSVG(1)
        timemap = tk.renderToTimemap({"includeRests": False})
    svg, w, h = _tiny(svg)
    out = Engraving(svg, w, h)
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for entry in timemap:
        step = round(float(entry.get("qstamp", 0)) * 4)
        for i in entry.get("on", []):
            starts.setdefault(i, step)
        for i in entry.get("off", []):
            ends[i] = step
    first_bar = 0 if score.pickup else 1
    voice = -1
    for m in re.finditer(r'<g id="([^"]+)" class="(measure|staff|note)\b', svg):
        ident, kind = m.groups()
        if kind == "measure":
            out.bars.append(EngravedBar(ident, first_bar + len(out.bars)))
            voice = -1
        elif kind == "staff" and out.bars:
            voice += 1
            out.bars[-1].staves.append(ident)
        elif kind == "note" and ident in starts and voice >= 0:
            end = ends.get(ident, starts[ident] + 1)
            out.notes.append(EngravedNote(ident, voice, starts[ident], end))
    return out


def _tiny(svg: str) -> tuple[str, float, float]:
    """verovio's SVG with its nested <svg class="definition-scale"> turned into a scaled group
    (SVG Tiny has no nested <svg>); returns the SVG and its view box width and height."""
    outer = re.search(r'<svg[^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if outer is None:
        return svg, 0.0, 0.0
    width, height = float(outer.group(1)), float(outer.group(2))
    inner = re.search(
        r'<svg class="definition-scale"[^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"[^>]*>', svg
    )
    if inner is None:
        return svg, width, height
    sx, sy = width / float(inner.group(1)), height / float(inner.group(2))
    group = f'<g class="definition-scale" transform="scale({sx:.6f},{sy:.6f})">'
    svg = svg[: inner.start()] + group + svg[inner.end() :]
    last = svg.rfind("</svg>")
    close = svg.rfind("</svg>", 0, last)
    if close >= 0:
        svg = svg[:close] + "</g>" + svg[close + len("</svg>") :]
    return svg, width, height
