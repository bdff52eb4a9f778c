"""A harmony teacher's faults, found in a piece while it is being written (numpy only).

The sampler weighs its candidates by these (composer.runtime.particles, with the 'bach' and
'strict' voice leading; composer.runtime.faults counts them there, for the whole batch, in a
numba kernel that this module is the reference of: a change here must be made there too):
each fault costs a candidate ``FAULT_PENALTY`` nats, so the particle filter keeps the
candidates a teacher would mark less, without forbidding anything (Bach does each of these now
and then). Like ``theory.cadence`` they are quick and simple, judged on the
pitches and note onsets alone; ``theory.harmony`` holds the full analysis they are measured by.

The faults, each counted at the step where it is decided:
- a dissonance against the bass (a second or seventh, compound or not) struck by an upper
  voice that leaps into it, or left by a leap (passing and neighbour notes move by step);
- a dissonance struck on a beat (a chord seventh, an accented passing note; the major seventh,
  a leading tone that may rise, aside) or prepared (a note held while the bass moves under it
  on a beat: a suspension or a prepared seventh) that does not fall by step;
- a bass leap of a tritone, a seventh or more than an octave;
- on a beat: the home key's leading tone doubled over a dominant bass, a chord of bare
  fifths (every voice sounding, no third), a diminished triad in root position, a soprano
  below D4 or an alto below A3 (the texture sinking);
- a beat with no third anywhere in it (a suspension resolving within the beat is fine);
- a six-four chord on a beat that is neither cadential nor over a pedal (the bass stays) nor
  passing (the bass steps through it);
- a chromatic clash: two voices sounding one letter in two forms (F against F#), counted twice;
- a soprano rocking between two notes (x-y-x-y).

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
LOWEST_SOPRANO, LOWEST_ALTO = 62, 57  # D4, A3: Bach's upper voices go lower once in 300 beats
CLASH_WEIGHT = 2  # a chromatic clash counts as two faults: Bach all but never writes one
# Pitch-class pairs a semitone apart, above the tonic, that spell one letter two ways (C/C#,
# Eb/E, F/F#, Ab/A, Bb/B in C major; Bb/B, C/C#, D/D#, F/F#, G/G# in A minor).
ALTERED_MAJOR = {(0, 1), (3, 4), (5, 6), (8, 9), (10, 11)}
ALTERED_MINOR = {(1, 2), (3, 4), (5, 6), (8, 9), (10, 11)}


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
            count += _beat_faults(pitches[t], key) + _last_beat_faults(pitches, beats, t)
        if key is not None and struck[t].any():
            count += CLASH_WEIGHT * _clashes(pitches[t], key)
        if t == 0:
            continue
        if struck[t, 0]:
            count += _rocking(pitches, struck, t)
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


def _clashes(chord: np.ndarray, key: Key) -> int:
    """1 if two voices sound one letter in two forms (F against F#: a chromatic clash)."""
    pcs = sorted({(int(p) - key.tonic) % 12 for p in chord if p >= 0})
    pairs = ALTERED_MAJOR if key.mode == "major" else ALTERED_MINOR
    return int(any((a, (a + 1) % 12) in pairs for a in pcs if (a + 1) % 12 in pcs))


def _rocking(pitches: np.ndarray, struck: np.ndarray, t: int) -> int:
    """1 if the soprano's last four notes, ending with the one struck at t, rock x-y-x-y."""
    notes = [int(pitches[t, 0])]
    s = t - 1
    while s >= 0 and len(notes) < 4:
        if struck[s, 0]:
            notes.append(int(pitches[s, 0]))
        s -= 1
    return int(len(notes) == 4 and notes[0] == notes[2] != notes[1] == notes[3] >= 0)


def _last_beat_faults(pitches: np.ndarray, beats: np.ndarray, t: int) -> int:
    """Faults of the beat that ends at beat step t, judged now its neighbours are known: no
    third anywhere in it, or a six-four chord on its downbeat that is neither cadential, passing
    nor over a pedal."""
    previous = np.flatnonzero(beats[:t])
    if not len(previous):
        return 0
    p = int(previous[-1])
    span = pitches[p:t]
    pcs = {int(x) % 12 for x in span.reshape(-1) if x >= 0}
    count = int(len(pcs) > 1 and not any((a - b) % 12 in (3, 4) for a in pcs for b in pcs))
    chord = pitches[p]
    if (chord < 0).any():
        return count
    over_bass = {(int(x) - int(chord[BASS])) % 12 for x in chord}
    if over_bass in ({0, 5, 9}, {0, 5, 8}):  # a complete six-four chord
        bass = int(chord[BASS])
        after = int(pitches[t, BASS])
        before = previous[-2] if len(previous) > 1 else -1
        came = bass - int(pitches[before, BASS]) if before >= 0 else 99
        goes = after - bass
        held = came == 0 or goes == 0  # pedal, or cadential (the bass stays for V)
        passing = came * goes > 0 and 0 < abs(came) <= 2 and 0 < abs(goes) <= 2
        count += not (held or passing)
    return count


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
    over_bass = {(int(p) - int(pcs[BASS])) % 12 for p in pcs}
    count += over_bass == {0, 3, 6}  # a diminished triad in root position
    count += int(chord[0] < LOWEST_SOPRANO or chord[1] < LOWEST_ALTO)  # the texture sinks
    return count
