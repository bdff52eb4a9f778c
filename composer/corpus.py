"""The chorale corpus (Bach's four-part chorales as MIDI files) and the JSB benchmark files.

``build_corpus(out_dir)`` (``composer data build``) takes the chorales bundled with music21,
keeps the four-part ones on the 16th grid, writes each through ``write_midi`` into
``data/chorales/`` with ``manifest.json`` (id, title, key, time signature, steps, sha256, split).
music21 is needed only here; training reads the committed MIDI files.

The split is by piece and deterministic (about 80/10/10). Chorales that share a melody (the same
chorale under two catalogue numbers, or two harmonizations of one tune) form one group, and a
group never straddles two splits.

``load_jsb(path)`` reads the JSB benchmark JSON (``../shared/jsb/``), never copied into the repo.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer import paths
from composer.errors import DataError
from composer.fileio import write_text_atomic
from composer.midi.io import write_midi
from composer.score import HOLD, REST, SATB, Key, Score
from composer.theory.cadence import triad_root
from composer.theory.plan import estimate_key

DATA_DIR = paths.DATA_DIR / "chorales"
JSB_DIR = paths.JSB_DIR
CORPUS_TEMPO = 80.0
SPLITS = ("train", "valid", "test")


@dataclass
class Rejected:
    source: str
    reason: str


# --- music21 -> Score -------------------------------------------------------------------------
def _steps(quarter_length) -> float:
    return float(quarter_length) * 4


def m21_to_score(chorale) -> Score:
    """A music21 four-part chorale -> Score. Raises ValueError with the reason it cannot."""
    from music21 import expressions, key, meter, note

    parts = list(chorale.parts)
    if len(parts) != 4:
        raise ValueError(f"{len(parts)} parts, not 4")
    ts_list = list(chorale.recurse().getElementsByClass(meter.TimeSignature))
    if not ts_list:
        raise ValueError("no time signature")
    ts = ts_list[0]
    if any((t.numerator, t.denominator) != (ts.numerator, ts.denominator) for t in ts_list):
        raise ValueError("the time signature changes")
    time_signature = (ts.numerator, ts.denominator)
    if (time_signature[0] * 16) % time_signature[1]:
        raise ValueError(f"time signature {ts.ratioString} is not on the 16th grid")
    measures = list(parts[0].getElementsByClass("Measure"))
    bar_steps = time_signature[0] * 16 // time_signature[1]
    pickup = 0
    if measures:
        first = _steps(measures[0].duration.quarterLength)
        if measures[0].number == 0 or 0 < first < bar_steps:
            pickup = int(round(first)) % bar_steps
    length = max(_steps(p.highestTime) for p in parts)
    if length != int(length):
        raise ValueError("the piece does not end on the 16th grid")
    steps = int(length)
    grid = np.full((steps, 4), REST, dtype=np.int16)
    fermatas: set[int] = set()
    for v, part in enumerate(parts):
        for n in part.stripTies().recurse().notes:
            if n.duration.isGrace or n.quarterLength == 0:
                continue
            start = _steps(n.getOffsetInHierarchy(part))
            end = start + _steps(n.quarterLength)
            if start != int(start) or end != int(end):
                raise ValueError(f"a note of the {SATB[v].lower()} is off the 16th grid")
            start, end = int(start), int(end)
            pitch = max(p.midi for p in n.pitches) if not isinstance(n, note.Note) else n.pitch.midi
            grid[start, v] = pitch
            grid[start + 1 : end, v] = HOLD
            if v == 0 and any(isinstance(e, expressions.Fermata) for e in n.expressions):
                fermatas.add(start)
    # leading silence in every voice (a rest before the first note) is part of the pickup
    lead = 0
    while lead < steps and (grid[lead] == REST).all():
        lead += 1
    if lead:
        grid = grid[lead:]
        pickup = (pickup - lead) % bar_steps
        fermatas = {f - lead for f in fermatas}
    ks = list(chorale.recurse().getElementsByClass(key.KeySignature))
    k = None
    if ks:
        analyzed = chorale.analyze("key")
        mode = analyzed.mode if analyzed.mode in ("major", "minor") else "major"
        m21key = ks[0].asKey(mode)
        k = Key(m21key.tonic.pitchClass, mode)
    title = (chorale.metadata.title if chorale.metadata and chorale.metadata.title else "") or ""
    return Score(
        grid,
        tempo=CORPUS_TEMPO,
        time_signature=time_signature,
        key=k,
        pickup=pickup,
        fermatas=tuple(sorted(fermatas)),
        title=title,
    ).validate()


def melody_signature(score: Score, notes: int = 10) -> str:
    """The soprano's first intervals: the same tune (in any key) gives the same signature."""
    pitches = [n.pitch for n in score.notes(0)][: notes + 1]
    return ",".join(str(b - a) for a, b in zip(pitches, pitches[1:]))


