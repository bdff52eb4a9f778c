"""MusicXML test fixtures written out by hand, as notation programs write them.

``partwise(parts)`` builds a whole document from parts given as lists of measure bodies;
``note(...)``, ``rest(...)``, ``attributes(...)`` and ``metronome(...)`` write the elements.
Durations are in divisions of 4 per quarter (16th steps).
"""

from __future__ import annotations

from composer.score import Key, Note, Score

TYPES = {1: "16th", 2: "eighth", 3: "eighth", 4: "quarter", 6: "quarter", 8: "half",
         12: "half", 16: "whole"}  # fmt: skip


def note(step: str, octave: int, dur: int, alter: int = 0, fermata: bool = False,
         tie: str | None = None, voice: int = 1, chord: bool = False, staff: int | None = None,
         accidental: str | None = None) -> str:  # fmt: skip
    out = "<note>" + ("<chord/>" if chord else "")
    out += f"<pitch><step>{step}</step>" + (f"<alter>{alter}</alter>" if alter else "")
    out += f"<octave>{octave}</octave></pitch><duration>{dur}</duration>"
    if tie:
        out += f'<tie type="{tie}"/>'
    out += f"<voice>{voice}</voice><type>{TYPES.get(dur, 'quarter')}</type>"
    if dur in (3, 6, 12):
        out += "<dot/>"
    if accidental:
        out += f"<accidental>{accidental}</accidental>"
    if staff:
        out += f"<staff>{staff}</staff>"
    nots = ""
    if tie:
        nots += f'<tied type="{tie}"/>'
    if fermata:
        nots += '<fermata type="upright"/>'
    if nots:
        out += f"<notations>{nots}</notations>"
    return out + "</note>"


def rest(dur: int, voice: int = 1, measure: bool = False) -> str:
    kind = '<rest measure="yes"/>' if measure else "<rest/>"
    return f"<note>{kind}<duration>{dur}</duration><voice>{voice}</voice></note>"


def attributes(fifths: int | None = 0, mode: str | None = "major", time: str | None = "4/4",
               clef: str = "G2") -> str:  # fmt: skip
    out = "<attributes><divisions>4</divisions>"
    if fifths is not None:
        out += f"<key><fifths>{fifths}</fifths>" + (f"<mode>{mode}</mode>" if mode else "")
        out += "</key>"
    if time:
        beats, beat_type = time.split("/")
        out += f"<time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time>"
    out += f"<clef><sign>{clef[0]}</sign><line>{clef[1]}</line></clef></attributes>"
    return out


def metronome(bpm: float) -> str:
    return (
        '<direction placement="above"><direction-type><metronome><beat-unit>quarter'
        f"</beat-unit><per-minute>{bpm:g}</per-minute></metronome></direction-type>"
        f'<sound tempo="{bpm:g}"/></direction>'
    )


def partwise(parts: dict[str, list[str]], title: str = "", pickup: bool = False) -> bytes:
    """A score-partwise document: part name -> measure bodies (the first one is bar 0 when
    ``pickup``)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1">'
    if title:
        head += f"<work><work-title>{title}</work-title></work>"
    plist = "<part-list>" + "".join(
        f'<score-part id="P{i + 1}"><part-name>{name}</part-name></score-part>'
        for i, name in enumerate(parts)
    ) + "</part-list>"  # fmt: skip
    body = ""
    for i, measures in enumerate(parts.values()):
        body += f'<part id="P{i + 1}">'
        for k, m in enumerate(measures):
            number = k if pickup else k + 1
            implicit = ' implicit="yes"' if pickup and k == 0 else ""
            body += f'<measure number="{number}"{implicit}>{m}</measure>'
        body += "</part>"
    return (head + plist + body + "</score-partwise>\n").encode()


def chorale_fragment() -> Score:
    """D minor, 4/4, a quarter pickup, a soprano note tied over a bar line (steps 4-17), a
    fermata at step 28, a rest in the tenor, and 16th/dotted values."""
    notes = [
        Note(0, 0, 4, 74), Note(0, 4, 17, 72), Note(0, 17, 20, 70), Note(0, 20, 28, 73),
        Note(0, 28, 36, 74),
        Note(1, 0, 2, 65), Note(1, 2, 4, 64), Note(1, 4, 20, 65), Note(1, 20, 28, 64),
        Note(1, 28, 36, 65),
        Note(2, 0, 8, 57), Note(2, 12, 20, 58), Note(2, 20, 21, 57), Note(2, 21, 28, 55),
        Note(2, 28, 36, 57),
        Note(3, 0, 4, 50), Note(3, 4, 20, 46), Note(3, 20, 28, 45), Note(3, 28, 36, 38),
    ]  # fmt: skip
    return Score.from_notes(
        notes, 36, key=Key(2, "minor"), pickup=4, fermatas=(0, 28), tempo=80.0
    ).validate()
