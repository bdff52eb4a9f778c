"""read_midi: exact round trips with write_midi, files from other programs, quantization and
voice assignment."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from midi_fixtures import (
    TUNE,
    example_score,
    meta,
    music21_chorale_bytes,
    off,
    on,
    smf,
    track,
)

from composer.midi.io import (
    MAX_TRAILING_BARS,
    read_midi,
    read_midi_data,
    read_midi_report,
    score_to_midifile,
    write_midi,
)
from composer.score import HOLD, REST, SATB, Key, Note, Score


def roundtrip(score: Score, tmp_path: Path) -> Score:
    path = tmp_path / "rt.mid"
    write_midi(score, path)
    return read_midi(path)


# --- exact round trips ----------------------------------------------------------------------


def _chorale(steps: int = 32, **meta_kw) -> Score:
    """Repeated notes (S), a rest in the middle (A), long notes (T), 8ths (B)."""
    notes = [Note(0, t, t + 4, 72) for t in range(0, steps, 4)]  # repeated C5
    notes += [Note(1, 0, 6, 67), Note(1, 8, steps, 65)]  # rest at steps 6-7
    notes += [Note(2, 0, steps // 2, 60), Note(2, steps // 2, steps, 59)]
    notes += [Note(3, t, t + 2, 48 + (t // 2) % 5) for t in range(0, steps, 2)]
    return Score.from_notes(notes, steps, **meta_kw)


ROUND_TRIP_CASES = {
    "plain 4/4": _chorale(),
    "pickup 4/4": _chorale(36, pickup=4),
    "pickup of 3 16ths": _chorale(35, pickup=3),
    "3/4": _chorale(24, time_signature=(3, 4)),
    "3/4 with pickup": _chorale(28, time_signature=(3, 4), pickup=4),
    "fermatas": _chorale(32, fermatas=(0, 12, 28)),
    "key D minor": _chorale(key=Key(2, "minor")),
    "key Bb major": _chorale(key=Key(10)),
    "key F# major": _chorale(key=Key(6)),
    "no key, fast tempo": _chorale(tempo=132.5),
    "slow tempo": _chorale(tempo=40.0),
    "names and programs": _chorale(voice_names=("S", "A", "T", "B"), programs=(0, 19, 52, 32)),
    "names in Latin-1 and beyond": _chorale(voice_names=("Sopranö", "Alt – 1", "Ténor ♯", "低音")),
    "trailing rests": Score.from_notes([Note(0, 0, 4, 70), Note(3, 0, 2, 50)], 16),
    "2/2": _chorale(time_signature=(2, 2)),
    "6/8 with pickup": _chorale(26, time_signature=(6, 8), pickup=2),
    "example": example_score(48, 4, 7),
}


@pytest.mark.parametrize("score", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_write_then_read_gives_the_same_score(score: Score, tmp_path: Path) -> None:
    back = roundtrip(score, tmp_path)
    assert back.differences(score) == []
    assert back == score


def test_round_trip_keeps_settings_and_title(tmp_path: Path) -> None:
    score = _chorale(
        meta={"model": "satb v1", "seed": "42", "temperature": "0.9", "by": "Jürgen ✓"}
    )
    score.title = "Chorale in F – Nun danket"
    back = roundtrip(score, tmp_path)
    assert back.meta == score.meta
    assert back.title == "Chorale in F – Nun danket"


def test_round_trip_report_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "c.mid"
    write_midi(_chorale(36, pickup=4), path)
    score, report = read_midi_report(path)
    assert report.notes_moved == 0 and report.notes_dropped == 0 and report.warnings == []
    assert report.notes == sum(1 for _ in score.notes())
    assert report.format == 1 and report.tracks == 5 and report.ticks_per_quarter == 480


def test_tempo_90_reads_back_as_exactly_90(tmp_path: Path) -> None:
    assert roundtrip(_chorale(tempo=90.0), tmp_path).tempo == 90.0


@st.composite
def scores(draw) -> Score:
    """Random scores write_midi can express unambiguously: something sounds at step 0 (leading
    silence is read as a pickup) and trailing silence stays within MAX_TRAILING_BARS."""
    voices = draw(st.integers(1, 4))
    num, den = draw(st.sampled_from([(4, 4), (3, 4), (2, 4), (6, 8), (3, 2)]))
    per_bar = num * 16 // den
    steps = draw(st.integers(1, 96))
    cells = st.one_of(st.integers(36, 84), st.just(HOLD), st.just(REST))
    grid = np.array(draw(st.lists(cells, min_size=steps * voices, max_size=steps * voices)))
    grid = grid.reshape(steps, voices).astype(np.int16)
    grid[0, 0] = draw(st.integers(36, 84))
    for v in range(voices):  # a HOLD after a rest becomes a rest
        for t in range(steps):
            if grid[t, v] == HOLD and (t == 0 or grid[t - 1, v] == REST):
                grid[t, v] = REST
    sounding = np.flatnonzero((grid != REST).any(axis=1))
    steps = min(steps, int(sounding[-1]) + 1 + MAX_TRAILING_BARS * per_bar)
    return Score(
        grid[:steps],
        tempo=draw(st.integers(3000, 30000)) / 100,
        time_signature=(num, den),
        key=draw(
            st.one_of(
                st.none(), st.builds(Key, st.integers(0, 11), st.sampled_from(["major", "minor"]))
            )
        ),  # fmt: skip
        pickup=draw(st.integers(0, per_bar - 1)),
        fermatas=tuple(draw(st.sets(st.integers(0, steps - 1), max_size=4))),
        programs=tuple(draw(st.lists(st.integers(0, 127), min_size=voices, max_size=voices))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(score=scores())
def test_round_trip_property(score: Score) -> None:
    data = io.BytesIO()
    score_to_midifile(score).save(file=data)
    back, report = read_midi_data(data.getvalue(), "rt.mid")
    assert back.differences(score) == []
    assert back == score
    assert report.notes_moved == 0 and report.notes_dropped == report.notes_shortened == 0


# --- files written by other programs --------------------------------------------------------


def _music21_notes(part) -> list[tuple[int, int, int]]:
    """(start, end, pitch) in 16th steps of a music21 part, ties merged."""
    return [
        (round(n.offset * 4), round((n.offset + n.quarterLength) * 4), n.pitch.midi)
        for n in part.stripTies().flatten().notes
    ]


def test_music21_export_of_bwv66_6_reads_as_satb_with_music21s_notes() -> None:
    music21 = pytest.importorskip("music21")
    chorale = music21.corpus.parse("bach/bwv66.6")
    score, report = read_midi_data(music21_chorale_bytes("bach/bwv66.6"), "bwv66.6.mid")
    assert score.voices == 4
    assert score.voice_names == SATB
    assert score.key == Key(6, "minor")  # F# minor
    assert score.time_signature == (4, 4)
    assert score.tempo == 96.0  # music21 writes 625000 us per quarter
    for v, part in enumerate(chorale.parts):
        mine = [(n.start, n.end, n.pitch) for n in score.notes(v)]
        assert mine == _music21_notes(part), part.partName
    assert report.notes_moved == 0
    assert report.ticks_per_quarter == 10080


def test_music21_chorale_merged_into_one_channel_splits_back_into_satb() -> None:
    """Type 0, one channel: the split by pitch order gives Bach's voices except where two of
    them cross (there the upper note goes to the upper voice)."""
    data = music21_chorale_bytes("bach/bwv66.6")
    separate, _ = read_midi_data(data, "parts.mid")
    mid = mido.MidiFile(file=io.BytesIO(data))
    merged = mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat)
    merged.tracks.append(mido.merge_tracks(mid.tracks))
    buf = io.BytesIO()
    merged.save(file=buf)
    score, report = read_midi_data(buf.getvalue(), "merged.mid")
    assert score.voices == 4 and report.format == 0
    assert score.voice_names == SATB
    assert report.notes == 163 and report.notes_dropped == 0
    differing = np.argwhere(score.grid != separate.grid)
    assert len(differing) <= 2  # the alto/tenor crossing at step 106
    crossing = separate.pitch_grid()
    for t, _v in differing:
        assert crossing[t, 1] < crossing[t, 2]


# --- voices ----------------------------------------------------------------------------------


def test_type0_channels_become_voices() -> None:
    body = track(
        (0, on(72, 0)), (0, on(60, 1)), (0, on(48, 2)),
        (480, off(72, 0)), (0, on(74, 0)), (480, off(74, 0)), (0, off(60, 1)), (0, off(48, 2)),
    )  # fmt: skip
    score, report = read_midi_data(smf([body]), "t0.mid")
    assert score.voices == 3
    assert score.grid[:, 0].tolist() == [72, HOLD, HOLD, HOLD, 74, HOLD, HOLD, HOLD]
    assert score.grid[:, 1].tolist() == [60] + [HOLD] * 7
    assert report.voice_sources == ["track 1 channel 1", "track 1 channel 2", "track 1 channel 3"]


def test_chords_in_one_track_split_by_pitch_top_to_soprano() -> None:
    chords = [(72, 67, 64, 48), (74, 65, 62, 47), (72, 64, 60, 48)]
    events = []
    for chord in chords:
        events += [(0, on(p)) for p in sorted(chord)]  # low to high, to test the sort
        events += [(480 if k == 0 else 0, off(p)) for k, p in enumerate(chord)]
    score, _ = read_midi_data(smf([track(*events)]), "chords.mid")
    assert score.voices == 4 and score.voice_names == SATB
    for v in range(4):
        assert [n.pitch for n in score.notes(v)] == [c[v] for c in chords]


def test_held_note_keeps_its_voice_while_others_move() -> None:
    # soprano moves in quarters over a held alto, tenor and bass, all in one track
    events = [(0, on(60)), (0, on(48)), (0, on(64)), (0, on(72))]
    events += [(480, off(72)), (0, on(74)), (480, off(74)), (0, on(76)), (480, off(76))]
    events += [(0, off(64)), (0, off(60)), (0, off(48))]
    score, _ = read_midi_data(smf([track(*events)]), "held.mid")
    assert [n.pitch for n in score.notes(0)] == [72, 74, 76]
    assert [(n.pitch, n.end) for n in score.notes(1)] == [(64, 12)]
    assert [n.pitch for n in score.notes(3)] == [48]


def test_piano_staves_with_two_voices_each_give_four_voices() -> None:
    right = track((0, on(72)), (0, on(67)), (960, off(72)), (0, off(67)))
    left = track((0, on(60)), (0, on(48)), (960, off(60)), (0, off(48)))
    score, report = read_midi_data(smf([right, left]), "piano.mid")
    assert [next(score.notes(v)).pitch for v in range(4)] == [72, 67, 60, 48]
    assert report.voice_sources[0] == "track 1 part 1 of 2"


def test_more_than_four_parts_keeps_the_four_with_most_notes() -> None:
    parts = [track(*[e for p in [60 + k] * (3 + k % 3) for e in ((0, on(p)), (120, off(p)))])
             for k in range(6)]  # fmt: skip  # note counts 3 4 5 3 4 5
    score, report = read_midi_data(smf(parts), "six.mid")
    assert score.voices == 4
    assert [next(score.notes(v)).pitch for v in range(4)] == [61, 62, 64, 65]  # file order
    assert any("6 parts" in w and "dropped" in w for w in report.warnings)
    assert report.notes_dropped == 3 + 3


def test_melody_with_legato_overlaps_stays_one_voice() -> None:
    body = track((0, on(60)), (500, on(62)), (20, off(60)), (460, on(64)), (20, off(62)),
                 (460, off(64)))  # fmt: skip
    score, report = read_midi_data(smf([body]), "legato.mid")
    assert score.voices == 1
    assert [(n.start, n.end, n.pitch) for n in score.notes(0)] == [(0, 4, 60), (4, 8, 62),
                                                                   (8, 12, 64)]  # fmt: skip
    assert report.notes_shortened == 0


def test_melody_overlapping_by_one_step_is_still_one_voice() -> None:
    body = track((0, on(60)), (480, on(62)), (120, off(60)), (360, on(64)), (120, off(62)),
                 (360, off(64)))  # fmt: skip  # each note lasts a 16th into the next
    score, report = read_midi_data(smf([body]), "legato.mid")
    assert score.voices == 1
    assert [(n.start, n.end) for n in score.notes(0)] == [(0, 4), (4, 8), (8, 12)]
    assert report.notes_shortened == 2


def test_unison_in_one_channel_gives_two_voices() -> None:
    body = track((0, on(60)), (0, on(60)), (480, off(60)), (480, off(60)))
    score, _ = read_midi_data(smf([body]), "unison.mid")
    assert score.voices == 2
    assert sorted(n.end for n in score.notes()) == [4, 8]


def test_names_programs_and_title_come_from_the_tracks() -> None:
    conductor = track((0, meta(0x03, b"My Chorale")))
    melody_track = track((0, meta(0x03, b"Flute")), (0, bytes([0xC0, 73])), (0, on(72)),
                         (480, off(72)))  # fmt: skip
    bass = track((0, meta(0x03, b"Cello")), (0, bytes([0xC1, 42])), (0, on(48, 1)),
                 (480, off(48, 1)))  # fmt: skip
    score, _ = read_midi_data(smf([conductor, melody_track, bass]), "named.mid")
    assert score.voice_names == ("Flute", "Cello")
    assert score.programs == (73, 42)
    assert score.title == "My Chorale"


# --- time ------------------------------------------------------------------------------------


def test_quantization_moves_notes_to_the_nearest_16th_and_counts_them() -> None:
    # 480 ticks a quarter = 120 ticks a step. Starts 0, 130 (-> 1), 300 (2.5 -> 3, halves up)
    body = track((0, on(60)), (100, off(60)), (30, on(62)), (100, off(62)), (70, on(64)),
                 (180, off(64)))  # fmt: skip
    score, report = read_midi_data(smf([body]), "q.mid")
    assert [(n.start, n.end) for n in score.notes(0)] == [(0, 1), (1, 2), (3, 4)]
    assert report.notes_moved == 3


def test_a_note_shorter_than_a_step_still_lasts_one_step() -> None:
    body = track((0, on(60)), (30, off(60)), (450, on(62)), (480, off(62)))
    score, report = read_midi_data(smf([body]), "short.mid")
    assert [(n.start, n.end, n.pitch) for n in score.notes(0)] == [(0, 1, 60), (4, 8, 62)]
    assert report.notes_moved == 1


@pytest.mark.parametrize("tpq", [96, 100, 7, 10080, 32767])
def test_any_ticks_per_quarter(tpq: int) -> None:
    body = track((0, on(60)), (tpq, off(60)), (0, on(62)), (tpq * 2, off(62)))
    score, _ = read_midi_data(smf([body], division=tpq), "tpq.mid")
    assert [(n.start, n.end) for n in score.notes(0)] == [(0, 4), (4, 12)]


def test_smpte_division_is_converted_at_the_files_tempo() -> None:
    # 25 frames x 40 ticks = 1000 ticks a second; at 100 bpm a quarter is 600 ticks
    conductor = track((0, meta(0x51, (600_000).to_bytes(3, "big"))))
    body = track((0, on(60)), (600, off(60)), (0, on(62)), (300, off(62)))
    score, report = read_midi_data(smf([conductor, body], division=0xE728), "smpte.mid")
    assert [(n.start, n.end) for n in score.notes(0)] == [(0, 4), (4, 6)]
    assert score.tempo == 100.0
    assert any("SMPTE" in w for w in report.warnings)


def test_leading_silence_whole_bars_trimmed_partial_bar_is_the_pickup() -> None:
    # 2 bars + 3 quarters of silence in 4/4, then a note: pickup of one quarter
    body = track((480 * 11, on(67)), (480, off(67)), (0, on(72)), (1920, off(72)))
    score, _ = read_midi_data(smf([body]), "lead.mid")
    assert score.pickup == 4
    assert score.grid[0, 0] == 67 and score.steps == 20
    assert score.bar_of(4) == 1


def test_fermata_markers_and_defaults() -> None:
    markers = [(960, meta(0x06, b"fermata")), (480, meta(0x06, b"Fermata ")),
               (480, meta(0x06, b"fermata"))]  # fmt: skip  # steps 8, 12 and 16 (the end)
    score, _ = read_midi_data(smf([track(*markers), TUNE]), "f.mid")
    assert score.fermatas == (8, 12)
    assert score.tempo == 120.0  # MIDI's default when a file gives none
    assert score.key is None and score.time_signature == (4, 4)


def test_tempo_key_and_time_signature_changes_keep_the_first_with_warnings() -> None:
    conductor = track(
        (0, meta(0x51, (500_000).to_bytes(3, "big"))), (0, meta(0x58, b"\x03\x02\x18\x08")),
        (0, meta(0x59, b"\xfe\x01")), (960, meta(0x51, (400_000).to_bytes(3, "big"))),
        (0, meta(0x59, b"\x00\x00")),
    )  # fmt: skip
    score, report = read_midi_data(smf([conductor, TUNE]), "changes.mid")
    assert score.tempo == 120.0 and score.time_signature == (3, 4)
    assert score.key == Key(7, "minor")  # two flats, minor: G minor
    assert any("tempo changes" in w for w in report.warnings)
    assert any("key signature changes" in w for w in report.warnings)


def test_a_stray_end_of_track_far_after_the_music_is_not_silence() -> None:
    body = track((0, on(60)), (480, off(60)), (480 * 4 * 50, meta(0x2F, b"")), end=False)
    score, _ = read_midi_data(smf([body]), "tail.mid")
    assert score.steps == 4


def test_rmid_wrapper_is_read() -> None:
    inner = smf([TUNE])
    riff = b"RIFF" + (len(inner) + 12).to_bytes(4, "little") + b"RMID"
    riff += b"data" + len(inner).to_bytes(4, "little") + inner
    score, _ = read_midi_data(riff, "x.rmi")
    assert [n.pitch for n in score.notes(0)] == [60, 62, 64, 65]


def test_read_midi_accepts_str_and_path(tmp_path: Path) -> None:
    path = tmp_path / "s.mid"
    path.write_bytes(smf([TUNE]))
    assert read_midi(str(path)) == read_midi(path)


def test_max_voices_keeps_the_outer_notes_of_big_chords() -> None:
    chord = [72, 67, 64, 60, 55, 48]
    body = track(*[(0, on(p)) for p in chord], *[(480 if k == 0 else 0, off(p))
                                                 for k, p in enumerate(chord)])  # fmt: skip
    score, report = read_midi_data(smf([body]), "big.mid", max_voices=4)
    assert [next(score.notes(v)).pitch for v in range(4)] == [72, 67, 55, 48]
    assert report.notes_dropped == 2
    two, _ = read_midi_data(smf([body]), "big.mid", max_voices=2)
    assert [next(two.notes(v)).pitch for v in range(2)] == [72, 48]


@pytest.mark.timeout(30)
def test_a_huge_stack_of_one_pitch_is_read_quickly() -> None:
    """50,000 note-ons of one pitch at one tick: no quadratic work in pairing or splitting."""
    count = 50_000
    body = b"\x00\x90" + b"\x3c\x40\x00" * (count - 1) + b"\x3c\x40"
    body += b"\x83\x60\x3c\x00" + b"\x00\x3c\x00" * (count - 1) + b"\x00\xff\x2f\x00"
    score, report = read_midi_data(smf([body]), "stack.mid")
    assert score.voices == 4 and score.steps == 4
    assert report.notes == 4 and report.notes_dropped == count - 4
