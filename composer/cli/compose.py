"""``composer generate | continue | harmonize | regenerate``: compose with a model bundle.

Each writes MIDI (and optionally WAV and MusicXML) and prints what it wrote. With
``--variations K`` (K > 1) the files are numbered: ``out-1.mid`` ... ``out-K.mid``. The files
they read may be MIDI or MusicXML (composer.notation.read); what reading could not keep (a tempo
or meter change, a guessed pickup, notes moved) is printed as warnings on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from composer.errors import GenerationError
from composer.score import ENSEMBLES

VOICES = {"soprano": 0, "alto": 1, "tenor": 2, "bass": 3, "s": 0, "a": 1, "t": 2, "b": 3}


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    g = sub.add_parser(
        "generate",
        help="compose a new chorale",
        formatter_class=fmt,
        description="Compose a new four-part chorale. Example: composer generate "
        "--bars 16 --key 'D minor' --tempo 80 --seed 3 --out d.mid",
    )
    g.add_argument("--bars", type=int, default=16, help="length in bars")
    g.add_argument("--key", default="C major", help="e.g. 'D minor', 'Bb major'")
    g.add_argument("--time-signature", default="4/4", help="4/4 or 3/4 (others may work)")
    g.add_argument("--tempo", type=float, default=80.0, help="quarter notes per minute")
    g.add_argument(
        "--pickup",
        type=int,
        default=None,
        help="16th steps before the first bar line (default: a quarter in 4/4)",
    )
    _common(g, "out/chorale.mid")
    _particles(g)
    g.set_defaults(func=run_generate)

    c = sub.add_parser(
        "continue",
        help="continue a piece from a primer MIDI file",
        formatter_class=fmt,
        description="Keep PRIMER exactly and add new bars.",
    )
    c.add_argument("primer", type=Path, help="a four-voice MIDI or MusicXML file")
    c.add_argument("--bars", type=int, default=8, help="bars to add")
    _common(c, "out/continued.mid")
    _particles(c)
    c.set_defaults(func=run_continue)

    h = sub.add_parser(
        "harmonize",
        help="write alto, tenor and bass under a melody",
        formatter_class=fmt,
        description="Harmonize a melody (the top voice of "
        "MELODY, or --part) as a four-part chorale; the melody is kept exactly.",
    )
    h.add_argument("melody", type=Path, help="a MIDI or MusicXML (.musicxml, .xml, .mxl) file")
    h.add_argument(
        "--part",
        default=None,
        metavar="NAME|N",
        help="the part (track) that is the melody, by name or number (default: the top one)",
    )
    h.add_argument("--key", default=None, help="default: the file's key, or estimated")
    _common(h, "out/harmonized.mid", melody=True)
    _particles(h)
    h.set_defaults(func=run_harmonize)

    r = sub.add_parser(
        "regenerate",
        help="write some bars of some voices anew",
        formatter_class=fmt,
        description="Rewrite bars X-Y of the chosen "
        "voices; everything else is kept. Example: composer regenerate d.mid "
        "--bars 5-6 --voices alto,tenor --out d2.mid",
    )
    r.add_argument("piece", type=Path, help="a four-voice MIDI or MusicXML file")
    r.add_argument(
        "--bars",
        required=True,
        help="X-Y or X, inclusive, numbered as the score prints them: 1 is the first full "
        "bar, 0 a pickup",
    )
    r.add_argument(
        "--voices", default="alto,tenor,bass", help="comma-separated: soprano, alto, tenor, bass"
    )
    _common(r, "out/regenerated.mid")
    _particles(r)
    r.set_defaults(func=run_regenerate)


def _common(p: argparse.ArgumentParser, default_out: str, melody: bool = False) -> None:
    p.add_argument("--out", type=Path, default=Path(default_out), help="MIDI file to write")
    p.add_argument("--wav", type=Path, default=None, help="also render audio to this WAV file")
    p.add_argument("--musicxml", type=Path, default=None, help="also write MusicXML here")
    p.add_argument(
        "--layout",
        choices=("open", "closed"),
        default="open",
        help="MusicXML: open (a staff per voice) or closed (S/A and T/B on two staves)",
    )
    p.add_argument(
        "--instrument",
        default="choir",
        help="the ensemble that plays it (MIDI programs, WAV, MusicXML): "
        + ", ".join(ENSEMBLES)
        + (", melody (every voice on the melody's instrument)" if melody else "")
        + ", or a General MIDI program 0-127",
    )
    p.add_argument("--model", default=None, help="model bundle (default: models/bach-satb)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same notes (default: random)")
    p.add_argument("--temperature", type=float, default=0.9, help="lower: safer; higher: bolder")
    p.add_argument(
        "--voice-temperature", default=None, help="per-voice factors S,A,T,B, e.g. 1,0.8,0.8,1"
    )
    p.add_argument("--top-k", type=int, default=0, help="keep the k likeliest tokens (0: all)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (1: all)")
    p.add_argument("--variations", type=int, default=1, help="pieces to sample together")
    p.add_argument(
        "--voice-leading",
        choices=("bach", "strict", "free"),
        default="bach",
        help="bach: no parallel fifths or octaves, no voice crossing; strict: also soprano-alto "
        "and alto-tenor within an octave; free: the model alone",
    )
    p.add_argument("--in-key", action="store_true", help="only notes of the key's scale")


def _particles(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--particles",
        type=int,
        default=32,
        help="candidates written together; beat by beat those that fit the fixed notes still "
        "to come are kept (the lookahead over the whole melody), and one that ends on the "
        "tonic chord is chosen. 0: one pass with the backward LSTM's lookahead",
    )
    p.add_argument(
        "--free-ending",
        action="store_true",
        help="do not insist on ending on the key's tonic chord (a Picardy third allowed)",
    )


def settings_from(args: argparse.Namespace):
    from composer.runtime.settings import SamplingSettings

    voice_t = None
    if args.voice_temperature:
        try:
            voice_t = tuple(float(x) for x in args.voice_temperature.split(","))
        except ValueError:
            voice_t = ()
        if len(voice_t) != 4:
            raise GenerationError("--voice-temperature takes four numbers: S,A,T,B")
    if not 0 < args.top_p <= 1:
        raise GenerationError("--top-p must be in (0, 1]")
    if args.temperature < 0:
        raise GenerationError("--temperature must be 0 or more")
    return SamplingSettings.voice_leading(
        args.voice_leading,
        temperature=args.temperature,
        voice_temperature=voice_t,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        in_key=args.in_key,
        particles=getattr(args, "particles", 0),
        tonic_ending=not getattr(args, "free_ending", False),
    )


def parse_time_signature(text: str) -> tuple[int, int]:
    try:
        num, den = (int(x) for x in text.split("/"))
    except ValueError:
        raise GenerationError(f"cannot read time signature {text!r}; write e.g. 4/4") from None
    return num, den


def parse_bars(text: str) -> tuple[int, int]:
    try:
        parts = [int(x) for x in text.split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise GenerationError(f"--bars {text!r}: write X-Y with X <= Y, e.g. 5-6")
    return parts[0], parts[1]


def parse_voices(text: str) -> list[int]:
    out = []
    for name in text.lower().replace(" ", "").split(","):
        if name not in VOICES:
            raise GenerationError(f"unknown voice {name!r}: use soprano, alto, tenor, bass")
        out.append(VOICES[name])
    return sorted(set(out))


def programs_for(text: str, melody_program: int | None = None) -> tuple[int, ...]:
    """--instrument -> a General MIDI program (0-based) per voice S, A, T, B."""
    name = text.strip().lower()
    if name in ENSEMBLES:
        return ENSEMBLES[name]
    if name == "melody" and melody_program is not None:
        return (melody_program,) * 4
    if name.isdigit() and 0 <= int(name) <= 127:
        return (int(name),) * 4
    choices = ", ".join(ENSEMBLES) + (", melody" if melody_program is not None else "")
    raise GenerationError(
        f"--instrument {text!r}: choose one of {choices}, or a General MIDI program 0-127"
    )


def read_input(path: Path, part: str | None = None, melody: bool = False):
    """Read a MIDI or MusicXML file; print what reading could not keep, on stderr."""
    from composer.notation.read import read_score

    score, report = read_score(path, part=part, melody=melody)
    for w in report.warnings:
        print(f"warning: {path}: {w}", file=sys.stderr)
    return score


def write_outputs(
    scores: list, args: argparse.Namespace, started: float, melody_program: int | None = None
) -> None:
    import dataclasses

    from composer.export import export_score

    programs = programs_for(getattr(args, "instrument", "choir"), melody_program)
    scores = [dataclasses.replace(s, programs=programs, meta=dict(s.meta)) for s in scores]
    paths = []

    def numbered(p: Path | None, k: int) -> Path | None:
        if p is None or len(scores) == 1:
            return p
        return p.with_name(f"{p.stem}-{k + 1}{p.suffix}")

    for k, score in enumerate(scores):
        # each option names its format: --out writes MIDI whatever its suffix
        for path, fmt in ((args.out, "midi"), (args.wav, "wav"), (args.musicxml, "musicxml")):
            if path:
                out = export_score(score, numbered(path, k), fmt, layout=args.layout)
                paths.append(str(out))
    first = scores[0]
    warning = first.meta.get("warning")
    if warning:
        print(f"note: {warning}")
    print(
        f"{first.meta.get('mode', 'composed')}: {first.bars} bars, {first.key}, "
        f"{first.time_signature[0]}/{first.time_signature[1]}, {first.tempo:g} bpm, "
        f"seed {first.meta.get('seed')} ({time.monotonic() - started:.2f} s)"
    )
    for p in paths:
        print(f"wrote {p}")


def _sampler(args: argparse.Namespace):
    from composer.runtime.sampler import Sampler

    return Sampler.load(args.model)


def run_generate(args: argparse.Namespace) -> int:
    from composer.score import Key

    started = time.monotonic()
    key = Key.parse(args.key)
    programs_for(args.instrument)
    scores = _sampler(args).generate(
        bars=args.bars,
        key=key,
        time_signature=parse_time_signature(args.time_signature),
        tempo=args.tempo,
        settings=settings_from(args),
        variations=args.variations,
        pickup=args.pickup,
    )
    write_outputs(scores, args, started)
    return 0


def run_continue(args: argparse.Namespace) -> int:
    started = time.monotonic()
    programs_for(args.instrument)
    primer = read_input(args.primer)
    scores = _sampler(args).continue_(
        primer, bars=args.bars, settings=settings_from(args), variations=args.variations
    )
    write_outputs(scores, args, started)
    return 0


def run_harmonize(args: argparse.Namespace) -> int:
    from composer.score import Key

    started = time.monotonic()
    programs_for(args.instrument, 0)
    key = Key.parse(args.key) if args.key else None
    melody = read_input(args.melody, part=args.part, melody=True)
    scores = _sampler(args).harmonize(
        melody, key=key, settings=settings_from(args), variations=args.variations
    )
    write_outputs(scores, args, started, melody_program=melody.programs[0])
    return 0


def run_regenerate(args: argparse.Namespace) -> int:
    started = time.monotonic()
    programs_for(args.instrument)
    piece = read_input(args.piece)
    first, last = parse_bars(args.bars)
    lowest, highest = (0 if piece.pickup else 1), piece.bar_of(piece.steps - 1)
    if first < lowest or last > highest:
        raise GenerationError(f"--bars {args.bars}: the piece has bars {lowest}-{highest}")
    start = 0 if first == 0 else max(0, piece.bar_start(first))
    end = min(piece.steps, piece.bar_start(last + 1))
    scores = _sampler(args).regenerate(
        piece,
        steps=(start, end),
        voices=parse_voices(args.voices),
        settings=settings_from(args),
        variations=args.variations,
    )
    write_outputs(scores, args, started)
    return 0
