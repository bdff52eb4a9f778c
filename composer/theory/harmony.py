"""Harmony of four-part Scores (numpy only): chord labels, cadences, non-chord tones, endings.

``analyse(score) -> Analysis`` labels one piece (chords, non-chord tones, cadences, sevenths,
beat sonorities); ``composer.theory.harmony_figures`` counts its figures and sums them over sets
of pieces. Units: steps are 16th steps, pitches MIDI pitches, pitch classes (pc) 0-11 (0 = C);
"sounding" = a pitch, not a rest (HOLD resolved). "By step" = 1 or 2 semitones.

The labeller
------------
- beat: a quarter note (4 steps) in x/4 and x/2, a dotted quarter (6) in 6/8, 9/8 and 12/8, an
  eighth (2) in other x/8. Beat steps: t with (t - pickup) % beat == 0.
- segments: the piece is cut at step 0 and every beat step. A quarter beat is cut again at its
  second eighth when the bass (lowest sounding voice) strikes a new pitch class there, not as a
  light note (below), and each half alone is a clean chord (every sounding pc a member, the
  third present) with a different root from the other half (a chord change on the eighth, e.g.
  I - vi under a leaping bass).
- weights: each sounding (step, voice) of a segment weighs 1, the lowest sounding voice 2; a
  light note (one starting off the beat, reached by step and left by step or by repeating it:
  the shape of a passing or neighbour tone or an anticipation) weighs a tenth of that, so it
  hardly sways the label either way.
- templates: 12 roots x QUALITIES' first nine (major, minor, diminished, augmented, dominant
  7th, minor 7th, half-diminished 7th, diminished 7th, major 7th). Score = weight of members -
  weight of non-members - cost of absent members (root 3, third 2, fifth 0.5, seventh 2) + prior
  (7ths -1 to -2, diminished -0.5, augmented -2) + inversion (root in the bass +0.5, a triad's
  fifth in the bass -0.5). The best template labels the segment.
- suspensions: a note held (tied or re-struck) into a segment whose next note falls by step
  within a beat of the segment's end may count as that next note's pc instead (-0.5 per note
  so read); the best reading wins, so a 4-3 suspension over V reads as V.
- overrides: "open fifth" when the sounding pcs are exactly a fifth apart (root: the lower),
  "unison" when one pc sounds, "other" when the best template explains under 2/3 of the weight,
  "rest" when nothing sounds. A diminished 7th's root is the member a semitone below the next
  chord's root, else the key's leading tone, else the bass (it is symmetric).
- inversion: the chord member in the bass at the segment's start (0 root, 1 third, 2 fifth,
  3 seventh, -1 not a member). ``Chord.numeral(key)``: degree of the root in the key, upper case
  for major-like qualities, with °, ø, +, 7 and figures (6, 64, 65, 43, 42).
- key: Score.key, else a Krumhansl-Schmuckler estimate (note durations of every voice,
  composer.theory.plan.estimate_key). A fermata's local key: the same estimate (sounding 16ths)
  over its phrase (after the previous fermata's onset up
  to the end of this fermata's chord).
- approach of a chord: the previous segment with a different root (rests skipped); the next
  chord change: the next segment with a different root (rests skipped). A dominant of a chord:
  a major triad or dominant 7th whose root is 7 semitones above that chord's root.

What ``analyse`` labels
-----------------------
- non-chord tone (NCT): a note whose pc is not in the chord at its onset; or a note that was a
  chord tone but is held (tied) into a segment whose chord lacks it (labelled there). One label
  per note. on_beat: the step is a beat step. Kinds (``nct_kind``; "before"/"after" = the
  previous/next note of the voice, None across a rest):
  suspension (held or re-struck from a chord tone of the previous chord, next note a step
  down); passing (step in, step on, same direction); neighbour (step in, step back);
  anticipation (the next note repeats it); appoggiatura (leapt into, left by step); leapt
  (left by leap: escape tone, or leapt in and out); other (after or before a rest, a held note
  that does not fall by step, a repeated dissonance).
- cadence at each fermata onset (Score.fermatas): the chord sounding there, its approach, its
  phrase's local key; "tonic" and "V" mean those of the home or the local key. Kind, first
  match: authentic (a major/minor triad on a tonic approached by its dominant); plagal (a
  major/minor triad on the home tonic approached by the major/minor triad a fourth above, IV-I;
  only the home key, as I-V is the same root motion); half (a major triad on a V, or on the V
  of a minor key on the home key's ii, iii or vi (iv or v in minor), e.g. a Phrygian half
  cadence in the relative minor; never the home tonic); deceptive
  (approached by a V, moving up a whole step to a minor triad, V-vi, or a semitone to a major
  one, V-VI in minor); authentic (a major/minor triad approached by its dominant: a cadence in
  another key); other. v_i_home: a major/minor triad on the home tonic approached by its
  dominant; v_i_any: any major/minor triad approached by its dominant (V-I in any key).
- final chord: the last segment that sounds, and its approach.
- seventh: a voice sounding the seventh of a seventh chord at a beat step (each note once, at
  its first such beat); resolved when, at the next chord change, that voice sounds a pitch 1-2
  semitones lower. Sevenths with no chord change after them are not counted.
- beat sonority (pcs sounding at a beat step): triad (exactly a major/minor/diminished/
  augmented triad), seventh (exactly a seventh chord, or one without its fifth), open fifth
  (two pcs a fifth apart), incomplete (one pc, or two a third or sixth apart), other.
- fresh dissonance: a beat where a voice other than the lowest strikes a pitch it did not sound
  at the step before, at a dissonant interval above the lowest sounding pitch (1, 2, 5, 6, 10 or
  11 semitones modulo 12: seconds, fourths, tritones, sevenths).
- doubled leading tone: a beat whose chord is the home key's V (major or dominant 7th) or vii
  (diminished, half-diminished or diminished 7th, root = leading tone) with two or more voices
  on the leading tone (tonic + 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from composer.score import REST, Key, Note, Score
from composer.theory.plan import estimate_key
from composer.theory.voiceleading import pair_motions

TEMPLATES: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "dominant 7th": (0, 4, 7, 10),
    "minor 7th": (0, 3, 7, 10),
    "half-diminished 7th": (0, 3, 6, 10),
    "diminished 7th": (0, 3, 6, 9),
    "major 7th": (0, 4, 7, 11),
}
QUALITIES = (*TEMPLATES, "open fifth", "unison", "other", "rest")
SEVENTH_CHORDS = frozenset(q for q, iv in TEMPLATES.items() if len(iv) == 4)
MAJOR_LIKE = frozenset({"major", "augmented", "dominant 7th", "major 7th", "open fifth", "unison"})
DOMINANT = frozenset({"major", "dominant 7th"})
TRIADS_MM = frozenset({"major", "minor"})
LEADING_TONE_CHORDS = frozenset({"diminished", "half-diminished 7th", "diminished 7th"})

NCT_KINDS = ("passing", "neighbour", "suspension", "appoggiatura", "leapt", "anticipation", "other")
CADENCES = ("authentic", "plagal", "half", "deceptive", "other")
VOCABULARY = ("triad", "seventh", "incomplete", "open fifth", "other")
DISSONANT = frozenset({1, 2, 5, 6, 10, 11})  # semitones above the bass, modulo 12

PRIORS = {"major": 0.0, "minor": 0.0, "diminished": -0.5, "augmented": -2.0,
          "dominant 7th": -1.0, "minor 7th": -1.5, "half-diminished 7th": -1.5,
          "diminished 7th": -1.0, "major 7th": -2.0}  # fmt: skip
MISS_COSTS = (3.0, 2.0, 0.5, 2.0)  # an absent root, third, fifth, seventh
ROOT_POSITION_BONUS = 0.5
SIX_FOUR_PENALTY = 0.5
SUSPENSION_PENALTY = 0.5
BASS_WEIGHT = 2.0
OTHER_BELOW = 2 / 3  # a chord is "other" when its template explains less of the weight
LIGHT_WEIGHT = 0.1  # per 16th of an off-beat note of passing/neighbour/anticipation shape


def _template_tables() -> tuple[list[str], np.ndarray, ...]:
    names, roots, members, costs, priors, bonus = [], [], [], [], [], []
    for quality, intervals in TEMPLATES.items():
        for root in range(12):
            m, c, b = np.zeros(12), np.zeros(12), np.zeros(12)
            for k, iv in enumerate(intervals):
                pc = (root + iv) % 12
                m[pc], c[pc] = 1.0, MISS_COSTS[k]
            b[root] = ROOT_POSITION_BONUS
            if len(intervals) == 3:
                b[(root + intervals[2]) % 12] = -SIX_FOUR_PENALTY
            names.append(quality)
            roots.append(root)
            members.append(m)
            costs.append(c)
            priors.append(PRIORS[quality])
            bonus.append(b)
    return (names, np.array(roots), np.array(members), np.array(costs), np.array(priors),
            np.array(bonus))  # fmt: skip


# (N,) names and roots, (N, 12) members and costs of absence, (N,) priors, (N, 12) bass bonus
_NAMES, _ROOTS, _MEMBERS, _COSTS, _PRIORS, _BASS_BONUS = _template_tables()

_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_PROFILES = np.array(
    [np.roll(_MAJOR_PROFILE, t) for t in range(12)]
    + [np.roll(_MINOR_PROFILE, t) for t in range(12)]
)  # (24, 12): Key.index order

_MAJOR_DEGREES = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
_MINOR_DEGREES = ("I", "bII", "II", "III", "#III", "IV", "#IV", "V", "VI", "#VI", "VII", "#VII")
_SUFFIX = {"diminished": "°", "augmented": "+", "dominant 7th": "7", "minor 7th": "7",
           "half-diminished 7th": "ø7", "diminished 7th": "°7", "major 7th": "maj7",
           "open fifth": "5", "unison": "1", "other": "?"}  # fmt: skip
_TRIAD_FIGURES = ("", "6", "64")
_SEVENTH_FIGURES = ("7", "65", "43", "42")


def _pc_set(root: int, intervals: tuple[int, ...]) -> frozenset[int]:
    return frozenset((root + i) % 12 for i in intervals)


_TRIAD_SETS = {_pc_set(r, TEMPLATES[q]) for q in ("major", "minor", "diminished", "augmented")
               for r in range(12)}  # fmt: skip
_SEVENTH_SETS = {_pc_set(r, iv) for q, iv in TEMPLATES.items() if len(iv) == 4 for r in range(12)}
_SEVENTH_SETS |= {_pc_set(r, (iv[0], iv[1], iv[3])) for q, iv in TEMPLATES.items() if len(iv) == 4
                  for r in range(12)}  # fmt: skip


@dataclass(frozen=True)
class Chord:
    """The chord of a segment [start, end) (16th steps): root pc (-1 for a rest), quality (one of
    QUALITIES), bass pc at the start (-1 when silent), member pcs."""

    start: int
    end: int
    root: int
    quality: str
    bass: int
    pcs: frozenset[int]

    @property
    def intervals(self) -> tuple[int, ...]:
        if self.quality in TEMPLATES:
            return TEMPLATES[self.quality]
        return {"open fifth": (0, 7), "unison": (0,)}.get(self.quality, ())

    @property
    def inversion(self) -> int:
        """The member in the bass: 0 root, 1 third, 2 fifth, 3 seventh; -1 not a member."""
        if self.bass < 0 or self.root < 0:
            return -1
        iv = (self.bass - self.root) % 12
        if self.quality == "open fifth":
            return {0: 0, 7: 2}.get(iv, -1)
        ivs = self.intervals
        return ivs.index(iv) if iv in ivs else -1

    @property
    def seventh(self) -> int:
        """The seventh's pc of a seventh chord, -1 otherwise."""
        if self.quality not in SEVENTH_CHORDS:
            return -1
        return (self.root + TEMPLATES[self.quality][3]) % 12

    def numeral(self, key: Key) -> str:
        """Roman numeral in ``key`` with figures: 'V7', 'I6', 'vii°6', 'V65', 'iv64'."""
        if self.root < 0:
            return "-"
        degree = (self.root - key.tonic) % 12
        names = _MAJOR_DEGREES if key.mode == "major" else _MINOR_DEGREES
        name = names[degree]
        if key.mode == "minor" and degree == 11 and self.quality in LEADING_TONE_CHORDS:
            name = "VII"  # vii° in minor, not #vii°
        if self.quality not in MAJOR_LIKE:
            name = name.lower()
        suffix = _SUFFIX.get(self.quality, "")
        inv = self.inversion
        if self.quality in SEVENTH_CHORDS:
            figure = _SEVENTH_FIGURES[inv] if inv >= 0 else "7"
            suffix = suffix[:-1] + figure if suffix.endswith("7") else suffix + figure
        elif self.quality in ("major", "minor", "diminished", "augmented") and inv > 0:
            suffix += _TRIAD_FIGURES[inv]
        return name + suffix


