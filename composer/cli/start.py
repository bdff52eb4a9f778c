"""``composer start``: the main job. The app where there is a display; otherwise a chorale
composed with the bundled model into out/chorale.mid and out/chorale.wav."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "start",
        help="open the app, or (no display) compose out/chorale.mid+wav",
        description="Open the desktop app where there is a display; without "
        "one, compose a chorale with the bundled model into OUT.mid and OUT.wav.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out/chorale"),
        help="file stem for the composed chorale (no display)",
    )
    p.add_argument("--no-gui", action="store_true", help="compose even where there is a display")
    p.add_argument("--seed", type=int, default=None, help="same seed, same chorale")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.app.app import has_display  # Qt-free: imports no Qt

    if has_display() and not args.no_gui:
        from composer.cli.main import main

        return main(["gui"])
    import time

    from composer.audio.synth import write_wav
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
    write_midi(score, mid)
    write_wav(score, wav)
    print(
        f"composed a {score.bars}-bar chorale in {score.key} (seed {score.meta['seed']}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    print(f"  MIDI:  {mid.resolve()}")
    print(f"  audio: {wav.resolve()}")
    print("open the MIDI file in any DAW or notation program; play the WAV in any player.")
    return 0
