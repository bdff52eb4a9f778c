"""``composer``: the command line. Each subcommand lives in a module of this package that
defines ``register(subparsers)``; heavy imports happen inside the commands, so ``--help`` is fast.
The commands that compose a file and end (BATCH_JOBS) start as a batch job (see ``main``).

Errors a user can cause (ComposerError) print one line and exit non-zero; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
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
# Commands that compose a file and end: each starts as a batch job (_start_batch_job), whose
# parser knows only the module that defines them.
BATCH_JOBS = ("generate", "continue", "harmonize", "regenerate")
BATCH_MODULE = "compose"


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The parser of every command, or of those ``modules`` define."""
    parser = Parser(
        prog="composer",
        description="Compose four-part chorales in the style of J. S. Bach.",
    )
    parser.add_argument("--version", action="version", version=f"composer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
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
    batch = bool(sys.argv[1:2]) and sys.argv[1] in BATCH_JOBS
    if batch:
        _start_batch_job()
    try:
        return _run(None, (BATCH_MODULE,) if batch else COMMAND_MODULES)
    finally:
        # This process ends with the command: what survives is frozen, so that exit does not
        # walk it once more in a last garbage collection (numba's objects alone: 0.2 s).
        gc.freeze()


def _start_batch_job() -> None:
    """Set up this process for a command that composes a file and ends, before anything is
    imported. Python's cyclic garbage collector is switched off: it walks every object the
    imports make (numba's alone are about 100 000) again and again while they load, for garbage
    that hardly exists in a short job (0.2 s of a cold `composer generate`). OpenBLAS (numpy's
    matrix products) runs on one thread unless the environment says otherwise: starting its
    thread pool costs 0.07 s at numpy's import, for products (the model's tables) that take
    milliseconds (the shipped model's tables come out bit for bit the same either way). Its
    parser is built from the one module that defines the batch jobs (half the time of all)."""
    gc.disable()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _run(argv: list[str] | None, modules: tuple[str, ...] = COMMAND_MODULES) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 still prints
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    parser = build_parser(modules)
    args = parser.parse_args(argv)
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
