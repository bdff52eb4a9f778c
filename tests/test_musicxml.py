"""MusicXML out: what a musician sees in a notation program. Parts and clefs, the key's
spelling and only the accidentals a reader needs, fermatas on every voice, ties and beams that
show the meter, bar 0 for a pickup, title and credit, settings kept off the staff, the closed
score; and a round trip Composer MusicXML -> music21 -> Score that keeps every note."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notation_fixtures import chorale_fragment

from composer.midi.io import read_midi
from composer.notation.check import check_musicxml
from composer.notation.musicxml import musicxml_bytes, write_musicxml
from composer.notation.read import read_musicxml, read_musicxml_data
from composer.notation.spelling import spell_line
from composer.score import HOLD, REST, Key, Note, Score

CHORALES = Path(__file__).resolve().parents[1] / "data" / "chorales"
# 12 chorales: major and minor, sharp and flat keys (up to 4 flats, 4 sharps), 4/4, 3/4 and
# 3/2, pickups of 0, 4 and 8 16ths
TWELVE = [
    "riem001-bwv269.mid", "riem004-bwv86.6.mid", "riem008-bwv40.8.mid", "riem017-bwv145.5.mid",
    "riem025-bwv148.6.mid", "riem061-bwv159.5.mid", "riem098-bwv244.15.mid",
    "riem117-bwv244.10.mid", "riem149-bwv384.mid", "riem194-bwv123.6.mid",
    "riem369-bwv354.mid", "riem053-bwv122.6.mid",
]  # fmt: skip


def test_parts_clefs_key_meter_and_the_pickup_as_bar_0(tmp_path: Path) -> None:
    path = write_musicxml(chorale_fragment(), tmp_path / "fragment.musicxml")
    assert [p.name for p in tmp_path.iterdir()] == ["fragment.musicxml"]  # no temp file left
    text = path.read_text()
    assert '<measure number="0" implicit="yes">' in text
    c = check_musicxml(path.read_bytes())
    assert c.parts == ["Soprano", "Alto", "Tenor", "Bass"]
    assert c.clefs == ["G2", "G2", "G2-1", "F4"]  # the tenor on a treble-8 clef
    assert (c.fifths, c.mode, c.time, c.pickup) == (-1, "minor", "4/4", 1.0)
    assert c.first_measure_number == "0" and c.measures == 3


def test_fermatas_on_every_voice_at_the_notes_under_them_and_the_last_note(tmp_path) -> None:
    # The final fermata step is the last bar's downbeat; each voice's last note carries it.
    notes = [Note(0, 0, 8, 72), Note(0, 8, 12, 74), Note(0, 12, 16, 72)]
    notes += [Note(1, 0, 4, 67), Note(1, 4, 16, 65)]  # the alto's note starts before step 8
    notes += [Note(2, 0, 6, 60), Note(2, 6, 8, 62), Note(2, 8, 16, 60)]
    notes += [Note(3, 0, 16, 48)]
    score = Score.from_notes(notes, 16, key=Key(0), fermatas=(8,))
    fermata_bar = Score.from_notes(notes + [Note(v, 16, 20, 60 - 5 * v) for v in range(4)]
                                   + [Note(0, 20, 32, 72)], 32, key=Key(0),
                                   fermatas=(8, 16))  # fmt: skip
    c = check_musicxml(musicxml_bytes(score))
    # the last bar: each voice's last note (the alto's 4-16 is a quarter tied to a half on
    # beat 3: the fermata is on the half, where the note ends)
    assert c.fermatas == [[3.0], [2.0], [2.0], [0.0]]
    c = check_musicxml(musicxml_bytes(fermata_bar))
    # at step 8: the soprano's and tenor's notes starting there, the alto's tied half under it;
    # at step 16 (the last bar): each voice's last note
    # (the soprano's last note, steps 20-32, is a quarter tied to a half: on the half)
    assert c.fermatas == [[2.0, 6.0], [2.0, 4.0], [2.0, 4.0], [0.0, 4.0]]


def test_fermata_on_a_rest_and_on_a_note_started_before_it() -> None:
    notes = [Note(0, 0, 4, 72), Note(0, 6, 16, 74), Note(1, 0, 16, 65)]
    notes += [Note(2, 0, 16, 60), Note(3, 0, 16, 48)]
    score = Score.from_notes(notes + [Note(v, 16, 32, 60) for v in range(4)], 32, key=Key(0),
                             fermatas=(4, 20))  # fmt: skip
    c = check_musicxml(musicxml_bytes(score))
    assert c.fermatas[0] == [1.0, 4.0]  # the soprano's rest at step 4 carries it
    assert c.fermatas[1] == [0.0, 4.0]  # the alto's whole note, started before step 4


def test_spelling_in_the_key_minor_sixth_and_seventh_flats_and_chromatic_lines() -> None:
    names = [s.name for s in spell_line([66, 65, 66, 62, 63, 65, 66], Key.parse("F# minor"))]
    assert names == ["F#4", "E#4", "F#4", "D4", "D#4", "E#4", "F#4"]  # raised 6th and 7th
    names = [s.name for s in spell_line([64, 63, 62, 60, 61, 62], Key.parse("C major"))]
    assert names == ["E4", "Eb4", "D4", "C4", "C#4", "D4"]  # chromatic down flat, up sharp
    names = [s.name for s in spell_line([61, 63, 65, 66, 68, 70, 72], Key.parse("Db major"))]
    assert names == ["Db4", "Eb4", "F4", "Gb4", "Ab4", "Bb4", "C5"]
    names = [s.name for s in spell_line([61, 63, 65, 66, 68, 70, 72], Key.parse("C# major"))]
    assert names == ["C#4", "D#4", "E#4", "F#4", "G#4", "A#4", "B#4"]


def _accidental_counts(score: Score) -> tuple[int, int, list[str], list[str]]:
    c = check_musicxml(musicxml_bytes(score))
    return c.accidentals_written, c.accidentals_needed, c.redundant, c.missing


@pytest.mark.parametrize("name", TWELVE)
def test_twelve_chorales_write_exactly_the_accidentals_needed(name: str) -> None:
    score = read_midi(CHORALES / name)
    written, needed, redundant, missing = _accidental_counts(score)
    assert redundant == [] and missing == [] and written == needed
    c = check_musicxml(musicxml_bytes(score))
    expected = sorted({f / 4 for f in score.fermatas})
    assert len(c.fermatas) == 4 and all(len(f) == len(expected) for f in c.fermatas)
    assert c.pickup == score.pickup / 4
    assert c.fifths == score.key.sharps and c.mode == score.key.mode


def test_sharp_key_harmonization_has_no_redundant_accidentals() -> None:
    """F# major and F# minor (the findings: 20 of 27 tenor and 17 of 23 alto accidentals were
    already in the key signature)."""
    for key in (Key.parse("F# major"), Key.parse("F# minor")):
        base = read_midi(CHORALES / "riem025-bwv148.6.mid")
        moved = base.transpose((key.tonic - base.key.tonic + 6) % 12 - 6)
        moved.key = key
        written, needed, redundant, missing = _accidental_counts(moved)
        assert redundant == [] and missing == []
        assert written == needed


def written(score: Score, part: int) -> list[list[tuple[str, int, str, str]]]:
    """Per bar of one part: (type, dots, ties, beam 1) of each pitched note as written."""
    root = ET.fromstring(musicxml_bytes(score))
    out = []
    for m in root.findall("part")[part].findall("measure"):
        bar = []
        for n in m.findall("note"):
            if n.find("pitch") is None:
                continue
            ties = ",".join(t.get("type") for t in n.findall("tie"))
            beam = next((b.text for b in n.findall("beam") if b.get("number") == "1"), "")
            bar.append((n.findtext("type"), len(n.findall("dot")), ties, beam))
        out.append(bar)
    return out


def test_ties_across_bar_lines_and_beats_in_4_4() -> None:
    # A whole note on beat 3: half tied to half. A half on beat 2: quarter tied to quarter.
    # A dotted half on beat 1 stays one note.
    score = Score.from_notes([Note(0, 8, 24, 60), Note(1, 4, 12, 55), Note(2, 0, 12, 48),
                              Note(3, 0, 32, 36)], 32)  # fmt: skip
    assert written(score, 0) == [[("half", 0, "start", "")], [("half", 0, "stop", "")]]
    assert written(score, 1)[0] == [("quarter", 0, "start", ""), ("quarter", 0, "stop", "")]
    assert written(score, 2)[0] == [("half", 1, "", "")]


def test_six_eight_is_beamed_and_tied_by_dotted_quarters() -> None:
    # 6/8: six 8ths (two beams of three), then a half note from the bar line (a dotted quarter
    # tied to an 8th, never a half across the beat), then a quarter.
    notes = [Note(0, t, t + 2, 72 - t // 2) for t in range(0, 12, 2)]
    notes += [Note(0, 12, 20, 67), Note(0, 20, 24, 69)]
    notes += [Note(v, 0, 24, 60 - 7 * v) for v in (1, 2, 3)]
    score = Score.from_notes(notes, 24, time_signature=(6, 8), key=Key(0))
    bar1, bar2 = written(score, 0)
    assert [b for *_, b in bar1] == ["begin", "continue", "end"] * 2
    assert bar2 == [("quarter", 1, "start", ""), ("eighth", 0, "stop", ""),
                    ("quarter", 0, "", "")]  # fmt: skip
    assert b"<beat-unit-dot" in musicxml_bytes(score)  # the tempo as dotted quarters


def test_title_credit_and_settings_in_the_encoding_not_on_the_staff(tmp_path) -> None:
    score = chorale_fragment()
    score.title = "Nun danket alle Gott"
    score.meta = {"mode": "harmonize", "model": "bach-satb", "seed": "3"}
    c = check_musicxml(musicxml_bytes(score))
    assert c.title == "Nun danket alle Gott"
    assert "Harmonized by Composer (model bach-satb)" in c.creators
    assert c.words == []  # nothing printed as staff text
    text = musicxml_bytes(score).decode()
    assert "<encoding-description>mode harmonize; model bach-satb; seed 3" in text
    back, _ = read_musicxml_data(musicxml_bytes(score), "x.musicxml")
    assert back.meta == score.meta and back.title == "Nun danket alle Gott"


def test_closed_score_two_staves_two_voices_each(tmp_path) -> None:
    path = write_musicxml(chorale_fragment(), tmp_path / "closed.musicxml", layout="closed")
    c = check_musicxml(path.read_bytes())
    assert c.parts == ["Soprano, Alto", "Tenor, Bass"] and c.clefs == ["G2", "F4"]
    assert c.fermatas == [[0.0, 0.0, 7.0, 7.0]] * 2  # each bar: voice 1, then voice 2
    text = path.read_text()
    assert "<voice>2</voice>" in text and "<stem>down</stem>" in text
    assert c.missing == [] and c.redundant == []
    back, _ = read_musicxml(path)
    assert back.voices == 4
    assert np.array_equal(back.grid, chorale_fragment().grid)


def test_db_major_stays_db_major() -> None:
    score = Score.from_notes([Note(0, 0, 16, 61)], 16, key=Key.parse("Db major"))
    c = check_musicxml(musicxml_bytes(score))
    assert c.fifths == -5
    back, _ = read_musicxml_data(musicxml_bytes(score), "db.musicxml")
    assert str(back.key) == "Db major"


def test_mxl_is_compressed_and_reads_back(tmp_path) -> None:
    path = write_musicxml(chorale_fragment(), tmp_path / "f.mxl")
    assert path.read_bytes()[:2] == b"PK"
    back, _ = read_musicxml(path)
    assert back == chorale_fragment()


@pytest.mark.parametrize("name", TWELVE)
def test_round_trip_through_music21_keeps_every_note(name: str, tmp_path) -> None:
    score = read_midi(CHORALES / name)
    for layout in ("open", "closed"):
        path = write_musicxml(score, tmp_path / f"{layout}.musicxml", layout=layout)
        back, report = read_musicxml(path)
        assert back.differences(score) == [], layout
        assert report.notes_moved == 0 and report.warnings == []


@st.composite
def scores(draw) -> Score:
    """Random scores that MusicXML writes unambiguously: notes at the first and last steps
    (nothing to trim), a pickup shorter than the piece (a bar 0 needs a bar 1 after it)."""
    voices = draw(st.integers(1, 4))
    num, den = draw(st.sampled_from([(4, 4), (3, 4), (2, 4), (6, 8), (3, 2), (2, 2)]))
    per_bar = num * 16 // den
    steps = draw(st.integers(1, 64))
    cells = st.one_of(st.integers(40, 84), st.just(HOLD), st.just(REST))
    grid = np.array(draw(st.lists(cells, min_size=steps * voices, max_size=steps * voices)))
    grid = grid.reshape(steps, voices).astype(np.int16)
    grid[0, 0] = draw(st.integers(40, 84))
    grid[-1, 0] = draw(st.integers(40, 84))  # no trailing silence to trim
    for v in range(voices):
        for t in range(steps):
            if grid[t, v] == HOLD and (t == 0 or grid[t - 1, v] == REST):
                grid[t, v] = REST
    key = draw(st.builds(Key.from_sharps, st.integers(-7, 7), st.sampled_from(["major", "minor"])))
    return Score(grid, tempo=float(draw(st.integers(40, 160))), time_signature=(num, den),
                 key=key, pickup=draw(st.integers(0, min(per_bar, steps) - 1)),
                 fermatas=tuple(draw(st.sets(st.integers(0, steps - 1), max_size=3))),
                 programs=(52,) * voices)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(score=scores())
def test_round_trip_property(score: Score) -> None:
    back, report = read_musicxml_data(musicxml_bytes(score), "rt.musicxml")
    assert np.array_equal(back.grid, score.grid)
    assert back.time_signature == score.time_signature and back.pickup == score.pickup
    assert back.key == score.key and back.key.sharps == score.key.sharps
    assert back.tempo == score.tempo
    c = check_musicxml(musicxml_bytes(score))
    assert c.redundant == [] and c.missing == []


def test_export_needs_no_music21(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['music21'] = None\n"
        "from composer.score import Score\n"
        "from composer.notation.musicxml import write_musicxml\n"
        f"write_musicxml(Score([[60, 55, 48, 36]]), {str(tmp_path / 'x.musicxml')!r})\n"
        "print('OK')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "OK" in out.stdout, out.stderr
    assert (tmp_path / "x.musicxml").exists()


def test_engraving_works_from_any_thread() -> None:
    """verovio keeps its resource path per thread; the score view engraves on workers."""
    pytest.importorskip("verovio")
    import threading

    from composer.notation.engrave import engrave

    score = read_midi(CHORALES / "riem001-bwv269.mid")
    results = []
    for _ in range(2):
        t = threading.Thread(target=lambda: results.append(engrave(score, 800)))
        t.start()
        t.join()
    results.append(engrave(score, 800))
    assert len(results) == 3
    for e in results:
        assert e.bars[0].number == 0 and len(e.bars) == score.bar_of(score.steps - 1) + 1
        assert {n.voice for n in e.notes} == {0, 1, 2, 3}
        assert "<svg class=" not in e.svg  # no nested <svg> left for Qt's SVG Tiny renderer
