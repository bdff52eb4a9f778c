"""Scores and JSB frames <-> token sequences, with the conditioning each token carries.

SATB encoding: per 16th step, one token per voice in S, A, T, B order. A token is a MIDI pitch
(0-127), HOLD or REST. Each token also carries its conditioning: voice (0-3), position in the
bar (16th steps, with the meter), fermata (0/1) and key (0-23, tonic + 12 for minor).

JSB quarter-note frame encoding: a frame (the pitches sounding in one quarter note) is its
pitches high to low, then END. Conditioning: the token's slot within its frame, and the
previous frame's pitches as a multi-hot context.

Both produce an ``Encoded`` record of int arrays of equal length N (tokens, in order).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from composer.score import HOLD, REST, VOICE_RANGES, Key, Score, resolve_holds

# Vocabulary, shared by both encodings (one LSTM code path, another vocabulary).
N_PITCH = 128
TOK_HOLD = 128
TOK_REST = 129
TOK_END = 130  # end of a JSB frame
TOK_START = 131  # input only: "nothing before"
TOK_UNKNOWN = 132  # fixed-notes channel only: "not fixed"
VOCAB = 133

N_SLOT = 5  # voice (SATB: 0-3) or slot within a JSB frame (0-4)
N_POS = 48  # position in bar: 16 per meter family (see position_index)
N_KEY = 25  # 24 keys + 24 = unknown
# Where the music is going (SATB plan conditioning): steps to the next fermata and to the end.
N_TO_FERMATA = 66  # 0: under a fermata; 1-63: steps to the next fermata onset; 64: 64 or more
FERMATA_NONE = 65  # no fermata ahead
N_TO_END = 73  # 0-63: steps left after this one; 64-71: 64-191 in 16-step bands; 72: far/unknown
END_UNKNOWN = 72
# The JSB models' richer inputs (composer.train.features): how long each voice has held (0-16
# steps), and the repeat match's length bucket (none, then 6 bands of steps).
N_HELD = 17
N_MATCH = 7

KEY_UNKNOWN = 24
SATB_VOICES = 4


def cells_to_tokens(cells: np.ndarray) -> np.ndarray:
    """Score cells (pitch, HOLD, REST; any shape) -> tokens (int64, same shape)."""
    cells = np.asarray(cells, dtype=np.int64)
    return np.where(cells == HOLD, TOK_HOLD, np.where(cells == REST, TOK_REST, cells))


def tokens_to_cells(tokens: np.ndarray) -> np.ndarray:
    """Tokens (pitch, HOLD, REST; any shape) -> score cells (int16, same shape)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    cells = np.where(tokens == TOK_HOLD, HOLD, np.where(tokens == TOK_REST, REST, tokens))
    return cells.astype(np.int16)


def meter_family(time_signature: tuple[int, int]) -> int:
    """0: duple/quadruple (4/4, 2/2, 2/4), 1: triple (3/4, 3/2, 6/8 ...), 2: other."""
    num, _ = time_signature
    if num in (2, 4):
        return 0
    if num in (3, 6, 9, 12):
        return 1
    return 2


def position_index(position: np.ndarray, time_signature: tuple[int, int]) -> np.ndarray:
    """16th position in the bar -> conditioning index 0..N_POS-1 (16 slots per meter family)."""
    return np.minimum(position, 15) + 16 * meter_family(time_signature)


@dataclass
class Encoded:
    """A token sequence and its per-token conditioning; every array is int64[N]."""

    tokens: np.ndarray  # the token to predict at each position
    slot: np.ndarray  # voice (SATB) or slot in frame (JSB)
    pos: np.ndarray  # position-in-bar index
    fermata: np.ndarray  # 0/1
    key: np.ndarray  # 0..24
    to_fermata: np.ndarray | None = None  # 0..N_TO_FERMATA-1 (SATB; see plan_conditioning)
    to_end: np.ndarray | None = None  # 0..N_TO_END-1 (SATB)

    def __len__(self) -> int:
        return len(self.tokens)

    def inputs(self) -> np.ndarray:
        """int64[N]: the previous token at each position (TOK_START first)."""
        return np.concatenate([[TOK_START], self.tokens[:-1]]).astype(np.int64)


