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
  voice that leaps into it, or left by a leap (passing and neighbour notes move by step); where
  the bass itself steps onto a note off the beat as the upper voice strikes, the dissonance is
  the bass's (a passing bass under a chord tone) and the upper voice may leap;
- a dissonance struck on a beat (a chord seventh, an accented passing note; the major seventh,
  a leading tone that may rise, aside) or prepared (a note held while the bass moves under it
  on a beat: a suspension or a prepared seventh) that does not fall by step; an accented
  passing note may go on in its own direction, and a note struck again is judged when it ends;
- a chord seventh (the four voices on a beat sounding a dominant, minor or half-diminished
  seventh chord, complete or without its fifth, or the key's diminished seventh; in any
  inversion, in any voice, the bass too) that does not fall by step, unless it rises by step
  into a cadence (a fermata within a beat), as Bach's melodies do there;
- a bass leap of a tritone, a seventh or more than an octave;
- on a beat: the home key's leading tone doubled over a dominant bass, a chord of bare
  fifths (every voice sounding, no third), a diminished triad in root position, a soprano
  below D4 or an alto below A3 (the texture sinking);
- a beat with no third anywhere in it (a suspension resolving within the beat is fine);
- a six-four chord on a beat that is neither cadential nor over a pedal (the bass stays and
  the next beat has no sixth over it: the upper voices resolve to a 5/3) nor passing (the bass
  steps through it, in one direction); one that stays to the next beat is judged there;
- the same chord struck again on the next beat (all four voices as they were, one or more
  striking again; not under a fermata, where a phrase may end and the next begin on one
  chord): the harmony stands still;
- a chromatic clash: two voices sounding one letter in two forms (F against F#), counted twice;
- a soprano rocking between two notes (x-y-x-y);
- in any voice, an augmented second between the key's flat sixth and leading tone, or a
  diminished fourth between its leading tone and minor third (in Bach's minor chorales: none
  and 0.73 per 100 beats; a model that missed its Picardy third wrote the fourth into its
  final chord).

Pitches: int[T, 4] as in ``theory.cadence`` (S, A, T, B; -1 silent); struck: bool[T, 4], True
where a voice strikes a note (a repeated note is struck again, a held one is not); fermatas:
bool[T], the steps under a fermata (Score.fermata_mask), or None.
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
# Seventh chords by their pitch classes above the root (the seventh is 10 above it): dominant,
# minor and half-diminished sevenths, and the first two without their fifth, as Bach often
# writes them. The diminished seventh's root is the key's leading tone (its seventh 9 above).
SEVENTH_CHORDS = ({0, 4, 7, 10}, {0, 3, 7, 10}, {0, 3, 6, 10}, {0, 4, 10}, {0, 3, 10})
DIMINISHED_SEVENTH = {0, 3, 6, 9}
CADENCE_REACH = 4  # steps before a fermata in which a chord seventh may rise by step into it
SIX_FOURS = ({0, 5, 9}, {0, 5, 8}, {0, 6, 9})  # major, minor and diminished six-fours


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
    fermatas: np.ndarray | None = None,
) -> int:
    """The faults decided at steps [first, stop) of a candidate written up to ``stop``."""
    count = 0
    bass = pitches[:, BASS]
    if fermatas is None:
        fermatas = np.zeros(len(beats), bool)
    for t in range(first, stop):
        if beats[t]:
            count += _beat_faults(pitches[t], key)
            count += _last_beat_faults(pitches, struck, beats, t, fermatas)
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
        bass_steps = _bass_passes(pitches, struck, beats, t)
        for v in range(BASS + 1):
            if not struck[t, v]:
                continue
            p, q = int(pitches[t, v]), int(pitches[t - 1, v])
            if p < 0 or q < 0:
                continue
            left = 0
            if v < BASS:
                step = abs(p - q)
                if b >= 0 and step > 2 and DISSONANT[(p - b) % 12] and not bass_steps:
                    count += 1  # leapt into a dissonance
                left = _left_badly(pitches, struck, t, v, beats)  # the note q ends here
            count += left or _unresolved_seventh(pitches, struck, t, v, beats, key, fermatas)
            count += _augmented_move(p, q, key)
    return count


def _bass_passes(pitches: np.ndarray, struck: np.ndarray, beats: np.ndarray, t: int) -> bool:
    """True if the bass strikes a note off the beat at step t, moving into it by step (a
    passing or neighbour note of the bass's own)."""
    b, before = int(pitches[t, BASS]), int(pitches[t - 1, BASS])
    return (
        bool(struck[t, BASS])
        and not beats[t]
        and b >= 0
        and before >= 0
        and 0 < abs(b - before) <= 2
    )


def _onset(struck: np.ndarray, t: int, v: int) -> int:
    """The step where voice v's note sounding at step t was struck."""
    while t > 0 and not struck[t, v]:
        t -= 1
    return t


def _seventh(chord: np.ndarray, key: Key | None) -> int:
    """The pitch class of the chord seventh in a beat's four pitches, or -1 if they sound no
    seventh chord (see SEVENTH_CHORDS)."""
    if (chord < 0).any():
        return -1
    pcs = {int(p) % 12 for p in chord}
    for root in pcs:
        if {(p - root) % 12 for p in pcs} in SEVENTH_CHORDS:
            return (root + 10) % 12
    if key is not None and (key.tonic + 11) % 12 in pcs:
        root = (key.tonic + 11) % 12
        if {(p - root) % 12 for p in pcs} == DIMINISHED_SEVENTH:
            return (root + 9) % 12
    return -1


