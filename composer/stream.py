"""Endless generation for live use: a chorale one 16th step at a time, and a harmonizer that
answers each played note with alto, tenor and bass. Both carry the LSTM state, so they run
forever at constant cost per step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from composer.encoding import N_PITCH, TOK_HOLD, TOK_REST, satb_conditioning
from composer.errors import GenerationError
from composer.sampler import check_meter, plan_fermatas
from composer.score import HOLD, REST, Key

if TYPE_CHECKING:
    from composer.sampler import Sampler, SamplingSettings


class Stream:
    """An endless chorale, one 16th step per ``next()``, with the LSTM state carried."""

    def __init__(
        self,
        sampler: Sampler,
        key: Key | str,
        time_signature: tuple[int, int],
        settings: SamplingSettings,
    ):
        check_meter(time_signature)
        self.key = Key.parse(key) if isinstance(key, str) else key
        self.time_signature = time_signature
        self.settings = settings
        self.t = sampler.tables
        self.state = self.t.new_state(1, settings.resolved_seed())
        spb = time_signature[0] * 16 // time_signature[1]
        period = (2 if time_signature[0] % 2 == 0 else 4) * spb
        # one phrase of conditioning, repeated: a fermata closes every phrase
        ferm = plan_fermatas(period * 3, time_signature, 0)[period : 2 * period]
        self.slot, pos, ferm, key = satb_conditioning(period, time_signature, 0, ferm, self.key)
        self.cond = self.t.conditioning(self.slot, pos, ferm, key)  # no lookahead: endless
        self.period = period
        self.step_index = 0
        self.forced = np.full(period * 4, -1, np.int64)
        self.out_forced = np.full((1, period * 4), -1, np.int64)
        self.out = np.zeros((1, period * 4), np.int64)
        self.pitch_ok = self.t.pitch_filter(self.key if settings.in_key else None)
        self.temps = settings.temperatures()

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> np.ndarray:
        i = self.step_index % self.period
        self.t.step(
            self.state,
            i * 4,
            i * 4 + 4,
            self.slot,
            self.cond,
            self.forced,
            self.out_forced,
            self.pitch_ok,
            self.temps,
            self.settings,
            self.out,
        )
        self.step_index += 1
        return _cells(self.out[0, i * 4 : i * 4 + 4])

    @property
    def position(self) -> int:
        """Steps produced so far."""
        return self.step_index


class LiveHarmonizer:
    """Harmonizes a melody as it is played: each played note is a chord of A, T and B under it.

    ``chord(pitch)`` runs the soprano's token (forced) and samples alto, tenor and bass: three
    LSTM tokens, so it answers at once. ``hold(steps)`` then advances the model through the steps
    the chord lasts (call it after the chord has been sent). ``rest(steps)`` advances silence.
    """

    def __init__(
        self,
        sampler: Sampler,
        key: Key | str,
        time_signature: tuple[int, int],
        settings: SamplingSettings,
    ):
        self.stream = Stream(sampler, key, time_signature, settings)

    def _advance(self, soprano_token: int, others: int | None) -> np.ndarray:
        s = self.stream
        i = s.step_index % s.period
        base = i * 4
        s.forced[base] = soprano_token
        for v in (1, 2, 3):
            s.forced[base + v] = -1 if others is None else others
        try:
            return next(s)
        finally:
            s.forced[base : base + 4] = -1

    def chord(self, soprano: int) -> tuple[int, int, int]:
        """(alto, tenor, bass) MIDI pitches under ``soprano`` (a MIDI pitch)."""
        if not 0 <= soprano < N_PITCH:
            raise GenerationError(f"soprano pitch {soprano} is not a MIDI pitch")
        cells = self._advance(soprano, None)
        sounding = self.stream.state["sounding"][0]
        return tuple(int(sounding[v]) if cells[v] != REST else -1 for v in (1, 2, 3))

    def hold(self, steps: int = 3) -> None:
        for _ in range(max(0, steps)):
            self._advance(TOK_HOLD, TOK_HOLD)

    def rest(self, steps: int = 1) -> None:
        for _ in range(max(0, steps)):
            self._advance(TOK_REST, TOK_REST)


# --- helpers ------------------------------------------------------------------------------------


def _cells(tokens: np.ndarray) -> np.ndarray:
    """Tokens -> score cells (pitch, HOLD, REST) as int16."""
    return np.where(tokens == TOK_HOLD, HOLD, np.where(tokens == TOK_REST, REST, tokens)).astype(
        np.int16
    )
