"""Every subcommand, every option, a table of hostile values per option type: each is refused at
the edge with one line on stderr and exit status 2, never a traceback. Then hostile values that
parse but fail when the command runs (files, bundles, cross-option checks): the same answer.
(It found ``--seed=--``, which argparse stored as [] without checking it.)

The options are read from the real parser, so a new option is tried as soon as it exists; one
that takes a value must have a checked type (composer.cli.options) or choices, unless it is
named in FREE_TEXT with the reason. Commands run in this process (composer.cli.main.main).
"""

from __future__ import annotations

import argparse
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from composer import limits
from composer.cli import options
from composer.cli.main import build_parser, main
from composer.midi.io import write_midi
from composer.score import HOLD, Score

# Options that take any text, and why (checked where they are used, with a one-line error).
FREE_TEXT = {
    "--out-port": "a MIDI port name: any unique part of a name is looked up",
    "--virtual": "the name of a virtual MIDI port Composer creates",
    "--in-port": "a MIDI port name",
    "--clock-port": "a MIDI port name",
    "--backend": "a MIDI backend: composer.realtime.ports refuses an unknown one",
}

# The arguments each subcommand needs before the option under test is added.
BASE = {
    ("continue",): ["p.mid"],
    ("harmonize",): ["m.mid"],
    ("regenerate",): ["p.mid", "--bars", "1"],
    ("train",): ["--out", "o"],
    ("export",): ["c.pt", "--out", "o"],
    ("live",): ["--synth"],
    ("inspect",): ["p.mid"],
}

BAD_PATHS = ["", "a\0b", "x" * 300, "d/" * 2100]


def hostile_values(action: argparse.Action) -> list[str]:
    """Values the option ``action`` must refuse."""
    if action.choices is not None and not isinstance(action.type, options.OptionType):
        return ["bogus", ""]
    kind = action.type.kind
    r = action.type.range
    if kind in ("int", "float"):
        values = ["", "abc", "nan", "inf", "-inf", "1e999", "0x10", "--", "1,5"]
        step = 1 if kind == "int" else 1e-6 * max(1.0, abs(r.hi))
        values.append(repr(r.lo if r.lo_open else r.lo - step))
        values.append(repr(r.hi if r.hi_open else r.hi + step))
        values.append(str(int(r.hi) * 10**12 + 7))
        if kind == "int":
            values += ["1.5", "1e3", "9" * 5000]
        return values
    return {
        "path": BAD_PATHS,
        "name": BAD_PATHS,
        "image": [*BAD_PATHS, "shot.txt", "shot"],
        "key": ["H minor", "", "C dorian", "C#b"],
        "time_signature": ["4/0", "0/4", "13/4", "4/3", "4/16", "x/y", "-4/4", "4", "4/4/4"],
        "voice_temperature": ["1,2", "nan,1,1,1", "1,1,1,9", "a,b,c,d", "1,1,1,1,1", ""],
        "bar_range": ["7-3", "-1", "x", "1-2-3", "", f"0-{limits.MAX_PIECE_STEPS + 1}"],
        "voices": ["viola", "", "s,,a", "soprano;alto"],
        "instrument": ["kazoo", "", "128", "-1", "1.5", "melodie"],
        "part": ["", " ", "a\0b", "x" * 201, "a\nb"],
    }[kind]


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of every leaf subcommand, e.g. (('data', 'build'), parser)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from subcommands(sub, (*path, name))


def value_actions(parser: argparse.ArgumentParser):
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            continue
        if isinstance(a, argparse._SubParsersAction) or a.nargs == 0:
            continue
        if isinstance(a, argparse.BooleanOptionalAction):
            continue
        yield a


def options_under_test():
    """pytest params (path, action): every option of every subcommand, but FREE_TEXT ones."""
    out = []
    for path, parser in subcommands(build_parser()):
        for action in value_actions(parser):
            name = action.option_strings[0] if action.option_strings else action.dest
            if name not in FREE_TEXT:
                out.append(pytest.param(path, action, id=f"{' '.join(path)} {name}"))
    return out


def test_every_option_that_takes_a_value_is_checked():
    unchecked = []
    for path, parser in subcommands(build_parser()):
        for action in value_actions(parser):
            name = action.option_strings[0] if action.option_strings else action.dest
            checked = isinstance(action.type, options.OptionType) or action.choices is not None
            if not checked and name not in FREE_TEXT:
                unchecked.append(f"{' '.join(path)} {name}")
    assert unchecked == []


def _argv(path: tuple[str, ...], action: argparse.Action, value: str) -> list[str]:
    base = list(BASE.get(path, []))
    if action.option_strings:
        return [*path, *base, f"{action.option_strings[0]}={value}"]
    # a positional: the value takes the place of its placeholder in BASE (or is added)
    positional = [a for a in base if not a.startswith("--")][:1]
    if positional and base.index(positional[0]) == 0:
        base[0] = value
        return [*path, *base]
    return [*path, value, *base]


OPTIONS = options_under_test()
PARSER = build_parser()


