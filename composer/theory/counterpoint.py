"""A harmony teacher's faults, found in a piece while it is being written (numpy only).

The sampler weighs its candidates by these (composer.runtime.sampler, with the 'bach' and
'strict' voice leading): each fault costs a candidate ``FAULT_PENALTY`` nats, so the particle
filter keeps the candidates a teacher would mark less, without forbidding anything (Bach does
each of these now and then). Like ``theory.cadence`` they are quick and simple, judged on the
pitches and note onsets alone; ``theory.harmony`` holds the full analysis they are measured by.

The faults, each counted at the step where it is decided:
- a dissonance against the bass (a second or seventh, compound or not) struck by an upper
  voice that leaps into it, or left by a leap (passing and neighbour notes move by step);
- a dissonance struck on a beat (a chord seventh, an accented passing note; the major seventh,
  a leading tone that may rise, aside) or prepared (a note held while the bass moves under it
  on a beat: a suspension or a prepared seventh) that does not fall by step;
- a bass leap of a tritone, a seventh or more than an octave;
- on a beat: the home key's leading tone doubled over a dominant bass, or a chord of bare
  fifths (every voice sounding, no third).

Pitches: int[T, 4] as in ``theory.cadence`` (S, A, T, B; -1 silent); struck: bool[T, 4], True
where a voice strikes a note (a repeated note is struck again, a held one is not).
"""

from __future__ import annotations

import numpy as np

from composer.score import Key

FAULT_PENALTY = 1.0  # nats a candidate loses for each fault
DISSONANT = np.zeros(12, dtype=bool)
DISSONANT[[1, 2, 10, 11]] = True  # seconds and sevenths above the bass (and their compounds)
FALLING = {1, 2, 10}  # struck on a beat (a chord seventh, an accented passing note), these fall
AWKWARD_BASS = {6, 10, 11}  # tritone and sevenths; and anything past an octave
BASS = 3


def beat_steps(steps: int, time_signature: tuple[int, int], pickup: int) -> np.ndarray:
    """bool[steps]: the steps on a beat (quarter notes in x/4, dotted quarters in 6/8 and the
    like, half notes in x/2)."""
    num, den = time_signature
    beat = 6 if den == 8 and num % 3 == 0 else max(1, 16 // den)
    return np.mod(np.arange(steps) - pickup, beat) == 0


def faults(
    pitches: np.ndarray,
    struck: np.ndarray,
    first: int,
    stop: int,
    beats: np.ndarray,
    key: Key | None,
) -> int:
    """The faults decided at steps [first, stop) of a candidate written up to ``stop``."""
    count = 0
    bass = pitches[:, BASS]
    for t in range(first, stop):
        if beats[t]:
            count += _beat_faults(pitches[t], key)
        if t == 0:
            continue
        b = bass[t]
        if struck[t, BASS] and b >= 0 and bass[t - 1] >= 0:
            leap = abs(int(b) - int(bass[t - 1]))
            count += leap > 12 or leap in AWKWARD_BASS
        for v in range(BASS):
            if not struck[t, v]:
                continue
            p, q = int(pitches[t, v]), int(pitches[t - 1, v])
            if p < 0 or q < 0:
                continue
            step = abs(p - q)
            if b >= 0 and step > 2 and DISSONANT[(p - b) % 12]:
                count += 1  # leapt into a dissonance
            count += _left_badly(pitches, struck, t, v, beats)  # the note q ends here
    return count


def _left_badly(pitches: np.ndarray, struck: np.ndarray, t: int, v: int, beats: np.ndarray) -> int:
    """1 if voice v's note ending at step t was a dissonance against the bass left badly: a
    struck dissonance left by leap, or a prepared one (the bass moved under it on a beat) that
    does not fall by step."""
    q = int(pitches[t - 1, v])
    move = int(pitches[t, v]) - q
    onset = t - 1
    while onset > 0 and not struck[onset, v]:
        onset -= 1
    b = pitches[onset, BASS]
    if b >= 0 and DISSONANT[(q - int(b)) % 12]:
        if beats[onset] and (q - int(b)) % 12 in FALLING:
            return int(move not in (-1, -2))
        return int(abs(move) > 2)
    for s in range(onset + 1, t):
        b = pitches[s, BASS]
        if struck[s, BASS] and beats[s] and b >= 0 and DISSONANT[(q - int(b)) % 12]:
            return int(move not in (-1, -2))
    return 0


def _beat_faults(chord: np.ndarray, key: Key | None) -> int:
    if (chord < 0).any():
        return 0
    pcs = chord % 12
    count = 0
    if key is not None:
        leading = (key.tonic + 11) % 12
        dominant_bass = (int(pcs[BASS]) - key.tonic) % 12 in (7, 11)
        count += dominant_bass and int((pcs == leading).sum()) > 1
    distinct = {int(p) for p in pcs}
    if len(distinct) == 2:
        low, high = sorted(distinct)
        count += (high - low) in (5, 7)
    return count
