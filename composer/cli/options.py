"""The command line's option types: every value a user types is checked here, at the edge,
against composer.limits (the ranges the app and the library check too), so a bad one gives one
line and exit status 2 before anything is loaded.

    p.add_argument("--tempo", type=options.TEMPO, default=80.0)

``Parser`` is the ArgumentParser of every subcommand: its errors are one line (argparse's own
print the usage first).
"""

from __future__ import annotations

import argparse
from typing import Any

from composer import limits
from composer.errors import SettingError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, as every error of the command line:
    ``composer: error: argument --tempo: ... (see `composer generate --help`)``."""

    def error(self, message: str):  # type: ignore[override]
        message = " ".join(str(message).split())  # one line, whatever the value held
        self.exit(2, f"composer: error: {message} (see `{self.prog} --help`)\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # argparse drops a '--' given as an option's value (--seed=--) and stores [] without
        # calling the option's type: refuse it as the missing value it is
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected a value, not '--'")
        return super()._get_values(action, arg_strings)


OptionType, number = limits.OptionType, limits.option


def _key(text: str) -> str:
    from composer.score import Key

    Key.parse(text)  # ScoreError with the accepted form
    return text


MAX_PART_NAME = 200


def _part(text: str) -> str:
    """A part (track) by name or number: some text, on one line."""
    if not text.strip() or len(text) > MAX_PART_NAME or any(c in text for c in "\0\n\r"):
        raise SettingError(
            f"{text[:40]!r}: give a part's name (one line, at most {MAX_PART_NAME} "
            "characters) or its number"
        )
    return text


def _instrument(text: str) -> str:
    """An ensemble's name, 'melody', or a General MIDI program 0-127."""
    from composer.score import ENSEMBLES

    name = text.strip().lower()
    if name in ENSEMBLES or name == "melody" or (name.isdigit() and 0 <= int(name) <= 127):
        return text
    raise SettingError(
        f"{text[:40]!r}: choose one of {', '.join(ENSEMBLES)}, melody, or a General MIDI "
        "program 0-127"
    )


# composing
TEMPO = number(limits.TEMPO)
TEMPERATURE = number(limits.TEMPERATURE)
TOP_K = number(limits.TOP_K)
TOP_P = number(limits.TOP_P)
SEED = number(limits.SEED)
BARS = number(limits.BARS)
PICKUP = number(limits.PICKUP)
VARIATIONS = number(limits.VARIATIONS)
PARTICLES = number(limits.PARTICLES)
VOICE_TEMPERATURE = OptionType("voice_temperature", limits.voice_temperatures)
TIME_SIGNATURE = OptionType("time_signature", limits.time_signature)
BAR_RANGE = OptionType("bar_range", limits.bar_range)
VOICES = OptionType("voices", limits.voices)
KEY = OptionType("key", _key)
PART = OptionType("part", _part)
INSTRUMENT = OptionType("instrument", _instrument)
# files: PATH gives a Path, NAME the text (a path or a name under models/, 'bach', ...)
PATH = limits.PATH_OPTION
NAME = limits.NAME_OPTION
IMAGE = limits.IMAGE_OPTION
# live
LIVE_BARS = number(limits.LIVE_BARS)
SECONDS = number(limits.SECONDS)
# evaluation
PIECES = number(limits.PIECES)
TRANSPOSITIONS = number(limits.TRANSPOSITIONS)
# training
EPOCHS = number(limits.EPOCHS)
MAX_STEPS = number(limits.MAX_STEPS)
BATCH_SIZE = number(limits.BATCH_SIZE)
LEARNING_RATE = number(limits.LEARNING_RATE)
WEIGHT_DECAY = number(limits.WEIGHT_DECAY)
CADENCE_WEIGHT = number(limits.CADENCE_WEIGHT)
WARMUP = number(limits.WARMUP)
CLIP = number(limits.CLIP)
PATIENCE = number(limits.PATIENCE)
CHECKPOINT_EVERY = number(limits.CHECKPOINT_EVERY)
JSB_SHIFT = number(limits.JSB_SHIFT)
THREADS = number(limits.THREADS)
EMBED = number(limits.EMBED)
HIDDEN = number(limits.HIDDEN)
LAYERS = number(limits.LAYERS)
DROPOUT = number(limits.DROPOUT)
LOOKAHEAD = number(limits.LOOKAHEAD)
