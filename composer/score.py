"""The Score: the one in-memory piece every path in and out of Composer goes through.

A Score is a grid of 16th-note steps by voices, ``int16[T, V]`` (V = 4 for SATB, voices ordered
high to low). Each cell holds a MIDI pitch (0-127), ``HOLD`` (the note above in the same voice
continues) or ``REST``. Metadata: tempo (quarter notes per minute), time signature, key, pickup
(16th steps before the first bar line), fermatas (steps where a fermata chord starts), voice
names and General MIDI programs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from composer.errors import ScoreError

REST = -1
HOLD = -2
STEPS_PER_QUARTER = 4

SATB = ("Soprano", "Alto", "Tenor", "Bass")
CHOIR_AAHS = 52  # General MIDI program (0-based) used by default for every voice
# Ensembles a chorale is played by: General MIDI programs (0-based) for S, A, T, B.
ENSEMBLES: dict[str, tuple[int, int, int, int]] = {
    "choir": (CHOIR_AAHS,) * 4,
    "voices": (53,) * 4,  # Voice Oohs
    "organ": (19,) * 4,  # Church Organ
    "strings": (40, 40, 41, 42),  # violin, violin, viola, cello: a string quartet
    "winds": (73, 68, 71, 70),  # flute, oboe, clarinet, bassoon
    "brass": (56, 60, 57, 58),  # trumpet, horn, trombone, tuba
    "recorders": (74, 74, 74, 74),
    "piano": (0,) * 4,
    "harpsichord": (6,) * 4,
}

# Comfortable ranges (MIDI pitch, inclusive) of each voice in Bach's chorales, with a little room.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "Soprano": (59, 81),  # B3-A5
    "Alto": (52, 74),  # E3-D5
    "Tenor": (45, 69),  # A2-A4
    "Bass": (34, 64),  # Bb1-E4
}

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# The usual name of each key's tonic (by pitch class): the spelling with the smaller signature.
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}


def pitch_name(pitch: int, key: Key | None = None) -> str:
    """MIDI pitch -> scientific name, e.g. 60 -> 'C4'; black keys as sharps in sharp keys and
    flats in flat keys when ``key`` is given (C# Eb F# Ab Bb without one)."""
    names = PITCH_NAMES
    if key is not None:
        names = FLAT_NAMES if key.sharps < 0 else SHARP_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def tonic_fifths(name: str) -> int:
    """A note name's place on the circle of fifths from C: 'G' -> 1, 'Bb' -> -2, 'C#' -> 7."""
    return _LETTER_FIFTHS[name[0]] + 7 * (name.count("#") - name.count("b"))


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class (0 = C) and mode ('major' or 'minor').

    ``spelling`` is the tonic as written ('Db', 'C#'); '' means the usual name (MAJOR_TONICS,
    MINOR_TONICS). It decides the name and the signature (Db major: 5 flats, C# major: 7
    sharps) but not equality: Key(1) == Key(1, spelling='C#').
    """

    tonic: int
    mode: str = "major"
    spelling: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12:
            raise ScoreError(f"key tonic must be a pitch class 0-11, not {self.tonic}")
        if self.mode not in ("major", "minor"):
            raise ScoreError(f"key mode must be 'major' or 'minor', not {self.mode!r}")
        if self.spelling:
            sp = self.spelling
            if (
                not re.fullmatch(r"[A-G](#|b)?", sp)
                or (_LETTER_PC[sp[0]] + sp.count("#") - sp.count("b")) % 12 != self.tonic
            ):
                raise ScoreError(f"{sp!r} does not name pitch class {self.tonic}")
            usual = (MINOR_TONICS if self.mode == "minor" else MAJOR_TONICS)[self.tonic]
            if abs(self.sharps) > 7:
                raise ScoreError(
                    f"{sp} {self.mode} has no key signature ({abs(self.sharps)} "
                    f"{'sharps' if self.sharps > 0 else 'flats'}): write {usual} {self.mode}"
                )

    @classmethod
    def parse(cls, text: str) -> Key:
        """'D minor', 'F# major', 'Bb', 'c#m', 'Db major' -> Key, spelled as written (Db stays
        Db). Raises ScoreError with the accepted form."""
        m = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]?)\s*(major|minor|maj|min|m|M)?\s*", text)
        if not m:
            raise ScoreError(
                f"cannot read key {text!r}: write a tonic and a mode, e.g. 'D minor' or 'Bb major'"
            )
        letter, accidental, mode = m.groups()
        name = letter.upper() + accidental.replace("♯", "#").replace("♭", "b")
        mode_name = "minor" if mode in ("minor", "min", "m") else "major"
        pc = (_LETTER_PC[name[0]] + name.count("#") - name.count("b")) % 12
        return cls(pc, mode_name, name)

    @property
    def name(self) -> str:
        """The tonic's name: as spelled, else the usual one ('Db' major, 'C#' minor)."""
        return self.spelling or (MINOR_TONICS if self.mode == "minor" else MAJOR_TONICS)[self.tonic]

    @property
    def index(self) -> int:
        """0-23: tonic + 12 for minor. Used as the model's key conditioning."""
        return self.tonic + (12 if self.mode == "minor" else 0)

    @classmethod
    def from_index(cls, index: int) -> Key:
        return cls(index % 12, "minor" if index >= 12 else "major")

    @classmethod
    def from_sharps(cls, sharps: int, mode: str = "major") -> Key:
        """The key of a signature: 2 -> D major (B minor), -5 -> Db major (Bb minor)."""
        if not -7 <= sharps <= 7:
            raise ScoreError(f"a key signature has -7 to 7 sharps, not {sharps}")
        fifths = sharps + (3 if mode == "minor" else 0)
        letter = "FCGDAEB"[(fifths + 1) % 7]
        acc = (fifths + 1) // 7
        name = letter + ("#" * acc if acc > 0 else "b" * -acc)
        if len(name) > 2:
            raise ScoreError(f"{sharps} sharps in {mode} names no key Composer writes")
        pc = (_LETTER_PC[letter] + acc) % 12
        return cls(pc, mode, name)

    def transpose(self, semitones: int) -> Key:
        return Key((self.tonic + semitones) % 12, self.mode)

    def scale(self) -> frozenset[int]:
        """Pitch classes of the scale (harmonic and melodic minor notes included for minor)."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
        return frozenset((self.tonic + s) % 12 for s in steps)

    @property
    def sharps(self) -> int:
        """Signature: number of sharps (negative for flats), as in a MIDI key signature."""
        return tonic_fifths(self.name) - (3 if self.mode == "minor" else 0)

    def __str__(self) -> str:
        return f"{self.name} {self.mode}"


@dataclass(frozen=True)
class Note:
    """One note of one voice: start and end in 16th steps (end exclusive), MIDI pitch."""

    voice: int
    start: int
    end: int
    pitch: int


@dataclass
class Score:
    """A piece on a 16th-note grid.

    grid: int16[T, V], T steps of a 16th note, V voices high to low; pitch, HOLD or REST.
    tempo: quarter notes per minute. time_signature: (numerator, denominator).
    pickup: 16th steps before the first bar line (0 when the piece starts on a downbeat).
    fermatas: sorted steps where a fermata chord starts.
    """

    grid: np.ndarray
    tempo: float = 90.0
    time_signature: tuple[int, int] = (4, 4)
    key: Key | None = None
    pickup: int = 0
    fermatas: tuple[int, ...] = ()
    voice_names: tuple[str, ...] = SATB
    programs: tuple[int, ...] = (CHOIR_AAHS,) * 4
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.grid = np.asarray(self.grid, dtype=np.int16)
        if self.grid.ndim != 2:
            raise ScoreError(f"a score grid is [steps, voices], got shape {self.grid.shape}")
        self.fermatas = tuple(sorted(int(f) for f in self.fermatas))
        self.time_signature = (int(self.time_signature[0]), int(self.time_signature[1]))
        self.voice_names = tuple(self.voice_names)
        self.programs = tuple(int(p) for p in self.programs)
        if len(self.voice_names) != self.voices:
            self.voice_names = default_voice_names(self.voices)
        if len(self.programs) != self.voices:
            self.programs = (CHOIR_AAHS,) * self.voices

    # --- shape -----------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return int(self.grid.shape[0])

    @property
    def voices(self) -> int:
        return int(self.grid.shape[1])

    @property
    def steps_per_bar(self) -> int:
        num, den = self.time_signature
        return num * 16 // den

    @property
    def bars(self) -> int:
        """Length in bars: steps / steps per bar, rounded up (a pickup and a short last bar
        together count as one bar, as musicians count them)."""
        return -(-self.steps // self.steps_per_bar)

    @property
    def seconds(self) -> float:
        return self.steps * 15.0 / self.tempo

    def bar_of(self, step: int) -> int:
        """The bar number of a step as a score prints it: the first full bar is 1, a pickup is
        bar 0 (as in MusicXML measure numbers, the CLI's --bars and the app)."""
        if step < self.pickup:
            return 0
        return (step - self.pickup) // self.steps_per_bar + 1

    def bar_start(self, bar: int) -> int:
        """First step of a bar (numbered as ``bar_of``; bar 0, a pickup, starts before 0)."""
        return self.pickup + (bar - 1) * self.steps_per_bar

    def position_in_bar(self) -> np.ndarray:
        """int[T]: each step's 16th position within its bar (pickup steps counted from the end)."""
        t = np.arange(self.steps) - self.pickup
        return np.mod(t, self.steps_per_bar)

    def fermata_mask(self) -> np.ndarray:
        """bool[T]: steps under a fermata: from a fermata onset until the soprano moves on."""
        mask = np.zeros(self.steps, dtype=bool)
        top = self.grid[:, 0] if self.voices else np.zeros(0)
        for f in self.fermatas:
            if 0 <= f < self.steps:
                mask[f] = True
                t = f + 1
                while t < self.steps and top[t] == HOLD:
                    mask[t] = True
                    t += 1
        return mask

    # --- notes -----------------------------------------------------------------------------
    def notes(self, voice: int | None = None) -> Iterator[Note]:
        """The notes of one voice (or all voices, voice by voice), in time order."""
        voices = range(self.voices) if voice is None else (voice,)
        for v in voices:
            col = self.grid[:, v]
            start, pitch = -1, -1
            for t in range(self.steps + 1):
                cell = int(col[t]) if t < self.steps else REST
                if cell == HOLD and start >= 0:
                    continue
                if start >= 0:
                    yield Note(v, start, t, pitch)
                    start = -1
                if cell >= 0:
                    start, pitch = t, cell

    def pitch_grid(self) -> np.ndarray:
        """int16[T, V]: the sounding pitch of each cell (HOLD resolved), REST where silent."""
        return resolve_holds(self.grid).astype(self.grid.dtype)

    @classmethod
    def from_notes(cls, notes: list[Note], steps: int, voices: int = 4, **meta) -> Score:
        """Build a Score from notes; a later note in the same voice cuts an earlier one short."""
        grid = np.full((steps, voices), REST, dtype=np.int16)
        for n in sorted(notes, key=lambda n: (n.voice, n.start)):
            s, e = max(0, n.start), min(steps, n.end)
            if e <= s:
                continue
            grid[s, n.voice] = n.pitch
            grid[s + 1 : e, n.voice] = HOLD
        return cls(grid, **meta)

    # --- checks and edits ------------------------------------------------------------------
    def validate(self) -> Score:
        """Raise ScoreError if a cell is not a pitch, HOLD or REST, or a HOLD follows silence."""
        g = self.grid
        bad = (g > 127) | (g < HOLD)
        if bad.any():
            t, v = np.argwhere(bad)[0]
            raise ScoreError(f"step {t}, voice {v}: {g[t, v]} is not a MIDI pitch, HOLD or REST")
        if self.steps:
            prev = np.vstack([np.full((1, self.voices), REST, np.int16), g[:-1]])
            orphan = (g == HOLD) & (prev == REST)
            if orphan.any():
                t, v = np.argwhere(orphan)[0]
                raise ScoreError(f"step {t}, voice {v}: HOLD with no note to hold")
        if self.tempo <= 0:
            raise ScoreError(f"tempo must be positive, not {self.tempo}")
        if self.steps_per_bar <= 0:
            raise ScoreError(f"time signature {self.time_signature} has no 16th steps per bar")
        return self

    def transpose(self, semitones: int) -> Score:
        """A copy moved by semitones (pitches only; HOLD and REST unchanged)."""
        grid = self.grid.copy()
        sounding = grid >= 0
        grid[sounding] += semitones
        if sounding.any() and (grid[sounding].min() < 0 or grid[sounding].max() > 127):
            raise ScoreError(f"transposing by {semitones} leaves the MIDI range")
        key = self.key.transpose(semitones) if self.key else None
        return dataclasses.replace(self, grid=grid, key=key, meta=dict(self.meta))

    def slice(self, start: int, end: int) -> Score:
        """Steps [start, end): a HOLD at the cut becomes its sounding pitch."""
        grid = self.grid[start:end].copy()
        if len(grid):
            grid[0] = self.pitch_grid()[start]
        pickup = (self.pickup - start) % self.steps_per_bar  # first bar line of the slice
        fermatas = tuple(f - start for f in self.fermatas if start <= f < end)
        return dataclasses.replace(
            self, grid=grid, pickup=pickup, fermatas=fermatas, meta=dict(self.meta)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Score):
            return NotImplemented
        return (
            np.array_equal(self.grid, other.grid)
            and self.tempo == other.tempo
            and self.time_signature == other.time_signature
            and self.key == other.key
            and self.pickup == other.pickup
            and self.fermatas == other.fermatas
            and self.voice_names == other.voice_names
            and self.programs == other.programs
        )

    def differences(self, other: Score) -> list[str]:
        """What differs between two scores, for test failures and round-trip reports."""
        out = []
        if self.grid.shape != other.grid.shape:
            out.append(f"shape {self.grid.shape} != {other.grid.shape}")
        elif not np.array_equal(self.grid, other.grid):
            t, v = np.argwhere(self.grid != other.grid)[0]
            out.append(f"grid differs first at step {t}, voice {v}")
        for name in (
            "tempo",
            "time_signature",
            "key",
            "pickup",
            "fermatas",
            "voice_names",
            "programs",
        ):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                out.append(f"{name}: {a} != {b}")
        return out


def default_voice_names(voices: int) -> tuple[str, ...]:
    if voices == 4:
        return SATB
    return tuple(f"Voice {i + 1}" for i in range(voices))


def resolve_holds(grid: np.ndarray, hold: int = HOLD) -> np.ndarray:
    """``grid`` [..., T, V] (steps, voices) with every ``hold`` cell replaced by the value struck
    last before it in its voice, REST where nothing was: what sounds, from Score cells
    (Score.pitch_grid) or, with ``hold`` the HOLD token, from tokens (composer.encoding.sounding).
    """
    struck = np.where(grid != hold, np.arange(grid.shape[-2])[:, None], -1)
    last = np.maximum.accumulate(struck, axis=-2)  # the step each cell's sound was struck at
    held = np.take_along_axis(grid, np.maximum(last, 0), axis=-2)
    return np.where(last >= 0, held, REST)