@dataclass(frozen=True)
class NonChordTone:
    """A non-chord tone: where it is dissonant with its chord (its onset, or the segment start a
    held note becomes one), its kind (NCT_KINDS) and whether that step is a beat step."""

    voice: int
    step: int
    pitch: int
    kind: str
    on_beat: bool


@dataclass(frozen=True)
class Cadence:
    """The chord at a fermata onset, its approach (None at the start) and the phrase's key."""

    step: int
    kind: str  # one of CADENCES
    chord: Chord
    approach: Chord | None
    local_key: Key
    v_i_home: bool
    v_i_any: bool


@dataclass(frozen=True)
class Seventh:
    """A chord seventh on a beat: voice, beat step, pitch; resolved = down by step at the next
    chord change."""

    voice: int
    step: int
    pitch: int
    resolved: bool
    quality: str = "dominant 7th"  # the seventh chord's quality


@dataclass
class Analysis:
    """Everything ``analyse`` labels in one piece (see the module docstring)."""

    key: Key
    chords: list[Chord]
    beats: list[int]  # beat steps where something sounds
    sonorities: dict[int, str]  # beat step -> VOCABULARY
    fresh_dissonances: list[int]  # beat steps
    dominant_beats: list[int]  # beat steps whose chord is the home V or vii°
    doubled_leading_tones: list[int]  # beat steps
    ncts: list[NonChordTone]
    cadences: list[Cadence]
    sevenths: list[Seventh]
    final: Chord | None
    final_approach: Chord | None

    def chord_at(self, step: int) -> Chord:
        starts = [c.start for c in self.chords]
        return self.chords[int(np.searchsorted(starts, step, side="right")) - 1]


