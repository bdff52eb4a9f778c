"""The chorale corpus: every file round-trips exactly; the manifest and split hold; JSB loads."""

import dataclasses
import hashlib
import json

import pytest

from composer.corpus import DATA_DIR, load_chorales, load_jsb, load_manifest
from composer.errors import DataError
from composer.midi.io import read_midi, write_midi


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()


def test_manifest_counts_and_split(manifest):
    chorales = manifest["chorales"]
    assert len(chorales) >= 320
    splits = {e["split"] for e in chorales}
    assert splits == {"train", "valid", "test"}
    n = len(chorales)
    share = {s: sum(e["split"] == s for e in chorales) / n for s in splits}
    assert 0.75 < share["train"] < 0.85 and 0.07 < share["valid"] < 0.13
    # a tune (melody signature) never straddles two splits
    split_of = {}
    for e in chorales:
        assert split_of.setdefault(e["group"], e["split"]) == e["split"]
    assert all(r["reason"] for r in manifest["rejected"])


def test_checksums_match(manifest):
    for e in manifest["chorales"]:
        data = (DATA_DIR / e["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"], e["file"]


def test_every_chorale_round_trips_exactly(tmp_path, manifest):
    for e in manifest["chorales"]:
        score = read_midi(DATA_DIR / e["file"])
        assert score.voices == 4 and score.steps == e["steps"]
        assert f"{score.time_signature[0]}/{score.time_signature[1]}" == e["time_signature"]
        out = tmp_path / "x.mid"
        write_midi(score, out)
        back = read_midi(out)
        assert back == score, (e["file"], score.differences(back))


def test_music21_to_corpus_file_is_exact(manifest):
    """music21's chorale -> Score equals what the committed MIDI file reads back as."""
    music21 = pytest.importorskip("music21")
    from composer.corpus import m21_to_score

    for entry in manifest["chorales"][:3] + [e for e in manifest["chorales"] if e["bwv"] == "56.5"]:
        direct = m21_to_score(music21.corpus.parse(f"bach/bwv{entry['bwv']}"))
        assert read_midi(DATA_DIR / entry["file"]) == direct, entry["file"]


def test_load_chorales_by_split(manifest):
    valid = load_chorales("valid")
    assert len(valid) == sum(e["split"] == "valid" for e in manifest["chorales"])


def test_jsb_loader(tmp_path):
    train = load_jsb("jsb-quarter", "train")
    assert len(train) == 229
    assert sum(len(p) for p in train) == 13807
    with pytest.raises(DataError, match="no split"):
        load_jsb("jsb-quarter", "test")
    with pytest.raises(DataError, match="not found"):
        load_jsb(path=tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="cannot read"):
        load_jsb(path=bad)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"valid": [[[60, 64], []]]}))
    assert load_jsb(path=ok, split="valid") == [[[60, 64], []]]


def test_a_chorale_is_in_the_key_it_ends_in(manifest):
    from composer.corpus import home_key

    def read(id_: str):
        [entry] = [e for e in manifest["chorales"] if e["id"] == id_]
        return read_midi(DATA_DIR / entry["file"])

    dorian = read("riem019-bwv351")  # G minor written with one flat: the signature says D minor
    assert str(dorian.key) == "D minor" and str(home_key(dorian)) == "G minor"
    phrygian = read("riem010-bwv38.6")  # A minor, closing on E major: the signature stands
    assert str(home_key(phrygian)) == "A minor"
    plain = read("riem001-bwv269")
    assert home_key(plain) == plain.key
    assert all(s.key == home_key(s) for s in load_chorales("valid"))


def test_a_dorian_melody_is_harmonized_in_its_key(manifest):
    from composer.theory.plan import melody_key

    def soprano(id_: str):
        [entry] = [e for e in manifest["chorales"] if e["id"] == id_]
        score = read_midi(DATA_DIR / entry["file"])
        return dataclasses.replace(score, grid=score.grid[:, :1].copy())

    dorian = soprano("riem206-bwv412")  # G minor with one flat: the file says D minor
    assert str(dorian.key) == "D minor" and str(melody_key(dorian)) == "G minor"
    plain = soprano("riem001-bwv269")
    assert melody_key(plain) == plain.key
    phrygian = soprano("riem010-bwv38.6")  # A minor, the tune ending on E: a note of its triad
    assert melody_key(phrygian) == phrygian.key
