"""composer.export: one way from a Score to a MIDI, WAV or MusicXML file (CLI and app)."""

import pytest

from composer.errors import ExportError
from composer.export import FORMATS, export_score, format_of
from composer.midi.io import read_midi
from composer.score import Note, Score


def chorale() -> Score:
    notes = [Note(0, 0, 8, 72), Note(1, 0, 8, 67), Note(2, 0, 8, 64), Note(3, 0, 8, 48)]
    return Score.from_notes(notes, 16)


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("a.mid", "midi"),
        ("a.MIDI", "midi"),
        ("a.wav", "wav"),
        ("a.musicxml", "musicxml"),
        ("a.xml", "musicxml"),
    ],  # fmt: skip
)
def test_the_suffix_chooses_the_format(name, fmt):
    assert format_of(name) == fmt


def test_a_suffix_it_cannot_write_says_which_it_can(tmp_path):
    with pytest.raises(ExportError, match=r"\.mid, \.wav or \.musicxml"):
        export_score(chorale(), tmp_path / "a.pdf")
    assert not (tmp_path / "a.pdf").exists()


def test_midi_reads_back_with_the_programs_given(tmp_path):
    path = export_score(chorale(), tmp_path / "a.mid", programs=[19, 19, 52, 32])
    back = read_midi(path)
    assert back.grid.tolist() == chorale().grid.tolist()
    assert back.programs == (19, 19, 52, 32)


def test_a_named_format_wins_over_the_suffix(tmp_path):
    """The CLI's --out writes MIDI whatever the file is called."""
    path = export_score(chorale(), tmp_path / "a.take1", "midi")
    assert read_midi(path).grid.tolist() == chorale().grid.tolist()


def test_every_format_has_a_label_and_a_suffix_for_the_dialog():
    assert [f.name for f in FORMATS] == ["midi", "wav", "musicxml"]
    assert all(f.label and f.suffixes[0].startswith(".") for f in FORMATS)
