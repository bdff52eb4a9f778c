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

from composer.cli import options
from composer.errors import GenerationError
from composer.score import ENSEMBLES


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    g = sub.add_parser(
        "generate",
        help="compose a new chorale",
        formatter_class=fmt,
        description="Compose a new four-part chorale. Example: composer generate "
        "--bars 16 --key 'D minor' --tempo 80 --seed 3 --out d.mid",
    )
    g.add_argument("--bars", type=options.BARS, default=16, help="length in bars")
    g.add_argument("--key", type=options.KEY, default="C major", help="e.g. 'D minor', 'Bb major'")
    g.add_argument("--time-signature", type=options.TIME_SIGNATURE, default="4/4",
                   help="4/4 or 3/4 (others may work)")  # fmt: skip
    g.add_argument("--tempo", type=options.TEMPO, default=80.0, help="quarter notes per minute")
    g.add_argument(
        "--pickup",
        type=options.PICKUP,
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
    c.add_argument("primer", type=options.PATH, help="a four-voice MIDI or MusicXML file")
    c.add_argument("--bars", type=options.BARS, default=8, help="bars to add")
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
    h.add_argument("melody", type=options.PATH,
                   help="a MIDI or MusicXML (.musicxml, .xml, .mxl) file")  # fmt: skip
    h.add_argument(
        "--part",
        type=options.PART,
        default=None,
        metavar="NAME|N",
        help="the part (track) that is the melody, by name or number (default: the top one)",
    )
    h.add_argument("--key", type=options.KEY, default=None,
                   help="default: the file's key, or estimated")  # fmt: skip
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
    r.add_argument("piece", type=options.PATH, help="a four-voice MIDI or MusicXML file")
    r.add_argument(
        "--bars",
        type=options.BAR_RANGE,
        required=True,
        help="X-Y or X, inclusive, numbered as the score prints them: 1 is the first full "
        "bar, 0 a pickup",
    )
    r.add_argument("--voices", type=options.VOICES, default="alto,tenor,bass",
                   help="comma-separated: soprano, alto, tenor, bass")  # fmt: skip
    _common(r, "out/regenerated.mid")
    _particles(r)
    r.set_defaults(func=run_regenerate)


def _common(p: argparse.ArgumentParser, default_out: str, melody: bool = False) -> None:
    p.add_argument("--out", type=options.PATH, default=Path(default_out),
                   help="MIDI file to write")  # fmt: skip
    p.add_argument("--wav", type=options.PATH, default=None,
                   help="also render audio to this WAV file")  # fmt: skip
    p.add_argument("--musicxml", type=options.PATH, default=None,
                   help="also write MusicXML here")  # fmt: skip
    p.add_argument(
        "--layout",
        choices=("open", "closed"),
        default="open",
        help="MusicXML: open (a staff per voice) or closed (S/A and T/B on two staves)",
    )
    p.add_argument(
        "--instrument",
        type=options.INSTRUMENT,
        default="choir",
        help="the ensemble that plays it (MIDI programs, WAV, MusicXML): "
        + ", ".join(ENSEMBLES)
        + (", melody (every voice on the melody's instrument)" if melody else "")
        + ", or a General MIDI program 0-127",
    )
    p.add_argument("--model", type=options.NAME, default=None,
                   help="model bundle (default: models/bach-satb)")  # fmt: skip
    p.add_argument("--seed", type=options.SEED, default=None,
                   help="same seed, same notes (default: random)")  # fmt: skip
    p.add_argument("--temperature", type=options.TEMPERATURE, default=0.9,
                   help="lower: safer; higher: bolder; 0: always the likeliest note")  # fmt: skip
    p.add_argument("--voice-temperature", type=options.VOICE_TEMPERATURE, default=None,
                   help="per-voice factors S,A,T,B, e.g. 1,0.8,0.8,1")  # fmt: skip
    p.add_argument("--top-k", type=options.TOP_K, default=0,
                   help="keep the k likeliest tokens (0: all)")  # fmt: skip
    p.add_argument("--top-p", type=options.TOP_P, default=0.95,
                   help="nucleus sampling mass (1: all)")  # fmt: skip
    p.add_argument("--variations", type=options.VARIATIONS, default=1,
                   help="pieces to sample together")  # fmt: skip
    p.add_argument(
        "--voice-leading",
        choices=("bach", "strict", "free"),
        default="bach",
        help="bach: no parallel fifths or octaves, no voice crossing, and candidates weighed by "
        "a teacher's faults (dissonances leapt into or out of, suspensions that do not fall, "
        "awkward bass leaps, doubled leading tones, bare fifths); strict: also soprano-alto "
        "and alto-tenor within an octave; free: the model alone",
    )
    p.add_argument("--in-key", action="store_true", help="only notes of the key's scale")


def _particles(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--particles",
        type=options.PARTICLES,
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
    """SamplingSettings from the options (each already checked by its composer.cli.options
    type)."""
    from composer.runtime.settings import SamplingSettings

    return SamplingSettings.voice_leading(
        args.voice_leading,
        temperature=args.temperature,
        voice_temperature=args.voice_temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        in_key=args.in_key,
        particles=getattr(args, "particles", 0),
        tonic_ending=not getattr(args, "free_ending", False),
    )


def _numbered(p: Path | None, k: int, count: int) -> Path | None:
    """The file of variation k (0-based): ``out-1.mid`` ... when there are several."""
    if p is None or count == 1 or not p.name:
        return p
    return p.with_name(f"{p.stem}-{k + 1}{p.suffix}")


def output_files(args: argparse.Namespace, count: int) -> list[list[tuple[str, Path, str]]]:
    """For each of ``count`` variations, (option, file, format) of what the command writes.
    Refuses two outputs that name one file, before anything is composed."""
    from composer.fileio import check_distinct_outputs

    # each option names its format: --out writes MIDI whatever its suffix
    formats = (("out", "midi"), ("wav", "wav"), ("musicxml", "musicxml"))
    files = [
        [(f"--{option}", path, fmt) for option, fmt in formats
         if (path := _numbered(getattr(args, option), k, count)) is not None]
        for k in range(count)
    ]  # fmt: skip
    check_distinct_outputs({f"{o} ({k + 1})" if count > 1 else o: p
                            for k, per in enumerate(files) for o, p, _ in per})  # fmt: skip
    return files


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
    for score, per in zip(scores, output_files(args, len(scores)), strict=True):
        for _, path, fmt in per:
            paths.append(str(export_score(score, path, fmt, layout=args.layout)))
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
    output_files(args, args.variations)
    key = Key.parse(args.key)
    programs_for(args.instrument)
    spb = args.time_signature[0] * 16 // args.time_signature[1]
    if args.pickup is not None and args.pickup >= spb:
        raise GenerationError(
            f"--pickup {args.pickup}: a pickup is shorter than a bar ({spb} 16th steps in "
            f"{args.time_signature[0]}/{args.time_signature[1]}); give 0 to {spb - 1}"
        )
    scores = _sampler(args).generate(
        bars=args.bars,
        key=key,
        time_signature=args.time_signature,
        tempo=args.tempo,
        settings=settings_from(args),
        variations=args.variations,
        pickup=args.pickup,
    )
    write_outputs(scores, args, started)
    return 0


def run_continue(args: argparse.Namespace) -> int:
    started = time.monotonic()
    output_files(args, args.variations)
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
    output_files(args, args.variations)
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
    output_files(args, args.variations)
    programs_for(args.instrument)
    piece = read_input(args.piece)
    first, last = args.bars
    lowest, highest = (0 if piece.pickup else 1), piece.bar_of(piece.steps - 1)
    if first < lowest or last > highest:
        raise GenerationError(f"--bars {first}-{last}: the piece has bars {lowest}-{highest}")
    start = 0 if first == 0 else max(0, piece.bar_start(first))
    end = min(piece.steps, piece.bar_start(last + 1))
    scores = _sampler(args).regenerate(
        piece,
        steps=(start, end),
        voices=args.voices,
        settings=settings_from(args),
        variations=args.variations,
    )
    write_outputs(scores, args, started)
    return 0
