"""``composer start``: the main job. The app where a window can be opened; otherwise (no display,
or one Qt cannot open, or no PySide6) a chorale composed with the bundled model into
out/chorale.mid and out/chorale.wav."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "start",
        help="open the app, or (no display) compose out/chorale.mid+wav",
        description="Open the desktop app where there is a display; without "
        "one, compose a chorale with the bundled model into OUT.mid and OUT.wav.",
    )
    p.add_argument(
        "--out",
        type=options.PATH,
        default=Path("out/chorale"),
        help="file stem for the composed chorale (no display)",
    )
    p.add_argument("--no-gui", action="store_true", help="compose even where there is a display")
    p.add_argument("--seed", type=options.SEED, default=None, help="same seed, same chorale")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.app.app import has_display, window_problem  # Qt-free: imports no Qt

    if not args.no_gui:
        problem = window_problem()
        if problem is None:
            from composer.cli.main import main

            return main(["gui"])
        if has_display():  # a display was named, and cannot be opened: say why
            print(f"composer: no window ({problem}); composing instead", file=sys.stderr)
    import time

    from composer.audio.synth import write_wav
    from composer.errors import AudioError
    from composer.fileio import check_distinct_outputs
    from composer.midi.io import write_midi
    from composer.runtime.sampler import Sampler
    from composer.runtime.settings import SamplingSettings

    started = time.monotonic()
    sampler = Sampler.load()
    [score] = sampler.generate(
        bars=16,
        key="D minor",
        tempo=72.0,
        settings=SamplingSettings(temperature=0.9, seed=args.seed),
    )
    mid, wav = args.out.with_suffix(".mid"), args.out.with_suffix(".wav")
    check_distinct_outputs({"MIDI": mid, "audio": wav})
    write_midi(score, mid)
    try:
        write_wav(score, wav)
    except AudioError as e:
        wav, no_audio = None, str(e)
    print(
        f"composed a {score.bars}-bar chorale in {score.key} (seed {score.meta['seed']}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    print(f"  MIDI:  {mid.resolve()}")
    print(f"  audio: {wav.resolve()}" if wav else f"  audio: none ({no_audio})")
    print("open the MIDI file in any DAW or notation program; play the WAV in any player.")
    return 0
