"""The Sampler: every way of composing (generate, continue, harmonize, regenerate, stream, the
live harmonizer) on a bundle's LSTM, with numpy and the numba kernels (no torch).

Each mode builds its plan (composer/runtime/plans.py) and runs the kernels over it in chunks, so
progress can be reported and a run cancelled between chunks; big batches run as two groups on
two threads; with particles, the candidates are weighed, resampled and chosen between chunks
(composer/runtime/particles.py).

    sampler = Sampler.load()                          # models/bach-satb
    s = SamplingSettings(temperature=0.9, top_p=0.95, seed=3)
    [piece] = sampler.generate(bars=16, key=Key.parse("D minor"), settings=s)
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from composer.encoding import decode_satb, plan_conditioning, satb_conditioning
from composer.errors import Cancelled, GenerationError, ModelError
from composer.runtime import plans
from composer.runtime.bundle import Bundle, load_bundle
from composer.runtime.particles import (
    Conditions,
    choose,
    conditions_for,
    log_mean_exp,
    resample,
    weigh,
)
from composer.runtime.plans import Plan, Request, fermata_onsets
from composer.runtime.settings import SamplingSettings
from composer.runtime.stream import LiveHarmonizer, Stream
from composer.runtime.tables import Tables
from composer.score import Key, Score

Progress = Callable[[float], None] | None
Cancel = Callable[[], bool] | None
CHUNK_STEPS = 16  # steps per kernel call (progress/cancel granularity)
PARTICLE_CHUNK_STEPS = 4  # with particles: steps between chances to resample (a beat in 4/4)
MAX_PARTICLES = 256
THREADS = max(1, min(2, os.cpu_count() or 1))


def split_batch(batch: int, threads: int) -> list[tuple[int, int]]:
    """[(start, end)] groups of sequences: one, or two from 16 up, split at a multiple of 8 so
    each sequence is computed exactly as in one batch (kernels.matvec_add's blocks)."""
    if threads < 2 or batch < 16:
        return [(0, batch)]
    half = (batch // 2 + 7) // 8 * 8
    return [(0, half), (half, batch)]


class Sampler:
    """A bundle's LSTM ready to run with the numba kernels."""

    def __init__(self, bundle: Bundle):
        cfg = bundle.model
        if cfg["encoding"] != "satb":
            raise ModelError(
                f"{bundle.path} is a {cfg['encoding']} model; the sampler needs "
                "a SATB model such as models/bach-satb"
            )
        self.bundle = bundle
        self.tables = Tables(bundle)

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> Sampler:
        return cls(load_bundle(model_dir))

    # --- modes ---------------------------------------------------------------------------------
    def generate(
        self,
        bars: int = 16,
        key: Key | str = "C major",
        time_signature: tuple[int, int] = (4, 4),
        tempo: float = 90.0,
        settings: SamplingSettings | None = None,
        variations: int = 1,
        pickup: int | None = None,
        progress: Progress = None,
        cancel: Cancel = None,
    ) -> list[Score]:
        """New chorales of ``bars`` bars (a pickup and the last partial bar count as one)."""
        request = plans.generate(bars, key, time_signature, tempo, pickup)
        return self._finish(request, settings, variations, progress, cancel)

    def continue_(
        self,
        primer: Score,
        bars: int = 8,
        settings: SamplingSettings | None = None,
        variations: int = 1,
        key: Key | None = None,
        progress: Progress = None,
        cancel: Cancel = None,
    ) -> list[Score]:
        """The primer kept exactly, followed by ``bars`` new bars."""
        request = plans.continue_(primer, bars, key)
        return self._finish(request, settings, variations, progress, cancel)

    def harmonize(
        self,
        melody: Score,
        key: Key | None = None,
        settings: SamplingSettings | None = None,
        variations: int = 1,
        progress: Progress = None,
        cancel: Cancel = None,
    ) -> list[Score]:
        """Alto, tenor and bass under a melody (voice 0 of ``melody``), which is kept exactly,
        written with the whole melody in view (the lookahead). A melody outside the soprano's
        range moves by octaves (noted in the result's meta['warning'])."""
        request = plans.harmonize(melody, key)
        return self._finish(request, settings, variations, progress, cancel)

    def regenerate(
        self,
        score: Score,
        steps: tuple[int, int],
        voices: list[int],
        settings: SamplingSettings | None = None,
        variations: int = 1,
        progress: Progress = None,
        cancel: Cancel = None,
    ) -> list[Score]:
        """Steps [start, end) of ``voices`` written anew; everything else kept exactly."""
        request = plans.regenerate(score, steps, voices)
        return self._finish(request, settings, variations, progress, cancel)

    def stream(
        self,
        key: Key | str = "C major",
        time_signature: tuple[int, int] = (4, 4),
        settings: SamplingSettings | None = None,
    ) -> Stream:
        """Endless 16th steps (int16[4]: pitch, HOLD or REST per voice) at constant cost each."""
        return Stream(self.tables, key, time_signature, settings or SamplingSettings())

    def harmonizer(
        self,
        key: Key | str = "C major",
        time_signature: tuple[int, int] = (4, 4),
        settings: SamplingSettings | None = None,
    ) -> LiveHarmonizer:
        """A live harmonizer: chord(soprano) -> (alto, tenor, bass), then hold(steps)."""
        return LiveHarmonizer(self.stream(key, time_signature, settings))

    # --- the engine ----------------------------------------------------------------------------
    def _finish(
        self,
        request: Request,
        settings: SamplingSettings | None,
        variations: int,
        progress: Progress,
        cancel: Cancel,
    ) -> list[Score]:
        """Sample ``variations`` pieces for ``request`` and decode them, each with its meta."""
        plan, like, mode = request.plan, request.like, request.mode
        settings = settings or SamplingSettings()
        if not 1 <= variations <= 64:
            raise GenerationError(f"variations must be 1-64, not {variations}")
        if not 0 <= settings.particles <= MAX_PARTICLES:
            raise GenerationError(f"particles must be 0-{MAX_PARTICLES}, not {settings.particles}")
        seed = settings.resolved_seed()
        particles = settings.particles
        if particles:  # the model as a joint model of every voice: no backward LSTM
            plan = dataclasses.replace(plan, lookahead=False)
        conditions = conditions_for(plan, mode, settings) if particles else None
        tokens, _ = self.sample(
            plan, settings, variations, seed, progress, cancel, particles, conditions
        )
        out = []
        fermatas = fermata_onsets(plan.fermata_steps)
        for k in range(variations):
            score = decode_satb(tokens[k], like)
            score.fermatas = fermatas if mode != "regenerate" else like.fermatas
            score.meta = {
                "mode": mode,
                "model": self.bundle.path.name,
                "seed": str(seed),
                "variation": str(k + 1),
                "key": str(plan.key),
                "temperature": f"{settings.temperature:g}",
                "top_p": f"{settings.top_p:g}",
                **request.meta,
            }
            out.append(score.validate())
        return out

    def sample(
        self,
        plan: Plan,
        settings: SamplingSettings,
        variations: int,
        seed: int,
        progress: Progress = None,
        cancel: Cancel = None,
        particles: int = 0,
        conditions: Conditions | None = None,
    ) -> tuple[np.ndarray, float]:
        """Sample the plan: (int64[variations, steps * 4] tokens, log-likelihood of the forced
        tokens).

        particles > 0: each variation comes from its own sequential Monte Carlo filter of
        ``particles`` sequences (fewer when variations x particles would pass MAX_PARTICLES).
        Each sequence carries the log-probability the model gives the forced tokens since the
        last resampling; after every beat, a filter whose weights have grown uneven (effective
        number below half) is resampled in proportion to them, so the free voices end up drawn
        given every forced token, including those after them. Each filter's variation is drawn
        from its final particles by weight. Separate filters keep variations apart: within one,
        resampling soon gives every particle the same ancestor for the early bars. The
        log-likelihood returned is the filters' mean estimate of log p(forced tokens); without
        particles it is 0.

        conditions (the modes' events, see particles.Conditions): a candidate that does not close
        a phrase at a fermata is weighed down there, and each variation is chosen among the
        candidates with the best ending. The log-likelihood is then no longer an estimate of
        p(forced).
        """
        t = self.tables
        per = max(1, min(particles, MAX_PARTICLES // variations))
        batch = variations * per if particles else variations
        slot, pos, ferm, key = satb_conditioning(
            plan.steps, plan.time_signature, plan.pickup, plan.fermata_steps, plan.key
        )
        to_fermata, to_end = plan_conditioning(plan.steps, plan.fermata_steps, plan.end_known)
        cond = t.conditioning(
            slot,
            pos,
            ferm,
            key,
            plan.forced if plan.lookahead else None,
            to_fermata=to_fermata,
            to_end=to_end,
        )
        n = plan.steps * 4
        out = np.zeros((batch, n), np.int64)
        out_forced = np.full((batch, n), -1, np.int64)
        forced = np.ascontiguousarray(plan.forced)
        draw = t.draw(settings, plan.key)
        # Sequences are independent: big batches run as two groups on two threads (the kernels
        # release the GIL). Groups split at a multiple of 8 compute exactly what one batch would.
        rng = np.random.SeedSequence(seed).generate_state(batch, np.uint64)
        groups = split_batch(batch, THREADS)
        states = [t.new_state(b1 - b0, rng[b0:b1]) for b0, b1 in groups]
        log_weight = np.zeros(batch) if particles else None
        resampler = np.random.default_rng([seed, 1])
        log_likelihood = 0.0
        chunk = (PARTICLE_CHUNK_STEPS if particles else CHUNK_STEPS) * 4
        chunks = [(start, min(n, start + chunk)) for start in range(0, n, chunk)]

        inputs = [t.inputs(slot, cond, forced, out_forced[b0:b1]) for b0, b1 in groups]

        def work(g: int, start: int, stop: int) -> None:
            b0, b1 = groups[g]
            weights = None if log_weight is None else log_weight[b0:b1]
            t.step(states[g], start, stop, inputs[g], draw, out[b0:b1], log_weight=weights)

        def check(done: int) -> None:
            """Before each chunk: stop if cancelled, report how far the first group is."""
            if cancel and cancel():
                raise Cancelled()
            if progress and done:
                progress(done / n)

        # The second group runs on a helper thread that lives for this call only (nothing idles
        # afterwards). Without particles the groups never meet until the end; with them they
        # meet after every chunk, to resample.
        with (
            ThreadPoolExecutor(1, "composer-sampler") if len(groups) > 1 else nullcontext() as pool
        ):
            if log_weight is None:
                quit_early = threading.Event()

                def run_second_group() -> None:
                    for start, stop in chunks:
                        if quit_early.is_set():
                            return
                        work(1, start, stop)

                other = pool.submit(run_second_group) if pool else None
                try:
                    for start, stop in chunks:
                        check(start)
                        work(0, start, stop)
                except BaseException:
                    quit_early.set()  # cancelled or failed: the second group stops too
                    raise
                finally:
                    if other:
                        other.result()
            else:
                for start, stop in chunks:
                    check(start)
                    other = pool.submit(work, 1, start, stop) if pool else None
                    work(0, start, stop)
                    if other:
                        other.result()
                    if conditions is not None:
                        weigh(out, log_weight, start // 4, stop // 4, conditions)
                    if stop < n:
                        log_likelihood += resample(states, groups, out, log_weight, resampler, per)
        if progress:
            progress(1.0)
        if log_weight is None:
            return out, 0.0
        for f0 in range(0, batch, per):
            log_likelihood += log_mean_exp(log_weight[f0 : f0 + per])
        keep = choose(out, log_weight, per, conditions, resampler)
        return out[keep], log_likelihood / variations
