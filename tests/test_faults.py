"""The faults kernel (composer.runtime.faults) against its reference, theory.counterpoint.faults,
on random candidates dense in every fault, in several keys and meters and with no key."""

import numpy as np
import pytest

from composer.encoding import SATB_VOICES, TOK_HOLD, TOK_REST, sounding_batch
from composer.runtime.native import count_faults
from composer.score import Key
from composer.theory import counterpoint as cp
from composer.theory.counterpoint import beat_steps, faults


def random_candidates(rng: np.random.Generator, batch: int, steps: int) -> np.ndarray:
    """int64[batch, steps * 4] tokens: each voice holds often, rests now and then, and moves
    within a band (the soprano a narrow one: it rocks), so every fault turns up."""
    bands = [(61, 65), (55, 69), (48, 64), (36, 57)]  # low enough to sink, close enough to clash
    tokens = np.empty((batch, steps, SATB_VOICES), np.int64)
    for v, (lo, hi) in enumerate(bands):
        kind = rng.random((batch, steps))
        pitch = rng.integers(lo, hi, (batch, steps))
        tokens[:, :, v] = np.where(kind < 0.45, TOK_HOLD, np.where(kind < 0.5, TOK_REST, pitch))
    tokens[:, :2] = rng.integers(60, 62, (batch, 2, SATB_VOICES)) - [0, 5, 12, 24]
    return tokens.reshape(batch, -1)


@pytest.mark.parametrize(
    "key, meter, pickup",
    [
        (Key.parse("C major"), (4, 4), 0),
        (Key.parse("A minor"), (4, 4), 4),
        (Key.parse("Eb major"), (3, 4), 0),
        (Key.parse("F# minor"), (2, 2), 0),
        (None, (4, 4), 0),
    ],
)
def test_the_kernel_counts_the_references_faults(key, meter, pickup):
    rng = np.random.default_rng(7)
    batch, steps = 64, 48
    tokens = random_candidates(rng, batch, steps)
    beats = beat_steps(steps, meter, pickup)
    fermatas = np.zeros(steps, bool)
    fermatas[[16, 17, 18, 19, 32]] = True
    for first, stop in [(0, 4), (4, 8), (20, 24), (0, steps), (45, 48)]:
        pitches, struck = sounding_batch(tokens, stop)
        for ferm in (None, fermatas):
            expected = [faults(pitches[b], struck[b], first, stop, beats, key, ferm)
                        for b in range(batch)]  # fmt: skip
            assert count_faults(tokens, first, stop, beats, key, ferm).tolist() == expected
    # the candidates make every kind of fault, so each branch above was compared
    pitches, struck = sounding_batch(tokens, steps)
    kinds = {"beat": 0, "last beat": 0, "clash": 0, "rocking": 0, "left badly": 0, "seventh": 0,
             "augmented": 0}  # fmt: skip
    for b in range(batch):
        p, s = pitches[b], struck[b]
        for t in range(1, steps):
            if beats[t]:
                kinds["beat"] += cp._beat_faults(p[t], key)
                kinds["last beat"] += cp._last_beat_faults(p, s, beats, t, fermatas)
            kinds["clash"] += key is not None and cp._clashes(p[t], key)
            kinds["rocking"] += s[t, 0] and cp._rocking(p, s, t)
            kinds["left badly"] += sum(
                cp._left_badly(p, s, t, v, beats) for v in range(3) if s[t, v] and p[t - 1, v] >= 0
            )
            kinds["seventh"] += sum(
                cp._unresolved_seventh(p, s, t, v, beats, key, fermatas)
                for v in range(4)
                if s[t, v] and p[t, v] >= 0 and p[t - 1, v] >= 0
            )
            kinds["augmented"] += sum(
                cp._augmented_move(int(p[t, v]), int(p[t - 1, v]), key)
                for v in range(4)
                if s[t, v] and p[t, v] >= 0 and p[t - 1, v] >= 0
            )
    keyed = ("clash", "augmented")  # faults that need a key
    assert all(n > 0 for kind, n in kinds.items() if kind not in keyed or key is not None), kinds
