"""Pitch spelling: MIDI pitches -> written notes (letter, alteration, octave) in a key, and the
accidentals a reader needs to see.

Notes of the key are spelled as the key writes them (in minor the raised 6th and 7th too: E# in
F# minor, not F). A note outside the key is spelled from where it goes: resolving up by step it
is a raised note (C# to D), resolving down a lowered one (Eb to D, so a descending chromatic line
reads E Eb D); otherwise as harmony usually has it (in major #1, b3, #4, #5, b7; in minor b2, #3,
#4). ``accidentals`` then gives, per note of a staff, the accidental to print: only where the
note differs from the key signature or from an earlier note on the same line or space in the
bar (a tied continuation prints none).

Units: MIDI pitch; ``alter`` in semitones (-2..2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from composer.score import Key

LETTERS = "CDEFGAB"
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_ORDER = "FCGDAEB"
ACCIDENTAL_NAMES = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}


@dataclass(frozen=True)
class Spelled:
    """A written note: letter (C..B), alteration in semitones, octave (C4 = middle C)."""

    letter: str
    alter: int
    octave: int

    @property
    def midi(self) -> int:
        return (self.octave + 1) * 12 + _LETTER_PC[self.letter] + self.alter

    @property
    def name(self) -> str:
        """'F#4', 'Bb3', 'E##5'."""
        acc = "#" * self.alter if self.alter > 0 else "b" * -self.alter
        return f"{self.letter}{acc}{self.octave}"


def signature_alters(sharps: int) -> dict[str, int]:
    """letter -> alteration the key signature gives it (sharps > 0, flats < 0)."""
    alters = dict.fromkeys(LETTERS, 0)
    if sharps > 0:
        for letter in _SHARP_ORDER[:sharps]:
            alters[letter] = 1
    elif sharps < 0:
        for letter in _SHARP_ORDER[::-1][:-sharps]:
            alters[letter] = -1
    return alters


def scale_spellings(key: Key) -> dict[int, tuple[str, int]]:
    """pitch class -> (letter, alter) for the notes of ``key``: its seven degrees from the
    signature, and in minor also the raised 6th and 7th."""
    sig = signature_alters(key.sharps)
    tonic = key.name[0]
    start = LETTERS.index(tonic)
    out: dict[int, tuple[str, int]] = {}
    for d in range(7):
        letter = LETTERS[(start + d) % 7]
        out[(_LETTER_PC[letter] + sig[letter]) % 12] = (letter, sig[letter])
    if key.mode == "minor":
        for d in (5, 6):  # the 6th and 7th degrees, raised
            letter = LETTERS[(start + d) % 7]
            out[(_LETTER_PC[letter] + sig[letter] + 1) % 12] = (letter, sig[letter] + 1)
    return out


# Outside the key, with no step to resolve to: semitones above the tonic -> +1 (a raised note)
# or -1 (a lowered one), as harmony usually spells them.
_USUAL = {
    "major": {1: 1, 3: -1, 6: 1, 8: 1, 10: -1},
    "minor": {1: -1, 4: 1, 6: 1},
}


def _candidates(pc: int) -> list[tuple[str, int]]:
    """Every (letter, alter) with |alter| <= 2 that sounds as pitch class ``pc``."""
    out = []
    for letter, base in _LETTER_PC.items():
        alter = (pc - base + 6) % 12 - 6
        if abs(alter) <= 2:
            out.append((letter, alter))
    return out


def spell_pitch(pitch: int, key: Key, next_pitch: int | None = None) -> Spelled:
    """Spell one MIDI pitch in ``key``; ``next_pitch`` (the same voice's next note) decides
    the spelling of a note outside the key when it moves on by step."""
    pc = pitch % 12
    scale = scale_spellings(key)
    if pc in scale:
        letter, alter = scale[pc]
    else:
        sig = signature_alters(key.sharps)
        direction = 0
        if next_pitch is not None and 1 <= abs(next_pitch - pitch) <= 2:
            direction = 1 if next_pitch > pitch else -1
        if direction == 0:
            direction = _USUAL[key.mode].get((pc - key.tonic) % 12, 1 if key.sharps >= 0 else -1)
        options = _candidates(pc)
        # no double sharps or flats; then the note raised (or lowered) from its letter as the
        # key signature has it
        options.sort(
            key=lambda c: (
                abs(c[1]) > 1,
                c[1] - sig[c[0]] != direction,
                abs(c[1] - sig[c[0]]),
                abs(c[1]),
            )
        )
        letter, alter = options[0]
    natural = pitch - alter
    return Spelled(letter, alter, natural // 12 - 1)


def spell_line(pitches: list[int], key: Key) -> list[Spelled]:
    """Spell one voice's notes in time order (rests left out), each from its successor."""
    return [
        spell_pitch(p, key, pitches[i + 1] if i + 1 < len(pitches) else None)
        for i, p in enumerate(pitches)
    ]


def accidentals(notes: Iterable[tuple[int, Spelled, bool]], sharps: int) -> list[int | None]:
    """The accidental to print on each note of one staff, or None.

    notes: (bar, spelled, tied_from_before) in the order they are read (time, then voice).
    A note shows an accidental when its alteration differs from what its line or space has
    at that point of the bar: the key signature, or an earlier accidental in the bar at the
    same letter and octave. A tied continuation shows none and changes nothing.
    """
    sig = signature_alters(sharps)
    state: dict[tuple[str, int], int] = {}
    bar_now = None
    out: list[int | None] = []
    for bar, sp, tied in notes:
        if bar != bar_now:
            state, bar_now = {}, bar
        if tied:
            out.append(None)
            continue
        current = state.get((sp.letter, sp.octave), sig[sp.letter])
        if sp.alter != current:
            out.append(sp.alter)
            state[(sp.letter, sp.octave)] = sp.alter
        else:
            out.append(None)
    return out