# --- keys ------------------------------------------------------------------------------------
def key_from_histogram(histogram: np.ndarray) -> Key:
    """Krumhansl-Schmuckler: the key whose profile correlates best with a pc histogram."""
    h = np.asarray(histogram, dtype=np.float64)
    if not h.any():
        return Key(0, "major")
    hc = h - h.mean()
    pc = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)
    r = (pc @ hc) / (np.linalg.norm(pc, axis=1) * np.linalg.norm(hc) + 1e-12)
    return Key.from_index(int(np.argmax(r)))


def key_of(score: Score) -> Key:
    """Score.key, or its Krumhansl-Schmuckler estimate (composer.theory.plan.estimate_key, as
    the sampler makes it)."""
    return score.key if score.key is not None else estimate_key(score)


# --- the piece as arrays ----------------------------------------------------------------------
def beat_length(time_signature: tuple[int, int]) -> int:
    """The analysis beat in 16th steps (see the module docstring)."""
    num, den = time_signature
    if den == 8:
        return 6 if num % 3 == 0 and num > 3 else 2
    return 4


class _Piece:
    """A Score's arrays for the analysis: pitches, the lowest voice, notes and weights."""

    def __init__(self, score: Score):
        self.score = score
        self.grid = score.grid.astype(np.int32)
        self.pitch = score.pitch_grid().astype(np.int32)  # (T, V), REST = -1
        self.steps, self.voices = self.pitch.shape
        sounding = self.pitch >= 0
        masked = np.where(sounding, self.pitch, 1000)
        # lowest sounding voice per step (ties: the lower voice), -1 when silent
        order = masked[:, ::-1].argmin(axis=1)
        self.low_voice = np.where(sounding.any(axis=1), self.voices - 1 - order, -1)
        self.low = np.where(self.low_voice >= 0, masked.min(axis=1), REST)
        self.beat = beat_length(score.time_signature)
        t = np.arange(self.steps)
        self.is_beat = (t - score.pickup) % self.beat == 0
        self.notes: list[list[Note]] = [list(score.notes(v)) for v in range(self.voices)]
        self.note_at = np.full((self.steps, self.voices), -1, np.int64)  # (T, V) note index
        for v, notes in enumerate(self.notes):
            for k, n in enumerate(notes):
                self.note_at[n.start : n.end, v] = k
        weight = sounding.astype(np.float64)  # (T, V)
        rows = np.flatnonzero(self.low_voice >= 0)
        weight[rows, self.low_voice[rows]] = BASS_WEIGHT
        self.light = np.zeros((self.steps, self.voices), bool)  # (T, V): off-beat stepwise note
        for v, notes in enumerate(self.notes):
            for k, n in enumerate(notes):
                if not self.is_beat[n.start] and self.stepwise(v, k):
                    self.light[n.start : n.end, v] = True
        weight[self.light] *= LIGHT_WEIGHT
        self.weight = weight
        self.step_pcs = np.zeros((self.steps, 12))  # (T, 12): weight of each pc per step
        for v in range(self.voices):
            ok = sounding[:, v]
            np.add.at(self.step_pcs, (np.flatnonzero(ok), self.pitch[ok, v] % 12), weight[ok, v])

    def stepwise(self, v: int, k: int) -> bool:
        """Note k of voice v is reached by step and left by step or by repeating it (the shape
        of a passing or neighbour tone or an anticipation)."""
        before, after = self.prev_note(v, k), self.next_note(v, k)
        if before is None or after is None:
            return False
        pitch = self.notes[v][k].pitch
        return 1 <= abs(pitch - before.pitch) <= 2 and abs(after.pitch - pitch) <= 2

    def histogram(self, start: int, end: int) -> np.ndarray:
        """float[12]: sounding 16ths per pc in steps [start, end) (every voice weighs 1)."""
        h = np.zeros(12)
        block = self.pitch[start:end]
        np.add.at(h, block[block >= 0] % 12, 1.0)
        return h

    def next_note(self, v: int, k: int) -> Note | None:
        """The note after note k of voice v, if it follows without a rest."""
        notes = self.notes[v]
        if k + 1 < len(notes) and notes[k + 1].start == notes[k].end:
            return notes[k + 1]
        return None

    def prev_note(self, v: int, k: int) -> Note | None:
        notes = self.notes[v]
        if k > 0 and notes[k - 1].end == notes[k].start:
            return notes[k - 1]
        return None


