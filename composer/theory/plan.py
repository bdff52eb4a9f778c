"""Plans a chorale's shape from music theory alone (no model): where its phrases end (fermatas),
which meters are supported, a melody fitted into the soprano's range, and the key estimated from
the notes. Units: 16th steps, MIDI pitch."""

from __future__ import annotations

import numpy as np

from composer.errors import GenerationError
from composer.score import HOLD, REST, VOICE_RANGES, Key, Score, pitch_name


def plan_fermatas(steps: int, time_signature: tuple[int, int], pickup: int) -> np.ndarray:
    """bool[steps]: where chorale phrases end, as in Bach's corpus (2 bars in 4/4, 4 in 3/4).

    Measured on data/chorales: in 4/4 with a quarter pickup, fermatas on beat 3 every 32 steps
    lasting a quarter; in 3/4, every 48 steps; the last chord always has one.
    """
    num = time_signature[0]
    spb = num * 16 // time_signature[1]
    phrase = 2 * spb if num % 2 == 0 else 4 * spb
    offset = spb // 2 if num % 2 == 0 else spb
    span = offset - pickup if offset - pickup > 0 else 4
    mask = np.zeros(steps, dtype=bool)
    last_bar = (steps - pickup) % spb or spb
    final = max(0, steps - last_bar)
    onset = pickup + phrase - offset
    while onset + span <= final - 8:
        mask[onset : onset + span] = True
        onset += phrase
    mask[final:] = True
    return mask


# The meters the model writes: Bach's chorales are in 4/4 and 3/4 (one in 3/2); 2/2 and 2/4 are
# 4/4 bars under other names. The model knows a bar by its 16th position in it (at most 16
# positions, and a duple or triple family): a compound meter (6/8, 9/8, 12/8) would be written in
# simple rhythms (6/8 as 3/4), 3/2 and 5/4 bars are longer than it can tell apart or of a family
# it never heard. Those are refused, with this message, rather than written wrong.
MODEL_METERS = ((4, 4), (3, 4), (2, 2), (2, 4))


def check_meter(time_signature: tuple[int, int]) -> None:
    num, den = time_signature
    if den not in (2, 4, 8) or not 1 <= num <= 12 or (num * 16) % den:
        raise GenerationError(f"time signature {num}/{den} is not supported; use e.g. 4/4 or 3/4")
    if (num, den) not in MODEL_METERS:
        kind = (
            "a compound meter: the model would write it in simple rhythms (6/8 as 3/4)"
            if num in (6, 9, 12) and den == 8
            else "a meter the model never learned (Bach's chorales are in 4/4 and 3/4)"
        )
        raise GenerationError(
            f"time signature {num}/{den} is {kind}; Composer writes "
            + ", ".join(f"{a}/{b}" for a, b in MODEL_METERS)
        )


def fit_melody(tune: np.ndarray) -> tuple[np.ndarray, str]:
    """Move a melody by octaves into the soprano's range; refuse one that cannot fit."""
    lo, hi = VOICE_RANGES["Soprano"]
    pitches = tune[tune >= 0]
    if len(pitches) == 0:
        raise GenerationError("the melody has no notes")
    span = int(pitches.max() - pitches.min())
    if span > hi - lo:
        raise GenerationError(
            f"the melody spans {span} semitones ({pitch_name(int(pitches.min()))}-"
            f"{pitch_name(int(pitches.max()))}); a soprano sings at most {hi - lo} "
            f"({pitch_name(lo)}-{pitch_name(hi)})"
        )
    shift = 0
    while pitches.min() + shift < lo:
        shift += 12
    while pitches.max() + shift > hi:
        shift -= 12
    if pitches.min() + shift < lo:
        raise GenerationError(
            f"the melody ({pitch_name(int(pitches.min()))}-{pitch_name(int(pitches.max()))}) "
            f"cannot be moved by octaves into the soprano's range ({pitch_name(lo)}-"
            f"{pitch_name(hi)})"
        )
    if shift == 0:
        return tune, ""
    out = tune.copy()
    out[out >= 0] += shift
    return out, f"melody moved {abs(shift) // 12} octave(s) {'up' if shift > 0 else 'down'}"


