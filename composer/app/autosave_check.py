"""Checks an autosaved session before it is offered back: a damaged one (a time signature of
4/0, a lock on a fifth voice, a variation index past the list) would restore and then fail in
every paint of the roll. No Qt.

``check_document(doc)`` raises ComposerError naming the first problem; it accepts every piece
the MIDI reader can produce and every state the app itself saves.
"""

from __future__ import annotations

import math

from composer.app.document import Document, State
from composer.errors import ComposerError
from composer.limits import MAX_PIECE_STEPS
from composer.score import Score

MAX_TEMPO = 60_000_000.0  # bpm of a MIDI tempo of 1 microsecond per quarter


class DamagedSession(ComposerError):
    """An autosaved session that cannot be restored as it is."""


def check_score(s: Score, where: str) -> None:
    num, den = s.time_signature
    if not (1 <= num <= 255 and den in (1, 2, 4, 8, 16, 32, 64) and (num * 16) % den == 0):
        raise DamagedSession(f"{where}: time signature {num}/{den}")
    if not 1 <= s.voices <= 4 or not 1 <= s.steps <= MAX_PIECE_STEPS:
        raise DamagedSession(f"{where}: {s.steps} steps of {s.voices} voices")
    s.validate()  # pitches, HOLD after a note, a positive tempo (ScoreError)
    if not (isinstance(s.tempo, (int, float)) and math.isfinite(s.tempo) and s.tempo <= MAX_TEMPO):
        raise DamagedSession(f"{where}: tempo {s.tempo}")
    if not 0 <= s.pickup < s.steps_per_bar:
        raise DamagedSession(f"{where}: a pickup of {s.pickup} steps")
    if any(not 0 <= f < s.steps for f in s.fermatas):
        raise DamagedSession(f"{where}: a fermata outside the piece")
    if any(not 0 <= p <= 127 for p in s.programs):
        raise DamagedSession(f"{where}: an instrument outside 0-127")
    if not all(isinstance(n, str) for n in s.voice_names) or not isinstance(s.title, str):
        raise DamagedSession(f"{where}: voice names or title are not text")
    if not isinstance(s.meta, dict):
        raise DamagedSession(f"{where}: its settings are not a table")


def check_state(st: State, where: str) -> None:
    for i, s in enumerate(st.variations):
        check_score(s, f"{where}, variation {i + 1}")
    for s, name in ((st.piece, "piece"), (st.melody, "melody")):
        if s is not None:
            check_score(s, f"{where}, {name}")
    if st.variations and not 0 <= st.current < len(st.variations):
        raise DamagedSession(f"{where}: variation {st.current + 1} of {len(st.variations)}")
    voices = st.piece.voices if st.piece is not None else 4
    steps = st.piece.steps if st.piece is not None else 0
    if any(not 0 <= v < voices for v in st.voice_locks):
        raise DamagedSession(f"{where}: a lock on voice {max(st.voice_locks) + 1} of {voices}")
    for v, onset in st.note_locks:
        if not 0 <= v < voices or not 0 <= onset < max(1, steps):
            raise DamagedSession(f"{where}: a lock on a note at voice {v + 1}, step {onset}")
    if not isinstance(st.label, str):
        raise DamagedSession(f"{where}: its label is not text")


def check_document(doc: Document) -> Document:
    """``doc`` if every state in it (current, undo, redo) can be shown; DamagedSession else."""
    check_state(doc.state, "the current state")
    for i, st in enumerate(doc.undo_stack):
        check_state(st, f"undo step {len(doc.undo_stack) - i}")
    for i, st in enumerate(doc.redo_stack):
        check_state(st, f"redo step {i + 1}")
    if not isinstance(doc.source, str):
        raise DamagedSession("its source file name is not text")
    return doc