# --- labelling --------------------------------------------------------------------------------
def _best(weights: np.ndarray, bass: int, penalties: np.ndarray) -> tuple[int, float, float]:
    """Best template for alternative weight vectors (A, 12): (template, explained, total)."""
    explained = weights @ _MEMBERS.T  # (A, N)
    total = weights.sum(axis=1, keepdims=True)  # (A, 1)
    miss = (weights <= 0).astype(np.float64) @ _COSTS.T  # (A, N)
    score = 2 * explained - total - miss + _PRIORS - penalties[:, None]
    if bass >= 0:
        score = score + _BASS_BONUS[:, bass]
    a, n = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(n), float(explained[a, n]), float(total[a, 0])


def _label(p: _Piece, start: int, end: int) -> Chord:
    """The chord of steps [start, end)."""
    base = p.step_pcs[start:end].sum(axis=0)
    bass = int(p.low[start] % 12) if p.low[start] >= 0 else -1
    present = frozenset(int(i) for i in np.flatnonzero(base > 0))
    if not present:
        return Chord(start, end, -1, "rest", -1, frozenset())
    if len(present) == 1:
        (pc,) = present
        return Chord(start, end, pc, "unison", bass, present)
    if len(present) == 2:
        a, b = sorted(present)
        if (b - a) % 12 in (5, 7):
            root = a if (b - a) == 7 else b
            return Chord(start, end, root, "open fifth", bass, present)
    alternatives, penalties = [base], [0.0]
    for moved in _suspension_readings(p, start, end):
        for alt, pen in list(zip(alternatives, penalties)):
            w = alt.copy()
            pc_from, pc_to, amount = moved
            w[pc_from] -= amount
            w[pc_to] += amount
            alternatives.append(np.maximum(w, 0.0))
            penalties.append(pen + SUSPENSION_PENALTY)
    n, explained, total = _best(np.array(alternatives), bass, np.array(penalties))
    quality, root = _NAMES[n], int(_ROOTS[n])
    pcs = _pc_set(root, TEMPLATES[quality])
    if explained < OTHER_BELOW * total:
        quality = "other"
    return Chord(start, end, root, quality, bass, pcs)


