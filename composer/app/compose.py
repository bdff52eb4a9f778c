"""What "Compose" does, as a plain function of the document and the panel's settings.

No Qt: a worker thread calls ``compose(...)`` with the sampler (composer.runtime.sampler.Sampler)
and gets back the variations (list of Score). Locked voices are left out of regeneration; locked
notes are copied back over the sampler's result by ``apply_locks``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from composer.errors import GenerationError
from composer.score import HOLD, Key, Score

# The sampler's modes, by the names the command line and the files' metadata use.
Mode = Literal["generate", "continue", "harmonize", "regenerate"]
MODES: tuple[Mode, ...] = get_args(Mode)
MODE_LABELS: dict[Mode, str] = {  # the Mode menu's items; the undo history's and the variations'
    "generate": "New chorale",
    "continue": "Continue",
    "harmonize": "Harmonize melody",
    "regenerate": "Regenerate selection",
}


@dataclass
class ComposeParams:
    """The Composing panel's settings. tempo: quarter notes per minute; bars: whole bars."""

    mode: Mode = "generate"
    bars: int = 8
    key: str = "D minor"  # 'Auto' lets harmonize guess the key
    time_signature: tuple[int, int] = (4, 4)
    tempo: float = 80.0
    temperature: float = 0.9  # SamplingSettings' default (bench/harmony.py)
    top_p: float = 0.95
    seed: int = 1
    variations: int = 3
    voice_leading: str = "bach"  # bach | strict | free (composer.runtime.settings.SamplingSettings)
    particles: int = 32  # candidates: cadences and endings chosen, the music after them weighed
    pickup: int | None = None  # generate: 16ths before the first bar line (None: the usual)

    def __post_init__(self) -> None:
        if self.mode == "new":  # what settings saved by earlier versions call it
            self.mode = "generate"


VOICE_LEADING_LABELS = {
    "bach": "Bach's rules",
    "strict": "Strict (close spacing)",
    "free": "Model only",
}


def sampling_settings(p: ComposeParams):
    from composer.runtime.settings import SamplingSettings

    style = p.voice_leading if p.voice_leading in VOICE_LEADING_LABELS else "bach"
    return SamplingSettings.voice_leading(
        style,
        temperature=p.temperature,
        top_k=0,
        top_p=p.top_p,
        seed=p.seed,
        particles=max(0, int(p.particles)),
    )


def compose(
    sampler,
    params: ComposeParams,
    piece: Score | None,
    melody: Score | None = None,
    region: tuple[int, int] | None = None,
    region_voices: tuple[int, ...] = (),
    voice_locks: frozenset[int] = frozenset(),
    lock_mask: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[Score]:
    """Run one compose request. region: steps [start, end) of ``piece`` for regenerate.

    Raises GenerationError with what to do when the request cannot be met.
    """
    s = sampling_settings(params)
    common = {"settings": s, "variations": params.variations, "progress": progress,
              "cancel": cancel}  # fmt: skip
    if params.mode == "generate":
        key = None if params.key == "Auto" else Key.parse(params.key)
        return sampler.generate(bars=params.bars, key=key or Key.parse("C major"),
                                time_signature=params.time_signature, tempo=params.tempo,
                                pickup=params.pickup, **common)  # fmt: skip
    if params.mode == "continue":
        if piece is None:
            raise GenerationError("nothing to continue: compose or open a piece first")
        return sampler.continue_(piece, bars=params.bars, **common)
    if params.mode == "harmonize":
        tune = melody if melody is not None else piece
        if tune is None:
            raise GenerationError("no melody to harmonize: open a one-voice MIDI file first")
        key = None if params.key == "Auto" else Key.parse(params.key)
        return sampler.harmonize(tune, key=key, **common)
    if params.mode == "regenerate":
        if piece is None:
            raise GenerationError("nothing to regenerate: compose or open a piece first")
        if region is None or region[1] <= region[0]:
            raise GenerationError("select a region first: drag across bars and voices on the roll")
        voices = [v for v in region_voices if v not in voice_locks]
        if not voices:
            raise GenerationError(
                "every voice in the selection is locked: unlock one to regenerate"
            )
        out = sampler.regenerate(piece, steps=region, voices=voices, **common)
        if lock_mask is not None and lock_mask.any():
            out = [apply_locks(piece, r, lock_mask) for r in out]
        return out
    raise GenerationError(f"unknown mode {params.mode!r}: choose one of {', '.join(MODES)}")


def apply_locks(original: Score, generated: Score, mask: np.ndarray) -> Score:
    """``generated`` with the cells of ``original`` under ``mask`` (bool[T, V]) put back.

    A HOLD in ``generated`` right after a restored note would extend the wrong note: it becomes
    the pitch that was sounding there in ``generated``. Shapes must match on the masked region.
    """
    grid = generated.grid.copy()
    sounding = generated.pitch_grid()
    orig_sounding = original.pitch_grid()
    t_max = min(grid.shape[0], original.grid.shape[0], mask.shape[0])
    m = mask[:t_max]
    grid[:t_max][m] = original.grid[:t_max][m]
    for v in range(grid.shape[1]):
        for t in range(1, t_max):
            if m[t - 1, v] and not m[t, v] and grid[t, v] == HOLD:
                grid[t, v] = sounding[t, v]
            if m[t, v] and not m[t - 1, v] and grid[t, v] == HOLD:
                grid[t, v] = orig_sounding[t, v]
    return dataclasses.replace(generated, grid=grid, meta=dict(generated.meta))
