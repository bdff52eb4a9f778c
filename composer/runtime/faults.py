"""A harmony teacher's faults (composer.theory.counterpoint) counted for a whole batch of
candidates at once, by a numba kernel: what the particle filter weighs its candidates by after
every chunk (composer.runtime.particles.weigh).

``theory.counterpoint.faults`` is the reference, in plain Python over one candidate's pitches;
``count_batch`` counts the same faults, fault for fault, for B candidates straight from their
tokens (tests/test_faults.py holds the two equal on random candidates). Python calls it through
composer.runtime.native.count_faults, which also makes the tables. The counterpoint's
tables (which intervals are dissonant, which bass leaps awkward, ...) come from
theory.counterpoint as arrays (``Teacher``), not as globals the kernel would freeze: numba's
cache of a kernel is only invalidated by changes to the file that defines it.

Shapes: B candidates, N = steps * 4 token positions (S, A, T, B per 16th step).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from composer.encoding import SATB_VOICES, TOK_HOLD
from composer.runtime.layout import Teacher
from composer.theory import counterpoint as cp

BASS = cp.BASS
CADENCE_REACH = cp.CADENCE_REACH
B1 = types.boolean[::1]
I1 = types.int64[::1]
I2 = types.int64[:, ::1]


TEACHER = types.NamedTuple((B1, B1, B1, B1, types.int64, I1, types.int64, I1, I1), Teacher)


@njit(cache=True, nogil=True)
def _sound(tokens, stop, pitches, struck):
    """pitches[t, v], struck[t, v] for t < stop, as encoding.sounding_batch gives them: the
    pitch voice v sounds (HOLD resolved to what was struck last; -1: a rest, or nothing yet)
    and whether it is struck at t."""
    for v in range(SATB_VOICES):
        last = -1
        for t in range(stop):
            tok = tokens[t * SATB_VOICES + v]
            struck[t, v] = tok != TOK_HOLD
            if tok != TOK_HOLD:
                last = tok
            pitches[t, v] = last if last < TOK_HOLD else -1


@njit(cache=True, nogil=True)
def _faults(pitches, struck, first, stop, beats, fermatas, rules):
    """theory.counterpoint.faults, for one candidate."""
    count = 0
    for t in range(first, stop):
        if beats[t]:
            count += _beat_faults(pitches[t], rules)
            count += _last_beat_faults(pitches, struck, beats, t, fermatas, rules)
        if rules.tonic >= 0:
            any_struck = False
            for v in range(SATB_VOICES):
                any_struck |= struck[t, v]
            if any_struck:
                count += rules.clash_weight * _clashes(pitches[t], rules)
        if t == 0:
            continue
        if struck[t, 0]:
            count += _rocking(pitches, struck, t)
        b = pitches[t, BASS]
        if struck[t, BASS] and b >= 0 and pitches[t - 1, BASS] >= 0:
            leap = abs(b - pitches[t - 1, BASS])
            count += int(leap > 12 or rules.awkward_bass[leap])
        bass_steps = _bass_passes(pitches, struck, beats, t)
        for v in range(BASS + 1):
            if not struck[t, v]:
                continue
            p, q = pitches[t, v], pitches[t - 1, v]
            if p < 0 or q < 0:
                continue
            left = 0
            if v < BASS:
                if b >= 0 and abs(p - q) > 2 and rules.dissonant[(p - b) % 12] and not bass_steps:
                    count += 1  # leapt into a dissonance
                left = _left_badly(pitches, struck, t, v, beats, rules)
            if left:
                count += left
            else:
                count += _unresolved_seventh(pitches, struck, t, v, beats, fermatas, rules)
            if rules.tonic >= 0:
                count += _augmented_move(p, q, rules.tonic)
    return count


@njit(cache=True, nogil=True)
def _bass_passes(pitches, struck, beats, t):
    """counterpoint._bass_passes: the bass strikes a note off the beat at step t, by step."""
    b, before = pitches[t, BASS], pitches[t - 1, BASS]
    return struck[t, BASS] and not beats[t] and b >= 0 and before >= 0 and 0 < abs(b - before) <= 2


@njit(cache=True, nogil=True)
def _onset(struck, t, v):
    """counterpoint._onset: where voice v's note sounding at step t was struck."""
    while t > 0 and not struck[t, v]:
        t -= 1
    return t


