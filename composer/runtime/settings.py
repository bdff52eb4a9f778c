"""How the sampler draws tokens: SamplingSettings (temperature, top-k/top-p, seed, the
voice-leading rules the kernels' masks enforce, particles)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from composer.encoding import SATB_VOICES
from composer.errors import GenerationError
from composer.runtime import layout

# Measured with bench/harmony.py (40 generated and 40 harmonized chorales beside Bach's): at 1.0
# beats with a freshly struck dissonance and chords neither triad nor seventh run at 1.6-1.7x
# Bach's rate; at 0.9, 1.3x, with phrases closing more often; at 0.8 the music grows plain
# (non-chord tones half as many as Bach's).
DEFAULT_TEMPERATURE = 0.9


@dataclass
class SamplingSettings:
    """How tokens are drawn. temperature <= 0 takes the most likely token.

    voice_temperature: one factor per voice (S, A, T, B), multiplied with temperature.
    top_k: keep the k most likely tokens (0: all). top_p: keep the smallest set of tokens whose
    probability reaches p (1: all). seed: same seed and settings, same notes (None: random).
    no_crossing: a voice never sounds above the voice over it. no_parallels: no consecutive
    perfect fifths or octaves; no_contrary (with it): none by contrary motion either.
    close_spacing: soprano-alto and alto-tenor within an octave.
    in_key: pitches of the key's scale only.
    particles: every mode but the stream samples this many candidates at once; in harmonize and
    regenerate, beat by beat, those under which the model finds the fixed notes still to come
    likely are kept (sequential Monte Carlo): the lookahead over the whole melody. 0: the
    backward LSTM's lookahead alone.
    tonic_ending: generate, continue and harmonize keep only candidates that end on the key's
    tonic chord (a Picardy third allowed), when any does and the melody's last note allows it:
    the model's own distribution conditioned on a closed ending.
    counterpoint: with particles, candidates lose weight for each fault a harmony teacher
    would mark (composer.theory.counterpoint: dissonances leapt into or out of, suspensions
    and chord sevenths that do not fall, awkward bass leaps, doubled leading tones, bare
    fifths, stray six-four chords, a chord struck again on the next beat, ...), and gain
    weight for each passing note, lose it for each neighbour note (composer.theory.passing).
    """

    temperature: float = DEFAULT_TEMPERATURE
    voice_temperature: tuple[float, float, float, float] | None = None
    top_k: int = 0
    top_p: float = 0.95
    seed: int | None = None
    no_crossing: bool = True
    no_parallels: bool = True
    no_contrary: bool = True
    close_spacing: bool = False
    in_key: bool = False
    particles: int = 32  # 16 missed the tonic ending in 3 of 40 generated chorales, 32 in none
    tonic_ending: bool = True
    counterpoint: bool = True

    def resolved_seed(self) -> int:
        return self.seed if self.seed is not None else random.randrange(2**31)

    @classmethod
    def voice_leading(cls, style: str, **kw) -> SamplingSettings:
        """Settings for a voice-leading style: 'bach' (no fifths or octaves by parallel or
        contrary motion, no crossing, dissonances weighed as a teacher would: the defaults),
        'strict' (also close spacing) or 'free' (the model alone)."""
        rules = {
            "bach": (True, True, False),
            "strict": (True, True, True),
            "free": (False, False, False),
        }
        if style not in rules:
            raise GenerationError(f"voice leading {style!r}: choose bach, strict or free")
        crossing, parallels, spacing = rules[style]
        return cls(
            no_crossing=crossing,
            no_parallels=parallels,
            no_contrary=parallels,
            close_spacing=spacing,
            **{"counterpoint": parallels, **kw},
        )

    def rules(self) -> int:
        """The kernels' RULE_* bits for these settings."""
        return (
            (layout.RULE_NO_CROSSING if self.no_crossing else 0)
            | (layout.RULE_NO_PARALLELS if self.no_parallels else 0)
            | (layout.RULE_NO_CONTRARY if self.no_parallels and self.no_contrary else 0)
            | (layout.RULE_CLOSE_SPACING if self.close_spacing else 0)
        )

    def temperatures(self) -> np.ndarray:
        per = self.voice_temperature or (1.0, 1.0, 1.0, 1.0)
        if len(per) != SATB_VOICES:
            raise GenerationError("give one temperature per voice (soprano, alto, tenor, bass)")
        return np.array([self.temperature * t for t in per] + [self.temperature], np.float32)