# --- SATB -------------------------------------------------------------------------------------
def steps_to_fermata(fermata: np.ndarray) -> np.ndarray:
    """int64[T]: per step, 0 under a fermata, else the steps to the next fermata onset (1-63,
    64 for 64 or more), FERMATA_NONE when no fermata follows."""
    fermata = np.asarray(fermata, dtype=bool)
    out = np.full(len(fermata), FERMATA_NONE, np.int64)
    nxt = -1
    for t in range(len(fermata) - 1, -1, -1):
        if fermata[t]:
            nxt = t
            out[t] = 0
        elif nxt >= 0:
            out[t] = min(nxt - t, 64)
    return out


def steps_to_end(steps: int, known: bool = True) -> np.ndarray:
    """int64[T]: per step, how many steps follow it (0-63 exactly, then 16-step bands up to 191,
    then END_UNKNOWN); all END_UNKNOWN when the end is not known (endless streams)."""
    if not known:
        return np.full(steps, END_UNKNOWN, np.int64)
    left = steps - 1 - np.arange(steps)
    bands = 64 + (left - 64) // 16
    return np.where(left < 64, left, np.minimum(bands, END_UNKNOWN)).astype(np.int64)


def plan_conditioning(
    steps: int, fermata: np.ndarray, end_known: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-token (to_fermata, to_end) arrays, each int64[steps * 4]: where the phrase and the
    piece end, so a forward model can prepare its cadences."""
    return (
        np.repeat(steps_to_fermata(fermata), SATB_VOICES),
        np.repeat(steps_to_end(steps, end_known), SATB_VOICES),
    )


def satb_conditioning(
    steps: int, time_signature: tuple[int, int], pickup: int, fermata: np.ndarray, key: Key | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-token (slot, pos, fermata, key) arrays, each int64[steps * 4]."""
    spb = time_signature[0] * 16 // time_signature[1]
    position = np.mod(np.arange(steps) - pickup, spb)
    pos = position_index(position, time_signature)
    slot = np.tile(np.arange(SATB_VOICES), steps)
    pos = np.repeat(pos, SATB_VOICES)
    ferm = np.repeat(fermata.astype(np.int64), SATB_VOICES)
    keyi = np.full(steps * SATB_VOICES, key.index if key else KEY_UNKNOWN)
    return slot.astype(np.int64), pos.astype(np.int64), ferm, keyi.astype(np.int64)


def encode_satb(score: Score) -> Encoded:
    """Score (4 voices) -> tokens in step-major, S-A-T-B order, with conditioning."""
    if score.voices != SATB_VOICES:
        raise ValueError(f"the SATB encoding needs 4 voices, not {score.voices}")
    tokens = cells_to_tokens(score.grid).reshape(-1)
    fermata = score.fermata_mask()
    slot, pos, ferm, key = satb_conditioning(
        score.steps, score.time_signature, score.pickup, fermata, score.key
    )
    to_fermata, to_end = plan_conditioning(score.steps, fermata)
    return Encoded(tokens.astype(np.int64), slot, pos, ferm, key, to_fermata, to_end)


def satb_context(score: Score) -> np.ndarray:
    """int64[T * 4, 4]: at each token, the pitch sounding in each voice just before it.

    For the token of (step t, voice v): voices above v (already written at t) give their pitch at
    t, the others their pitch at t - 1; -1 where a voice is silent. The sampler keeps the same
    array as it goes (kernels.run_positions' ``sounding``).
    """
    pitch = score.pitch_grid().astype(np.int64)  # (T, 4), REST = -1
    before = np.vstack([np.full((1, SATB_VOICES), -1, np.int64), pitch[:-1]])
    out = np.empty((score.steps, SATB_VOICES, SATB_VOICES), np.int64)
    for v in range(SATB_VOICES):
        out[:, v, :v] = pitch[:, :v]
        out[:, v, v:] = before[:, v:]
    return np.where(out < 0, -1, out).reshape(-1, SATB_VOICES)


def decode_satb(tokens: np.ndarray, like: Score) -> Score:
    """Tokens (step-major SATB) -> a Score with the metadata of ``like``."""
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1, SATB_VOICES)
    if ((tokens >= N_PITCH) & (tokens != TOK_HOLD) & (tokens != TOK_REST)).any():
        raise ValueError("a SATB token sequence holds a non-cell token")
    return dataclasses.replace(like, grid=tokens_to_cells(tokens), meta=dict(like.meta))