def assign_splits(groups: list[str], fractions=(0.8, 0.1, 0.1)) -> dict[str, str]:
    """Group key -> split, deterministic: groups ordered by a hash, then cut by fractions."""
    unique = sorted(set(groups), key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    counts = {g: groups.count(g) for g in unique}
    total = len(groups)
    out, seen = {}, 0
    for g in unique:
        share = seen / total
        out[g] = (
            "train"
            if share < fractions[0]
            else ("valid" if share < fractions[0] + fractions[1] else "test")
        )
        seen += counts[g]
    return out


def build_corpus(
    out_dir: Path = DATA_DIR, progress: Callable[[int, int], None] | None = None
) -> tuple[list[dict], list[Rejected]]:
    """Write every four-part Bach chorale of music21's corpus as MIDI plus a manifest."""
    try:
        from music21 import corpus
    except ImportError:
        raise DataError("building the corpus needs music21: pip install music21") from None
    names = list(corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename"))
    titles = {
        int(k): v.get("title", "")
        for k, v in corpus.chorales.ChoraleList().byRiemenschneider.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    kept: list[dict] = []
    scores: list[Score] = []
    rejected: list[Rejected] = []
    seen_files: dict[str, str] = {}
    for i, filename in enumerate(names):
        if progress:
            progress(i, len(names))
        riemenschneider = i + 1
        bwv = filename.split("bwv", 1)[1]
        source = f"bwv{bwv}"
        name = f"riem{riemenschneider:03d}-bwv{bwv}"
        if filename in seen_files:
            rejected.append(Rejected(name, f"same chorale as {seen_files[filename]}"))
            continue
        try:
            chorale = corpus.parse(filename)
        except Exception as e:  # music21 raises many types for a missing or odd file
            rejected.append(Rejected(name, f"music21 cannot open {filename}: {type(e).__name__}"))
            continue
        try:
            score = m21_to_score(chorale)
        except ValueError as e:
            rejected.append(Rejected(name, str(e)))
            continue
        seen_files[filename] = name
        score.title = titles.get(riemenschneider) or score.title
        score.meta = {"source": source, "riemenschneider": str(riemenschneider)}
        path = out_dir / f"{name}.mid"
        write_midi(score, path)
        kept.append(
            {
                "id": name,
                "bwv": bwv,
                "riemenschneider": riemenschneider,
                "title": score.title,
                "file": path.name,
                "key": str(score.key) if score.key else None,
                "time_signature": f"{score.time_signature[0]}/{score.time_signature[1]}",
                "steps": score.steps,
                "pickup": score.pickup,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
        scores.append(score)
    if progress:
        progress(len(names), len(names))
    groups = [melody_signature(s) for s in scores]
    split_of = assign_splits(groups)
    for entry, group in zip(kept, groups):
        entry["group"] = group
        entry["split"] = split_of[group]
    manifest = {
        "source": "music21 corpus, Bach chorales by Riemenschneider number",
        "tempo": CORPUS_TEMPO,
        "chorales": kept,
        "rejected": [{"id": r.source, "reason": r.reason} for r in rejected],
    }
    write_text_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return kept, rejected


# --- reading the corpus -----------------------------------------------------------------------
def load_manifest(data_dir: Path = DATA_DIR) -> dict:
    path = Path(data_dir) / "manifest.json"
    if not path.exists():
        raise DataError(f"no corpus at {data_dir}: run `composer data build` first")
    return json.loads(path.read_text())


def load_chorales(split: str | None = None, data_dir: Path = DATA_DIR) -> list[Score]:
    """The corpus chorales (of one split, or all) as Scores, read from their MIDI files, each
    in the key it is in (``home_key``)."""
    from composer.midi.io import read_midi

    manifest = load_manifest(data_dir)
    out = []
    for entry in manifest["chorales"]:
        if split is None or entry["split"] == split:
            score = read_midi(Path(data_dir) / entry["file"])
            score.meta["id"] = entry["id"]
            score.key = home_key(score)
            out.append(score)
    return out


def home_key(score: Score) -> Key | None:
    """The key a chorale is in. Its key signature says less than it seems: Bach often writes
    minor tunes with one flat fewer (a "Dorian" signature: G minor with one flat, read as D
    minor), and modal tunes with the signature of the key a fifth away. So when the final
    chord's root (a root-position major or minor triad) is the tonic of the key the notes
    suggest (a Krumhansl-Schmuckler estimate), that is the key; otherwise (a Phrygian ending
    on the dominant, say) the signature's key stands. 44 of the 327 chorales change."""
    pitches = score.pitch_grid()
    if not score.steps or score.voices != 4:
        return score.key
    root = triad_root(pitches[-1].astype(np.int64))
    estimate = estimate_key(score)
    if root < 0 or estimate.tonic != root:
        return score.key
    return Key(root, estimate.mode)


def load_jsb(name: str = "jsb-quarter", split: str = "train", path: Path | None = None) -> list:
    """Pieces of a JSB benchmark file: a JSON {"train": [...], "valid": [...]} (see its README)."""
    path = Path(path) if path else JSB_DIR / f"{name}.json"
    if not path.exists():
        raise DataError(
            f"JSB data not found at {path}: pass --data-file PATH or set COMPOSER_JSB_DIR"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} is not a JSB file: a JSON object of splits is expected")
    if split not in data:
        raise DataError(f"{path} has no split {split!r}; it has {', '.join(sorted(data))}")
    pieces = data[split]
    if not isinstance(pieces, list) or not pieces:
        raise DataError(f"{path} ({split}): no pieces (a non-empty list of pieces is expected)")
    return check_jsb_pieces(pieces, f"{path} ({split})") if name == "jsb-quarter" else pieces


def jsb16_scores(pieces: list) -> list[Score]:
    """JSB 16th-note SATB pieces (lists of [S, A, T, B] steps, -1 silent) -> Scores.

    Every sounding cell is a pitch (the data cannot tell a held note from a repeated one, so
    there is no HOLD); 4/4 from the first step, no key and no fermatas (the data has none).
    """
    out = []
    for i, piece in enumerate(pieces):
        try:
            grid = np.asarray(piece, dtype=np.int64)
        except (TypeError, ValueError):
            raise DataError(f"JSB 16th piece {i} is not a list of [S, A, T, B] steps") from None
        if grid.ndim != 2 or grid.shape[1] != 4 or len(grid) == 0:
            raise DataError(f"JSB 16th piece {i} is not a list of [S, A, T, B] steps")
        if ((grid < -1) | (grid > 127)).any():
            raise DataError(f"JSB 16th piece {i} holds a pitch outside -1..127")
        grid = np.where(grid < 0, REST, grid).astype(np.int16)
        out.append(Score(grid, time_signature=(4, 4), key=None, pickup=0))
    return out


MAX_JSB_VOICES = 4  # a frame is at most four pitches (SATB), then END


def check_jsb_pieces(pieces: object, where: str) -> list:
    """JSB quarter-note pieces (lists of frames; a frame is up to four distinct MIDI pitches), or
    DataError saying which piece and frame is wrong. (The 16th-note file is checked by
    jsb16_scores.)"""
    if not isinstance(pieces, list) or not pieces:
        raise DataError(f"{where}: no pieces (a non-empty list of pieces is expected)")
    for i, piece in enumerate(pieces):
        if not isinstance(piece, list) or not piece:
            raise DataError(f"{where}: piece {i} is not a non-empty list of frames")
        for j, frame in enumerate(piece):
            ok = (
                isinstance(frame, list)
                and len(set(frame)) == len(frame) <= MAX_JSB_VOICES
                and all(type(p) is int and 0 <= p <= 127 for p in frame)
            )
            if not ok:
                raise DataError(
                    f"{where}: piece {i}, frame {j} is {str(frame)[:40]}; a frame is up to "
                    f"{MAX_JSB_VOICES} distinct MIDI pitches (whole numbers 0-127)"
                )
    return pieces