def _suspension_readings(p: _Piece, start: int, end: int) -> list[tuple[int, int, float]]:
    """(pc, resolution pc, weight in [start, end)) of notes held into the segment that fall by
    step to a note starting before end + one beat."""
    out = []
    if start == 0:
        return out
    for v in range(p.voices):
        k = int(p.note_at[start, v])
        if k < 0 or p.pitch[start - 1, v] != p.pitch[start, v]:
            continue  # silent, or not held / re-struck from the step before
        n = p.notes[v][k]
        after = p.next_note(v, k)
        if after is None or not 1 <= n.pitch - after.pitch <= 2 or after.start >= end + p.beat:
            continue
        stop = min(end, n.end)
        amount = float(p.weight[start:stop, v].sum())
        out.append((n.pitch % 12, after.pitch % 12, amount))
    return out[:4]


def _clean(p: _Piece, chord: Chord) -> bool:
    """Every sounding pc of the segment is a member and the third sounds."""
    if chord.quality not in TEMPLATES:
        return False
    present = {int(i) for i in np.flatnonzero(p.step_pcs[chord.start : chord.end].sum(axis=0))}
    third = (chord.root + TEMPLATES[chord.quality][1]) % 12
    return present <= chord.pcs and third in present


def label_chords(score: Score) -> list[Chord]:
    """The chord of every segment (see the module docstring), in time order."""
    return _label_piece(_Piece(score), key_of(score))


