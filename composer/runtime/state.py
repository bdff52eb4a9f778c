"""SamplerState: what B sequences carry from one kernel call to the next (each LSTM layer's
state, the last token, the pitches sounding, a random stream per sequence), and the one rule for
taking sequences out of it by index, which the particle filter's resampling and the live
harmonizer's chords prepared ahead both use."""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields

import numpy as np

from composer.encoding import SATB_VOICES, TOK_START
from composer.runtime import layout


def _sequences_on(axis: int):
    """A field whose axis ``axis`` runs over the sequences."""
    return field(metadata={"batch_axis": axis})


def _axis(f: Field) -> int:
    return f.metadata["batch_axis"]


@dataclass(eq=False)
class SamplerState:
    """B sequences between kernel calls; the kernels update the arrays in place
    (layout.State has the same fields, in the same order)."""

    prev: np.ndarray = _sequences_on(0)  # int64[B]: each sequence's last token
    h: np.ndarray = _sequences_on(1)  # float32[L, B, H]: each layer's hidden state
    c: np.ndarray = _sequences_on(1)  # float32[L, B, H]: each layer's cell state
    rng: np.ndarray = _sequences_on(0)  # uint64[B]: each sequence's random state (splitmix64)
    sounding: np.ndarray = _sequences_on(0)  # int64[B, 4]: pitch sounding per voice, or -1
    before: np.ndarray = _sequences_on(0)  # int64[B, 4]: what sounded at the previous step's end

    @classmethod
    def start(cls, layers: int, hidden: int, batch: int, seed: int | np.ndarray) -> SamplerState:
        """``batch`` sequences before their first token: zero LSTM state, nothing sounding.
        seed: an int, or one uint64 per sequence."""
        if isinstance(seed, np.ndarray):
            rng = seed.copy()
        else:
            rng = np.random.SeedSequence(seed).generate_state(batch, np.uint64)
        return cls(
            prev=np.full(batch, TOK_START, np.int64),
            h=np.zeros((layers, batch, hidden), np.float32),
            c=np.zeros((layers, batch, hidden), np.float32),
            rng=rng.astype(np.uint64),
            sounding=np.full((batch, SATB_VOICES), -1, np.int64),
            before=np.full((batch, SATB_VOICES), -1, np.int64),
        )

    @property
    def batch(self) -> int:
        return len(self.prev)

    def take(self, index: np.ndarray | list[int]) -> SamplerState:
        """The sequences at ``index`` (one per new sequence; an index given twice copies that
        sequence), random streams included, in new arrays."""
        taken = {f.name: np.take(getattr(self, f.name), index, axis=_axis(f)) for f in fields(self)}
        return SamplerState(**taken)

    @classmethod
    def concat(cls, states: list[SamplerState]) -> SamplerState:
        """The sequences of ``states``, one after the other, in new arrays."""
        joined = {
            f.name: np.concatenate([getattr(s, f.name) for s in states], axis=_axis(f))
            for f in fields(cls)
        }
        return cls(**joined)

    def kernel_arrays(self) -> layout.State:
        """The arrays, as the kernels take them."""
        return layout.State(self.prev, self.h, self.c, self.rng, self.sounding, self.before)
