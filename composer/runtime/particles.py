"""The particle filter's side of sampling: what a mode's candidates are conditioned on
(Conditions: a closed ending, cadences at the fermatas, a teacher's faults), how each chunk just
written weighs them, resampling a filter whose weights have grown uneven, and the final choice
of each filter's variation. The kernels and threads that write the candidates are the sampler's
(composer/runtime/sampler.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from composer.encoding import SATB_VOICES, TOK_HOLD, sounding, sounding_batch
from composer.runtime.native import count_faults
from composer.runtime.plans import Mode, Plan, fermata_onsets
from composer.runtime.settings import SamplingSettings
from composer.runtime.state import SamplerState
from composer.score import Key
from composer.theory.cadence import (
    ENDING_BEST,
    closes_phrase,
    ending_rank,
    is_dominant_approach,
    opens_on_tonic,
)
from composer.theory.counterpoint import FAULT_PENALTY, beat_steps
from composer.theory.passing import PASSING_REWARD, passing_balance


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
    tones, bare fifths), as it is written, and weighed up by ``theory.passing.PASSING_REWARD``
    for each passing note (down for each neighbour note); fermatas (bool per step: under a
    fermata) tell it where a phrase may end and the next begin on one chord. opening: after the
    first beat is written, a candidate whose first full chord there is not the key's tonic on
    its root (theory.cadence.opens_on_tonic) is weighed down by ``CADENCE_PENALTY``.
    """

    key: Key | None
    ending: bool
    cadences: tuple[int, ...]
    final: int = -1  # the last chord's onset (step), where the ending is first weighed
    beats: np.ndarray | None = None
    fermatas: np.ndarray | None = None
    opening: bool = False


# steps before a chunk that its passing notes are read in: a note held longer before a passing
# note (more than a bar) is taken for a rest, and that passing note is not counted
PASSING_REACH = 16
CADENCE_PENALTY = 5.0  # nats: a soft condition; a candidate that misses is 150x less likely


def conditions_for(plan: Plan, mode: Mode, settings: SamplingSettings) -> Conditions | None:
    """What a mode conditions on: a closed ending on the key's tonic (unless the last chord is
    fixed, or a fixed last soprano note lies outside the tonic triad) and a cadence at every
    fermata whose chord is not fixed."""
    beats = fermatas = None
    if settings.counterpoint:
        beats = beat_steps(plan.steps, plan.time_signature, plan.pickup)
        fermatas = plan.fermata_steps
    if not settings.tonic_ending or plan.key is None or mode == "regenerate":
        if beats is None:
            return None
        return Conditions(plan.key, False, (), beats=beats, fermatas=fermatas)
    key = plan.key
    forced = plan.forced.reshape(-1, SATB_VOICES)
    last = forced[-1]
    triad = {key.tonic, (key.tonic + 7) % 12, (key.tonic + 3) % 12, (key.tonic + 4) % 12}
    melody_end = sounding(np.where(forced < 0, TOK_HOLD, forced), len(forced))[-1, 0]
    ending = not (last >= 0).all() and (melody_end < 0 or melody_end % 12 in triad)
    onsets = [t for t in fermata_onsets(plan.fermata_steps) if t > 0]
    final = max(onsets) if onsets else plan.steps
    cadences = tuple(t for t in onsets if t < final and not (forced[t] >= 0).all())
    opening = ending and not (forced[0] >= 0).all()
    return Conditions(key, ending, cadences, final if ending and onsets else -1, beats, fermatas,
                      opening)  # fmt: skip


def weigh(
    out: np.ndarray, log_weight: np.ndarray, first: int, stop: int, conditions: Conditions
) -> None:
    """Weigh the candidates for what steps [first, stop), now written, do: up for the passing
    notes they complete and down for their neighbour notes (theory.passing); down for the
    faults they make, a phrase not closed at a fermata onset, no dominant of the key in the beat
    before the last chord (Bach has one there in 82% of his chorales, in 233 of his 238
    authentic endings; weighed a beat early, the filter still has candidates on it to
    choose the last chord among), a weak ending at the last chord."""
    if conditions.beats is not None:
        found = count_faults(out, first, stop, conditions.beats, conditions.key,
                             conditions.fermatas)  # int64[B]  # fmt: skip
        log_weight -= FAULT_PENALTY * found
        w0 = max(0, first - PASSING_REACH)  # a window: the whole prefix each beat costs O(T^2)
        window, struck = sounding_batch(out[:, w0 * SATB_VOICES :], stop - w0)
        passing = passing_balance(window, struck, first - w0, stop - w0, conditions.beats[w0:stop])
        log_weight += PASSING_REWARD * passing
    events = (*conditions.cadences, conditions.final - 1, conditions.final)  # final: -1 if none
    opening = conditions.opening and first == 0
    if not opening and not any(first <= t < stop for t in events):
        return
    pitches, _ = sounding_batch(out, stop)
    if opening:  # Bach opens on the tonic, on its root, in 79% of his chorales
        for b in range(len(out)):
            if not opens_on_tonic(pitches[b], conditions.key):
                log_weight[b] -= CADENCE_PENALTY
    for f in conditions.cadences:
        if first <= f < stop:
            for b in range(len(out)):
                if not closes_phrase(pitches[b, : f + 1], f, conditions.key):
                    log_weight[b] -= CADENCE_PENALTY
    f = conditions.final
    if f > 0 and first <= f - 1 < stop:  # the beat before the last chord: its dominant
        tonic = conditions.key.tonic
        for b in range(len(out)):
            if not any(is_dominant_approach(c, tonic) for c in pitches[b, max(0, f - 4) : f]):
                log_weight[b] -= CADENCE_PENALTY
    if first <= f < stop:
        for b in range(len(out)):
            missed = ENDING_BEST - ending_rank(pitches[b, : f + 1], conditions.key)
            log_weight[b] -= CADENCE_PENALTY * missed


def log_mean_exp(x: np.ndarray) -> float:
    top = float(x.max())
    return top + float(np.log(np.mean(np.exp(x - top))))


def resample(
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
        added += log_mean_exp(lw)
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


def choose(
    out: np.ndarray,
    log_weight: np.ndarray,
    size: int,
    conditions: Conditions | None,
    rng: np.random.Generator,
) -> list[int]:
    """Each filter's variation (``size`` consecutive sequences of ``out``, int64[B, N]): one of
    its final particles drawn by weight, among those with the best ending there is when the
    conditions ask for an ending. Returns the chosen sequences' indices."""
    keep = []
    for f0 in range(0, len(out), size):
        lw = log_weight[f0 : f0 + size]
        w = np.exp(lw - lw.max())
        if conditions is not None and conditions.ending:  # the best ending there is
            steps = out.shape[1] // SATB_VOICES
            rank = np.array([ending_rank(sounding(out[f0 + k], steps), conditions.key)
                             for k in range(size)])  # fmt: skip
            w = w * (rank == rank.max())
        keep.append(f0 + int(rng.choice(size, p=w / w.sum())))
    return keep