def _label_piece(p: _Piece, key: Key) -> list[Chord]:
    if p.steps == 0:
        return []
    starts = sorted({0, *np.flatnonzero(p.is_beat).tolist()})
    bounds = list(zip(starts, starts[1:] + [p.steps]))
    chords: list[Chord] = []
    for a, b in bounds:
        whole = _label(p, a, b)
        if b - a == 4 and p.beat == 4:
            m = a + 2
            lv = p.low_voice[m]
            struck = lv >= 0 and p.grid[m, lv] >= 0 and p.low[m - 1] >= 0 and not p.light[m, lv]
            if struck and p.low[m] % 12 != p.low[m - 1] % 12:
                first, second = _label(p, a, m), _label(p, m, b)
                if first.root != second.root and _clean(p, first) and _clean(p, second):
                    chords += [first, second]
                    continue
        chords.append(whole)
    return [_fix_symmetric(c, chords, i, key) for i, c in enumerate(chords)]


def _fix_symmetric(chord: Chord, chords: list[Chord], i: int, key: Key) -> Chord:
    """A diminished 7th's root: a semitone below the next chord's root, else the key's leading
    tone, else the bass."""
    if chord.quality != "diminished 7th":
        return chord
    following = next((c for c in chords[i + 1 :] if c.root >= 0 and c.pcs != chord.pcs), None)
    candidates = [(following.root - 1) % 12] if following is not None else []
    candidates += [(key.tonic + 11) % 12, chord.bass]
    root = next((r for r in candidates if r in chord.pcs), chord.root)
    return Chord(chord.start, chord.end, root, chord.quality, chord.bass, chord.pcs)


# --- analysis ---------------------------------------------------------------------------------
def nct_kind(before: int | None, pitch: int, after: int | None, held: bool) -> str:
    """The kind of a non-chord tone from its voice's previous and next pitch (None across a rest
    or at an end); held: tied or re-struck from a chord tone of the previous chord."""
    if held:
        return "suspension" if after is not None and 1 <= pitch - after <= 2 else "other"
    if before is None or after is None or before == pitch:
        return "other"
    into, out = pitch - before, after - pitch
    if out == 0:
        return "anticipation"
    step_in, step_out = abs(into) <= 2, abs(out) <= 2
    if step_in and step_out:
        return "passing" if (into > 0) == (out > 0) else "neighbour"
    if step_out:
        return "appoggiatura"
    return "leapt"


def classify_sonority(pcs: frozenset[int] | set[int]) -> str:
    """VOCABULARY class of the pcs sounding together."""
    pcs = frozenset(pcs)
    if pcs in _TRIAD_SETS:
        return "triad"
    if pcs in _SEVENTH_SETS:
        return "seventh"
    if len(pcs) == 1:
        return "incomplete"
    if len(pcs) == 2:
        a, b = sorted(pcs)
        if b - a in (5, 7):
            return "open fifth"
        if b - a in (3, 4, 8, 9):
            return "incomplete"
    return "other"


def _approach(chords: list[Chord], i: int) -> Chord | None:
    """The previous chord with a different root (rests skipped)."""
    root = chords[i].root
    for c in reversed(chords[:i]):
        if c.root >= 0 and c.root != root:
            return c
    return None


