"""Rhythm as musicians write it: a note's span on the 16th grid -> tied note values that show
the meter, and the beams that group them by beat.

A Meter knows its bar (in 16th steps), its beats and its beat groups: 4/4 beats in quarters
grouped in two halves; 3/4 one group of three quarters; 6/8, 9/8, 12/8 dotted-quarter beats;
2/2 and 3/2 half-note beats; 5/4 as 3+2 and 7/4 as 4+3. ``split`` cuts a span at bar lines and
wherever one value would hide a beat: in simple meters a note may cross a beat only if it starts
on one (a dotted quarter on beat 1, a half on beat 2 of 3/4), and cross the middle of the bar
only from the bar line (a dotted half on beat 1 of 4/4); in compound meters a note crossing a
beat starts and ends on beats (a dotted half in 6/8, never a half from the bar line). What is
left that no single value can write (5 16ths) is split at its strongest inner point.
``beams`` groups 8ths and shorter within each beat (each group in compound meters).

Units: 16th steps; positions relative to the bar line unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

# Note values (in 16ths) that one note head writes: (type, dots).
VALUES: dict[int, tuple[str, int]] = {
    1: ("16th", 0),
    2: ("eighth", 0),
    3: ("eighth", 1),
    4: ("quarter", 0),
    6: ("quarter", 1),
    8: ("half", 0),
    12: ("half", 1),
    16: ("whole", 0),
    24: ("whole", 1),
}


@dataclass(frozen=True)
class Meter:
    """A time signature as a writer needs it (all lengths in 16th steps)."""

    numerator: int
    denominator: int

    @property
    def bar(self) -> int:
        return self.numerator * 16 // self.denominator

    @property
    def compound(self) -> bool:
        """6/8, 9/8, 12/8 (and 6/4, 9/4, 6/16 ...): beats of three."""
        return self.numerator in (6, 9, 12) and self.denominator >= 4

    @property
    def beat(self) -> int:
        """The beat: a dotted value in compound meters, else the denominator's value."""
        unit = 16 // self.denominator
        return 3 * unit if self.compound else unit

    def groups(self) -> list[int]:
        """Where the bar's beat groups start (the bar line included), e.g. 4/4 -> [0, 8]."""
        n, beat, bar = self.numerator, self.beat, self.bar
        if self.compound:
            return list(range(0, bar, beat))
        if n == 4:
            return [0, 2 * beat]
        if n == 5:
            return [0, 3 * beat]
        if n == 6:
            return [0, 3 * beat]
        if n == 7:
            return [0, 4 * beat]
        if n == 2:
            return [0, beat]
        if n in (1, 3):
            return [0]
        return list(range(0, bar, 2 * beat))  # 8/4, 9/4 ...: pairs of beats

    def beats(self) -> list[int]:
        return list(range(0, self.bar, self.beat))

    def strength(self, pos: int) -> int:
        """How strong a position in the bar is: bar line 5, group 4, beat 3, 8th 2, 16th 1."""
        if pos % self.bar == 0:
            return 5
        if pos in self.groups():
            return 4
        if pos % self.beat == 0:
            return 3
        if pos % 2 == 0:
            return 2
        return 1


def _fits(a: int, b: int, meter: Meter) -> bool:
    """Whether [a, b) within one bar is written as a single note value."""
    if b - a not in VALUES:
        return False
    inner_groups = [g for g in meter.groups() if a < g < b]
    inner_beats = [t for t in meter.beats() if a < t < b]
    if meter.compound:
        if inner_beats:  # across a beat: whole beats only
            return a % meter.beat == 0 and b % meter.beat == 0
        return True
    if inner_groups and a != 0:
        return False
    if inner_beats and a % meter.beat != 0:
        return False
    return True


def split_in_bar(a: int, b: int, meter: Meter) -> list[tuple[int, int]]:
    """[a, b) within one bar (0 <= a < b <= bar) -> spans each written as one note value."""
    if _fits(a, b, meter):
        return [(a, b)]
    cut = max(range(a + 1, b), key=lambda t: (meter.strength(t), -t))
    return split_in_bar(a, cut, meter) + split_in_bar(cut, b, meter)


def split(start: int, end: int, meter: Meter, origin: int = 0) -> list[tuple[int, int]]:
    """A span [start, end) of the piece -> notated spans (tied together), cut at bar lines.

    origin: the step of a bar line (bars are ``meter.bar`` long from there; before it, the
    pickup bar ends there).
    """
    out: list[tuple[int, int]] = []
    t = start
    while t < end:
        bar_start = origin + ((t - origin) // meter.bar) * meter.bar
        bar_end = min(end, bar_start + meter.bar)
        out += [(bar_start + x, bar_start + y)
                for x, y in split_in_bar(t - bar_start, bar_end - bar_start, meter)]  # fmt: skip
        t = bar_end
    return out


def beams(spans: list[tuple[int, int, bool]], meter: Meter) -> list[list[tuple[int, str]]]:
    """Beams for one voice's notes in one bar.

    spans: (start, end, is_note) per element in order, positions in the bar. Returns per
    element its beams as (number, 'begin'|'continue'|'end'|'forward hook'|'backward hook'):
    number 1 joins 8ths and shorter within a beat (a group of three 8ths in compound meters),
    number 2 joins 16ths.
    """
    out: list[list[tuple[int, str]]] = [[] for _ in spans]
    unit = meter.beat
    if meter.denominator == 2 and not meter.compound:
        unit = 8  # beats of a half: beam four 8ths together
    run: list[int] = []
    runs: list[list[int]] = []
    for i, (a, b, is_note) in enumerate(spans):
        short = is_note and b - a < 4
        if short and run and spans[run[-1]][0] // unit == a // unit and spans[run[-1]][1] == a:
            run.append(i)
        else:
            if len(run) > 1:
                runs.append(run)
            run = [i] if short else []
    if len(run) > 1:
        runs.append(run)
    for run in runs:
        for k, i in enumerate(run):
            out[i].append((1, "begin" if k == 0 else "end" if k == len(run) - 1 else "continue"))
        k = 0
        while k < len(run):  # the 16th beams: runs of 16ths inside the group
            if spans[run[k]][1] - spans[run[k]][0] != 1:
                k += 1
                continue
            j = k
            while j + 1 < len(run) and spans[run[j + 1]][1] - spans[run[j + 1]][0] == 1:
                j += 1
            if j > k:
                for m in range(k, j + 1):
                    out[run[m]].append((2, "begin" if m == k else "end" if m == j else "continue"))
            else:
                out[run[k]].append((2, "forward hook" if k == 0 else "backward hook"))
            k = j + 1
    return out
