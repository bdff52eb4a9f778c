"""What a MusicXML file shows a reader, counted from the file alone (no music21, no Composer
internals): parts, key, meter, pickup, fermatas, and accidentals written against accidentals
needed. It checks Composer's own files and what a notation program makes of them (MuseScore's
re-export), and gives the counts that say whether a score reads cleanly.

An accidental is *needed* on a note whose alteration differs from what its line or space has
at that point of the bar: the key signature, or an earlier note on the same letter and octave
in the bar, on the same staff. A tied continuation needs none. *Redundant* accidentals are
printed where none is needed, except cautionary ones (marked so, or on a line or space that had
an accidental in the previous bar); *missing* ones are needed but not printed.

    python -m composer.notation.check FILE.musicxml   # prints the counts as JSON
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from xml.etree import ElementTree as ET

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_ORDER = "FCGDAEB"
_ACC = {"sharp": 1, "flat": -1, "natural": 0, "double-sharp": 2, "sharp-sharp": 2,
        "flat-flat": -2, "natural-sharp": 1, "natural-flat": -1}  # fmt: skip


@dataclass
class NotationCheck:
    """The facts of one MusicXML file. fermatas: per part, the onsets (in quarter notes from
    the start) of the notes and rests that carry one. pickup: the first bar's length in quarter
    notes when it is shorter than the meter, else 0."""

    parts: list[str] = field(default_factory=list)
    fifths: int | None = None
    mode: str | None = None
    time: str | None = None
    pickup: float = 0.0
    first_measure_number: str = ""
    measures: int = 0
    notes: int = 0
    fermatas: list[list[float]] = field(default_factory=list)
    accidentals_written: int = 0
    accidentals_needed: int = 0
    redundant: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # staff text (<words>) anywhere
    title: str = ""
    creators: list[str] = field(default_factory=list)
    clefs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _xml(data: bytes) -> bytes:
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            m = re.search(rb'full-path="([^"]+)"', z.read("META-INF/container.xml"))
            return z.read(m.group(1).decode() if m else z.namelist()[-1])
    return data


def _sig(fifths: int) -> dict[str, int]:
    alters = dict.fromkeys("CDEFGAB", 0)
    for letter in _SHARP_ORDER[:fifths] if fifths > 0 else _SHARP_ORDER[::-1][:-fifths]:
        alters[letter] = 1 if fifths > 0 else -1
    return alters


def check_musicxml(data: bytes) -> NotationCheck:
    """Count what the MusicXML document ``data`` (text or .mxl bytes) shows."""
    root = ET.fromstring(_xml(data))
    out = NotationCheck()
    out.title = (root.findtext("work/work-title") or root.findtext("movement-title") or "").strip()
    out.creators = [c.text or "" for c in root.findall("identification/creator")]
    out.parts = [sp.findtext("part-name") or "" for sp in root.findall("part-list/score-part")]
    out.words = [w.text or "" for w in root.iter("words")]
    for p_index, part in enumerate(root.findall("part")):
        divisions = 1
        fifths = 0
        beats = None
        now = 0  # divisions from the start
        onsets: list[float] = []
        prev_bar_acc: set[tuple[int, str, int]] = set()
        measures = part.findall("measure")
        if p_index == 0:
            out.measures = len(measures)
            out.first_measure_number = measures[0].get("number", "") if measures else ""
        for m_index, measure in enumerate(measures):
            start = now
            pos = now
            longest = now
            state: dict[tuple[int, str, int], int] = {}  # (staff, letter, octave) -> alter
            this_bar_acc: set[tuple[int, str, int]] = set()
            last_chord_start = now
            for el in measure:
                if el.tag == "attributes":
                    divisions = int(el.findtext("divisions") or divisions)
                    if el.find("key/fifths") is not None:
                        fifths = int(el.findtext("key/fifths"))
                        if p_index == 0 and out.fifths is None:
                            out.fifths, out.mode = fifths, el.findtext("key/mode")
                    if el.find("time/beats") is not None:
                        beats = (el.findtext("time/beats"), el.findtext("time/beat-type"))
                        if p_index == 0 and out.time is None:
                            out.time = f"{beats[0]}/{beats[1]}"
                    for c in el.findall("clef"):
                        if m_index == 0:
                            oc = c.findtext("clef-octave-change")
                            out.clefs.append(
                                f"{c.findtext('sign')}{c.findtext('line')}"
                                + (f"{int(oc):+d}" if oc else "")
                            )
                elif el.tag == "backup":
                    pos -= int(el.findtext("duration") or 0)
                elif el.tag == "forward":
                    pos += int(el.findtext("duration") or 0)
                elif el.tag == "note":
                    if el.find("grace") is not None:
                        continue
                    dur = int(el.findtext("duration") or 0)
                    chord = el.find("chord") is not None
                    onset = last_chord_start if chord else pos
                    staff = int(el.findtext("staff") or 1)
                    nots = el.find("notations")
                    if nots is not None and nots.find("fermata") is not None and not chord:
                        onsets.append(onset / divisions)
                    pitch = el.find("pitch")
                    if pitch is not None:
                        out.notes += 1
                        letter = pitch.findtext("step")
                        alter = round(float(pitch.findtext("alter") or 0))
                        octave = int(pitch.findtext("octave"))
                        tied = any(t.get("type") == "stop" for t in el.findall("tie"))
                        acc = el.find("accidental")
                        where = (staff, letter, octave)
                        current = state.get(where, _sig(fifths)[letter])
                        needed = not tied and alter != current
                        label = f"part {p_index + 1} bar {measure.get('number')} {letter}"
                        label += f"{'#' * alter if alter > 0 else 'b' * -alter}{octave}"
                        if acc is not None:
                            out.accidentals_written += 1
                            cautionary = (
                                acc.get("cautionary") == "yes"
                                or acc.get("parentheses") == "yes"
                                or where in prev_bar_acc
                            )
                            if not needed and not cautionary:
                                out.redundant.append(label)
                        elif needed:
                            out.missing.append(label)
                        if needed:
                            out.accidentals_needed += 1
                        if not tied:
                            state[where] = alter
                            if alter != _sig(fifths)[letter] or acc is not None:
                                this_bar_acc.add(where)
                    if not chord:
                        last_chord_start = pos
                        pos += dur
                    longest = max(longest, pos)
            length = longest - start
            if m_index == 0 and p_index == 0 and beats and beats[0].isdigit():
                bar = int(beats[0]) * 4 * divisions / int(beats[1])
                if length < bar:
                    out.pickup = length / divisions
            now = start + length
            prev_bar_acc = this_bar_acc
        out.fermatas.append(onsets)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        with open(path, "rb") as f:
            print(json.dumps({"file": path, **check_musicxml(f.read()).to_dict()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