@njit(cache=True, nogil=True)
def _seventh(chord, rules):
    """counterpoint._seventh: the pitch class of the chord seventh of a beat's four pitches,
    or -1."""
    for v in range(SATB_VOICES):
        if chord[v] < 0:
            return -1
    for v in range(SATB_VOICES):
        mask = _pcs_over(chord, chord[v])
        for k in range(rules.sevenths.shape[0]):
            if mask == rules.sevenths[k]:
                return (chord[v] + 10) % 12
    if rules.tonic >= 0:
        root = (rules.tonic + 11) % 12
        if _pcs_over(chord, root) == DIMINISHED_SEVENTH:
            return (root + 9) % 12
    return -1


@njit(cache=True, nogil=True)
def _unresolved_seventh(pitches, struck, t, v, beats, fermatas, rules):
    """counterpoint._unresolved_seventh: voice v's note ending at step t was a chord seventh
    on a beat and does not fall by step, nor rises by step into a cadence."""
    q = pitches[t - 1, v]
    move = pitches[t, v] - q
    if move == 0 or move == -1 or move == -2:
        return 0
    if move == 1 or move == 2:
        for s in range(t, min(t + CADENCE_REACH + 1, fermatas.shape[0])):
            if fermatas[s]:
                return 0
    for s in range(_onset(struck, t - 1, v), t):
        if beats[s] and _seventh(pitches[s], rules) == q % 12:
            return 1
    return 0


@njit(cache=True, nogil=True)
def _augmented_move(p, q, tonic):
    """counterpoint._augmented_move: an augmented second between the flat sixth and the leading
    tone, or a diminished fourth between the leading tone and the minor third."""
    a, b, move = (q - tonic) % 12, (p - tonic) % 12, p - q
    second = (move == 3 or move == -3) and ((a == 8 and b == 11) or (a == 11 and b == 8))
    fourth = (a == 11 and b == 3 and move == 4) or (a == 3 and b == 11 and move == -4)
    return int(second or fourth)


@njit(cache=True, nogil=True)
def _left_badly(pitches, struck, t, v, beats, rules):
    """counterpoint._left_badly: 1 if voice v's note ending at step t was a dissonance left
    badly."""
    q = pitches[t - 1, v]
    move = pitches[t, v] - q
    if move == 0:
        return 0
    falls = move == -1 or move == -2
    onset = _onset(struck, t - 1, v)
    b = pitches[onset, BASS]
    if b >= 0 and rules.dissonant[(q - b) % 12]:
        if beats[onset] and rules.falling[(q - b) % 12]:
            came = 0
            if onset > 0 and pitches[onset - 1, v] >= 0:
                came = q - pitches[onset - 1, v]
            passing = 0 < abs(came) <= 2 and 0 < abs(move) <= 2 and came * move > 0
            return int(not falls and not passing)
        return int(abs(move) > 2)
    for s in range(onset + 1, t):
        b = pitches[s, BASS]
        if struck[s, BASS] and beats[s] and b >= 0 and rules.dissonant[(q - b) % 12]:
            return int(not falls)
    return 0


@njit(cache=True, nogil=True)
def _clashes(chord, rules):
    """counterpoint._clashes: 1 if two voices sound one letter in two forms."""
    present = np.zeros(12, np.bool_)
    for p in chord:
        if p >= 0:
            present[(p - rules.tonic) % 12] = True
    for a in range(12):
        if present[a] and present[(a + 1) % 12] and rules.altered[a]:
            return 1
    return 0


@njit(cache=True, nogil=True)
def _rocking(pitches, struck, t):
    """counterpoint._rocking: 1 if the soprano's last four notes, ending at t, rock x-y-x-y."""
    notes = np.empty(4, np.int64)
    notes[0] = pitches[t, 0]
    n = 1
    s = t - 1
    while s >= 0 and n < 4:
        if struck[s, 0]:
            notes[n] = pitches[s, 0]
            n += 1
        s -= 1
    return int(
        n == 4
        and notes[0] == notes[2]
        and notes[2] != notes[1]
        and notes[1] == notes[3]
        and notes[3] >= 0
    )


@njit(cache=True, nogil=True)
def _pcs_over(chord, root):
    """The bit mask of the pitch classes of ``chord`` above ``root`` (bit i: i semitones)."""
    mask = 0
    for p in chord:
        mask |= 1 << ((p - root) % 12)
    return mask


DIMINISHED = 1 << 0 | 1 << 3 | 1 << 6  # {0, 3, 6}
DIMINISHED_SEVENTH = 1 << 0 | 1 << 3 | 1 << 6 | 1 << 9  # {0, 3, 6, 9}