def _unresolved_seventh(
    pitches: np.ndarray,
    struck: np.ndarray,
    t: int,
    v: int,
    beats: np.ndarray,
    key: Key | None,
    fermatas: np.ndarray,
) -> int:
    """1 if voice v's note ending at step t was a chord seventh on a beat it sounded through
    and does not fall by step (a note struck again is judged when it ends). One rising by step
    into a cadence (a fermata within ``CADENCE_REACH`` steps) is Bach's, not a fault: the
    melody rises 1-2 over ii6/5-V, or 4-5 over iv6/5-V at a half cadence (a quarter of the
    sevenths Bach does not resolve down are these)."""
    q = int(pitches[t - 1, v])
    move = int(pitches[t, v]) - q
    if move in (0, -1, -2):
        return 0
    if move in (1, 2) and fermatas[t : t + CADENCE_REACH + 1].any():
        return 0
    for s in range(_onset(struck, t - 1, v), t):
        if beats[s] and _seventh(pitches[s], key) == q % 12:
            return 1
    return 0


def _left_badly(pitches: np.ndarray, struck: np.ndarray, t: int, v: int, beats: np.ndarray) -> int:
    """1 if voice v's note ending at step t was a dissonance against the bass left badly: a
    struck dissonance left by leap, or one struck on a beat or prepared (the bass moved under it
    on a beat) that does not fall by step (an accented passing note, come by step, may go on by
    step the way it came). A note struck again is judged when it ends."""
    q = int(pitches[t - 1, v])
    move = int(pitches[t, v]) - q
    if move == 0:
        return 0
    onset = _onset(struck, t - 1, v)
    b = pitches[onset, BASS]
    if b >= 0 and DISSONANT[(q - int(b)) % 12]:
        if beats[onset] and (q - int(b)) % 12 in FALLING:
            came = q - int(pitches[onset - 1, v]) if onset > 0 and pitches[onset - 1, v] >= 0 else 0
            passing = 0 < abs(came) <= 2 and 0 < abs(move) <= 2 and came * move > 0
            return int(move not in (-1, -2) and not passing)
        return int(abs(move) > 2)
    for s in range(onset + 1, t):
        b = pitches[s, BASS]
        if struck[s, BASS] and beats[s] and b >= 0 and DISSONANT[(q - int(b)) % 12]:
            return int(move not in (-1, -2))
    return 0


def _augmented_move(p: int, q: int, key: Key | None) -> int:
    """1 if a voice moves from q to p by an augmented second between the key's flat sixth and
    its leading tone (F-G# in A minor), or by a diminished fourth between its leading tone and
    its minor third (G# up to C, or C down to G#)."""
    if key is None:
        return 0
    a, b, move = (q - key.tonic) % 12, (p - key.tonic) % 12, p - q
    second = abs(move) == 3 and {a, b} == {8, 11}
    fourth = (a, b, move) in ((11, 3, 4), (3, 11, -4))
    return int(second or fourth)


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


def _last_beat_faults(
    pitches: np.ndarray, struck: np.ndarray, beats: np.ndarray, t: int, fermatas: np.ndarray
) -> int:
    """Faults of the beat that ends at beat step t, judged now its neighbours are known: no
    third anywhere in it; a six-four chord on its downbeat that is neither cadential, passing
    nor over a pedal; the chord of its downbeat struck again at t (no fermata on either)."""
    previous = np.flatnonzero(beats[:t])
    if not len(previous):
        return 0
    p = int(previous[-1])
    span = pitches[p:t]
    pcs = {int(x) % 12 for x in span.reshape(-1) if x >= 0}
    count = int(len(pcs) > 1 and not any((a - b) % 12 in (3, 4) for a in pcs for b in pcs))
    chord, after = pitches[p], pitches[t]
    if (chord < 0).any():
        return count
    if not (fermatas[p] or fermatas[t]):
        count += int((after == chord).all() and bool(struck[t].any()))  # struck again
    bass = int(chord[BASS])
    if _six_four(chord) and not (_six_four(after) and after[BASS] == bass):  # else judged at t
        before = previous[-2] if len(previous) > 1 else -1
        came = bass - int(pitches[before, BASS]) if before >= 0 else 99
        goes = int(after[BASS]) - bass
        # cadential or a pedal: a 5/3 (or a seventh chord) follows over the same bass
        stays = goes == 0 and not (after < 0).any() and not _sixth_over_bass(after)
        passing = came * goes > 0 and 0 < abs(came) <= 2 and 0 < abs(goes) <= 2
        count += not (stays or passing)
    return count


def _sixth_over_bass(chord: np.ndarray) -> bool:
    """True if an upper voice sounds a sixth (minor or major) above the bass."""
    return any((int(x) - int(chord[BASS])) % 12 in (8, 9) for x in chord[:BASS])


def _six_four(chord: np.ndarray) -> bool:
    """True if the four pitches sound a six-four chord (a triad over its fifth)."""
    if (chord < 0).any():
        return False
    return {(int(x) - int(chord[BASS])) % 12 for x in chord} in SIX_FOURS


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
