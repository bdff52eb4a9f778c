"""Where a MIDI file's bars are: the meter, the pickup, and the changes Composer cannot keep.

A Score has one meter and one tempo. ``bar_lines`` reads a file's time signatures as notation
programs write them: a short first bar in its own time signature (MuseScore exports a quarter
pickup as a bar of 1/4 followed by 4/4) is a pickup, and the meter is the one after it; any
later change is reported (the Score keeps the first meter and counts every bar in it).
``tempo_changes`` reports tempo changes (a ritardando, a new section) the same way.
``guess_pickup`` looks at a file that starts with a note on its first bar line but whose notes
fall on the bar lines only if the first few beats are a pickup (the long notes, the last note
on a downbeat, the last note the tonic).

Units: steps are 16ths from the file's start; ticks as in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from composer.score import Key


@dataclass
class BarLines:
    """The file's meter as a Score keeps it.

    meter: (numerator, denominator). origin: the step of a bar line (the first full bar after a
    pickup bar, else 0). changes: (step, (num, den)) of later time signatures, not kept.
    """

    meter: tuple[int, int]
    origin: int = 0
    pickup_bar: bool = False
    changes: list[tuple[int, tuple[int, int]]] | None = None


def _per_bar(ts: tuple[int, int]) -> float:
    return ts[0] * 16 / ts[1]


def bar_lines(
    signatures: Sequence[tuple[int, tuple[int, int]]],
    meter: tuple[int, int],
    first_note_tick: int,
    step: Callable[[int], int],
    end_step: int | None = None,
) -> BarLines:
    """signatures: (tick, (num, den)) sorted by tick; meter: the first one, checked.

    A first signature at or before the first note, followed one bar later by a longer one,
    is a pickup bar: the meter is the second, and its bars count from there. A shorter
    signature on the last bar (the music ends within it) is the bar that completes the pickup,
    as MuseScore writes it, not a change.
    """
    sigs: list[tuple[int, tuple[int, int]]] = []
    for tick, ts in signatures:
        if sigs and sigs[-1][0] == tick:
            sigs[-1] = (tick, ts)  # several at one tick: the last one counts
        elif not sigs or sigs[-1][1] != ts:
            sigs.append((tick, ts))
    out = BarLines(meter)
    if len(sigs) >= 2 and sigs[0][0] <= first_note_tick:
        (t0, ts0), (t1, ts1) = sigs[0], sigs[1]
        bar0 = step(t1) - step(t0)
        if (
            bar0 > 0
            and bar0 == _per_bar(ts0)
            and _per_bar(ts0) < _per_bar(ts1)
            and (ts1[0] * 16) % ts1[1] == 0
        ):
            out = BarLines(ts1, origin=step(t1), pickup_bar=True)
            sigs = sigs[1:]
    out.changes = [(step(t), ts) for t, ts in sigs[1:] if ts != out.meter]
    if out.changes and end_step is not None:
        s, ts = out.changes[-1]
        if _per_bar(ts) < _per_bar(out.meter) and 0 < end_step - s <= _per_bar(ts):
            out.changes.pop()
    return out


def describe_meter_changes(bars: BarLines, bar_of: Callable[[int], int]) -> str | None:
    """The warning for time-signature changes the Score cannot keep, or None."""
    if not bars.changes:
        return None
    step, ts = bars.changes[0]
    more = len(bars.changes) - 1
    num, den = bars.meter
    return (
        f"the time signature changes to {ts[0]}/{ts[1]} at bar {bar_of(step)}"
        + (f" (and {more} more time)" if more == 1 else f" (and {more} more times)" if more else "")
        + f"; Composer reads one meter: kept {num}/{den} and counted every bar in it"
    )


def tempo_changes(
    tempos: Sequence[tuple[int, int]], step: Callable[[int], int], bar_of: Callable[[int], int]
) -> str | None:
    """The warning for tempo changes (microseconds per quarter, by tick), or None."""
    seq: list[tuple[int, int]] = []
    for tick, us in tempos:
        if seq and seq[-1][0] == tick:
            seq[-1] = (tick, us)
        elif not seq or seq[-1][1] != us:
            seq.append((tick, us))
    if len(seq) < 2:
        return None
    first, (tick, us) = seq[0][1], seq[1]
    a, b = 60e6 / first, 60e6 / us
    kind = "slows" if b < a else "speeds up"
    more = len(seq) - 2
    return (
        f"the tempo changes: it {kind} from {a:g} to {b:g} bpm at bar {bar_of(step(tick))}"
        + (f" and changes {more} more time{'s' if more > 1 else ''}" if more else "")
        + f"; Composer keeps one tempo: kept {a:g} bpm for the whole piece"
    )


_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def _correlation(hist: Sequence[float], profile: Sequence[float], tonic: int) -> float:
    n = 12
    rolled = [profile[(i - tonic) % n] for i in range(n)]
    mh, mp = sum(hist) / n, sum(rolled) / n
    cov = sum((h - mh) * (p - mp) for h, p in zip(hist, rolled))
    vh = sum((h - mh) ** 2 for h in hist) ** 0.5
    vp = sum((p - mp) ** 2 for p in rolled) ** 0.5
    return cov / (vh * vp) if vh and vp else 0.0


def mode_of(sharps: int, notes: Sequence[tuple[int, int, int]], declared: str | None = None) -> str:
    """Major or minor for a key signature of ``sharps``, from the notes (start, end, pitch).

    The relative key whose Krumhansl profile fits the notes' durations better, leaning (by
    0.05 in correlation) to the key whose tonic is the bass of the last chord. Measured on the
    327 chorales of data/chorales: right for 314 (for 284 from the soprano alone). ``declared``
    is a MIDI file's mode: 'minor' is kept; 'major', which MuseScore writes whatever the key,
    gives way to minor only by a margin (0.05: no major chorale flips; 6 of 160 would from the
    soprano alone).
    """
    major = Key.from_sharps(sharps, "major")
    minor = Key.from_sharps(sharps, "minor")
    if not notes or declared == "minor":
        return declared or "major"
    hist = [0.0] * 12
    for s, e, p in notes:
        hist[p % 12] += e - s
    end = max(e for _, e, _ in notes)
    final = min(p for _, e, p in notes if e == end) % 12
    lean = 0.05 if final == minor.tonic else -0.05 if final == major.tonic else 0.0
    fit = _correlation(hist, _MINOR, minor.tonic) - _correlation(hist, _MAJOR, major.tonic)
    margin = 0.05 if declared == "major" else 0.0
    return "minor" if fit + lean > margin else "major"


def _strength(pos: int, per_bar: int, beat: int) -> float:
    """How strong a 16th position in the bar is: 3 on the bar line, 2 mid-bar in 4/4, 1 on a
    beat, 0 off the beat."""
    if pos == 0:
        return 3.0
    if per_bar % 2 == 0 and pos == per_bar // 2 and (per_bar // beat) % 2 == 0:
        return 2.0
    if pos % beat == 0:
        return 1.0
    return 0.0


def metric_fit(notes: Sequence[tuple[int, int, int]], per_bar: int, beat: int, pickup: int,
               fermatas: Sequence[int] = ()) -> float:  # fmt: skip
    """How well notes (start, end, pitch) sit in bars that start ``pickup`` steps in: each
    note's length times the strength of its onset, fermata notes counted twice."""
    ferm = set(fermatas)
    total = 0.0
    for start, end, _ in notes:
        w = (end - start) * (2 if start in ferm else 1)
        total += w * _strength((start - pickup) % per_bar, per_bar, beat)
    return total