@njit(cache=True, nogil=True)
def _six_four(chord, rules):
    """counterpoint._six_four: the four pitches sound a six-four chord."""
    for v in range(SATB_VOICES):
        if chord[v] < 0:
            return False
    mask = _pcs_over(chord, chord[BASS])
    for k in range(rules.six_fours.shape[0]):
        if mask == rules.six_fours[k]:
            return True
    return False


@njit(cache=True, nogil=True)
def _last_beat_faults(pitches, struck, beats, t, fermatas, rules):
    """counterpoint._last_beat_faults: the beat ending at beat step t with no third anywhere in
    it; a six-four chord on its downbeat neither cadential, passing nor over a pedal; its
    downbeat's chord struck again at t."""
    p = -1
    before = -1
    for s in range(t - 1, -1, -1):
        if beats[s]:
            if p < 0:
                p = s
            else:
                before = s
                break
    if p < 0:
        return 0
    present = np.zeros(12, np.bool_)
    for s in range(p, t):
        for v in range(SATB_VOICES):
            if pitches[s, v] >= 0:
                present[pitches[s, v] % 12] = True
    distinct = 0
    third = False
    for a in range(12):
        if present[a]:
            distinct += 1
            for c in range(12):
                if present[c] and ((a - c) % 12 == 3 or (a - c) % 12 == 4):
                    third = True
    count = int(distinct > 1 and not third)
    chord = pitches[p]
    after = pitches[t]
    for v in range(SATB_VOICES):
        if chord[v] < 0:
            return count
    same, any_struck, after_sounds = True, False, True
    for v in range(SATB_VOICES):
        same &= after[v] == chord[v]
        any_struck |= struck[t, v]
        after_sounds &= after[v] >= 0
    count += int(same and any_struck and not (fermatas[p] or fermatas[t]))  # struck again
    bass = chord[BASS]
    if _six_four(chord, rules) and not (_six_four(after, rules) and after[BASS] == bass):
        goes = after[BASS] - bass
        came = bass - pitches[before, BASS] if before >= 0 else 99
        # cadential or a pedal: a 5/3 (or a seventh chord) follows over the same bass
        sixth = False
        for v in range(BASS):
            sixth |= (after[v] - after[BASS]) % 12 == 8 or (after[v] - after[BASS]) % 12 == 9
        stays = goes == 0 and after_sounds and not sixth
        passing = came * goes > 0 and 0 < abs(came) <= 2 and 0 < abs(goes) <= 2
        count += int(not (stays or passing))
    return count


@njit(cache=True, nogil=True)
def _beat_faults(chord, rules):
    """counterpoint._beat_faults: a doubled leading tone over the dominant, bare fifths, a
    diminished triad in root position, the texture sinking."""
    for v in range(SATB_VOICES):
        if chord[v] < 0:
            return 0
    count = 0
    bass_pc = chord[BASS] % 12
    if rules.tonic >= 0:
        leading = (rules.tonic + 11) % 12
        dominant_bass = (bass_pc - rules.tonic) % 12 == 7 or (bass_pc - rules.tonic) % 12 == 11
        doubled = 0
        for v in range(SATB_VOICES):
            doubled += chord[v] % 12 == leading
        count += int(dominant_bass and doubled > 1)
    pcs = _pcs_over(chord, 0)
    low, high, distinct = 12, -1, 0
    for a in range(12):
        if pcs >> a & 1:
            distinct += 1
            low = min(low, a)
            high = max(high, a)
    if distinct == 2:
        count += int(high - low == 5 or high - low == 7)
    count += int(_pcs_over(chord, bass_pc) == DIMINISHED)
    count += int(chord[0] < rules.lowest[0] or chord[1] < rules.lowest[1])
    return count


# Compiled at import (an explicit signature), so after the helpers it calls.
@njit(types.void(I2, types.int64, types.int64, B1, B1, TEACHER, I1), cache=True, nogil=True)
def count_batch(tokens, first, stop, beats, fermatas, rules, out):
    """out[b] = the faults of candidate b at steps [first, stop)."""
    pitches = np.empty((stop, SATB_VOICES), np.int64)
    struck = np.empty((stop, SATB_VOICES), np.bool_)
    for b in range(tokens.shape[0]):
        _sound(tokens[b], stop, pitches, struck)
        out[b] = _faults(pitches, struck, first, stop, beats, fermatas, rules)