def _is_dominant_of(approach: Chord | None, chord: Chord) -> bool:
    return (
        approach is not None
        and approach.quality in DOMINANT
        and approach.root == (chord.root + 7) % 12
    )


def cadence_kind(chord: Chord, approach: Chord | None, key: Key, local: Key) -> str:
    """CADENCES class of a fermata chord in the home ``key`` and the phrase's ``local`` key (see
    the module docstring)."""
    tonics = {key.tonic, local.tonic}
    dominants = {(t + 7) % 12 for t in tonics}
    minor_degrees = (2, 4, 9) if key.mode == "major" else (5, 7)  # ii iii vi, or iv v
    half_roots = dominants | {(key.tonic + d + 7) % 12 for d in minor_degrees}
    half_roots.discard(key.tonic)
    triad = chord.quality in TRIADS_MM
    by_dominant = triad and _is_dominant_of(approach, chord)
    if by_dominant and chord.root in tonics:
        return "authentic"
    if (
        triad
        and chord.root == key.tonic
        and approach is not None
        and approach.quality in TRIADS_MM
        and approach.root == (chord.root + 5) % 12
    ):
        return "plagal"
    if chord.quality == "major" and chord.root in half_roots:
        return "half"
    if approach is not None and approach.quality in DOMINANT and approach.root in dominants:
        up = (chord.root - approach.root) % 12
        if (up == 2 and chord.quality == "minor") or (up == 1 and chord.quality == "major"):
            return "deceptive"
    if by_dominant:
        return "authentic"
    return "other"


def analyse(score: Score) -> Analysis:
    """Label one piece: chords, beats, non-chord tones, cadences, sevenths, the final chord."""
    p = _Piece(score)
    key = key_of(score)
    chords = _label_piece(p, key)
    starts = np.array([c.start for c in chords], dtype=np.int64)

    def index_at(step: int) -> int:
        return int(np.searchsorted(starts, step, side="right")) - 1

    lt = (key.tonic + 11) % 12
    beats, sonorities, fresh, dominant, doubled = [], {}, [], [], []
    for b in np.flatnonzero(p.is_beat & (p.low >= 0)).tolist():
        beats.append(b)
        sounding = p.pitch[b][p.pitch[b] >= 0]
        sonorities[b] = classify_sonority({int(x) % 12 for x in sounding})
        if _fresh_dissonance(p, b):
            fresh.append(b)
        c = chords[index_at(b)]
        if (c.root == (key.tonic + 7) % 12 and c.quality in DOMINANT) or (
            c.root == lt and c.quality in LEADING_TONE_CHORDS
        ):
            dominant.append(b)
            if int((sounding % 12 == lt).sum()) >= 2:
                doubled.append(b)

    ncts = _non_chord_tones(p, chords, index_at)
    cadences = []
    previous = 0
    for f in score.fermatas:
        if not 0 <= f < p.steps:
            continue
        i = index_at(f)
        c = chords[i]
        if c.root < 0:
            continue
        local = key_from_histogram(p.histogram(previous, c.end))
        previous = f + 1
        approach = _approach(chords, i)
        v_i = c.quality in TRIADS_MM and _is_dominant_of(approach, c)
        cadences.append(Cadence(f, cadence_kind(c, approach, key, local), c, approach, local,
                                v_i and c.root == key.tonic, v_i))  # fmt: skip

    sevenths = _sevenths(p, chords, index_at)
    sounding_chords = [i for i, c in enumerate(chords) if c.root >= 0]
    final = chords[sounding_chords[-1]] if sounding_chords else None
    final_approach = _approach(chords, sounding_chords[-1]) if sounding_chords else None
    return Analysis(key, chords, beats, sonorities, fresh, dominant, doubled, ncts, cadences,
                    sevenths, final, final_approach)  # fmt: skip


def _fresh_dissonance(p: _Piece, b: int) -> bool:
    low = p.low[b]
    for v in range(p.voices):
        if v == p.low_voice[b] or p.grid[b, v] < 0:
            continue
        if b > 0 and p.pitch[b - 1, v] == p.pitch[b, v]:
            continue  # re-struck: prepared
        if (p.pitch[b, v] - low) % 12 in DISSONANT:
            return True
    return False


