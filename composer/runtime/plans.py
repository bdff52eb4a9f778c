"""What each mode asks the model to write: a Plan (the token positions, their conditioning, the
tokens that are fixed and whether the lookahead reads them) inside a Request (the mode, the
Score the tokens are decoded into, what the results record), for generate, continue, harmonize
and regenerate. Each checks what it is asked first: a bad request is a GenerationError of one
line. Units: 16th steps; token positions N = steps * 4 (S, A, T, B).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from composer.encoding import cells_to_tokens
from composer.errors import GenerationError
from composer.limits import MAX_BARS, check_length
from composer.score import CHOIR_AAHS, HOLD, REST, SATB, Key, Score
from composer.theory.plan import (
    check_meter,
    estimate_key,
    fit_melody,
    melody_fermatas,
    melody_key,
    plan_fermatas,
)

Mode = Literal["generate", "continue", "harmonize", "regenerate"]  # what a Request asks for


@dataclass
class Plan:
    """What to run: N = steps * 4 token positions with their conditioning."""

    steps: int
    time_signature: tuple[int, int]
    pickup: int
    key: Key | None
    fermata_steps: np.ndarray  # bool[steps]
    forced: np.ndarray  # int64[N]: token, or -1 where the model chooses
    lookahead: bool  # does the backward LSTM read the fixed channel?
    end_known: bool = True  # does the model know where the piece ends?


@dataclass
class Request:
    """A mode's request, checked and planned: the plan, the piece its tokens are decoded into
    (tempo, meter, key, pickup, names, programs, fermatas) and what each result's meta records
    about the request besides the settings."""

    mode: Mode
    plan: Plan
    like: Score
    meta: dict = field(default_factory=dict)


def generate(
    bars: int,
    key: Key | str,
    time_signature: tuple[int, int],
    tempo: float,
    pickup: int | None,
) -> Request:
    """A new chorale of ``bars`` bars (a pickup and the last partial bar count as one): nothing
    fixed, phrases where Bach's end; the piece it is written into."""
    key = Key.parse(key) if isinstance(key, str) else key
    check_meter(time_signature)
    if not 1 <= bars <= MAX_BARS:
        raise GenerationError(f"bars must be 1-{MAX_BARS}, not {bars}")
    spb = time_signature[0] * 16 // time_signature[1]
    if pickup is None:
        pickup = 4 if time_signature == (4, 4) else 0
    if not 0 <= pickup < spb:
        raise GenerationError(f"a pickup is 0-{spb - 1} steps in this meter, not {pickup}")
    steps = bars * spb
    plan = Plan(
        steps,
        time_signature,
        pickup,
        key,
        plan_fermatas(steps, time_signature, pickup),
        np.full(steps * 4, -1, np.int64),
        lookahead=True,
    )
    like = Score(
        np.zeros((steps, 4), np.int16),
        tempo=tempo,
        time_signature=time_signature,
        key=key,
        pickup=pickup,
    )
    return Request("generate", plan, like, {"bars": bars})


def continue_(primer: Score, bars: int, key: Key | None) -> Request:
    """The primer fixed exactly, followed by ``bars`` new bars; the piece it is written into."""
    primer = as_satb(primer)
    key = key or primer.key or estimate_key(primer)
    check_meter(primer.time_signature)
    if not 1 <= bars <= MAX_BARS:
        raise GenerationError(f"bars must be 1-{MAX_BARS}, not {bars}")
    spb = primer.steps_per_bar
    steps = primer.steps + bars * spb
    check_length(steps)
    ferm = plan_fermatas(steps, primer.time_signature, primer.pickup)
    ferm[: primer.steps] = primer.fermata_mask()
    forced = np.full(steps * 4, -1, np.int64)
    forced[: primer.steps * 4] = cells_to_tokens(primer.grid).reshape(-1)
    plan = Plan(steps, primer.time_signature, primer.pickup, key, ferm, forced, True)
    like = dataclasses.replace(primer, grid=np.zeros((steps, 4), np.int16), key=key)
    return Request("continue", plan, like, {"bars": bars})


def harmonize(melody: Score, key: Key | None) -> Request:
    """Alto, tenor and bass under a melody (voice 0 of ``melody``), which is fixed exactly and
    read by the lookahead; its fermatas (or where it breathes); the piece it is written into.
    A melody outside the soprano's range moves by octaves, and the results' meta['warning']
    says so."""
    if melody.steps == 0:
        raise GenerationError("the melody has no steps")
    check_meter(melody.time_signature)
    tune = melody.grid[:, 0].copy()
    tune, warning = fit_melody(tune)
    key = key or melody_key(melody)
    grid = np.full((melody.steps, 4), REST, np.int16)
    grid[:, 0] = tune
    ferm = melody_fermatas(tune, melody.time_signature, melody.pickup, melody.fermatas)
    forced = np.full(melody.steps * 4, -1, np.int64)
    forced[0::4] = cells_to_tokens(tune)
    plan = Plan(melody.steps, melody.time_signature, melody.pickup, key, ferm, forced, True)
    like = dataclasses.replace(
        melody,
        grid=grid,
        key=key,
        voice_names=SATB,
        programs=(CHOIR_AAHS,) * 4,  # the ensemble is the caller's choice
    )
    return Request("harmonize", plan, like, {"warning": warning} if warning else {})


def regenerate(score: Score, steps: tuple[int, int], voices: list[int]) -> Request:
    """Steps [start, end) of ``voices`` free; everything else fixed exactly (a note held into
    the region's end restruck); the piece it is written into."""
    score = as_satb(score)
    start, end = steps
    if not 0 <= start < end <= score.steps:
        raise GenerationError(f"steps {start}-{end} are outside the piece (0-{score.steps})")
    if not voices or any(v not in range(4) for v in voices):
        raise GenerationError("choose voices among 0-3 (soprano, alto, tenor, bass)")
    cells = np.ones((score.steps, 4), bool)
    cells[start:end, voices] = False
    grid = score.grid.copy()
    # a note that continues into the region from before it may not be held over
    forced = np.where(cells.reshape(-1), cells_to_tokens(grid).reshape(-1), -1).astype(np.int64)
    # after the region a HOLD would continue a note that no longer exists: restate it
    if end < score.steps:
        pitches = score.pitch_grid()
        for v in voices:
            if grid[end, v] == HOLD:
                forced[end * 4 + v] = int(pitches[end, v])
    plan = Plan(
        score.steps,
        score.time_signature,
        score.pickup,
        score.key or estimate_key(score),
        score.fermata_mask(),
        forced,
        True,
    )
    like = dataclasses.replace(score, key=plan.key)
    voice_names = ",".join(SATB[v].lower() for v in voices)
    return Request("regenerate", plan, like, {"steps": f"{start}-{end}", "voices": voice_names})


def fermata_onsets(mask: np.ndarray) -> tuple[int, ...]:
    """The steps where a fermata starts, from a plan's bool[steps] mask (Score.fermatas)."""
    prev = np.concatenate([[False], mask[:-1]])
    return tuple(int(i) for i in np.flatnonzero(mask & ~prev))


def as_satb(score: Score) -> Score:
    """``score``, checked to have four voices."""
    if score.voices != 4:
        raise GenerationError(
            f"this needs four voices (SATB); the piece has {score.voices}. "
            "Harmonize a one-voice melody instead."
        )
    return score
