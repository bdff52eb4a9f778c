"""What Composer accepts: the range of every number a user can set, and the checks, in one place.

The command line's options (composer.cli.options), the app's saved settings and sessions, and
the library's own entry points check values against these ranges, so a value refused in one is
refused in all, with the same message: what was wrong and the range that is accepted.

    TEMPO.parse("72")    # 72.0
    TEMPO.parse("nan")   # SettingError: 'nan' is not a finite number; give a number from 20 to
                         # 999 bpm

``OptionType`` turns a check into an argparse ``type=``: the command line's options
(composer.cli.options) and the app's own (composer.app.app.add_arguments) use them.

Lengths agree with what the MIDI reader reads back (composer.midi.io.MAX_STEPS): a piece Composer
writes is one it can open again.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import ComposerError, SettingError

# What the MIDI reader accepts (composer.midi.io.MAX_STEPS; a test keeps the two equal).
MAX_PIECE_STEPS = 20_000  # 16th steps
MAX_BARS = 512  # bars a generate or continue adds in one go
VOCAB = 133  # composer.encoding.VOCAB: top-k beyond it keeps every token
MAX_PARTICLES = 256  # composer.runtime.sampler.MAX_PARTICLES
MAX_VARIATIONS = 64
MAX_SEED = 2**31 - 1  # the app's seed box holds the same range
MAX_STEPS_PER_BAR = 96  # 12/2: the widest meter composer.theory.plan.check_meter accepts
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX: one path component


@dataclass(frozen=True)
class Range:
    """A number's accepted range. kind: int or float; lo / hi inclusive unless *_open."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""

    def describe(self) -> str:
        """'a number from 20 to 999 bpm', 'a whole number from 0 to 256', ..."""
        what = "a whole number" if self.kind is int else "a number"
        lo, hi = _fmt(self.lo), _fmt(self.hi)
        if self.lo is not None and self.hi is not None:
            if not self.lo_open and not self.hi_open:
                text = f"{what} from {lo} to {hi}"
            else:
                low = f"more than {lo}" if self.lo_open else f"at least {lo}"
                high = f"less than {hi}" if self.hi_open else f"at most {hi}"
                text = f"{what} {low} and {high}"
        elif self.lo is not None:
            text = f"{what} more than {lo}" if self.lo_open else f"{what}, {lo} or more"
        elif self.hi is not None:
            text = f"{what} less than {hi}" if self.hi_open else f"{what}, {hi} or less"
        else:
            text = f"a finite {what[2:]}" if self.kind is float else what
        return f"{text} {self.unit}".rstrip()

    def parse(self, text: str) -> int | float:
        """The number in ``text``, checked; SettingError says what is accepted."""
        text = str(text).strip()
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            noun = "a whole number" if self.kind is int else "a number"
            raise SettingError(f"{_show(text)} is not {noun}; give {self.describe()}") from None
        return self.check(value, text)

    def check(self, value: int | float, shown: str | None = None) -> int | float:
        """``value`` if it is in range (and finite), else SettingError."""
        shown = _show(shown if shown is not None else str(value))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"{shown} is not a number; give {self.describe()}")
        if self.kind is int and isinstance(value, float):
            if not value.is_integer():
                raise SettingError(f"{shown} is not a whole number; give {self.describe()}")
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingError(f"{shown} is not a finite number; give {self.describe()}")
        low_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        high_bad = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        if low_bad or high_bad:
            raise SettingError(f"{shown} is out of range; give {self.describe()}")
        return self.kind(value)


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer() and abs(x) >= 1e6:
        return f"{int(x):,}"
    return f"{x:g}" if isinstance(x, float) else str(x)