def _non_chord_tones(p: _Piece, chords: list[Chord], index_at) -> list[NonChordTone]:
    out = []
    for v, notes in enumerate(p.notes):
        for k, n in enumerate(notes):
            pc = n.pitch % 12
            i = index_at(n.start)
            before, after = p.prev_note(v, k), p.next_note(v, k)
            after_pitch = after.pitch if after is not None else None
            if pc not in chords[i].pcs:
                s = n.start
                held = s > 0 and p.pitch[s - 1, v] == n.pitch and pc in chords[index_at(s - 1)].pcs
                before_pitch = before.pitch if before is not None else None
                kind = nct_kind(before_pitch, n.pitch, after_pitch, held)
                out.append(NonChordTone(v, s, n.pitch, kind, bool(p.is_beat[s])))
                continue
            for c in chords[i + 1 :]:
                if c.start >= n.end:
                    break
                if c.root >= 0 and pc not in c.pcs:
                    kind = nct_kind(n.pitch, n.pitch, after_pitch, True)
                    out.append(NonChordTone(v, c.start, n.pitch, kind, bool(p.is_beat[c.start])))
                    break
    out.sort(key=lambda x: (x.step, x.voice))
    return out


def _sevenths(p: _Piece, chords: list[Chord], index_at) -> list[Seventh]:
    out, seen = [], set()
    for b in np.flatnonzero(p.is_beat).tolist():
        i = index_at(b)
        c = chords[i]
        if c.seventh < 0:
            continue
        change = next((d for d in chords[i + 1 :] if d.root >= 0 and d.root != c.root), None)
        if change is None:
            continue
        for v in range(p.voices):
            pitch = int(p.pitch[b, v])
            if pitch < 0 or pitch % 12 != c.seventh or (v, int(p.note_at[b, v])) in seen:
                continue
            seen.add((v, int(p.note_at[b, v])))
            then = int(p.pitch[change.start, v])
            out.append(Seventh(v, b, pitch, then >= 0 and 1 <= pitch - then <= 2, c.quality))
    return out


# --- voice pairs and the bass ------------------------------------------------------------------
def contrary_perfects(score: Score) -> tuple[int, int, int]:
    """(voice-pair moves, fifths by contrary motion, octaves/unisons by contrary motion).

    Pairs as in composer.reports.metrics (composer.theory.voiceleading.pair_motions): every pair
    of voices at two consecutive chord onsets, both sounding at both and both changing pitch;
    contrary: they move in opposite directions, with a perfect fifth (7 modulo 12) or a
    unison/octave (0 modulo 12) between them at both onsets.
    """
    pairs = pair_motions(score)
    return (
        sum(int(m.moves.sum()) for m in pairs),
        sum(int(m.perfect("fifths", direction=-1).sum()) for m in pairs),
        sum(int(m.perfect("octaves", direction=-1).sum()) for m in pairs),
    )


BASS_MOVES = ("step", "third", "fourth/fifth", "sixth", "octave", "tritone/7th/>8ve")


def bass_move_class(semitones: int) -> int:
    """Index in BASS_MOVES of a bass move of ``semitones`` (not 0)."""
    d = abs(semitones)
    if d <= 2:
        return 0
    if d <= 4:
        return 1
    if d in (5, 7):
        return 2
    if d in (8, 9):
        return 3
    if d == 12:
        return 4
    return 5


def bass_moves(score: Score) -> np.ndarray:
    """int64[len(BASS_MOVES)]: moves between consecutive notes of the lowest voice part (no rest
    between, pitch changes), by size."""
    out = np.zeros(len(BASS_MOVES), dtype=np.int64)
    if score.voices == 0:
        return out
    notes = list(score.notes(score.voices - 1))
    for x, y in zip(notes, notes[1:]):
        if y.start == x.end and y.pitch != x.pitch:
            out[bass_move_class(y.pitch - x.pitch)] += 1
    return out


__all__ = [
    "BASS_MOVES",
    "CADENCES",
    "NCT_KINDS",
    "QUALITIES",
    "VOCABULARY",
    "Analysis",
    "Cadence",
    "Chord",
    "NonChordTone",
    "Seventh",
    "analyse",
    "bass_moves",
    "beat_length",
    "cadence_kind",
    "classify_sonority",
    "contrary_perfects",
    "key_from_histogram",
    "key_of",
    "label_chords",
    "nct_kind",
]