def guess_pickup(
    notes: Sequence[tuple[int, int, int]],
    time_signature: tuple[int, int],
    key: Key | None,
    fermatas: Sequence[int] = (),
) -> int:
    """A pickup (in steps) for music that starts with a note at step 0, or 0 if the notes fit
    bars from step 0 as well.

    notes: (start, end, pitch) of every voice. A pickup p of whole beats, at most half a bar,
    is chosen only when, read with it, the last note starts on a bar line (it does not from 0),
    the last note of the top voice is the key's tonic (when the key is known), at least two
    bars of music follow, and the notes' lengths fall on strong beats clearly more often
    (a fifth more, by ``metric_fit``).
    """
    num, den = time_signature
    per_bar = num * 16 // den
    beat = 16 // den * (3 if num in (6, 9, 12) and den == 8 else 1)
    if not notes or per_bar <= beat:
        return 0
    end = max(e for _, e, _ in notes)
    if end < 2 * per_bar:
        return 0
    last_start = max(s for s, _, _ in notes)
    if last_start % per_bar == 0:
        return 0
    if key is not None:
        top_last = max((n for n in notes if n[0] == last_start), key=lambda n: n[2])
        if top_last[2] % 12 != key.tonic:
            return 0
    base = metric_fit(notes, per_bar, beat, 0, fermatas)
    best, best_fit = 0, base
    for p in range(beat, per_bar // 2 + 1, beat):
        if (last_start - p) % per_bar:
            continue
        fit = metric_fit(notes, per_bar, beat, p, fermatas)
        if fit > best_fit:
            best, best_fit = p, fit
    if best and best_fit >= 1.2 * base:
        return best
    return 0
