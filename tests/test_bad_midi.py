"""Every broken or hostile MIDI file gives a MidiFileError naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from midi_fixtures import BAD_FILES, CONDUCTOR, TUNE, chunk, header, melody, meta, smf, track

from composer.errors import MidiFileError
from composer.midi.io import read_midi, read_midi_data, read_midi_report


@pytest.mark.timeout(60)
@pytest.mark.parametrize("make, fragment", [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])  # fmt: skip
def test_bad_file_gives_midi_file_error(tmp_path: Path, make, fragment: str) -> None:
    path = make(tmp_path)
    with pytest.raises(MidiFileError) as info:
        read_midi(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message  # names the file
    assert "\n" not in message  # one line for the CLI
    assert ";" in message  # ... and says what to do after the problem


def test_bad_kinds_are_many_and_distinct() -> None:
    assert len(BAD_FILES) >= 40
    assert len({b[0] for b in BAD_FILES}) == len(BAD_FILES)


def test_oversized_bytes_are_refused_before_parsing() -> None:
    with pytest.raises(MidiFileError, match="MB"):
        read_midi_data(b"MThd" + bytes(3_000_000), "big.mid")


# --- odd but valid files are read ----------------------------------------------------------


def _read(tmp_path: Path, data: bytes):
    path = tmp_path / "odd.mid"
    path.write_bytes(data)
    return read_midi_report(path)


def test_trailing_garbage_after_the_last_track_is_ignored_with_a_warning(tmp_path: Path) -> None:
    score, report = _read(tmp_path, smf([TUNE]) + b"\x00\x00junk")
    assert [n.pitch for n in score.notes(0)] == [60, 62, 64, 65]
    assert any("ignored 6 bytes" in w for w in report.warnings)


def test_unknown_chunks_are_skipped(tmp_path: Path) -> None:
    data = header(1, 2) + chunk(CONDUCTOR) + chunk(b"hello", b"XFIH") + chunk(TUNE)
    score, _ = _read(tmp_path, data)
    assert [n.pitch for n in score.notes(0)] == [60, 62, 64, 65]


def test_track_without_end_of_track_is_read(tmp_path: Path) -> None:
    body = track((0, bytes([0x90, 60, 80])), (480, bytes([0x80, 60, 0])), end=False)
    score, _ = _read(tmp_path, smf([body]))
    assert score.grid[:, 0].tolist() == [60, -2, -2, -2]


def test_note_without_note_off_ends_with_its_track(tmp_path: Path) -> None:
    body = track((0, bytes([0x90, 60, 80])), (960, meta(0x2F, b"")), end=False)
    score, report = _read(tmp_path, smf([body]))
    assert list(score.notes(0))[0].end == 8
    assert any("no note-off" in w for w in report.warnings)


def test_time_signature_off_the_16th_grid_reads_as_four_four(tmp_path: Path) -> None:
    conductor = track((0, meta(0x58, b"\x05\x05\x18\x08")))  # 5/32
    score, report = _read(tmp_path, smf([conductor, TUNE]))
    assert score.time_signature == (4, 4)
    assert any("5/32" in w for w in report.warnings)


def test_drums_beside_pitched_notes_are_ignored(tmp_path: Path) -> None:
    score, report = _read(tmp_path, smf([TUNE, melody([36, 38], channel=9)]))
    assert score.voices == 1
    assert report.drum_notes == 2