@pytest.mark.parametrize("path, action", OPTIONS)
def test_hostile_values_are_refused_in_one_line(path, action, capsys):
    """Each hostile value of the option: SystemExit(2), one line naming the option."""
    wrong = []
    for value in hostile_values(action):
        try:
            PARSER.parse_args(_argv(path, action, value))  # as main() does; runs nothing
            wrong.append((value, "accepted"))
            continue
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err
        lines = err.strip("\n").split("\n")
        shown = action.option_strings[0] if action.option_strings else action.metavar or "-"
        if (
            code != 2
            or len(lines) != 1
            or not lines[0].startswith("composer: error: ")
            or "Traceback" in err
            or (shown not in lines[0] and action.dest not in lines[0])
        ):
            wrong.append((value, err))  # fmt: skip
    assert wrong == []


def test_the_table_is_large_and_covers_every_subcommand():
    covered = {p.values[0] for p in OPTIONS}
    every = {path for path, _ in subcommands(build_parser())}
    assert covered == every - {("ports",)}  # ports takes only --backend, free text
    assert sum(len(hostile_values(p.values[1])) for p in OPTIONS) > 900


def test_ranges_match_the_library():
    from composer.encoding import VOCAB
    from composer.midi.io import MAX_STEPS
    from composer.runtime.sampler import MAX_PARTICLES
    from composer.runtime.schema import MAX_DIM, MAX_LAYERS

    assert limits.MAX_PIECE_STEPS == MAX_STEPS and limits.VOCAB == VOCAB
    assert limits.MAX_PARTICLES == MAX_PARTICLES
    assert limits.HIDDEN.hi <= MAX_DIM and limits.EMBED.hi <= MAX_DIM
    assert limits.LOOKAHEAD.hi <= MAX_DIM and limits.LAYERS.hi <= MAX_LAYERS
    # the longest generate in the widest meter is a piece the reader reads back
    assert limits.MAX_BARS * limits.MAX_STEPS_PER_BAR // 4 <= limits.MAX_PIECE_STEPS
    assert not math.isnan(limits.TEMPO.parse("72"))


# --- values that parse, but cannot be carried out ---------------------------------------------
def piece(bars: int = 4) -> Score:
    grid = np.full((bars * 16, 4), HOLD, np.int16)
    for v, p in enumerate((72, 65, 57, 48)):
        grid[::4, v] = p
    return Score(grid, tempo=90)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    write_midi(piece(), tmp_path / "p.mid")
    long = Score(np.tile(piece(4).grid, (int(limits.MAX_PIECE_STEPS / 64) - 2, 1)), tempo=90)
    write_midi(long, tmp_path / "long.mid")
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "notmidi.mid").write_text("hello")
    (tmp_path / "empty.json").write_text('{"train": [], "valid": []}')
    try:  # a private /dev/full: a regression must never replace the machine's own
        os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except PermissionError:
        pass  # not root: the case that needs it skips
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text("{}")
    (bundle / "weights.npz").write_bytes(b"")
    return {p.name: p for p in tmp_path.iterdir()}


RUN_CASES = [  # argv (names from the fixture in {}), a fragment of the one-line message
    (["generate", "--bars", "1", "--out", "{folder}"], "it is a folder"),
    (["generate", "--bars", "1", "--out", "{file}/x.mid"], "Not a directory"),
    (["generate", "--bars", "1", "--out", "{full}"], "No space left"),
    (["generate", "--bars", "1", "--out", "a.mid", "--wav", "./a.mid"], "both name"),
    (["generate", "--bars", "1", "--out", "a.mid", "--musicxml", "{folder}/../a.mid"], "both name"),
    (["generate", "--bars", "1", "--model", "{bundle}"], "not a composer-bundle"),
    (["generate", "--bars", "1", "--model", "{p.mid}"], "no model bundle"),
    (["generate", "--bars", "1", "--model", "nosuchmodel"], "no model bundle"),
    (["generate", "--bars", "1", "--time-signature", "3/4", "--pickup", "12"], "pickup"),
    (["continue", "{long.mid}", "--bars", "64"], "reads pieces of up to"),
    (["continue", "{folder}"], "folder"),
    (["continue", "{notmidi.mid}"], "notmidi.mid"),
    (["harmonize", "/nonexistent.mid"], "nonexistent.mid"),
    (["regenerate", "{p.mid}", "--bars", "9-12"], "the piece has bars"),
    (["inspect", "{folder}"], "folder"),
    (["evaluate", "--model", "{bundle}"], "not a composer-bundle"),
    (["evaluate", "--model", "jsb-quarter", "--data-file", "{empty.json}"], "no pieces"),
    (["evaluate", "--model", "bach-satb", "--data", "jsb-quarter"], "SATB chorale model"),
    (["export", "{p.mid}", "--out", "x"], "refusing to load"),
    (["export", "/nonexistent.pt", "--out", "x"], "no checkpoint"),
    (["train", "--out", "x", "--data", "{folder}"], "no .mid"),
    (["train", "--out", "x", "--data", "/nonexistent"], "not 'bach'"),
    (["data", "summary", "--data", "{folder}"], "no corpus"),
    (["ports", "--backend", "bogus"], "unknown MIDI backend"),
]  # fmt: skip


@pytest.mark.parametrize("argv, fragment", RUN_CASES, ids=[" ".join(c[0][:4]) for c in RUN_CASES])
def test_hostile_runs_are_one_line_exit_2(argv, fragment, files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if any("{full}" in a for a in argv) and "full" not in files:
        pytest.skip("making a device node needs root")
    for name, path in files.items():
        argv = [a.replace("{" + name + "}", str(path)) for a in argv]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("composer: error: "), err
    assert fragment in lines[0], lines[0]
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert after == before  # nothing written, nothing changed
