"""Endless generation for live use: a chorale one 16th step at a time, and a harmonizer that
answers each played note with alto, tenor and bass. Both carry the LSTM state, so they run
forever at constant cost per step."""

from __future__ import annotations

import numpy as np

from composer.encoding import (
    N_PITCH,
    SATB_VOICES,
    TOK_HOLD,
    TOK_REST,
    satb_conditioning,
    steps_to_end,
    steps_to_fermata,
    tokens_to_cells,
)
from composer.errors import GenerationError
from composer.runtime.settings import SamplingSettings
from composer.runtime.state import SamplerState
from composer.runtime.tables import Tables
from composer.score import REST, Key
from composer.theory.plan import check_meter, plan_fermatas


class Stream:
    """An endless chorale, one 16th step per ``next()``, with the LSTM state carried."""

    def __init__(
        self,
        tables: Tables,
        key: Key | str,
        time_signature: tuple[int, int],
        settings: SamplingSettings,
    ):
        check_meter(time_signature)
        self.key = Key.parse(key) if isinstance(key, str) else key
        self.time_signature = time_signature
        self.settings = settings
        self.t = tables
        self.state = self.t.new_state(1, settings.resolved_seed())
        spb = time_signature[0] * 16 // time_signature[1]
        period = (2 if time_signature[0] % 2 == 0 else 4) * spb
        # one phrase of conditioning, repeated: a fermata closes every phrase
        phrases = plan_fermatas(period * 3, time_signature, 0)
        ferm = phrases[period : 2 * period]
        to_fermata = steps_to_fermata(phrases)[period : 2 * period].repeat(SATB_VOICES)
        to_end = steps_to_end(period, known=False).repeat(SATB_VOICES)  # endless
        self.slot, pos, ferm, key = satb_conditioning(period, time_signature, 0, ferm, self.key)
        self.cond = self.t.conditioning(  # no lookahead: endless
            self.slot, pos, ferm, key, to_fermata=to_fermata, to_end=to_end
        )
        self.period = period
        self.step_index = 0
        self.forced = np.full(period * 4, -1, np.int64)
        self.out_forced = np.full((1, period * 4), -1, np.int64)
        self.out = np.zeros((1, period * 4), np.int64)
        self.inputs = self.t.inputs(
            self.slot, self.cond, self.forced, self.out_forced, history=False
        )
        self.draw = self.t.draw(settings, self.key)

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> np.ndarray:
        i = self.step_index % self.period
        self.t.step(self.state, i * 4, i * 4 + 4, self.inputs, self.draw, self.out)
        self.step_index += 1
        return tokens_to_cells(self.out[0, i * 4 : i * 4 + 4])

    @property
    def position(self) -> int:
        """Steps produced so far."""
        return self.step_index


class LiveHarmonizer:
    """Harmonizes a melody as it is played: each played note is a chord of A, T and B under it.
    It drives a Stream of its own (Sampler.harmonizer makes one), forcing the soprano's tokens.

    ``chord(pitch)`` runs the soprano's token (forced) and samples alto, tenor and bass: three
    LSTM tokens, so it answers at once. ``hold(steps)`` then advances the model through the steps
    the chord lasts (call it after the chord has been sent). ``rest(steps)`` advances silence.

    ``prepare()``, called while waiting for the next note (from any thread), works out ahead the
    chord under every soprano in AHEAD as one batch; ``chord()`` then only adopts the state of the
    one played, if nothing has moved since. Every product sums in the same order whatever the
    batch (composer.runtime.kernels), so a prepared chord is exactly the one ``chord()`` would
    compute: the notes never depend on whether there was time to prepare.
    """

    AHEAD = range(55, 87)  # sopranos prepared: the soprano's range and a few notes either side

    def __init__(self, stream: Stream):
        self.stream = stream  # the model's state, advanced one step per soprano step
        # Changes of the model's state, counted twice each (odd while one is under way), so a
        # prepare() on another thread can tell whether its copy of the state was torn or stale.
        self._version = 0
        self._ahead: tuple[int, list[SamplerState], list[tuple[int, int, int]]] | None = None
        self.answered_ahead = 0  # chords answered from prepare()'s work

    def _advance(self, soprano_token: int, others: int | None) -> np.ndarray:
        s = self.stream
        i = s.step_index % s.period
        base = i * 4
        s.forced[base] = soprano_token
        for v in (1, 2, 3):
            s.forced[base + v] = -1 if others is None else others
        self._version += 1
        try:
            return next(s)
        finally:
            s.forced[base : base + 4] = -1
            self._version += 1

    def chord(self, soprano: int) -> tuple[int, int, int]:
        """(alto, tenor, bass) MIDI pitches under ``soprano`` (a MIDI pitch; -1: silent)."""
        if not 0 <= soprano < N_PITCH:
            raise GenerationError(f"soprano pitch {soprano} is not a MIDI pitch")
        ahead = self._ahead  # read once: prepare() may publish newer work meanwhile
        if ahead is not None and ahead[0] == self._version and soprano in self.AHEAD:
            k = soprano - self.AHEAD.start  # adopt what prepare() worked out: no arithmetic
            self._version += 1
            self.stream.state = ahead[1][k]
            self.stream.step_index += 1
            self._version += 1
            self.answered_ahead += 1
            return ahead[2][k]
        cells = self._advance(soprano, None)
        return _chord(cells, self.stream.state.sounding[0])

    def hold(self, steps: int = 3) -> None:
        for _ in range(max(0, steps)):
            self._advance(TOK_HOLD, TOK_HOLD)

    def rest(self, steps: int = 1) -> None:
        for _ in range(max(0, steps)):
            self._advance(TOK_REST, TOK_REST)

    @property
    def prepared(self) -> bool:
        """Whether prepare()'s work matches the present state (the next chord is ready)."""
        ahead = self._ahead
        return ahead is not None and ahead[0] == self._version

    def prepare(self) -> bool:
        """Work out the chord under every soprano in AHEAD from the present state; False if the
        state changed meanwhile (nothing is kept then; call again when it is quiet)."""
        if self.prepared:
            return True  # nothing has moved since the last time
        s = self.stream
        version = self._version
        if version % 2:
            return False
        step_index = s.step_index
        n = len(self.AHEAD)
        batch = s.state.take(np.zeros(n, np.int64))  # n copies of the one sequence
        if self._version != version:  # the copy may be torn: the state moved while it was taken
            return False
        i = step_index % s.period
        out_forced = np.full((n, s.period * 4), -1, np.int64)
        out_forced[:, i * 4] = np.arange(self.AHEAD.start, self.AHEAD.stop)
        out = np.zeros((n, s.period * 4), np.int64)
        free = np.full_like(s.forced, -1)  # not s.forced, which chord() sets for a moment
        inputs = s.t.inputs(s.slot, s.cond, free, out_forced, history=False)
        s.t.step(batch, i * 4, i * 4 + 4, inputs, s.draw, out)
        # one state per candidate, so that chord() adopts one by reference
        states = [batch.take([k]) for k in range(n)]
        chords = [_chord(tokens_to_cells(out[k, i * 4 : i * 4 + 4]), batch.sounding[k])
                  for k in range(n)]  # fmt: skip
        if self._version == version:
            self._ahead = (version, states, chords)
            return True
        return False


# --- helpers ------------------------------------------------------------------------------------


def _chord(cells: np.ndarray, sounding: np.ndarray) -> tuple[int, int, int]:
    """(alto, tenor, bass) sounding after a step's cells; -1 for a voice that rests."""
    return tuple(int(sounding[v]) if cells[v] != REST else -1 for v in (1, 2, 3))