# --- transposition ----------------------------------------------------------------------------
def allowed_transpositions(score: Score, max_shift: int = 6, margin: int = 2) -> list[int]:
    """Shifts in [-max_shift, max_shift] that keep every voice within its range (+margin)."""
    ranges = [VOICE_RANGES.get(name, (0, 127)) for name in score.voice_names]
    out = []
    for shift in range(-max_shift, max_shift + 1):
        ok = True
        for v, (lo, hi) in enumerate(ranges):
            col = score.grid[:, v]
            sounding = col[col >= 0]
            if len(sounding) and (
                sounding.min() + shift < lo - margin or sounding.max() + shift > hi + margin
            ):
                ok = False
                break
        if ok:
            out.append(shift)
    return out or [0]


# --- JSB quarter-note frames ------------------------------------------------------------------
def encode_frames(frames: list[list[int]]) -> tuple[Encoded, np.ndarray]:
    """JSB frames -> (Encoded, context). Each frame: its pitches high to low, then END.

    context: int64[N, 4]: the previous frame's pitches (up to 4, padded with -1), the multi-hot
    context every token of a frame sees. Unisons are already merged in JSB frames.
    """
    toks, slots, ctx = [], [], []
    prev: list[int] = []
    for frame in frames:
        pitches = sorted({int(p) for p in frame}, reverse=True)
        if len(pitches) > N_SLOT - 1:
            raise ValueError(f"a frame holds {len(pitches)} pitches; at most {N_SLOT - 1}")
        row = (prev + [-1] * 4)[:4]
        for i, p in enumerate(pitches + [TOK_END]):
            toks.append(p)
            slots.append(i)
            ctx.append(row)
        prev = pitches
    n = len(toks)
    zeros = np.zeros(n, dtype=np.int64)
    enc = Encoded(
        np.array(toks, dtype=np.int64),
        np.array(slots, dtype=np.int64),
        zeros,
        zeros.copy(),
        np.full(n, KEY_UNKNOWN, dtype=np.int64),
    )
    return enc, np.array(ctx, dtype=np.int64).reshape(n, 4)


def decode_frames(tokens: np.ndarray) -> list[list[int]]:
    """Tokens -> frames (pitch lists high to low), each closed by END."""
    frames, cur = [], []
    for t in np.asarray(tokens).tolist():
        if t == TOK_END:
            frames.append(cur)
            cur = []
        elif 0 <= t < N_PITCH:
            cur.append(int(t))
        else:
            raise ValueError(f"token {t} cannot stand in a JSB frame")
    if cur:
        raise ValueError("the last frame has no END token")
    return frames


def frame_mask(prev_in_frame: int) -> np.ndarray:
    """bool[VOCAB]: tokens allowed after ``prev_in_frame`` (a pitch, or -1 at a frame's start).

    Pitches must fall strictly (high to low), a frame ends with END; nothing else is allowed.
    """
    mask = np.zeros(VOCAB, dtype=bool)
    hi = N_PITCH if prev_in_frame < 0 else prev_in_frame
    mask[:hi] = True
    mask[TOK_END] = True
    return mask


# --- what sounds ----------------------------------------------------------------------------
def sounding_batch(tokens: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64[B, steps, 4] pitches as ``sounding`` gives them, bool[B, steps, 4] struck) for a
    batch of token sequences int64[B, N] at once: what the sampler weighs its candidates by."""
    rows = np.asarray(tokens[:, : steps * SATB_VOICES], np.int64)
    rows = rows.reshape(len(rows), -1, SATB_VOICES)
    pitch = resolve_holds(rows, hold=TOK_HOLD)
    return np.where(pitch < TOK_HOLD, pitch, -1), rows != TOK_HOLD  # REST, END, START: -1


def sounding(tokens: np.ndarray, steps: int) -> np.ndarray:
    """int64[steps, 4]: the pitch each voice sounds at each of the first ``steps`` steps
    (HOLD resolved), -1 where it rests."""
    return sounding_batch(np.asarray(tokens, np.int64).reshape(1, -1), steps)[0][0]
