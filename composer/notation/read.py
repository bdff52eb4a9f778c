"""Files in: MIDI or MusicXML (``.musicxml``, ``.xml``, compressed ``.mxl``) -> Score.

``read_score(path, part=None, melody=False)`` is what every command and the app call: MIDI goes
to composer.midi (no music21 is imported for it, so generation from MIDI stays light); MusicXML
is read through music21 (imported only then). ``part`` picks one part by name or 1-based
number (a melody to harmonize); ``melody=True`` reads one part, the top one unless ``part``
says otherwise. The title is the file's, else its name.

From MusicXML: every part (or the chosen one) with its voices (a staff with two voices, or
chords, splits into voices as a MIDI track does: composer.midi.voices), notes on the 16th grid
(ties merged, grace notes skipped, anything off the grid such as triplets moved to the nearest
16th and counted), the key (a signature without a mode is major or minor by the notes), the
meter, the pickup (a first bar shorter than the meter, or leading rests), the first tempo mark,
fermatas, part names and MIDI programs, and Composer's own settings (miscellaneous fields
written by composer.notation.musicxml). What a Score cannot keep is reported in the
ReadReport's warnings: tempo, meter and key changes, repeats (not expanded), notes moved.

Every file that cannot be read raises ComposerError with one line: what is wrong, what to do.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ComposerError, MidiFileError
from composer.midi.bars import mode_of
from composer.midi.report import ReadReport
from composer.notation.musicxml import SETTINGS_FIELD
from composer.score import CHOIR_AAHS, HOLD, REST, Key, Score, default_voice_names

MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi", ".smf")
MAX_MUSICXML_BYTES = 20 * 1024 * 1024  # a chorale is about 100 kB of MusicXML
MAX_STEPS = 20_000
FIX = "export it again as MusicXML (.musicxml or .mxl) or MIDI from the program that made it"


class MusicXMLError(MidiFileError):
    """A MusicXML file that cannot be read (a MidiFileError, so every reader's caller that
    handles bad input files handles it too)."""


def _error(name: str, problem: str, fix: str = FIX) -> MusicXMLError:
    return MusicXMLError(f"cannot read {name}: {problem}; {fix}")


def is_musicxml(path: str | os.PathLike, head: bytes | None = None) -> bool:
    """Whether a file is MusicXML: by its suffix, or by its first bytes (zip or an XML score)."""
    if Path(path).suffix.lower() in MUSICXML_SUFFIXES:
        return True
    if head is None:
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError:
            return False
    return (
        head.startswith(b"PK\x03\x04") or b"<score-partwise" in head or (b"<score-timewise" in head)
    )


def read_score(
    path: str | os.PathLike, part: str | None = None, melody: bool = False
) -> tuple[Score, ReadReport]:
    """Read a MIDI or MusicXML file into a Score and say what reading changed (ReadReport).

    part: a part's (track's) name or 1-based number: that part alone, as a one-voice melody
    (its top line). melody: read one part (``part``, else the top one) as a melody.
    """
    name = str(path)
    if is_musicxml(path):
        score, report = read_musicxml(path, part=part, melody=melody)
    else:
        from composer.midi.io import read_midi_report

        score, report = read_midi_report(path)
        if part is not None:
            score = _choose_voice(score, part, name)
        elif melody and score.voices > 1:
            score = _voice(score, 0)
    if not score.title:
        score.title = Path(name).stem
    return score, report


def _voice(score: Score, v: int) -> Score:
    import dataclasses

    grid = score.grid[:, v : v + 1].copy()
    return dataclasses.replace(score, grid=grid, voice_names=(score.voice_names[v],),
                               programs=(score.programs[v],), meta=dict(score.meta))  # fmt: skip


def _choose_voice(score: Score, part: str, name: str) -> Score:
    """The voice named ``part`` (case-insensitive) or numbered (1-based) in a MIDI file."""
    names = [n.lower() for n in score.voice_names]
    if part.strip().isdigit():
        v = int(part) - 1
        if not 0 <= v < score.voices:
            raise MidiFileError(
                f"{name} has {score.voices} voice(s): choose --part 1-{score.voices} or a name "
                f"({', '.join(score.voice_names)})"
            )
        return _voice(score, v)
    if part.strip().lower() in names:
        return _voice(score, names.index(part.strip().lower()))
    raise MidiFileError(
        f"{name} has no part named {part!r}: its voices are {', '.join(score.voice_names)} "
        f"(or give a number, 1-{score.voices})"
    )


# --- MusicXML ----------------------------------------------------------------------------
def _music21() -> Any:
    try:
        import music21
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("music21"):
            raise
        raise ComposerError(
            "reading MusicXML needs music21, which is not installed: `pip install music21`"
        ) from None
    return music21


def _xml_text(data: bytes, name: str) -> bytes:
    """The score document inside a file: the XML itself, or the root file of an .mxl zip."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                inner = None
                if "META-INF/container.xml" in z.namelist():
                    m = re.search(rb'full-path="([^"]+)"', z.read("META-INF/container.xml"))
                    inner = m.group(1).decode("utf-8") if m else None
                if inner is None:
                    cands = [n for n in z.namelist() if n.lower().endswith((".xml", ".musicxml"))
                             and not n.startswith("META-INF")]  # fmt: skip
                    if not cands:
                        raise _error(name, "it is a zip archive with no MusicXML score inside")
                    inner = cands[0]
                info = z.getinfo(inner)
                if info.file_size > MAX_MUSICXML_BYTES:
                    raise _error(name, f"its score is {info.file_size / 1e6:.0f} MB unpacked")
                return z.read(inner)
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError) as e:
            raise _error(name, f"it is a damaged .mxl (zip) file ({e})") from None
    return data


