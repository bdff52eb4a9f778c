"""Parts -> voices: which parts of a file become voices, and how a part that plays chords is
split into several.

A part is the notes of one track (or one channel of a track), quantized to 16th steps. With
more parts than voices, ``choose_parts`` keeps those with most notes. ``allocate`` gives each
part one voice and the spare ones to the parts that play chords (``polyphony``: legato
overlaps of one step do not count). ``split_part`` splits a part into voices high to low by
pitch order, keeping each line close to its last pitch, letting unisons swap, and cutting held
notes short or dropping notes when a chord needs more voices than there are.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from composer.midi.events import Events
    from composer.midi.report import ReadReport


@dataclass
class QNote:
    """A note on the grid: start and end in 16th steps, MIDI pitch; short = under a step."""

    start: int
    end: int
    pitch: int
    short: bool = False


def choose_parts(ev: Events, max_voices: int, report: ReadReport) -> list[tuple[int, int]]:
    """The (track, channel) keys of the parts to read, in file order: all of them, or the
    ``max_voices`` with most notes (a warning says which were dropped)."""
    keys = sorted(ev.parts)
    if len(keys) > max_voices:
        kept = sorted(sorted(keys, key=lambda k: -len(ev.parts[k]))[:max_voices])
        dropped = [k for k in keys if k not in kept]
        report.warnings.append(
            f"the file has {len(keys)} parts but Composer reads {max_voices} voices: kept the "
            f"{max_voices} with most notes ({', '.join(part_label(k, ev) for k in kept)}), "
            f"dropped {', '.join(part_label(k, ev) for k in dropped[:8])}"
            + (f" and {len(dropped) - 8} more" if len(dropped) > 8 else "")
        )
        report.notes_dropped += sum(len(ev.parts[k]) for k in dropped)
        keys = kept
    return keys


def part_label(key: tuple[int, int], ev: Events) -> str:
    ti, channel = key
    label = f"track {ti + 1}"
    if ev.track_names.get(ti):
        label += f' "{ev.track_names[ti]}"'
    if any((ti, c) in ev.parts for c in range(16) if c != channel):
        label += f" channel {channel + 1}"
    return label


def polyphony(notes: list[QNote]) -> int:
    """The most notes sounding at once. A note ending at a step does not overlap one starting
    there, and an overlap of one step is legato, not a second voice: notes longer than a step
    count as a step shorter."""
    ends = [n.end - 1 if n.end - n.start > 1 else n.end for n in notes]
    marks = sorted([(n.start, 1) for n in notes] + [(e, -1) for e in ends])
    most = now = 0
    for _, d in marks:
        now += d
        most = max(most, now)
    return most


def allocate(most: list[int], budget: int) -> list[int]:
    """Voices per part: one each, then more to the parts that play chords, within budget.
    ``most``: each part's polyphony (the most notes it sounds at once)."""
    alloc = [1] * len(most)
    while sum(alloc) < budget:
        need = [p - a for p, a in zip(most, alloc, strict=True)]
        best = max(range(len(need)), key=lambda i: need[i])
        if need[best] <= 0:
            break
        alloc[best] += 1
    return alloc


_CROSSING_PENALTY = 24  # semitones of cost for a new note that crosses a held note


def split_part(notes: list[QNote], n: int, report: ReadReport) -> list[list[QNote]]:
    """Split one part's notes (sorted by start) into ``n`` voices, high to low.

    Notes are taken in onset order. Notes starting together go to free voices in pitch order
    (top -> highest free voice), choosing the free voices that keep each voice's line closest
    to its last pitch without crossing notes still held. Two voices that started the same
    pitch together (a unison, which MIDI cannot tell apart) may swap those notes when that
    suits the next chord better. When a chord needs more voices than are free, held notes
    are cut short (oldest first); a chord with more notes than voices loses notes shorter
    than a step first, then inner notes.
    """
    if n == 1 and all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False)):
        return [notes]  # a plain line
    pitches = sorted((x.pitch for x in notes), reverse=True)
    last = [pitches[min(len(pitches) - 1, (2 * i + 1) * len(pitches) // (2 * n))]
            for i in range(n)]  # fmt: skip  # each voice's last pitch, at first its typical one
    voices: list[list[QNote]] = [[] for _ in range(n)]
    i = 0
    while i < len(notes):
        t, j = notes[i].start, i
        while j < len(notes) and notes[j].start == t:
            j += 1
        chord = sorted(notes[i:j], key=lambda x: -x.pitch)
        i = j
        sounding = [bool(vn) and vn[-1].end > t for vn in voices]
        excess = len(chord) - sounding.count(False)
        held = sorted((v for v in range(n) if sounding[v]), key=lambda v: voices[v][-1].start)
        for v in held[: max(0, excess)]:
            voices[v][-1] = dataclasses.replace(voices[v][-1], end=t)
            sounding[v] = False
            report.notes_shortened += 1
        if len(chord) > n:  # keep notes of a step or more, then the outer ones
            longs = [x for x in chord if not x.short]
            if len(longs) >= n:
                kept = longs[: n - n // 2] + longs[len(longs) - n // 2 :]
            else:
                kept = longs + [x for x in chord if x.short][: n - len(longs)]
                kept.sort(key=lambda x: -x.pitch)
            report.notes_dropped += len(chord) - len(kept)
            chord = kept
        unisons = [
            (a, b)
            for a, b in itertools.combinations(range(n), 2)
            if voices[a] and voices[b] and sounding[a] != sounding[b]
            and (voices[a][-1].start, voices[a][-1].pitch)
            == (voices[b][-1].start, voices[b][-1].pitch)
        ][:3]  # fmt: skip
        best: tuple[int, tuple[int, ...], tuple[tuple[int, int], ...]] | None = None
        for k in range(len(unisons) + 1):
            for swaps in itertools.combinations(unisons, k):
                state = list(sounding)
                for a, b in swaps:
                    state[a], state[b] = state[b], state[a]
                cost, combo = _best_voices(chord, state, voices, last)
                if best is None or cost < best[0]:
                    best = (cost, combo, swaps)
        assert best is not None
        for a, b in best[2]:
            voices[a][-1], voices[b][-1] = voices[b][-1], voices[a][-1]
        for x, v in zip(chord, best[1], strict=True):
            voices[v].append(x)
            last[v] = x.pitch
    return voices


def _best_voices(
    chord: list[QNote], sounding: list[bool], voices: list[list[QNote]], last: list[int]
) -> tuple[int, tuple[int, ...]]:
    """The free voices for a chord (pitches high to low), in voice order, and their cost:
    semitones from each voice's last pitch, plus a penalty for crossing a held note."""
    free = [v for v, s in enumerate(sounding) if not s]
    held = [(v, voices[v][-1].pitch) for v, s in enumerate(sounding) if s]
    best: tuple[int, tuple[int, ...]] | None = None
    for combo in itertools.combinations(free, len(chord)):
        cost = 0
        for x, v in zip(chord, combo, strict=True):
            cost += abs(x.pitch - last[v])
            for h, hp in held:
                if (h < v and x.pitch > hp) or (h > v and x.pitch < hp):
                    cost += _CROSSING_PENALTY
        if best is None or cost < best[0]:
            best = (cost, combo)
    assert best is not None
    return best
