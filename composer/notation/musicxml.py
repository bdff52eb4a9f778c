"""Score -> MusicXML 3.1 for notation programs (MuseScore, Finale, Dorico, Sibelius, verovio).

Written directly (no music21), so every detail a musician sees is Composer's:

- parts: four staves, Soprano, Alto, Tenor, Bass on treble, treble, treble-8 and bass clefs
  (``layout="open"``, the default), or a closed score as hymnals print it: S/A on a treble staff
  and T/B on a bass staff, two voices each, stems up for S and T (``layout="closed"``);
- pitches spelled from the key (composer.notation.spelling): accidentals only where the key
  signature and the bar do not already give them, the raised 6th and 7th in minor spelled as
  such, flats in flat keys;
- rhythm from the meter (composer.notation.rhythm): values tied across bar lines and beats, 8ths
  and 16ths beamed by beat (by dotted quarter in 6/8);
- a pickup as bar 0 (``<measure number="0" implicit="yes">``, shorter than a bar): the bar
  numbers are those of ``Score.bar_of``, the CLI's ``--bars`` and the app;
- fermatas on every voice, on the note (or rest) sounding at each fermata step; the one in the
  last bar on each voice's last note;
- the piece's title; a credit saying Composer composed (harmonized, continued, rewrote) it with
  which model; the generation settings in the encoding metadata (``<encoding-description>``
  and ``<miscellaneous-field>``s, which composer.notation.read reads back), not on the staff;
- the tempo as a metronome mark, each voice's General MIDI program for playback.

``write_musicxml(score, path)`` writes ``.musicxml``/``.xml`` (or a compressed ``.mxl``)
atomically; ``musicxml_bytes(score)`` gives the text.
"""

from __future__ import annotations

import datetime
import io
import os
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from composer import __version__
from composer.errors import ExportError
from composer.fileio import write_bytes_atomic
from composer.notation.rhythm import VALUES, Meter, beams, split
from composer.notation.spelling import ACCIDENTAL_NAMES, Spelled, accidentals, spell_line
from composer.score import HOLD, REST, Key, Score
from composer.theory.plan import estimate_key

LAYOUTS = ("open", "closed")
DIVISIONS = 4  # per quarter note: one division is a 16th step
SATB_CLEFS = ("treble", "treble", "treble8vb", "bass")
_CLEFS = {"treble": ("G", 2, 0), "treble8vb": ("G", 2, -1), "bass": ("F", 4, 0)}
CREDIT_VERBS = {
    "generate": "Composed",
    "harmonize": "Harmonized",
    "continue": "Continued",
    "regenerate": "Partly rewritten",
}
SETTINGS_FIELD = "composer:"  # prefix of the miscellaneous fields that hold Score.meta
_DOCTYPE = (
    '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 3.1 Partwise//EN" '
    '"http://www.musicxml.org/dtds/partwise.dtd">'
)


def write_musicxml(score: Score, path: str | os.PathLike, layout: str = "open") -> Path:
    """Write ``score`` as MusicXML, atomically: ``.mxl`` compressed, any other name as text."""
    path = Path(path)
    data = musicxml_bytes(score, layout)
    if path.suffix.lower() == ".mxl":
        data = _compressed(data, path.with_suffix(".musicxml").name)
    write_bytes_atomic(path, data)
    return path


def musicxml_bytes(score: Score, layout: str = "open") -> bytes:
    """The MusicXML text of ``score`` (UTF-8), laid out ``open`` (a staff per voice) or
    ``closed`` (two staves, two voices each; needs four voices)."""
    if layout not in LAYOUTS:
        raise ExportError(f"unknown score layout {layout!r}: choose open or closed")
    if layout == "closed" and score.voices != 4:
        raise ExportError(
            f"a closed score puts four voices on two staves; this piece has {score.voices}"
        )
    score.validate()
    root = _Writer(score, layout).build()
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + _DOCTYPE + "\n" + text
            + "\n").encode("utf-8")  # fmt: skip


def credit_line(score: Score) -> str:
    """'Harmonized by Composer (model bach-satb)' from the settings, or '' if Composer did not
    write the piece."""
    verb = CREDIT_VERBS.get(score.meta.get("mode", ""))
    if not verb:
        return ""
    model = score.meta.get("model")
    return f"{verb} by Composer" + (f" (model {model})" if model else "")