_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(score: Score) -> Key:
    """Krumhansl-Schmuckler key estimate from note durations (all voices)."""
    hist = np.zeros(12)
    for n in score.notes():
        hist[n.pitch % 12] += n.end - n.start
    if not hist.any():
        return Key(0, "major")
    best, best_key = -2.0, Key(0, "major")
    for tonic in range(12):
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = np.corrcoef(hist, np.roll(profile, tonic))[0, 1]
            if r > best:
                best, best_key = r, Key(tonic, mode)
    return best_key


def melody_key(melody: Score) -> Key:
    """The key of a melody to harmonize: its file's, unless the melody ends on a note outside
    that key's tonic triad on the tonic of the key its notes suggest (a Krumhansl-Schmuckler
    estimate), as Bach's "Dorian" tunes do (G minor written with one flat reads as D minor);
    the estimate when the file gives none."""
    estimate = estimate_key(melody)
    if melody.key is None:
        return estimate
    notes = list(melody.notes(0))
    if not notes:
        return melody.key
    last = max(notes, key=lambda n: n.start).pitch % 12
    tonic = melody.key.tonic
    triad = {tonic, (tonic + 7) % 12, (tonic + (4 if melody.key.mode == "major" else 3)) % 12}
    if last not in triad and estimate.tonic == last:
        return estimate
    return melody.key


def melody_fermatas(
    tune: np.ndarray, time_signature: tuple[int, int], pickup: int, onsets: tuple[int, ...] = ()
) -> np.ndarray:
    """bool[T]: the steps under a fermata for a melody (cells: pitch, HOLD or REST).

    ``onsets``: fermatas the melody file marks; they are kept. Otherwise phrases end where the
    melody breathes: a note followed by a rest, or a note on a beat at least twice the tune's
    usual length (a half note in a tune of quarters), at least a bar apart. The last note always
    carries one, from its own onset (not the last bar's downbeat), so it gets its own chord.
    A tune with neither gets plan_fermatas' phrases, on the notes that start there.
    A fermata lasts from its onset until the melody moves on.
    """
    tune = np.asarray(tune)
    steps = len(tune)
    spb = time_signature[0] * 16 // time_signature[1]
    beat = 16 // time_signature[1] if time_signature[0] % 3 else 3 * 16 // time_signature[1]
    starts = [t for t in range(steps) if tune[t] >= 0]
    if not starts:
        return np.zeros(steps, dtype=bool)
    ends = [*starts[1:], steps]
    length = {}
    for a, b in zip(starts, ends):
        held = a + 1
        while held < b and tune[held] == HOLD:
            held += 1
        length[a] = held - a
    last = starts[-1]
    chosen = sorted({int(f) for f in onsets if 0 <= f < steps})
    if not chosen:
        usual = float(np.median(list(length.values())))
        previous = -spb
        for a in starts[:-1]:
            rest_after = a + length[a] < steps and tune[a + length[a]] == REST
            on_beat = (a - pickup) % beat == 0
            long = on_beat and length[a] >= max(2 * usual, beat + 1)
            if (rest_after or long) and a - previous >= spb and last - a >= spb:
                chosen.append(a)
                previous = a
        if not chosen:  # a tune that never breathes: phrases where Bach's usually end
            grid = plan_fermatas(steps, time_signature, pickup)
            planned = [t for t in range(steps) if grid[t] and (t == 0 or not grid[t - 1])]
            chosen = [t for t in planned if t in length and last - t >= spb]
    if not chosen or chosen[-1] < last:
        chosen.append(last)
    mask = Score(tune[:, None], fermatas=tuple(chosen)).fermata_mask()
    mask[last:] = True
    return mask
