"""Cadences and endings judged on the pitches of a piece while it is being written (numpy only).

The sampler conditions its candidates on these events (composer.runtime.particles): a phrase that
closes at its fermata, and a piece that ends on its key's tonic chord. They are deliberately
simple and fast (a few microseconds per candidate), unlike the full analysis of
``composer.theory.harmony``; Bach's chorales satisfy them at about 90% of fermatas and in nearly
every ending.

Pitches: int[T, 4], the MIDI pitch each voice (S, A, T, B) sounds at each 16th step, -1 for a
rest (composer.encoding.sounding gives them from tokens). Pitch classes (pc) 0-11, 0 = C.
"""

from __future__ import annotations

import numpy as np

from composer.score import Key

MAJOR, MINOR = (0, 4, 7), (0, 3, 7)


def triad_root(chord: np.ndarray) -> int:
    """The root pc of a complete-enough major or minor triad in root position (every voice
    sounding, the bass on the root, the third present, nothing outside the triad); -1 if the
    chord is not one."""
    if (chord < 0).any():
        return -1
    root = int(chord[-1]) % 12
    pcs = {int(p - root) % 12 for p in chord}
    if pcs <= set(MAJOR) and 4 in pcs or pcs <= set(MINOR) and 3 in pcs:
        return root
    return -1


def approach(pitches: np.ndarray, t: int) -> np.ndarray | None:
    """The chord sounding before the one at step ``t`` changed to it (the last step before t whose
    pitch classes differ from t's), or None."""
    now = {int(p) % 12 for p in pitches[t] if p >= 0}
    for s in range(t - 1, -1, -1):
        if {int(p) % 12 for p in pitches[s] if p >= 0} != now:
            return pitches[s]
    return None


DOMINANT_PCS = frozenset({7, 11, 2, 5})  # V7 above the tonic: root, leading tone, fifth, seventh


def is_dominant_approach(before: np.ndarray | None, root: int) -> bool:
    """``before`` leads to a chord on ``root`` as a dominant does: V or V7 (its root and the
    leading tone sounding, nothing outside V7) with the bass on its root or the leading tone
    (V6). vii° alone, without the dominant's root, does not count: Bach closes with V."""
    if before is None or before[-1] < 0:
        return False
    bass = (int(before[-1]) - root) % 12
    pcs = {(int(p) - root) % 12 for p in before if p >= 0}
    return bass in (7, 11) and {7, 11} <= pcs <= DOMINANT_PCS


def closes_phrase(pitches: np.ndarray, t: int, key: Key | None) -> bool:
    """A cadence at step ``t`` (a fermata's onset): a root-position major or minor triad reached
    from its dominant (authentic, in any key) or from the triad a fourth above (plagal), or a
    major triad on the home key's dominant (half cadence)."""
    root = triad_root(pitches[t])
    if root < 0:
        return False
    before = approach(pitches, t)
    if is_dominant_approach(before, root):
        return True
    if before is not None and before[-1] >= 0 and (int(before[-1]) - root) % 12 == 5:
        return triad_root(before) == int(before[-1]) % 12
    if key is not None and root == (key.tonic + 7) % 12:
        third = {int(p - root) % 12 for p in pitches[t]}
        return 4 in third
    return False


def opens_on_tonic(pitches: np.ndarray, key: Key) -> bool:
    """The first chord every voice sounds is the tonic triad of ``key`` on its root (the third
    may be missing; Bach's opening chords, 257 of his 327 chorales); True if no chord sounds in
    every voice yet."""
    full = np.flatnonzero((pitches >= 0).all(axis=1))
    if not len(full):
        return True
    chord = pitches[full[0]]
    pcs = {(int(p) - key.tonic) % 12 for p in chord}
    return (int(chord[-1]) - key.tonic) % 12 == 0 and pcs <= set(
        MINOR if key.mode == "minor" else MAJOR
    )


ENDING_BEST = 4  # ending_rank of a perfect authentic ending


def ending_rank(pitches: np.ndarray, key: Key) -> int:
    """How well a piece ending here ends in ``key``: on the tonic triad (a Picardy third allowed
    in minor) reached from its dominant 3 (authentic: Bach's in nine endings of ten), and 4 when
    that dominant stands on its root, the soprano ends on the tonic (perfect: the bass falls 5-1
    in 98% of his endings) and, in minor, the third is raised (his final chords are major 97%
    of the time); from IV 2 (plagal), otherwise 1; 0 on anything else."""
    last = pitches[-1]
    root = triad_root(last)
    if root != key.tonic:
        return 0
    if key.mode == "major" and any((int(p) - root) % 12 == 3 for p in last):
        return 0
    t = len(pitches) - 1
    while t > 0 and (pitches[t - 1] == last).all():
        t -= 1
    before = approach(pitches, t)
    plagal = before is not None and before[-1] >= 0 and (int(before[-1]) - root) % 12 == 5
    if is_dominant_approach(before, root):
        perfect = (int(before[-1]) - root) % 12 == 7 and int(last[0]) % 12 == root
        major = any((int(p) - root) % 12 == 4 for p in last)
        return ENDING_BEST if perfect and major else 3
    return 2 if plagal else 1
