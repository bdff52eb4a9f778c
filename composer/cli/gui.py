"""``composer gui [FILE]``: the desktop app (needs PySide6: chorale-composer[app]).

Its options and start-up checks are the app's own (composer.app.app: ``add_arguments``,
``preflight``, ``run_args``), shared with ``python -m composer.app``; neither imports Qt until
the app starts.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from composer.app.app import add_arguments

    p = subparsers.add_parser(
        "gui",
        help="open the desktop app",
        description="Open Composer's desktop app: compose, harmonize, listen and export.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.app.app import run_args

    return run_args(args)