def _show(text: str) -> str:
    """A value as quoted in a message: repr, cut short."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


# --- composing (generate, continue, harmonize, regenerate; the app's panel; live) -------------
TEMPO = Range(float, 20, 999, unit="bpm")  # quarter notes per minute (a DAW's range)
TEMPERATURE = Range(float, 0, 5)  # 0: always the likeliest token
VOICE_TEMPERATURE = Range(float, 0, 5)  # a factor per voice, times TEMPERATURE
TOP_K = Range(int, 0, VOCAB)  # 0: every token
TOP_P = Range(float, 0, 1, lo_open=True)
SEED = Range(int, 0, MAX_SEED)
BARS = Range(int, 1, MAX_BARS)
PICKUP = Range(int, 0, MAX_STEPS_PER_BAR - 1, unit="16th steps")
VARIATIONS = Range(int, 1, MAX_VARIATIONS)
PARTICLES = Range(int, 0, MAX_PARTICLES)

# --- live --------------------------------------------------------------------------------------
LIVE_BARS = Range(int, 1, 1_000_000)
SECONDS = Range(float, 0, 31 * 24 * 3600, lo_open=True, unit="seconds")

# --- evaluation --------------------------------------------------------------------------------
PIECES = Range(int, 1, 1000)
TRANSPOSITIONS = Range(int, 0, 6, unit="semitones each way")  # evaluate: a JSB mixture

# --- training ------------------------------------------------------------------------------------
EPOCHS = Range(int, 1, 100_000)
MAX_STEPS = Range(int, 0, 10**9)  # 0: no limit
BATCH_SIZE = Range(int, 1, 4096)
LEARNING_RATE = Range(float, 0, 1, lo_open=True)
WEIGHT_DECAY = Range(float, 0, 1)
WARMUP = Range(int, 0, 10**9, unit="steps")
CLIP = Range(float, 0, 1e6, lo_open=True)
PATIENCE = Range(int, 1, 100_000, unit="epochs")
CHECKPOINT_EVERY = Range(int, 1, 10**9, unit="steps")
JSB_SHIFT = Range(int, 0, 12, unit="semitones")
CADENCE_WEIGHT = Range(float, 0, 100, lo_open=True)
THREADS = Range(int, 0, 1024)  # 0: torch's default
EMBED = Range(int, 1, 4096)
HIDDEN = Range(int, 1, 4096)
LAYERS = Range(int, 1, 16)
DROPOUT = Range(float, 0, 1, hi_open=True)
LOOKAHEAD = Range(int, 0, 4096)  # 0: no backward LSTM


def time_signature(text: str) -> tuple[int, int]:
    """'3/4' -> (3, 4): a meter the sampler writes (composer.theory.plan.check_meter)."""
    try:
        num, den = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise SettingError(
            f"{_show(str(text))} is not a time signature; write e.g. 4/4 or 3/4"
        ) from None
    check_time_signature(num, den)
    return num, den


def check_time_signature(num: int, den: int) -> None:
    if den not in (2, 4, 8) or not 1 <= num <= 12 or (num * 16) % den:
        raise SettingError(
            f"time signature {num}/{den} is not supported; use 1-12 beats of a half, quarter or "
            "eighth note, e.g. 4/4 or 3/4"
        )


def voice_temperatures(text: str) -> tuple[float, float, float, float]:
    """'1,0.8,0.8,1' -> four factors (S, A, T, B), each VOICE_TEMPERATURE."""
    parts = str(text).split(",")
    if len(parts) != 4:
        raise SettingError(
            f"{_show(str(text))}: give four numbers S,A,T,B, e.g. 1,0.8,0.8,1, each "
            f"{VOICE_TEMPERATURE.describe()}"
        )
    return tuple(VOICE_TEMPERATURE.parse(p) for p in parts)  # type: ignore[return-value]


def bar_range(text: str) -> tuple[int, int]:
    """'5-6' or '5' -> (first, last) bars, 0 (a pickup) to the longest piece read."""
    try:
        parts = [int(x) for x in str(text).split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0] or parts[1] > MAX_PIECE_STEPS:
        raise SettingError(f"{_show(str(text))}: write bars X-Y with 0 <= X <= Y, e.g. 5-6")
    return parts[0], parts[1]


VOICE_NAMES = {"soprano": 0, "alto": 1, "tenor": 2, "bass": 3, "s": 0, "a": 1, "t": 2, "b": 3}


def voices(text: str) -> list[int]:
    """'alto,tenor' -> [1, 2] (sorted, each once)."""
    out = []
    for name in str(text).lower().replace(" ", "").split(","):
        if name not in VOICE_NAMES:
            raise SettingError(f"unknown voice {_show(name)}: use soprano, alto, tenor, bass")
        out.append(VOICE_NAMES[name])
    return sorted(set(out))


def path_text(text: str) -> str:
    """A file or folder name the system can take: not empty, no NUL byte, within PATH_MAX and
    NAME_MAX. (Whether it exists or can be written is for the command that uses it.)"""
    text = str(text)
    if not text:
        raise SettingError("an empty file name; give a path")
    if "\0" in text:
        raise SettingError(f"{_show(text)} contains a NUL byte; give a path")
    import os

    raw = os.fsencode(text)
    if len(raw) > MAX_PATH_BYTES:
        raise SettingError(f"a path of {len(raw):,} bytes; at most {MAX_PATH_BYTES:,} work")
    longest = max((len(p) for p in raw.split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        raise SettingError(
            f"{_show(text)} has a name of {longest} bytes; at most {MAX_NAME_BYTES} work"
        )
    return text


def check_length(steps: int) -> None:
    """A piece of ``steps`` 16th steps must be one the MIDI reader reads back."""
    if steps > MAX_PIECE_STEPS:
        raise SettingError(
            f"the piece would be {steps:,} steps long; Composer reads pieces of up to "
            f"{MAX_PIECE_STEPS:,} steps ({MAX_PIECE_STEPS // 16:,} bars of 4/4): ask for fewer bars"
        )


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def image_path(text: str) -> str:
    """A file name for a screenshot: a path ending in an image format Qt writes."""
    if Path(path_text(text)).suffix.lower() not in IMAGE_SUFFIXES:
        raise SettingError(
            f"{_show(str(text))}: a screenshot is saved as {', '.join(IMAGE_SUFFIXES)}; end the "
            "name so"
        )
    return text


# --- argparse types -------------------------------------------------------------------------
class OptionType:
    """An argparse ``type=``: ``parse(text)``, its SettingError (any ComposerError) becoming
    argparse's one-line error.

    kind: what the value is ('int', 'float', 'path', 'key', ...); range: the Range of a number.
    tests/test_hostile_options.py draws hostile values for each option from these.
    """

    def __init__(self, kind: str, parse: Callable[[str], Any], range: Range | None = None):
        self.kind, self.parse, self.range = kind, parse, range
        self.__name__ = kind  # argparse names the type in some messages

    def __call__(self, text: str) -> Any:
        try:
            return self.parse(text)
        except ComposerError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    def __repr__(self) -> str:
        return f"OptionType({self.kind})"


def option(r: Range) -> OptionType:
    """The argparse type of a number in range ``r``."""
    return OptionType("int" if r.kind is int else "float", r.parse, r)


PATH_OPTION = OptionType("path", lambda text: Path(path_text(text)))  # a Path
NAME_OPTION = OptionType("name", path_text)  # the text: a path, or a name under models/ ...
IMAGE_OPTION = OptionType("image", image_path)
