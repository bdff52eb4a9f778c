"""MusicXML in, and MIDI as notation programs and DAWs write it: pickups, key, meter, tempo and
their changes, fermatas, parts; bad files give one line; music21 stays out of MIDI reading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from midi_fixtures import meta, off, on, smf, track
from notation_fixtures import attributes, metronome, note, partwise, rest

from composer.errors import ComposerError, MidiFileError
from composer.midi.io import read_midi_data
from composer.notation.read import read_musicxml_data, read_score
from composer.score import Key

Q = 4  # a quarter note in 16th steps (= MusicXML divisions here)


def tune_measures(pickup: bool = True) -> list[str]:
    """'Nun danket'-like: a quarter pickup, three bars, fermatas on bar 2's last note and on the
    last note."""
    first = attributes(fifths=-1, mode="major") + metronome(72)
    bars = [
        note("G", 4, Q) + note("G", 4, Q) + note("A", 4, Q) + note("B", 4, Q, alter=-1),
        note("C", 5, 2 * Q) + note("A", 4, Q) + note("F", 4, Q, fermata=True),
        note("G", 4, Q) + note("A", 4, Q) + note("F", 4, 2 * Q, fermata=True),
    ]
    if pickup:
        return [first + note("C", 4, Q)] + bars
    return [first + bars[0]] + bars[1:]


def test_a_musicxml_melody_with_pickup_key_tempo_and_fermatas() -> None:
    data = partwise({"Melody": tune_measures()}, title="Nun danket", pickup=True)
    score, report = read_musicxml_data(data, "tune.musicxml")
    assert score.voices == 1 and score.pickup == 4 and score.steps == 4 + 3 * 16
    assert score.key == Key(5) and str(score.key) == "F major"
    assert score.time_signature == (4, 4) and score.tempo == 72
    assert score.fermatas == (4 + 16 + 12, 4 + 32 + 8)
    assert score.title == "Nun danket" and score.voice_names == ("Melody",)
    assert report.warnings == [] and report.notes_moved == 0
    assert set(report.found) == {"key", "time_signature", "tempo"}


def test_a_pickup_written_as_a_bar_of_its_own_time_signature() -> None:
    # as some programs write it: a bar of 1/4, then 4/4 from bar 1
    measures = tune_measures()
    measures[0] = measures[0].replace("<beats>4</beats>", "<beats>1</beats>")
    measures[1] = attributes(fifths=None, time="4/4") + measures[1]
    score, report = read_musicxml_data(partwise({"Melody": measures}), "t.musicxml")
    assert score.time_signature == (4, 4) and score.pickup == 4
    assert report.warnings == []


def test_part_by_name_or_number_and_the_top_part_by_default(tmp_path: Path) -> None:
    bass = [attributes(fifths=-1, clef="F4") + note("F", 3, Q)] + [note("F", 2, 4 * Q)] * 3
    data = partwise({"Melody": tune_measures(), "Bass": bass}, pickup=True)
    path = tmp_path / "two.musicxml"
    path.write_bytes(data)
    whole, _ = read_score(path)
    assert whole.voices == 2 and whole.voice_names == ("Melody", "Bass")
    top, _ = read_score(path, melody=True)
    assert top.voices == 1 and top.voice_names == ("Melody",)
    by_name, _ = read_score(path, part="bass")
    by_number, _ = read_score(path, part="2")
    assert by_name == by_number and by_name.voice_names == ("Bass",)
    with pytest.raises(MidiFileError, match="no part named 'Tenor'.*1 'Melody', 2 'Bass'"):
        read_score(path, part="Tenor")
    with pytest.raises(MidiFileError, match="choose --part among"):
        read_score(path, part="3")


def test_tempo_meter_and_key_changes_are_reported_with_their_bars() -> None:
    measures = tune_measures()
    measures[2] = metronome(60) + measures[2]  # a ritardando at bar 2
    measures[3] = attributes(fifths=0, time="3/4") + measures[3].replace(
        note("F", 4, 2 * Q, fermata=True), note("F", 4, Q, fermata=True)
    )
    score, report = read_musicxml_data(partwise({"Melody": measures}, pickup=True), "t.xml")
    assert score.tempo == 72 and score.time_signature == (4, 4)
    text = " | ".join(report.warnings)
    assert "the tempo changes: it slows from 72 to 60 bpm at bar 2" in text
    assert "the time signature changes to 3/4 at bar 3" in text
    assert "the key signature changes" in text


def test_signature_without_mode_is_minor_when_the_tune_ends_on_the_minor_tonic() -> None:
    measures = [attributes(fifths=-1, mode=None) + note("D", 4, Q) + note("F", 4, Q)
                + note("A", 4, Q) + note("C", 5, Q, alter=1),
                note("D", 5, 2 * Q) + note("A", 4, Q) + note("D", 4, Q)]  # fmt: skip
    score, _ = read_musicxml_data(partwise({"Tune": measures}), "t.musicxml")
    assert str(score.key) == "D minor"


def test_chords_in_a_melody_part_keep_the_top_line_and_a_piano_staff_splits() -> None:
    m = attributes() + note("E", 5, Q) + note("C", 5, Q, chord=True) + note("D", 5, Q)
    m += rest(2 * Q)
    score, report = read_musicxml_data(partwise({"Piano": [m]}), "p.musicxml", part="1")
    assert [n.pitch for n in score.notes(0)] == [76, 74]
    assert report.notes_dropped == 1 and any("top line" in w for w in report.warnings)
    both, _ = read_musicxml_data(partwise({"Piano": [m]}), "p.musicxml")
    assert both.voices == 2


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"<html><body>hello</body></html>", "XML but not a MusicXML score"),
    (b"PK\x03\x04 not really a zip", "damaged .mxl"),
    (b'<?xml version="1.0"?><score-partwise><part-list/></score-partwise>', "no parts"),
    (partwise({"Empty": [attributes() + rest(16, measure=True)]}), "has no notes"),
    (b"<score-partwise><part id=", "could not parse"),
])  # fmt: skip
def test_bad_musicxml_gives_one_clear_line(data: bytes, message: str) -> None:
    with pytest.raises(ComposerError) as e:
        read_musicxml_data(data, "bad.musicxml")
    assert message in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith("cannot read bad.musicxml: ")


# --- MIDI as notation programs and DAWs write it ---------------------------------------------


def ts(num: int, den: int) -> bytes:
    return meta(0x58, bytes([num, {1: 0, 2: 1, 4: 2, 8: 3}[den], 24, 8]))


def tempo(bpm: float) -> bytes:
    return meta(0x51, round(60e6 / bpm).to_bytes(3, "big"))


def notes(pitches_lengths: list[tuple[int, int]], gap: int = 0) -> list[tuple[int, bytes]]:
    """(pitch, ticks) -> events, each note starting when the last ended (480 a quarter)."""
    out: list[tuple[int, bytes]] = []
    for p, ticks in pitches_lengths:
        out += [(gap, on(p)), (ticks, off(p))]
        gap = 0
    return out


# A tune in F major, 4/4: a quarter pickup (C), two bars, a last bar of a dotted half (F).
TUNE = [(60, 480), (65, 480), (67, 480), (69, 480), (70, 480), (72, 960), (69, 480),
        (67, 480), (65, 1440)]  # fmt: skip


def test_a_pickup_bar_in_its_own_time_signature_as_musescore_exports_it() -> None:
    conductor = track((0, ts(1, 4)), (0, tempo(72)), (480, ts(4, 4)), (480 * 8, ts(3, 4)))
    data = smf([conductor, track((0, meta(0x59, b"\xff\x00")), *notes(TUNE))])
    score, report = read_midi_data(data, "musescore.mid")
    assert score.time_signature == (4, 4) and score.pickup == 4
    assert score.steps == 4 + 16 + 16 + 12  # the last bar completes the pickup
    assert report.warnings == []  # neither the 1/4 bar nor the 3/4 last bar is a change
    assert score.bar_of(4) == 1


def test_a_pickup_at_time_zero_is_guessed_with_a_warning() -> None:
    conductor = track((0, ts(4, 4)), (0, tempo(72)), (0, meta(0x59, b"\xff\x00")))
    data = smf([conductor, track(*notes(TUNE))])
    score, report = read_midi_data(data, "daw.mid")
    assert score.pickup == 4 and score.time_signature == (4, 4)
    assert any("pickup" in w and "first 4 16ths" in w for w in report.warnings)


def test_music_that_fits_its_bars_from_time_zero_is_not_given_a_pickup() -> None:
    tune = TUNE[1:-1] + [(65, 1920)]  # no pickup: four full bars, the last a whole note
    conductor = track((0, ts(4, 4)), (0, meta(0x59, b"\xff\x00")))
    score, report = read_midi_data(smf([conductor, track(*notes(tune))]), "plain.mid")
    assert score.pickup == 0 and report.warnings == []


def test_tempo_and_meter_changes_are_reported_with_bars_and_values() -> None:
    conductor = track((0, ts(4, 4)), (0, tempo(80)), (480 * 9, tempo(60)), (0, ts(3, 4)))
    score, report = read_midi_data(smf([conductor, track(*notes(TUNE * 2))]), "rit.mid")
    assert score.tempo == 80
    text = " | ".join(report.warnings)
    assert "it slows from 80 to 60 bpm at bar 3" in text
    assert "the time signature changes to 3/4 at bar 3" in text


def test_a_major_key_signature_on_a_minor_tune_is_read_as_minor() -> None:
    # MuseScore writes every key signature's mode as major: D minor arrives as F major.
    tune = [(62, 480), (65, 480), (69, 480), (73, 480), (74, 960), (69, 480), (62, 480)]
    data = smf([track((0, ts(4, 4)), (0, meta(0x59, b"\xff\x00")), *notes(tune))])
    score, report = read_midi_data(data, "dminor.mid")
    assert str(score.key) == "D minor"
    assert any("read as D minor" in w for w in report.warnings)


def test_a_conductor_track_called_conductor_is_not_the_title(tmp_path: Path) -> None:
    conductor = track((0, meta(0x03, b"Conductor")), (0, ts(4, 4)))
    path = tmp_path / "ein-feste-burg.mid"
    path.write_bytes(smf([conductor, track(*notes(TUNE))]))
    score, _ = read_score(path)
    assert score.title == "ein-feste-burg"


def test_reading_midi_never_imports_music21(tmp_path: Path) -> None:
    path = tmp_path / "t.mid"
    path.write_bytes(smf([track(*notes(TUNE))]))
    code = (
        "import sys\n"
        "import composer.cli.compose, composer.runtime.sampler\n"
        "from composer.notation.read import read_score\n"
        f"read_score({str(path)!r}, melody=True)\n"
        "print('music21' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
