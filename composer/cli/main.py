"""``composer``: the command line. Each subcommand lives in a module of this package that
defines ``register(subparsers)``; heavy imports happen inside the commands, so ``--help`` is fast.
A command that ends by itself (composing a file) says so with ``set_defaults(batch_job=True)``:
it runs without the cyclic garbage collector (see ``main``).

Errors a user can cause (ComposerError) print one line and exit non-zero; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from composer import __version__
from composer.cli.options import Parser
from composer.errors import ComposerError

# Subcommand modules, in the order `composer --help` lists them.
COMMAND_MODULES = (
    "start",
    "compose",
    "gui",
    "live",
    "ports",
    "inspect",
    "data",
    "train",
    "evaluate",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="composer",
        description="Compose four-part chorales in the style of J. S. Bach.",
    )
    parser.add_argument("--version", action="version", version=f"composer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"composer.cli.{name}")
        except ModuleNotFoundError as e:  # a command group not built yet
            if e.name == f"composer.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: this process's arguments); returns the exit code."""
    if argv is not None:  # a command run inside a longer process (the tests)
        return _run(argv)
    # This process is the command, and ends with it. Python's cyclic garbage collector pays
    # for every object the imports make (numba's alone are about 100 000) again and again while
    # they load, and once more at exit, for garbage that hardly exists in a short job (0.4 s of
    # a cold `composer generate`): off for the commands that end by themselves (batch_job), and
    # the survivors frozen at the end, so exit does not walk them. Long-running commands (the
    # app, live) turn it back on once their command is known.
    gc.disable()
    try:
        return _run(None)
    finally:
        gc.freeze()


def _run(argv: list[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 still prints
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "batch_job", False):
        gc.enable()
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ComposerError as e:
        print(f"composer: error: {_one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("composer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as e:  # the system refused (disk full, permission denied): not a bug here
        where = f": {e.filename}" if e.filename else ""
        print(f"composer: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


if __name__ == "__main__":
    raise SystemExit(main())
