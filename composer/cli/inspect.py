"""``composer inspect FILE``: what Composer reads from a MIDI or MusicXML file: voices, length,
key, time signature, tempo, pickup, each voice's range, notes moved by quantization, and
warnings (tempo and meter changes, a guessed pickup, ...)."""

from __future__ import annotations

import argparse
import json

from composer.cli import options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="show what Composer reads from a MIDI or MusicXML file",
        description="Read a MIDI or MusicXML file as Composer does (16th-note grid, up to 4 "
        "voices) and show its voices, length, key, time signature, tempo, pickup, each voice's "
        "range, how many notes quantization moved, and any warnings. A file that cannot be read "
        "gives one error line and exit status 2.",
    )
    p.add_argument("file", type=options.NAME, metavar="FILE",
                   help="a MIDI (.mid) or MusicXML (.musicxml, .mxl) file")  # fmt: skip
    p.add_argument(
        "--part",
        type=options.PART,
        default=None,
        metavar="NAME|N",
        help="read only this part (a melody), by name or number",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def summary(score, report) -> dict:
    """The facts ``composer inspect`` shows, as plain JSON-ready values (steps are 16ths)."""
    from composer.score import pitch_name

    ranges, ranges_midi, notes = [], [], []
    for v in range(score.voices):
        pitches = [n.pitch for n in score.notes(v)]
        notes.append(len(pitches))
        if pitches:
            lo, hi = min(pitches), max(pitches)
            ranges.append(f"{pitch_name(lo, score.key)}-{pitch_name(hi, score.key)}")
            ranges_midi.append([lo, hi])
        else:
            ranges.append("")
            ranges_midi.append(None)
    return {
        "file": report.path,
        "kind": report.kind,
        "found": list(report.found),
        "voices": list(score.voice_names),
        "steps": score.steps,
        "bars": score.bars,
        "pickup": score.pickup,
        "key": str(score.key) if score.key else None,
        "time_signature": f"{score.time_signature[0]}/{score.time_signature[1]}",
        "tempo": score.tempo,
        "seconds": round(score.seconds, 2),
        "ranges": ranges,
        "ranges_midi": ranges_midi,
        "notes": notes,
        "programs": list(score.programs),
        "fermatas": list(score.fermatas),
        "title": score.title,
        "settings": dict(score.meta),
        "notes_moved": report.notes_moved,
        "notes_dropped": report.notes_dropped,
        "notes_shortened": report.notes_shortened,
        "drum_notes_ignored": report.drum_notes,
        "voice_sources": list(report.voice_sources),
        "midi_format": report.format,
        "ticks_per_quarter": report.ticks_per_quarter,
        "warnings": list(report.warnings),
    }


def run(args: argparse.Namespace) -> int:
    from composer.notation.read import read_score

    info = summary(*read_score(args.file, part=args.part))
    if args.json:
        print(json.dumps(info))
        return 0
    key = info["key"] or "no key signature"
    pickup = f", a pickup of {info['pickup']} steps (bar 0)" if info["pickup"] else ""
    given = {"key": "", "time_signature": "", "tempo": ""}
    for what in given:
        if what not in info["found"]:
            given[what] = " (not in the file)" if what != "key" or info["key"] else ""
    print(f"{info['file']}" + (f" ({info['title']})" if info["title"] else ""))
    print(f"  {len(info['voices'])} voices, {info['steps']} steps of a 16th = {info['bars']} bars"
          f"{pickup}, {info['seconds']:g} s")  # fmt: skip
    print(f"  key {key}{given['key']}, time {info['time_signature']}{given['time_signature']}, "
          f"tempo {info['tempo']:g} bpm{given['tempo']}")  # fmt: skip
    width = max(len(n) for n in info["voices"])
    for name, rng, n, src in zip(info["voices"], info["ranges"], info["notes"],
                                 info["voice_sources"], strict=True):  # fmt: skip
        print(f"  {name:<{width}}  {rng or '(silent)':<9}  {n:4d} notes  from {src}")
    if info["fermatas"]:
        print(f"  fermatas at steps {', '.join(map(str, info['fermatas']))}")
    line = f"  quantization moved {info['notes_moved']} notes"
    if info["notes_dropped"]:
        line += f"; {info['notes_dropped']} notes dropped"
    if info["notes_shortened"]:
        line += f"; {info['notes_shortened']} notes shortened to fit the voices"
    print(line)
    for w in info["warnings"]:
        print(f"  warning: {w}")
    return 0
