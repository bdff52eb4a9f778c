"""Fuzzing the reader: damaged copies of real files (written by write_midi and by music21)
raise MidiFileError or read into a valid Score; never another exception, never a hang.

The larger run (50,000 inputs, with per-input timing) is ``bench/fuzz_midi.py``.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from midi_fixtures import MUTATION_KINDS, mutate, seed_files

from composer.errors import MidiFileError
from composer.midi.io import read_midi, read_midi_data

SEED = 20240611
INPUTS = 8000


def _read(data: bytes, name: str) -> str:
    """'read' or 'refused'; any other exception propagates."""
    try:
        score, _ = read_midi_data(data, name)
    except MidiFileError as e:
        assert name in str(e) and "\n" not in str(e)
        return "refused"
    score.validate()
    assert 0 < score.steps and 0 < score.voices <= 4
    return "read"


@pytest.mark.timeout(120)
def test_mutated_files_raise_only_midi_file_error() -> None:
    rng = random.Random(SEED)
    seeds = seed_files()
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    other: list[tuple[int, str, str]] = []
    for i in range(INPUTS):
        kind, data = mutate(seeds[i % len(seeds)], rng, seeds)
        kinds[kind] += 1
        try:
            outcomes[_read(data, f"fuzz{i}.mid")] += 1
        except Exception as e:  # noqa: BLE001 - collected, then reported all at once
            other.append((i, kind, repr(e)))
    assert other == []
    assert set(kinds) == set(MUTATION_KINDS)  # every kind of damage was tried
    assert outcomes["refused"] > INPUTS // 4 and outcomes["read"] > INPUTS // 20


@pytest.mark.timeout(60)
def test_mutated_files_on_disk(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    seeds = seed_files()
    for i in range(200):
        _, data = mutate(seeds[i % len(seeds)], rng, seeds)
        path = tmp_path / f"f{i}.mid"
        path.write_bytes(data)
        try:
            read_midi(path)
        except MidiFileError as e:
            assert str(path) in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, 10),
    edits=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 4000)),
    insert=st.binary(max_size=12),
)
def test_hypothesis_edits_raise_only_midi_file_error(which, edits, cut, insert) -> None:
    seeds = seed_files()
    data = bytearray(seeds[which % len(seeds)])
    for pos, value in edits:
        data[pos % len(data)] = value
    if insert:
        at = edits[0][0] % len(data) if edits else len(data) // 2
        data[at:at] = insert
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    _read(bytes(data), "hyp.mid")


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), fmt=st.integers(0, 3), division=st.integers(0, 65535))
def test_hypothesis_random_track_bodies(body: bytes, fmt: int, division: int) -> None:
    header = b"MThd\x00\x00\x00\x06" + fmt.to_bytes(2, "big") + b"\x00\x01"
    data = header + division.to_bytes(2, "big") + b"MTrk" + len(body).to_bytes(4, "big") + body
    _read(data, "body.mid")
