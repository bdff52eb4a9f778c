"""MIDI files <-> Score: the entry points.

``write_midi(score, path)`` writes a type 1 file: a conductor track (title, tempo, time and key
signatures, fermata markers, generation settings as a sequencer-specific event) and one named
track per voice
on its own channel. A pickup is written as leading rests that fill its first bar, so bar lines
line up in every DAW and notation program; reading trims them back into ``Score.pickup``.

``read_midi(path) -> Score`` reads type 0 and 1 files: voices from tracks, channels, or one
part split by pitch order; positions quantized in ticks to 16th steps; leading silence trimmed
into a pickup, a short first bar in its own time signature read as a pickup (as notation
programs write one), a pickup guessed (with a warning) for music that starts on its first note
but fits the bars only with one (composer.midi.bars); tempo and meter changes reported.
``read_midi_report`` also returns a ReadReport (notes moved by quantization, notes dropped,
warnings); ``read_midi_data`` reads bytes. Every file that cannot be read, for
whatever reason, raises MidiFileError naming the file, the problem and what to do; sizes are
capped (MAX_FILE_BYTES, MAX_TRACKS, MAX_NOTES, MAX_STEPS) before anything big is built.

Reading, in order, one module per stage: bytes -> chunks (our own structural checks) -> events
of each track (mido) in composer.midi.read -> notes paired in ticks in composer.midi.events ->
quantized parts -> voices in composer.midi.voices -> Score, here. Writing is composer.midi.write.
Every name above is importable from here.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from composer.midi.bars import (
    bar_lines,
    describe_meter_changes,
    guess_pickup,
    mode_of,
    tempo_changes,
)
from composer.midi.events import (
    DEFAULT_TEMPO_US,
    DRUM_CHANNEL,
    MAX_NAME,
    MAX_NOTES,
    SMPTE_FPS,
    Events,
    collect,
    ticks_per_quarter,
)
from composer.midi.read import (
    FIX_EXPORT,
    MAX_DELTA,
    MAX_FILE_BYTES,
    MAX_TRACKS,
    parse_track,
    read_bytes,
    read_error,
    smf_bytes,
    split_chunks,
    too_big,
)
from composer.midi.report import ReadReport
from composer.midi.voices import QNote, allocate, choose_parts, part_label, polyphony, split_part
from composer.midi.write import (
    FERMATA_MARKER,
    SETTINGS_PREFIX,
    TICKS_PER_QUARTER,
    TICKS_PER_STEP,
    VELOCITY,
    key_from_mido,
    key_to_mido,
    score_to_midifile,
    write_midi,
)
from composer.score import CHOIR_AAHS, HOLD, REST, Key, Score, default_voice_names

__all__ = [
    "DEFAULT_TEMPO_US",
    "DRUM_CHANNEL",
    "FERMATA_MARKER",
    "MAX_DELTA",
    "MAX_FILE_BYTES",
    "MAX_NAME",
    "MAX_NOTES",
    "MAX_STEPS",
    "MAX_TRACKS",
    "MAX_TRAILING_BARS",
    "MAX_VOICES",
    "SETTINGS_PREFIX",
    "SMPTE_FPS",
    "TICKS_PER_QUARTER",
    "TICKS_PER_STEP",
    "VELOCITY",
    "ReadReport",
    "key_from_mido",
    "key_to_mido",
    "read_midi",
    "read_midi_data",
    "read_midi_report",
    "score_to_midifile",
    "write_midi",
]

MAX_STEPS = 20_000  # 16th steps from the first note to the end (about 55 minutes at 90 bpm)
MAX_VOICES = 4
MAX_TRAILING_BARS = 4  # end-of-track silence kept after the last note, in bars
# Track names that programs give a conductor track, not a title (Composer's own default too)
GENERIC_TITLES = frozenset(
    {"", "conductor", "tempo", "tempo track", "tempo map", "untitled", "track 1", "track 0",
     "sequence", "master", "global", "composer"}
)  # fmt: skip


def read_midi(path: str | os.PathLike, max_voices: int = MAX_VOICES) -> Score:
    """Read a type 0 or type 1 MIDI file into a Score (see ``read_midi_report``)."""
    return read_midi_report(path, max_voices)[0]


def read_midi_report(
    path: str | os.PathLike, max_voices: int = MAX_VOICES
) -> tuple[Score, ReadReport]:
    """Read a type 0 or type 1 MIDI file into a Score, and say what was changed on the way.

    Voices: each track (or each channel of a track) with notes is a part, in file order. A
    part that plays chords is split into voices by pitch order (top note -> first voice), as
    long as the parts need no more than ``max_voices`` voices in all; with more parts than
    that, the ``max_voices`` parts with most notes are kept (a warning says which). Drum
    notes (channel 10) are ignored.
    Time: positions are quantized in ticks to the nearest 16th step (ticks * 4 /
    ticks_per_quarter; halves round up); a note never becomes shorter than one step. Leading
    silence is trimmed: whole bars of it disappear and a partial bar becomes ``pickup``.
    The end of the track is the end of the piece, if it comes at most MAX_TRAILING_BARS bars
    after the last note.
    Metadata: the first tempo (bpm rounded to 2 decimals), time signature and key signature;
    'fermata' markers; track names as voice names; program changes; Composer's settings event
    as ``Score.meta``. A conductor track's name is the title unless it is a generic one
    (GENERIC_TITLES: 'Conductor', 'Tempo Track', ...).

    Raises MidiFileError (naming the file, the problem and what to do) for every file that
    cannot be read: missing, not MIDI, damaged, too big or too long, or with no usable notes.
    """
    name = str(path)
    return read_midi_data(read_bytes(path, name), name, max_voices)


def read_midi_data(
    data: bytes, name: str = "<MIDI data>", max_voices: int = MAX_VOICES
) -> tuple[Score, ReadReport]:
    """``read_midi_report`` for a file's bytes (e.g. dropped or received); ``name`` is used in
    messages. Data longer than MAX_FILE_BYTES is refused."""
    if len(data) > MAX_FILE_BYTES:
        raise too_big(name, len(data))
    if not data:
        raise read_error(name, "the file is empty", FIX_EXPORT)
    report = ReadReport(path=name)
    data = smf_bytes(data, name)
    fmt, division, chunks = split_chunks(data, name, report.warnings)
    tracks = [parse_track(chunk, division, i, name) for i, chunk in enumerate(chunks)]
    report.format, report.tracks = fmt, len(tracks)
    events = collect(tracks, name, report)
    tpq = ticks_per_quarter(division, events.tempo_us, name, report.warnings)
    report.ticks_per_quarter = float(tpq)
    score = _build_score(events, tpq, max_voices, name, report)
    return score, report


def _build_score(
    ev: Events, tpq: Fraction, max_voices: int, name: str, report: ReadReport
) -> Score:
    """Quantize, pick parts, split them into voices, trim leading silence, fill the grid."""
    if not any(ev.parts.values()):
        if report.drum_notes:
            raise read_error(
                name,
                f"it has only drum notes (channel 10, {report.drum_notes} notes) and no "
                "pitched notes",
                "give a file with a melody or a chorale in it",
            )
        raise read_error(name, "it has no notes", "give a file with a melody or a chorale in it")
    p, q = tpq.numerator, tpq.denominator

    def step(tick: int) -> int:  # nearest 16th step, halves up: round(tick * 4 / tpq)
        return (8 * tick * q + p) // (2 * p)

    def on_grid(tick: int) -> bool:
        return (4 * tick * q) % p == 0

    keys = choose_parts(ev, max_voices, report)

    parts: list[list[QNote]] = []
    for k in keys:
        notes = []
        for start, end, pitch in ev.parts[k]:
            s, e = step(start), step(end)
            if not (on_grid(start) and on_grid(end)):
                report.notes_moved += 1
            notes.append(QNote(s, max(e, s + 1), pitch, short=e <= s))
        parts.append(notes)

    first = min(part[0].start for part in parts if part)
    last = max(n.end for part in parts for n in part)
    if last - first > MAX_STEPS:
        raise read_error(
            name,
            f"it lasts {last - first:,} 16th steps from its first note to its last; Composer "
            f"reads pieces up to {MAX_STEPS:,} steps ({MAX_STEPS // 16:,} bars of 4/4)",
            "check for a stray note far after the music, or split the piece",
        )

    num, den = _time_signature(ev.time_signature, name, report.warnings)
    first_tick = min(part_notes[0][0] for part_notes in (ev.parts[k] for k in keys) if part_notes)
    bars = bar_lines(ev.time_signatures, (num, den), first_tick, step, end_step=last)
    num, den = bars.meter
    per_bar = num * 16 // den
    end = step(ev.end)
    if end <= last or end - last > MAX_TRAILING_BARS * per_bar:
        end = last

    alloc = allocate([polyphony(part) for part in parts], max_voices)
    voices: list[list[QNote]] = []
    names: list[str | None] = []
    programs: list[int] = []
    for k, part, n in zip(keys, parts, alloc, strict=True):
        split = split_part(part, n, report)
        voices.extend(split)
        label = part_label(k, ev)
        report.voice_sources.extend(
            [label] if n == 1 else [f"{label} part {i + 1} of {n}" for i in range(n)]
        )
        ti, channel = k
        alone = sum(1 for kk in keys if kk[0] == ti) == 1
        names.extend([ev.track_names.get(ti) if alone and n == 1 else None] * n)
        program = ev.programs.get(k, ev.channel_programs.get(channel, CHOIR_AAHS))
        programs.extend([program] * n)

    steps = end - first
    grid = np.full((steps, len(voices)), REST, dtype=np.int16)
    for v, notes in enumerate(voices):
        for n in notes:
            grid[n.start - first, v] = n.pitch
            grid[n.start - first + 1 : n.end - first, v] = HOLD
    report.notes = sum(len(vn) for vn in voices)

    default_names = default_voice_names(len(voices))
    if any(n > 1 for n in alloc):
        names = [None] * len(voices)
    voice_names = tuple(
        nm if nm is not None else d for nm, d in zip(names, default_names, strict=True)
    )
    fermatas = sorted({step(t) - first for t in ev.fermatas} & set(range(steps)))
    conductor = report.tracks == 1 or all(k[0] != 0 for k in ev.parts)
    title = ev.track_names.get(0, "") if conductor else ""
    if title.strip().lower() in GENERIC_TITLES:
        title = ""
    key = key_from_mido(ev.key) if ev.key else None
    if key is not None and not ev.composer_file:  # MuseScore writes every key as major
        notes = [(n.start, n.end, n.pitch) for vn in voices for n in vn]
        mode = mode_of(key.sharps, notes, declared=key.mode)
        if mode != key.mode:
            read_as = Key.from_sharps(key.sharps, mode)
            report.warnings.append(
                f"the key signature says {key} but the notes are in {read_as} (the relative "
                f"{mode}): read as {read_as}; give --key if not"
            )
            key = read_as
    pickup = (bars.origin - first) % per_bar

    def bar_of(s: int) -> int:  # the bar number a step of the file shows in the Score
        return (s - first - pickup) // per_bar + 1 if s - first >= pickup else 0

    if bars.origin == 0 and first == 0 and not ev.composer_file and ev.time_signature:
        notes = [(n.start, n.end, n.pitch) for vn in voices for n in vn]
        guess = guess_pickup(notes, (num, den), key, fermatas)
        if guess:
            pickup = guess
            report.warnings.append(
                f"the music starts on the first bar line, but its notes fit the bars only with "
                f"the first {guess} 16ths as a pickup: read them as one (a notation program "
                "writes a pickup as a short first bar; export it so to be sure)"
            )
    for warning in (describe_meter_changes(bars, bar_of),
                    tempo_changes(ev.tempos, step, bar_of)):  # fmt: skip
        if warning:
            report.warnings.append(warning)
    report.found = [what for what, there in (("key", ev.key), ("time_signature",
                    ev.time_signature), ("tempo", ev.tempo_us)) if there]  # fmt: skip
    score = Score(
        grid,
        tempo=round(60_000_000 / (ev.tempo_us or DEFAULT_TEMPO_US), 2),
        time_signature=(num, den),
        key=key,
        pickup=pickup,
        fermatas=tuple(fermatas),
        voice_names=voice_names,
        programs=tuple(programs),
        title=title,
        meta=ev.meta,
    )
    return score.validate()


def _time_signature(ts: tuple[int, int] | None, name: str, warnings: list[str]) -> tuple[int, int]:
    """The file's first time signature, or 4/4; refuses a damaged one."""
    if ts is None:
        return (4, 4)
    num, den = ts
    if num == 0 or den > 64:
        raise read_error(name, f"its time signature {num}/{den} is damaged")
    if (num * 16) % den:
        warnings.append(f"time signature {num}/{den} does not fit the 16th grid; read as 4/4")
        return (4, 4)
    return (num, den)
