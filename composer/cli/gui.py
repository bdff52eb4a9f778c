"""``composer gui [FILE.mid]``: the desktop app (needs PySide6: chorale-composer[app])."""

from __future__ import annotations

import argparse
import importlib.util

from composer.errors import ComposerError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop app",
        description="Open Composer's desktop app: compose, harmonize, listen and export.",
    )
    p.add_argument("file", nargs="?", help="a MIDI file to open (four voices, or a melody)")
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="compose a chorale at start and save a screenshot of the window",
    )
    p.add_argument(
        "--quit-after-compose",
        action="store_true",
        help="with --screenshot: quit once the screenshot is saved",
    )
    p.add_argument("--seed", type=int, default=None, help="seed for the --screenshot compose")
    p.add_argument("--model", help="model bundle folder (default: models/bach-satb)")
    p.add_argument("--no-audio", action="store_true",
                   help="do not open the audio device (MIDI ports only)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from composer.cli.start import has_display

    if not has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        raise ComposerError(
            "no display to open the app on (DISPLAY and WAYLAND_DISPLAY are unset): run it in a "
            "desktop session, or compose without one: composer start --no-gui"
        )
    if importlib.util.find_spec("PySide6") is None:  # Qt itself is imported by the app alone
        raise ComposerError("the desktop app needs PySide6: pip install 'chorale-composer[app]'")
    from composer.app.app import run as run_app

    return run_app(args.file, args.screenshot, args.quit_after_compose,
                   audio=not args.no_audio, compose_seed=args.seed, model=args.model)  # fmt: skip