def read_musicxml(
    path: str | os.PathLike, part: str | None = None, melody: bool = False, max_voices: int = 4
) -> tuple[Score, ReadReport]:
    """Read a MusicXML file (see the module docstring). Raises MusicXMLError."""
    name = str(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise _error(name, "no such file", "check the path") from None
    except OSError as e:
        raise _error(name, e.strerror or str(e), "check the path") from None
    if not os.path.isfile(path):
        raise _error(name, "it is not a regular file", "give the path of a .musicxml file")
    if size > MAX_MUSICXML_BYTES:
        raise _error(name, f"it is {size / 1e6:.0f} MB; a chorale is about 100 kB",
                     "split the piece or remove parts you do not need")  # fmt: skip
    with open(path, "rb") as f:
        data = f.read()
    return read_musicxml_data(data, name, part=part, melody=melody, max_voices=max_voices)


def read_musicxml_data(
    data: bytes, name: str, part: str | None = None, melody: bool = False, max_voices: int = 4
) -> tuple[Score, ReadReport]:
    """``read_musicxml`` for a file's bytes; ``name`` is used in messages."""
    if not data.strip():
        raise _error(name, "the file is empty")
    xml = _xml_text(data, name)
    head = xml[:4096]
    if b"<score-partwise" not in head and b"<score-timewise" not in head:
        if b"<" in head[:200]:
            raise _error(name, "it is XML but not a MusicXML score (no <score-partwise>)")
        raise _error(name, "it is not a MusicXML file")
    m21 = _music21()
    try:
        parsed = m21.converter.parseData(xml, format="musicxml", forceSource=True)
    except Exception as e:  # noqa: BLE001 - music21 raises many types; each means a bad file
        detail = str(e).split("\n")[0][:160] or type(e).__name__
        raise _error(name, f"music21 could not parse it ({detail})") from None
    parts = list(getattr(parsed, "parts", []))
    if not parts:
        raise _error(name, "it has no parts", "give a score with at least one part")
    try:
        if any(getattr(p, "atSoundingPitch", True) is False for p in parts):
            parsed = parsed.toSoundingPitch()
            parts = list(parsed.parts)
    except Exception:  # noqa: BLE001 - transposition is a nicety; written pitch then
        pass
    report = ReadReport(path=name, kind="musicxml", format=0, tracks=len(parts))
    names = [p.partName or f"Part {i + 1}" for i, p in enumerate(parts)]
    if part is not None:
        chosen = [_find_part(part, parts, names, name)]
        melody = True
    elif melody:
        chosen = [0]
    else:
        chosen = list(range(len(parts)))
    return _XmlReader(m21, parsed, parts, names, chosen, melody, name, report,
                      max_voices).score(), report  # fmt: skip


def _find_part(part: str, parts: list, names: list[str], name: str) -> int:
    text = part.strip()
    listing = ", ".join(f"{i + 1} {n!r}" for i, n in enumerate(names))
    if text.isdigit():
        i = int(text) - 1
        if 0 <= i < len(parts):
            return i
        raise MusicXMLError(f"{name} has {len(parts)} part(s): choose --part among {listing}")
    for i, (p, n) in enumerate(zip(parts, names)):
        if text.lower() in (n.lower(), (p.partAbbreviation or "").lower(), str(p.id).lower()):
            return i
    raise MusicXMLError(f"{name} has no part named {part!r}: its parts are {listing}")


class _XmlReader:
    """One parsed MusicXML score -> a Score (the steps are described in the module doc)."""

    def __init__(self, m21, parsed, parts, names, chosen, melody, name, report, max_voices):
        self.m21, self.parsed, self.parts, self.names = m21, parsed, parts, names
        self.chosen, self.melody, self.name, self.report = chosen, melody, name, report
        self.max_voices = 1 if melody else max_voices

    def score(self) -> Score:
        from composer.midi.voices import allocate, polyphony, split_part

        report = self.report
        meter, origin = self._meter()
        per_bar = meter[0] * 16 // meter[1]
        lines: list[tuple[int, list]] = []  # (index into chosen, notes of one written voice)
        fermatas: list[set[int]] = []
        for k, i in enumerate(self.chosen):
            part_lines, ferm = self._lines(self.parts[i])
            if self.melody:
                pooled = sorted((n for ln in part_lines for n in ln),
                                key=lambda n: (n.start, -n.pitch))  # fmt: skip
                part_lines = [_top_line(pooled, report)]
            lines.extend((k, ln) for ln in part_lines)
            fermatas.append(ferm)
        if not any(ln for _, ln in lines):
            raise _error(self.name, "it has no notes" if len(self.chosen) > 1 else
                         f"part {self.names[self.chosen[0]]!r} has no notes",
                         "give a score with a melody or a chorale in it")  # fmt: skip
        if len(lines) > self.max_voices:
            order = sorted(range(len(lines)), key=lambda j: -len(lines[j][1]))
            kept = sorted(order[: self.max_voices])
            dropped = [j for j in range(len(lines)) if j not in kept]
            report.warnings.append(
                f"the score has {len(lines)} voices in its parts but Composer reads "
                f"{self.max_voices}: kept those with most notes, in "
                + ", ".join(sorted({repr(self.names[self.chosen[lines[j][0]]]) for j in kept}))
            )
            report.notes_dropped += sum(len(lines[j][1]) for j in dropped)
            lines = [lines[j] for j in kept]
        sounding = [n for _, ln in lines for n in ln]
        first = min(n.start for n in sounding)
        last = max(n.end for n in sounding)
        end = max(last, self._end_step())
        if end - last >= per_bar:  # whole bars of silence at the end
            end = last
        if end - first > MAX_STEPS:
            raise _error(self.name, f"it lasts {end - first:,} 16th steps; Composer reads pieces "
                         f"up to {MAX_STEPS:,}", "split the piece")  # fmt: skip
        alloc = allocate([polyphony(ln) for _, ln in lines], self.max_voices)
        voices: list[list] = []
        vnames: list[str | None] = []
        programs: list[int] = []
        per_part = {k: sum(1 for kk, _ in lines if kk == k) for k, _ in lines}
        for (k, notes), n in zip(lines, alloc):
            split = split_part(notes, n, report) if n > 1 or not _is_line(notes) else [notes]
            n = len(split)
            voices.extend(split)
            part_name = self.names[self.chosen[k]]
            label = f"part {self.chosen[k] + 1} {part_name!r}"
            report.voice_sources.extend(
                [label] if n == 1 else [f"{label} voice {j + 1} of {n}" for j in range(n)]
            )
            alone = per_part[k] == 1 and n == 1
            vnames.extend([part_name if alone else None] * n)
            programs.extend([self._program(self.parts[self.chosen[k]])] * n)
        steps = end - first
        grid = np.full((steps, len(voices)), REST, dtype=np.int16)
        for v, notes in enumerate(voices):
            for nt in notes:
                grid[nt.start - first, v] = nt.pitch
                grid[nt.start - first + 1 : nt.end - first, v] = HOLD
        report.notes = sum(len(vn) for vn in voices)
        defaults = default_voice_names(len(voices))
        voice_names = tuple(n or d for n, d in zip(vnames, defaults))
        top = next((f for f in fermatas if f), set())
        ferm = sorted(t - first for t in top if first <= t < end)
        pickup = (origin - first) % per_bar
        key = self._key(voices)
        tempo = self._tempo(report)
        self._report_changes(origin, per_bar, first, pickup)
        return Score(
            grid,
            tempo=tempo,
            time_signature=meter,
            key=key,
            pickup=pickup,
            fermatas=tuple(ferm),
            voice_names=voice_names,
            programs=tuple(programs),
            title=self._title(),
            meta=self._settings(),
        ).validate()

    # --- the parts' notes ----------------------------------------------------------------
    def _lines(self, part) -> tuple[list[list], set[int]]:
        """The notes of each written voice of a part (ties merged; sorted by start, chords
        high to low), and the steps where a fermata note or rest starts; steps from the
        score's start."""
        from composer.midi.voices import QNote

        by_voice: dict[str, list[QNote]] = {}
        open_ties: dict[tuple[str, int], int] = {}  # (voice, pitch) -> index of the tied note
        ferm: set[int] = set()
        graces = 0
        measures = list(part.getElementsByClass("Measure"))
        containers = []
        for m in measures or [part]:
            base = Fraction(m.offset) if measures else Fraction(0)
            if m.voices:
                for voice in m.voices:
                    containers.append((str(voice.id), base + Fraction(voice.offset), voice))
            direct = [el for el in m.notesAndRests]
            if direct or not m.voices:
                containers.append(("1", base, direct if measures else m.flatten().notesAndRests))
        for vid, base, elements in containers:
            line = by_voice.setdefault(vid, [])
            for el in getattr(elements, "notesAndRests", elements):
                if el.duration.isGrace:
                    graces += 1
                    continue
                off = (base + Fraction(el.offset)) * 4
                length = Fraction(el.duration.quarterLength) * 4
                start, stop = round(off), round(off + length)
                has_fermata = any(type(e).__name__ == "Fermata" for e in el.expressions)
                if has_fermata:
                    ferm.add(start)
                if el.isRest:
                    continue
                notes = list(el.notes) if el.isChord else [el]
                if off.denominator != 1 or (off + length).denominator != 1:
                    self.report.notes_moved += len(notes)
                for n in notes:
                    if not hasattr(n, "pitch") or not 0 <= n.pitch.midi <= 127:
                        continue
                    p = int(n.pitch.midi)
                    tie = n.tie or (el.tie if el.isChord else None)
                    kind = tie.type if tie is not None else None
                    j = open_ties.get((vid, p))
                    if kind in ("stop", "continue") and j is not None and line[j].end == start:
                        line[j] = QNote(line[j].start, max(stop, line[j].start + 1), p)
                    else:
                        line.append(QNote(start, max(stop, start + 1), p, short=stop <= start))
                        j = len(line) - 1
                    if kind in ("start", "continue"):
                        open_ties[(vid, p)] = j
                    else:
                        open_ties.pop((vid, p), None)
        if graces:
            self.report.warnings.append(f"skipped {graces} grace note(s)")
        lines = []
        for vid in sorted(
            by_voice, key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v)
        ):
            lines.append(sorted(by_voice[vid], key=lambda n: (n.start, -n.pitch)))
        return [ln for ln in lines if ln] or lines[:1], ferm

    def _end_step(self) -> int:
        p = self.parts[self.chosen[0]]
        return round(Fraction(p.highestTime) * 4)

    def _program(self, part) -> int:
        try:
            inst = part.getInstrument(returnDefault=False)
            prog = getattr(inst, "midiProgram", None)
        except Exception:  # noqa: BLE001
            prog = None
        return int(prog) if prog is not None and 0 <= prog <= 127 else CHOIR_AAHS

    # --- bars, key, tempo ----------------------------------------------------------------
    def _meter(self) -> tuple[tuple[int, int], int]:
        """The meter and the step of a bar line (the first full bar's start)."""
        part = self.parts[self.chosen[0]]
        measures = list(part.getElementsByClass("Measure"))
        sigs = list(part.recurse().getElementsByClass("TimeSignature"))
        if not sigs:
            return (4, 4), 0
        ts = sigs[0]
        meter = (int(ts.numerator), int(ts.denominator))
        origin = 0
        if len(measures) >= 2:
            m0, m1 = measures[0], measures[1]
            bar = Fraction(ts.barDuration.quarterLength)
            length0 = Fraction(m0.duration.quarterLength)
            if m1.timeSignature is not None and len(sigs) >= 2:
                ts1 = m1.timeSignature
                if Fraction(ts1.barDuration.quarterLength) > bar == Fraction(m1.offset):
                    meter = (int(ts1.numerator), int(ts1.denominator))  # a bar of 1/4 then 4/4
                    bar = Fraction(ts1.barDuration.quarterLength)
            if Fraction(m1.offset) < bar and length0 < bar:
                origin = round(Fraction(m1.offset) * 4)  # a pickup bar
        elif measures:  # a piece that is only a pickup bar
            m0 = measures[0]
            length0 = Fraction(m0.duration.quarterLength)
            if length0 < Fraction(ts.barDuration.quarterLength) and m0.number == 0:
                origin = round(length0 * 4)
        if (meter[0] * 16) % meter[1] or meter[0] < 1:
            self.report.warnings.append(
                f"time signature {meter[0]}/{meter[1]} does not fit the 16th grid; read as 4/4"
            )
            return (4, 4), origin
        self.report.found.append("time_signature")
        self._meters = [(round(Fraction(t.getOffsetInHierarchy(part)) * 4),
                         (int(t.numerator), int(t.denominator))) for t in sigs]  # fmt: skip
        self._meter_kept = meter
        return meter, origin

    def _report_changes(self, origin: int, per_bar: int, first: int, pickup: int) -> None:
        def bar_of(step: int) -> int:
            return 0 if step < origin else (step - origin) // per_bar + 1

        seen = getattr(self, "_meters", [])
        kept = getattr(self, "_meter_kept", None)
        changes = [(s, m) for s, m in seen if s >= origin and m != kept and s > 0]
        if changes:
            (s, m), more = changes[0], len(changes) - 1
            self.report.warnings.append(
                f"the time signature changes to {m[0]}/{m[1]} at bar {bar_of(s)}"
                + (f" (and {more} more)" if more else "")
                + f"; Composer reads one meter: kept {kept[0]}/{kept[1]} and counted every bar "
                "in it"
            )
        change = getattr(self, "_tempo_change", None)
        if change:
            s, a, b, more = change
            self.report.warnings.append(
                f"the tempo changes: it {'slows' if b < a else 'speeds up'} from {a:g} to "
                f"{b:g} bpm at bar {bar_of(s)}"
                + (f" and changes {more} more time{'s' if more > 1 else ''}" if more else "")
                + f"; Composer keeps one tempo: kept {a:g} bpm for the whole piece"
            )
        part = self.parts[self.chosen[0]]
        if any(getattr(b, "direction", None) in ("start", "end") for b in
               part.recurse().getElementsByClass("Repeat")):  # fmt: skip
            self.report.warnings.append(
                "the score has repeat signs; Composer reads the music once, as written"
            )

    def _key(self, voices: Sequence[Sequence]) -> Key | None:
        part = self.parts[self.chosen[0]]
        sigs = list(part.recurse().getElementsByClass("KeySignature"))
        if not sigs:
            return None
        self.report.found.append("key")
        ks = sigs[0]
        if len({int(k.sharps) for k in sigs}) > 1:
            self.report.warnings.append("the key signature changes; kept the first one")
        sharps = max(-7, min(7, int(ks.sharps)))
        mode = getattr(ks, "mode", None)
        if mode not in ("major", "minor"):
            mode = mode_of(sharps, [(n.start, n.end, n.pitch) for vn in voices for n in vn])
        return Key.from_sharps(sharps, mode)

    def _tempo(self, report: ReadReport) -> float:
        marks = []
        for mm in self.parsed.flatten().getElementsByClass("MetronomeMark"):
            try:
                bpm = mm.getQuarterBPM()
            except Exception:  # noqa: BLE001
                bpm = None
            if bpm:
                marks.append((round(Fraction(mm.offset) * 4), float(bpm)))
        if not marks:
            return 90.0
        report.found.append("tempo")
        marks.sort()
        tempo = round(marks[0][1], 2)
        other = [(s, b) for s, b in marks[1:] if round(b, 2) != tempo]
        self._tempo_change = (other[0][0], tempo, other[0][1], len(other) - 1) if other else None
        return tempo

    def _title(self) -> str:
        md = self.parsed.metadata
        for attr in ("title", "movementName"):
            try:
                t = getattr(md, attr, None)
            except Exception:  # noqa: BLE001
                t = None
            t = str(t).strip() if t else ""
            if t and not t.lower().endswith((".musicxml", ".xml", ".mxl")) and t.lower() not in (
                "untitled", "untitled score", "title", "composer",
            ):  # fmt: skip
                return t
        return ""

    def _settings(self) -> dict[str, str]:
        md = self.parsed.metadata
        out: dict[str, str] = {}
        try:
            items = md.all()
        except Exception:  # noqa: BLE001
            return out
        for k, v in items:
            if str(k).startswith(SETTINGS_FIELD):
                out[str(k)[len(SETTINGS_FIELD) :]] = str(v)
        return out


def _is_line(notes: Sequence) -> bool:
    return all(a.end <= b.start for a, b in zip(notes, notes[1:]))


def _top_line(notes: list, report: ReadReport) -> list:
    """A melody from a part that may play chords: the top note of each onset, each cut where
    the next starts."""
    from composer.midi.voices import QNote

    by_start: dict[int, QNote] = {}
    for n in notes:
        if n.start not in by_start or n.pitch > by_start[n.start].pitch:
            by_start[n.start] = n
    line = [by_start[s] for s in sorted(by_start)]
    dropped = len(notes) - len(line)
    if dropped:
        report.notes_dropped += dropped
        report.warnings.append(f"the part plays chords: kept its top line ({dropped} notes left)")
    out = []
    for a, b in zip(line, line[1:] + [None]):
        end = a.end if b is None else min(a.end, b.start)
        out.append(QNote(a.start, max(end, a.start + 1), a.pitch))
    return out
