"""Generation on top of the numba kernels: generate, continue, harmonize, regenerate, stream.

Loads a bundle with numpy (no torch). Every mode builds a *plan* (the conditioning of each token
position, the tokens that are fixed, and whether the lookahead reads them) and runs the kernels
over it in chunks, so progress can be reported and a run cancelled between chunks.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.encoding import (
    SATB_VOICES,
    TOK_HOLD,
    cells_to_tokens,
    decode_satb,
    plan_conditioning,
    satb_conditioning,
    sounding,
    sounding_batch,
)
from composer.errors import Cancelled, GenerationError, ModelError
from composer.limits import MAX_BARS, check_length
from composer.runtime.bundle import Bundle, load_bundle
from composer.runtime.settings import SamplingSettings
from composer.runtime.state import SamplerState
from composer.runtime.stream import LiveHarmonizer, Stream
from composer.runtime.tables import Tables
from composer.score import CHOIR_AAHS, HOLD, REST, SATB, Key, Score
from composer.theory.cadence import ENDING_BEST, closes_phrase, ending_rank
from composer.theory.counterpoint import FAULT_PENALTY, beat_steps, faults
from composer.theory.plan import (
    check_meter,
    estimate_key,
    fit_melody,
    melody_fermatas,
    melody_key,
    plan_fermatas,
)

Progress = Callable[[float], None] | None
Cancel = Callable[[], bool] | None
CHUNK_STEPS = 16  # steps per kernel call (progress/cancel granularity)
PARTICLE_CHUNK_STEPS = 4  # with particles: steps between chances to resample (a beat in 4/4)
MAX_PARTICLES = 256


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
        return self._finish(
            plan,
            like,
            settings,
            variations,
            progress,
            cancel,
            mode="generate",
            extra={"bars": bars},
        )

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
        primer = _as_satb(primer)
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
        return self._finish(
            plan,
            like,
            settings,
            variations,
            progress,
            cancel,
            mode="continue",
            extra={"bars": bars},
        )

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
        out = self._finish(
            plan, like, settings, variations, progress, cancel, mode="harmonize", extra={}
        )
        if warning:
            for s in out:
                s.meta["warning"] = warning
        return out

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
        score = _as_satb(score)
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
        return self._finish(
            plan,
            like,
            settings,
            variations,
            progress,
            cancel,
            mode="regenerate",
            extra={"steps": f"{start}-{end}", "voices": ",".join(SATB[v].lower() for v in voices)},
        )

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
        return LiveHarmonizer(self.tables, key, time_signature, settings or SamplingSettings())

    # --- the engine ----------------------------------------------------------------------------
    def _finish(
        self,
        plan: Plan,
        like: Score,
        settings: SamplingSettings | None,
        variations: int,
        progress: Progress,
        cancel: Cancel,
        mode: str,
        extra: dict,
    ) -> list[Score]:
        settings = settings or SamplingSettings()
        if not 1 <= variations <= 64:
            raise GenerationError(f"variations must be 1-64, not {variations}")
        if not 0 <= settings.particles <= MAX_PARTICLES:
            raise GenerationError(f"particles must be 0-{MAX_PARTICLES}, not {settings.particles}")
        seed = settings.resolved_seed()
        particles = settings.particles if mode != "stream" else 0
        if particles:  # the model as a joint model of every voice: no backward LSTM
            plan = dataclasses.replace(plan, lookahead=False)
        conditions = _conditions(plan, mode, settings) if particles else None
        tokens, _ = self.sample(
            plan, settings, variations, seed, progress, cancel, particles, conditions
        )
        out = []
        fermatas = _fermata_onsets(plan.fermata_steps)
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
                **extra,
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

        conditions (the modes' events, see Conditions): a candidate that does not close a phrase
        at a fermata is weighed down there, and each variation is chosen among the candidates
        with the best ending. The log-likelihood is then no longer an estimate of p(forced).
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
                        _weigh(out, log_weight, start // 4, stop // 4, conditions)
                    if stop < n:
                        log_likelihood += _resample(states, groups, out, log_weight, resampler, per)
        if progress:
            progress(1.0)
        if log_weight is None:
            return out, 0.0
        keep = []
        for f0 in range(0, batch, per):
            lw = log_weight[f0 : f0 + per]
            log_likelihood += _log_mean_exp(lw)
            w = np.exp(lw - lw.max())
            if conditions is not None and conditions.ending:  # the best ending there is
                steps = n // SATB_VOICES
                rank = np.array([ending_rank(sounding(out[f0 + k], steps), conditions.key)
                                 for k in range(per)])  # fmt: skip
                w = w * (rank == rank.max())
            keep.append(f0 + int(resampler.choice(per, p=w / w.sum())))
        return out[keep], log_likelihood / variations


@dataclass
class Conditions:
    """Events the candidates of a mode are conditioned on (particles only).

    ending: rank of a finished candidate's ending (higher is better; theory.cadence.ending_rank);
    the final choice is among the best ranked. cadences: fermata onsets (steps) where a phrase
    should close (theory.cadence.closes_phrase); a candidate that does not is weighed down by
    ``CADENCE_PENALTY`` nats there, so the filter resamples towards those that do. At the last
    chord's onset, ``final``, a candidate is weighed down by that much for each rank its ending
    misses. beats (bool per step, or None): a candidate is weighed down by
    ``theory.counterpoint.FAULT_PENALTY`` for each fault a teacher would mark (dissonances
    leapt into or out of, suspensions that do not fall, awkward bass leaps, doubled leading
    tones, bare fifths), as it is written.
    """

    key: Key | None
    ending: bool
    cadences: tuple[int, ...]
    final: int = -1  # the last chord's onset (step), where the ending is first weighed
    beats: np.ndarray | None = None


CADENCE_PENALTY = 5.0  # nats: a soft condition; a candidate that misses is 150x less likely


def _conditions(plan: Plan, mode: str, settings: SamplingSettings) -> Conditions | None:
    """What a mode conditions on: a closed ending on the key's tonic (unless the last chord is
    fixed, or a fixed last soprano note lies outside the tonic triad) and a cadence at every
    fermata whose chord is not fixed."""
    beats = None
    if settings.counterpoint and mode != "stream":
        beats = beat_steps(plan.steps, plan.time_signature, plan.pickup)
    if not settings.tonic_ending or plan.key is None or mode in ("regenerate", "stream"):
        return None if beats is None else Conditions(plan.key, False, (), beats=beats)
    key = plan.key
    forced = plan.forced.reshape(-1, SATB_VOICES)
    last = forced[-1]
    triad = {key.tonic, (key.tonic + 7) % 12, (key.tonic + 3) % 12, (key.tonic + 4) % 12}
    melody_end = sounding(np.where(forced < 0, TOK_HOLD, forced), len(forced))[-1, 0]
    ending = not (last >= 0).all() and (melody_end < 0 or melody_end % 12 in triad)
    onsets = [
        t for t in range(1, plan.steps) if plan.fermata_steps[t] and not plan.fermata_steps[t - 1]
    ]
    final = max(onsets) if onsets else plan.steps
    cadences = tuple(t for t in onsets if t < final and not (forced[t] >= 0).all())
    return Conditions(key, ending, cadences, final if ending and onsets else -1, beats)


def _weigh(
    out: np.ndarray, log_weight: np.ndarray, first: int, stop: int, conditions: Conditions
) -> None:
    """Weigh down the candidates for what steps [first, stop), now written, do: the faults
    they make, a phrase not closed at a fermata onset, a weak ending at the last chord."""
    pitches, struck = sounding_batch(out, stop)
    if conditions.beats is not None:
        for b in range(len(out)):
            found = faults(pitches[b], struck[b], first, stop, conditions.beats, conditions.key)
            log_weight[b] -= FAULT_PENALTY * found
    for f in conditions.cadences:
        if first <= f < stop:
            for b in range(len(out)):
                if not closes_phrase(pitches[b, : f + 1], f, conditions.key):
                    log_weight[b] -= CADENCE_PENALTY
    f = conditions.final
    if first <= f < stop:
        for b in range(len(out)):
            missed = ENDING_BEST - ending_rank(pitches[b, : f + 1], conditions.key)
            log_weight[b] -= CADENCE_PENALTY * missed


def _log_mean_exp(x: np.ndarray) -> float:
    top = float(x.max())
    return top + float(np.log(np.mean(np.exp(x - top))))


def _resample(
    states: list[SamplerState],
    groups: list[tuple[int, int]],
    out: np.ndarray,
    log_weight: np.ndarray,
    rng: np.random.Generator,
    size: int,
) -> float:
    """Resample each filter (``size`` consecutive sequences) whose weights have grown uneven,
    by systematic resampling; returns what this adds to the filters' summed log-likelihood
    estimates. Each sequence keeps its own random stream, so copies of one particle go their own
    ways."""
    ancestors = np.arange(len(log_weight))
    added = 0.0
    for f0 in range(0, len(log_weight), size):
        lw = log_weight[f0 : f0 + size]
        w = np.exp(lw - lw.max())
        if w.sum() ** 2 / (w**2).sum() >= size / 2:
            continue
        added += _log_mean_exp(lw)
        cdf = np.cumsum(w / w.sum())
        cdf[-1] = 1.0
        ancestors[f0 : f0 + size] = f0 + np.searchsorted(
            cdf, (rng.random() + np.arange(size)) / size
        )
        lw[...] = 0.0
    if (ancestors == np.arange(len(ancestors))).all():
        return added
    everyone = SamplerState.concat(states)
    for g, (b0, b1) in enumerate(groups):  # each place keeps its own random stream
        states[g] = dataclasses.replace(everyone.take(ancestors[b0:b1]), rng=states[g].rng)
    out[...] = out[ancestors]
    return added


THREADS = max(1, min(2, os.cpu_count() or 1))


def split_batch(batch: int, threads: int) -> list[tuple[int, int]]:
    """[(start, end)] groups of sequences: one, or two from 16 up, split at a multiple of 8 so
    each sequence is computed exactly as in one batch (kernels.matvec_add's blocks)."""
    if threads < 2 or batch < 16:
        return [(0, batch)]
    half = (batch // 2 + 7) // 8 * 8
    return [(0, half), (half, batch)]


def _fermata_onsets(mask: np.ndarray) -> tuple[int, ...]:
    prev = np.concatenate([[False], mask[:-1]])
    return tuple(int(i) for i in np.flatnonzero(mask & ~prev))


def _as_satb(score: Score) -> Score:
    if score.voices != 4:
        raise GenerationError(
            f"this needs four voices (SATB); the piece has {score.voices}. "
            "Harmonize a one-voice melody instead."
        )
    return score