def _compressed(xml: bytes, inner: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.recordare.musicxml", zipfile.ZIP_STORED)
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles><rootfile '
            f'full-path="{inner}" media-type="application/vnd.recordare.musicxml+xml"/>'
            "</rootfiles></container>\n",
            zipfile.ZIP_DEFLATED,
        )
        z.writestr(inner, xml, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


class _Writer:
    """Builds the ``<score-partwise>`` tree of one Score."""

    def __init__(self, score: Score, layout: str) -> None:
        self.score = score
        self.layout = layout
        self.key: Key = score.key or estimate_key(score)
        self.meter = Meter(*score.time_signature)
        bar = self.meter.bar
        # measures as [start, end) steps: a pickup bar, then whole bars, the last maybe short
        edges = [0] + list(range(score.pickup or bar, score.steps, bar)) + [score.steps]
        edges = sorted(set(e for e in edges if 0 <= e <= score.steps))
        self.measures = list(zip(edges[:-1], edges[1:])) or [(0, 0)]
        self.first_number = 0 if score.pickup else 1
        # staves: (part index, clef, voices on it)
        if layout == "closed":
            self.parts = [("Soprano, Alto", "S. A.", "treble", (0, 1)),
                          ("Tenor, Bass", "T. B.", "bass", (2, 3))]  # fmt: skip
        else:
            self.parts = [
                (name, name[:1] + ".", self._clef(v), (v,))
                for v, name in enumerate(score.voice_names)
            ]
        self.pieces = [self._pieces(v) for v in range(score.voices)]
        self._place_fermatas()
        self._place_accidentals()

    # --- the music of each voice -----------------------------------------------------------
    def _pieces(self, v: int) -> list[dict]:
        """The notated elements of voice v in time order: dicts with start, end, pitch
        (None for a rest), spelled, tie_start, tie_stop, fermata, accidental."""
        score = self.score
        col = score.grid[:, v]
        spans: list[tuple[int, int, int]] = []
        t = 0
        while t < score.steps:
            cell = int(col[t])
            end = t + 1
            filler = HOLD if cell >= 0 else REST
            while end < score.steps and col[end] == filler:
                end += 1
            spans.append((t, end, cell if cell >= 0 else REST))
            t = end
        pitches = [p for _, _, p in spans if p >= 0]
        spelled = iter(spell_line(pitches, self.key))
        out: list[dict] = []
        for start, end, pitch in spans:
            sp: Spelled | None = next(spelled) if pitch >= 0 else None
            if pitch < 0:
                out += self._rest_pieces(start, end)
                continue
            parts = split(start, end, self.meter, origin=score.pickup)
            for i, (a, b) in enumerate(parts):
                out.append({"start": a, "end": b, "pitch": pitch, "spelled": sp,
                            "tie_start": i < len(parts) - 1, "tie_stop": i > 0,
                            "fermata": False, "accidental": None, "note_start": start})  # fmt: skip
        return out

    def _rest_pieces(self, start: int, end: int) -> list[dict]:
        out = []
        for m0, m1 in self.measures:
            a, b = max(start, m0), min(end, m1)
            if a >= b:
                continue
            if a == m0 and b == m1 and m1 - m0 == self.meter.bar:
                spans = [(a, b)]  # a whole-bar rest
                whole = True
            else:
                spans = split(a, b, self.meter, origin=self.score.pickup)
                whole = False
            for x, y in spans:
                out.append({"start": x, "end": y, "pitch": None, "spelled": None,
                            "tie_start": False, "tie_stop": False, "fermata": False,
                            "accidental": None, "whole_bar": whole})  # fmt: skip
        return out

    def _place_fermatas(self) -> None:
        """Each fermata on every voice: on the element sounding at its step (the piece of a
        tied note that covers it); a fermata in the last bar on each voice's last note."""
        last_bar_start = self.measures[-1][0]
        for f in self.score.fermatas:
            if not 0 <= f < self.score.steps:
                continue
            for pieces in self.pieces:
                if not pieces:
                    continue
                if f >= last_bar_start:
                    notes = [p for p in pieces if p["pitch"] is not None] or pieces
                    target = notes[-1]
                else:
                    target = next((p for p in pieces if p["start"] <= f < p["end"]), None)
                if target is not None:
                    target["fermata"] = True

    def _place_accidentals(self) -> None:
        for _, _, _, voices in self.parts:
            notes = []
            for v in voices:
                for p in self.pieces[v]:
                    if p["pitch"] is not None:
                        notes.append((self._measure_of(p["start"]), p["start"], v, p))
            notes.sort(key=lambda n: n[:3])
            acc = accidentals(
                [(m, p["spelled"], p["tie_stop"]) for m, _, _, p in notes], self.key.sharps
            )
            for (_, _, _, p), a in zip(notes, acc):
                p["accidental"] = a

    def _measure_of(self, step: int) -> int:
        for i, (a, b) in enumerate(self.measures):
            if a <= step < b:
                return i
        return len(self.measures) - 1

    def _clef(self, v: int) -> str:
        score = self.score
        if score.voices == 4:
            return SATB_CLEFS[v]
        pitches = score.grid[:, v][score.grid[:, v] >= 0]
        mean = float(pitches.mean()) if pitches.size else 60.0
        return "treble" if mean >= 60 else "treble8vb" if mean >= 52 else "bass"

    # --- the document ----------------------------------------------------------------------
    def build(self) -> ET.Element:
        score = self.score
        root = ET.Element("score-partwise", version="3.1")
        title = score.title or f"Chorale in {self.key}"
        work = _sub(root, "work")
        _sub(work, "work-title", title)
        ident = _sub(root, "identification")
        credit = credit_line(score)
        if credit:
            _sub(ident, "creator", "Composer", type="composer")
            _sub(ident, "creator", credit, type="arranger")
        enc = _sub(ident, "encoding")
        _sub(enc, "software", f"Composer {__version__}")
        _sub(enc, "encoding-date", datetime.date.today().isoformat())
        if score.meta:
            _sub(enc, "encoding-description",
                 "; ".join(f"{k} {v}" for k, v in score.meta.items()))  # fmt: skip
        _sub(enc, "supports", element="accidental", type="yes")
        _sub(enc, "supports", element="beam", type="yes")
        _sub(enc, "supports", element="stem", type="yes" if self.layout == "closed" else "no")
        if score.meta:
            misc = _sub(ident, "miscellaneous")
            for k, v in score.meta.items():
                _sub(misc, "miscellaneous-field", v, name=f"{SETTINGS_FIELD}{k}")
        defaults = _sub(root, "defaults")
        scaling = _sub(defaults, "scaling")
        _sub(scaling, "millimeters", "7")
        _sub(scaling, "tenths", "40")
        page = _sub(defaults, "page-layout")
        _sub(page, "page-height", "1697")
        _sub(page, "page-width", "1200")
        c = _sub(root, "credit", page="1")
        _sub(c, "credit-type", "title")
        _sub(c, "credit-words", title, default_x="600", default_y="1640", justify="center",
             valign="top", font_size="22")  # fmt: skip
        if credit:
            c = _sub(root, "credit", page="1")
            _sub(c, "credit-type", "arranger")
            _sub(c, "credit-words", credit, default_x="1143", default_y="1560", justify="right",
                 valign="top", font_size="11")  # fmt: skip
        self._part_list(root)
        for i, part in enumerate(self.parts):
            self._part(root, i, part)
        return root

    def _part_list(self, root: ET.Element) -> None:
        pl = _sub(root, "part-list")
        g = _sub(pl, "part-group", type="start", number="1")
        _sub(g, "group-symbol", "bracket")
        _sub(g, "group-barline", "no" if self.layout == "open" else "yes")
        for i, (name, abbr, _, voices) in enumerate(self.parts):
            pid = f"P{i + 1}"
            sp = _sub(pl, "score-part", id=pid)
            _sub(sp, "part-name", name)
            _sub(sp, "part-abbreviation", abbr)
            inst = _sub(sp, "score-instrument", id=f"{pid}-I1")
            _sub(inst, "instrument-name", name)
            mi = _sub(sp, "midi-instrument", id=f"{pid}-I1")
            channel = i + 1 if i < 9 else i + 2
            _sub(mi, "midi-channel", channel)
            _sub(mi, "midi-program", self.score.programs[voices[0]] + 1)
        _sub(pl, "part-group", type="stop", number="1")

    def _part(self, root: ET.Element, index: int, part: tuple) -> None:
        _, _, clef, voices = part
        el = _sub(root, "part", id=f"P{index + 1}")
        for m, (a, b) in enumerate(self.measures):
            number = self.first_number + m
            attrs = {"number": str(number)}
            if self.score.pickup and m == 0:
                attrs["implicit"] = "yes"
            measure = _sub(el, "measure", **attrs)
            if m == 0:
                self._attributes(measure, clef)
                if index == 0:
                    self._tempo(measure)
            for k, v in enumerate(voices):
                if k:
                    back = _sub(measure, "backup")
                    _sub(back, "duration", b - a)
                self._voice(measure, v, k + 1, a, b, len(voices) > 1)
            if m == len(self.measures) - 1:
                bl = _sub(measure, "barline", location="right")
                _sub(bl, "bar-style", "light-heavy")

    def _attributes(self, measure: ET.Element, clef: str) -> None:
        at = _sub(measure, "attributes")
        _sub(at, "divisions", DIVISIONS)
        key = _sub(at, "key")
        _sub(key, "fifths", self.key.sharps)
        _sub(key, "mode", self.key.mode)
        time = _sub(at, "time")
        _sub(time, "beats", self.meter.numerator)
        _sub(time, "beat-type", self.meter.denominator)
        sign, line, octave = _CLEFS[clef]
        c = _sub(at, "clef")
        _sub(c, "sign", sign)
        _sub(c, "line", line)
        if octave:
            _sub(c, "clef-octave-change", octave)

    def _tempo(self, measure: ET.Element) -> None:
        bpm = self.score.tempo
        d = _sub(measure, "direction", placement="above")
        dt = _sub(d, "direction-type")
        met = _sub(dt, "metronome", parentheses="no")
        if self.meter.compound and self.meter.denominator == 8:
            _sub(met, "beat-unit", "quarter")
            _sub(met, "beat-unit-dot")
            _sub(met, "per-minute", f"{bpm / 1.5:g}")
        else:
            _sub(met, "beat-unit", "quarter")
            _sub(met, "per-minute", f"{bpm:g}")
        _sub(d, "sound", tempo=f"{bpm:g}")

    def _voice(self, measure: ET.Element, v: int, number: int, a: int, b: int,
               shared: bool) -> None:  # fmt: skip
        pieces = [p for p in self.pieces[v] if a <= p["start"] < b]
        if not pieces:
            pieces = [{"start": a, "end": b, "pitch": None, "whole_bar": True, "fermata": False}]
        lead = self.meter.bar - (b - a) if (a == 0 and self.score.pickup) else 0
        groups = beams(
            [(p["start"] - a + lead, p["end"] - a + lead, p["pitch"] is not None)
             for p in pieces], self.meter,
        )  # fmt: skip
        up = number == 1
        for p, beam in zip(pieces, groups):
            n = _sub(measure, "note")
            length = p["end"] - p["start"]
            if p["pitch"] is None:
                if p.get("whole_bar"):
                    _sub(n, "rest", measure="yes")
                else:
                    _sub(n, "rest")
            else:
                sp: Spelled = p["spelled"]
                pitch = _sub(n, "pitch")
                _sub(pitch, "step", sp.letter)
                if sp.alter:
                    _sub(pitch, "alter", sp.alter)
                _sub(pitch, "octave", sp.octave)
            _sub(n, "duration", length)
            if p.get("tie_stop"):
                _sub(n, "tie", type="stop")
            if p.get("tie_start"):
                _sub(n, "tie", type="start")
            _sub(n, "voice", number)
            if not p.get("whole_bar"):
                kind, dots = VALUES[length]
                _sub(n, "type", kind)
                for _ in range(dots):
                    _sub(n, "dot")
            if p.get("accidental") is not None:
                _sub(n, "accidental", ACCIDENTAL_NAMES[p["accidental"]])
            if shared and p["pitch"] is not None:
                _sub(n, "stem", "up" if up else "down")
            for num, kind in beam:
                _sub(n, "beam", kind, number=str(num))
            ties = [t for t in ("stop", "start") if p.get(f"tie_{t}")]
            if ties or p.get("fermata"):
                nots = _sub(n, "notations")
                for t in ties:
                    _sub(nots, "tied", type=t)
                if p.get("fermata"):
                    _sub(nots, "fermata", type="upright" if up or not shared else "inverted")
