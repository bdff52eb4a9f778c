"""The app's document: the piece, its variations, locks, selection and undo history.

Plain Python, no Qt: views draw it and call its methods; it tells listeners what changed
through plain callbacks (``doc.listen(fn)``, ``fn(what)`` with what in ``"piece"``,
``"variations"``, ``"locks"``, ``"selection"``, ``"history"``, ``"saved"``).

Units: steps are 16th notes of the current piece (``Score.grid`` rows); bars are numbered as the
score prints them (``Score.bar_of``: the first full bar is 1, a pickup is bar 0), as in the
CLI's ``--bars`` and MusicXML; voices are 0 (soprano) .. 3 (bass).

Every change that alters music or locks goes through ``_commit``, which pushes the previous
state on the undo stack. A state is immutable by convention: Scores are never edited in place.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from composer.score import HOLD, Key, Score

UNDO_LIMIT = 100

# What a listener is told changed (``doc.listen(fn)``: ``fn(change)``).
Change = Literal["piece", "variations", "locks", "selection", "history", "saved"]


@dataclass(frozen=True)
class Selection:
    """A region of bars x voices: bars ``first..last`` (inclusive; a pickup is bar 0)."""

    first_bar: int
    last_bar: int
    voices: tuple[int, ...]

    def steps(self, score: Score) -> tuple[int, int]:
        """The region as steps ``[start, end)`` of ``score``, clipped to the piece."""
        start = max(0, score.bar_start(self.first_bar)) if self.first_bar > 0 else 0
        end = min(score.steps, score.bar_start(self.last_bar + 1))
        return start, max(start, end)

    def __str__(self) -> str:
        names = "SATB"
        bars = (f"bar {self.first_bar}" if self.first_bar == self.last_bar
                else f"bars {self.first_bar}-{self.last_bar}")  # fmt: skip
        return f"{bars}, {''.join(names[v] for v in self.voices)}"


@dataclass(frozen=True)
class State:
    """One undoable state: the piece, its variations, which one is shown, and the locks.

    note_locks: (voice, onset step) of locked notes. voice_locks: locked voices.
    """

    piece: Score | None = None
    variations: tuple[Score, ...] = ()
    current: int = 0
    melody: Score | None = None
    note_locks: frozenset[tuple[int, int]] = frozenset()
    voice_locks: frozenset[int] = frozenset()
    label: str = ""


@dataclass
class Document:
    """The open piece with its history. See the module docstring."""

    state: State = field(default_factory=State)
    selection: Selection | None = None
    source: str = ""  # the file the piece came from, or ''
    dirty: bool = False  # music changed since it was last exported
    undo_stack: list[State] = field(default_factory=list)
    redo_stack: list[State] = field(default_factory=list)
    _listeners: list[Callable[[Change], None]] = field(default_factory=list, repr=False)

    # --- observing ------------------------------------------------------------------------
    def listen(self, fn: Callable[[Change], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, *what: Change) -> None:
        for w in what:
            for fn in list(self._listeners):
                fn(w)

    # --- reading --------------------------------------------------------------------------
    @property
    def piece(self) -> Score | None:
        return self.state.piece

    @property
    def melody(self) -> Score | None:
        """A one-voice tune waiting to be harmonized (voice 0 is the tune), or None."""
        return self.state.melody

    @property
    def variations(self) -> tuple[Score, ...]:
        return self.state.variations

    @property
    def current(self) -> int:
        return self.state.current

    @property
    def note_locks(self) -> frozenset[tuple[int, int]]:
        return self.state.note_locks

    @property
    def voice_locks(self) -> frozenset[int]:
        return self.state.voice_locks

    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def is_locked(self, voice: int, step: int) -> bool:
        """Whether the note of ``voice`` sounding at ``step`` (or the whole voice) is locked."""
        if voice in self.voice_locks:
            return True
        onset = self.onset_at(voice, step)
        return onset is not None and (voice, onset) in self.note_locks

    def onset_at(self, voice: int, step: int) -> int | None:
        """The onset step of the note of ``voice`` sounding at ``step``, or None (a rest)."""
        p = self.piece
        if p is None or not 0 <= step < p.steps:
            return None
        col = p.grid[:, voice]
        t = step
        while t > 0 and col[t] == HOLD:
            t -= 1
        return t if col[t] >= 0 else None

    def lock_mask(self) -> np.ndarray:
        """bool[T, V]: cells of the piece that are locked (whole voices and locked notes)."""
        p = self.piece
        if p is None:
            return np.zeros((0, 4), dtype=bool)
        mask = np.zeros(p.grid.shape, dtype=bool)
        for v in self.voice_locks:
            mask[:, v] = True
        for v, onset in self.note_locks:
            if onset < p.steps:
                end = onset + 1
                while end < p.steps and p.grid[end, v] == HOLD:
                    end += 1
                mask[onset:end, v] = True
        return mask

    # --- changing -------------------------------------------------------------------------
    def _commit(self, new: State) -> None:
        self.undo_stack.append(self.state)
        del self.undo_stack[:-UNDO_LIMIT]
        self.redo_stack.clear()
        music_changed = new.piece is not self.state.piece
        self.state = new
        if music_changed:
            self.dirty = True
        self._emit("piece", "variations", "locks", "history")

    def open_piece(self, score: Score, source: str = "") -> None:
        """A piece read from a file: shown, undoable, not dirty (it exists on disk)."""
        self._commit(State(piece=score, variations=(score,), label="Open"))
        self.source = source
        self.dirty = False
        self.selection = None
        self._emit("selection", "saved")

    def open_melody(self, melody: Score, source: str = "") -> None:
        """A one-voice tune to harmonize: shown on the roll as the soprano."""
        self._commit(State(piece=melody, melody=melody, variations=(melody,), label="Open melody"))
        self.source = source
        self.dirty = False
        self.selection = None
        self._emit("selection", "saved")

    def set_results(self, scores: list[Score], label: str, keep_melody: bool = False) -> None:
        """New music from the sampler: the variations, the first one shown. Locks are kept
        for regenerate/continue (same timeline) and dropped when the length changes; the
        melody waiting to be harmonized is kept with ``keep_melody`` (harmonizations of it)."""
        if not scores:
            return
        first = scores[0]
        keep = self.piece is not None and self.piece.steps <= first.steps
        self._commit(replace(
            self.state, piece=first, variations=tuple(scores), current=0, label=label,
            note_locks=self.note_locks if keep else frozenset(),
            voice_locks=self.voice_locks,
            melody=self.melody if keep_melody else None,
        ))  # fmt: skip

    def choose_variation(self, index: int) -> None:
        if not 0 <= index < len(self.variations) or index == self.current:
            return
        self._commit(replace(self.state, piece=self.variations[index], current=index,
                             label=f"Variation {index + 1}"))  # fmt: skip

    def set_metadata(self, *, tempo: float | None = None, key: Key | None = None) -> None:
        """Change the piece's tempo (quarter notes per minute) or key, undoably."""
        p = self.piece
        if p is None:
            return
        new = replace(p, tempo=tempo if tempo is not None else p.tempo,
                      key=key if key is not None else p.key, meta=dict(p.meta))  # fmt: skip
        if new == p:
            return
        self._commit(replace(self.state, piece=new, label="Edit"))

    def toggle_note_lock(self, voice: int, step: int) -> bool | None:
        """Lock or unlock the note sounding at (voice, step). Returns its new state, None if
        there is no note there."""
        onset = self.onset_at(voice, step)
        if onset is None:
            return None
        locks = set(self.note_locks)
        now = (voice, onset) not in locks
        (locks.add if now else locks.discard)((voice, onset))
        self._commit(replace(self.state, note_locks=frozenset(locks), label="Lock"))
        return now

    def toggle_voice_lock(self, voice: int) -> bool:
        locks = set(self.voice_locks)
        now = voice not in locks
        (locks.add if now else locks.discard)(voice)
        self._commit(replace(self.state, voice_locks=frozenset(locks), label="Lock voice"))
        return now

    def lock_selection(self, lock: bool) -> None:
        """Lock (or unlock) every note that starts inside the selection."""
        p, sel = self.piece, self.selection
        if p is None or sel is None:
            return
        start, end = sel.steps(p)
        locks = set(self.note_locks)
        for v in sel.voices:
            for n in p.notes(v):
                if start <= n.start < end:
                    (locks.add if lock else locks.discard)((v, n.start))
        self._commit(replace(self.state, note_locks=frozenset(locks), label="Lock"))

    def select(self, selection: Selection | None) -> None:
        self.selection = selection
        self._emit("selection")

    def undo(self) -> bool:
        return self._travel(self.undo_stack, self.redo_stack)

    def redo(self) -> bool:
        return self._travel(self.redo_stack, self.undo_stack)

    def _travel(self, back: list[State], forth: list[State]) -> bool:
        """Undo (back = undo stack) or redo (back = redo stack) one state; False if none."""
        if not back:
            return False
        forth.append(self.state)
        self.state = back.pop()
        self.dirty = True
        self._emit("piece", "variations", "locks", "history")
        return True

    def restore(self, saved: Document) -> None:
        """Take over ``saved``'s state, undo and redo history and source (an autosaved session):
        shown, undoable as it was, and dirty (it was never exported from here)."""
        self.state = saved.state
        self.undo_stack, self.redo_stack = list(saved.undo_stack), list(saved.redo_stack)
        self.source, self.dirty = saved.source, True
        self._emit("piece", "variations", "locks", "history", "selection")

    def mark_exported(self) -> None:
        self.dirty = False
        self._emit("saved")

    # --- autosave -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready snapshot: current state, undo and redo stacks, source, dirty flag."""
        return {
            "version": 1,
            "state": _state_to_dict(self.state),
            "undo": [_state_to_dict(s) for s in self.undo_stack],
            "redo": [_state_to_dict(s) for s in self.redo_stack],
            "source": self.source,
            "dirty": self.dirty,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Document:
        return cls(
            state=_state_from_dict(data["state"]),
            undo_stack=[_state_from_dict(s) for s in data.get("undo", [])],
            redo_stack=[_state_from_dict(s) for s in data.get("redo", [])],
            source=data.get("source", ""),
            dirty=bool(data.get("dirty", True)),
        )


# --- serialization (autosave) ------------------------------------------------------------
def score_to_dict(s: Score) -> dict:
    """Score -> JSON-ready dict (grid as base64 of int16 little-endian, shape [T, V])."""
    grid = np.ascontiguousarray(s.grid, dtype="<i2")
    return {
        "grid": base64.b64encode(grid.tobytes()).decode("ascii"),
        "shape": list(grid.shape),
        "tempo": s.tempo,
        "time_signature": list(s.time_signature),
        "key": [s.key.tonic, s.key.mode, s.key.spelling] if s.key else None,
        "pickup": s.pickup,
        "fermatas": list(s.fermatas),
        "voice_names": list(s.voice_names),
        "programs": list(s.programs),
        "title": s.title,
        "meta": dict(s.meta),
    }


def score_from_dict(d: dict) -> Score:
    grid = np.frombuffer(base64.b64decode(d["grid"]), dtype="<i2").reshape(d["shape"])
    return Score(
        grid.astype(np.int16),
        tempo=d["tempo"],
        time_signature=tuple(d["time_signature"]),
        key=Key(*d["key"][:3]) if d["key"] else None,
        pickup=d["pickup"],
        fermatas=tuple(d["fermatas"]),
        voice_names=tuple(d["voice_names"]),
        programs=tuple(d["programs"]),
        title=d.get("title", ""),
        meta=dict(d.get("meta", {})),
    )


def _state_to_dict(st: State) -> dict:
    # Variations are stored by index into a shared table so the piece is not stored twice.
    table: list[Score] = []

    def ref(s: Score | None) -> int | None:
        if s is None:
            return None
        for i, t in enumerate(table):
            if t is s:
                return i
        table.append(s)
        return len(table) - 1

    out = {
        "piece": ref(st.piece),
        "variations": [ref(v) for v in st.variations],
        "melody": ref(st.melody),
        "current": st.current,
        "note_locks": sorted(list(x) for x in st.note_locks),
        "voice_locks": sorted(st.voice_locks),
        "label": st.label,
    }
    out["scores"] = [score_to_dict(s) for s in table]
    return out


def _state_from_dict(d: dict) -> State:
    scores = [score_from_dict(s) for s in d["scores"]]

    def get(i: int | None) -> Score | None:
        return None if i is None else scores[i]

    return State(
        piece=get(d["piece"]),
        variations=tuple(scores[i] for i in d["variations"]),
        current=d["current"],
        melody=get(d.get("melody")),
        note_locks=frozenset((int(v), int(t)) for v, t in d["note_locks"]),
        voice_locks=frozenset(int(v) for v in d["voice_locks"]),
        label=d.get("label", ""),
    )
