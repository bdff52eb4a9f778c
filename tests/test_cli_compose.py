"""The composing commands end to end, as a user runs them; bad input gives one line, exit 2."""

import subprocess
import sys
import wave

import numpy as np
import pytest

from composer.midi.io import read_midi, write_midi
from composer.score import HOLD, Score


def composer(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "composer", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)  # fmt: skip


def test_generate_writes_midi_wav_and_musicxml(tmp_path):
    out = composer("generate", "--bars", "4", "--key", "D minor", "--tempo", "80", "--seed", "3",
                   "--out", tmp_path / "d.mid", "--wav", tmp_path / "d.wav",
                   "--musicxml", tmp_path / "d.musicxml")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"wrote {tmp_path / 'd.mid'}" in out.stdout and "seed 3" in out.stdout
    score = read_midi(tmp_path / "d.mid")
    assert score.voices == 4 and score.tempo == 80 and str(score.key) == "D minor"
    assert score.meta["seed"] == "3" and score.meta["mode"] == "generate"
    with wave.open(str(tmp_path / "d.wav")) as w:
        assert w.getframerate() == 44100
        assert w.getnframes() / 44100 > score.seconds  # the music plus its release
    assert "<score-partwise" in (tmp_path / "d.musicxml").read_text()
    again = composer("generate", "--bars", "4", "--key", "D minor", "--tempo", "80", "--seed",
                     "3", "--out", tmp_path / "e.mid")  # fmt: skip
    assert again.returncode == 0
    assert read_midi(tmp_path / "e.mid") == score


def test_variations_are_numbered(tmp_path):
    out = composer("generate", "--bars", "2", "--variations", "3", "--seed", "1",
                   "--out", tmp_path / "v.mid")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v-1.mid", "v-2.mid", "v-3.mid"]


def test_harmonize_continue_regenerate(tmp_path):
    composer("generate", "--bars", "6", "--seed", "5", "--out", tmp_path / "p.mid")
    piece = read_midi(tmp_path / "p.mid")
    melody = Score(piece.grid[:, :1].copy(), pickup=piece.pickup, tempo=piece.tempo)
    write_midi(melody, tmp_path / "tune.mid")
    out = composer("harmonize", tmp_path / "tune.mid", "--out", tmp_path / "h.mid", "--seed", "2")
    assert out.returncode == 0, out.stderr
    h = read_midi(tmp_path / "h.mid")
    assert np.array_equal(h.grid[:, 0], piece.grid[:, 0]) and h.voices == 4

    out = composer("continue", tmp_path / "p.mid", "--bars", "2", "--out", tmp_path / "c.mid")
    assert out.returncode == 0, out.stderr
    c = read_midi(tmp_path / "c.mid")
    assert np.array_equal(c.grid[: piece.steps], piece.grid) and c.steps == piece.steps + 32

    out = composer("regenerate", tmp_path / "p.mid", "--bars", "3-4", "--voices", "alto,tenor",
                   "--out", tmp_path / "r.mid", "--seed", "4")  # fmt: skip
    assert out.returncode == 0, out.stderr
    r = read_midi(tmp_path / "r.mid")
    assert np.array_equal(r.grid[:, [0, 3]], piece.grid[:, [0, 3]])
    start, end = piece.bar_start(3), piece.bar_start(5)
    assert np.array_equal(r.grid[:start], piece.grid[:start])
    assert np.array_equal(r.pitch_grid()[end:], piece.pitch_grid()[end:])


@pytest.mark.parametrize("args, message", [
    (["generate", "--key", "H minor"], "cannot read key"),
    (["generate", "--time-signature", "five"], "time signature"),
    (["generate", "--bars", "0"], "--bars"),
    (["generate", "--top-p", "2"], "--top-p"),
    (["generate", "--model", "/nonexistent/model"], "no model bundle"),
    (["harmonize", "/nonexistent.mid"], "nonexistent.mid"),
    (["regenerate", "PIECE", "--bars", "7-3"], "--bars"),
    (["regenerate", "PIECE", "--bars", "1-2", "--voices", "viola"], "unknown voice"),
])  # fmt: skip
def test_bad_input_gives_one_line_and_exit_2(tmp_path, args, message):
    piece = Score(np.array([[72, 67, 60, 48], [HOLD] * 4] * 32, np.int16))
    write_midi(piece, tmp_path / "p.mid")
    args = [str(tmp_path / "p.mid") if a == "PIECE" else a for a in args]
    out = composer(*args, "--out", tmp_path / "x.mid")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("composer: error:") and message in lines[0]
    assert not (tmp_path / "x.mid").exists()


def test_start_without_a_display_composes_midi_and_wav(tmp_path):
    env_cmd = [sys.executable, "-m", "composer", "start", "--no-gui", "--seed", "1", "--out",
               str(tmp_path / "out" / "chorale")]  # fmt: skip
    out = subprocess.run(env_cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "chorale.mid").exists() and (
        tmp_path / "out" / "chorale.wav"
    ).exists()
    assert str(tmp_path / "out" / "chorale.mid") in out.stdout


def test_gui_without_a_display_says_so():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                            "QT_QPA_PLATFORM")}  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "composer", "gui"], capture_output=True,
                         text=True, env=env, timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().startswith("composer: error: no display")


@pytest.mark.parametrize("command, module, batch_job", [("generate", "compose", True),
                                                        ("harmonize", "compose", True),
                                                        ("gui", "gui", False)])  # fmt: skip
def test_a_batch_job_runs_without_the_garbage_collector(monkeypatch, command, module, batch_job):
    """Run as the program (no argv), a command that composes a file and ends runs with the
    cyclic collector off and OpenBLAS on one thread; a long-running one (the app) as Python
    starts. Either way, what survives is frozen at the end so that exit does not walk it."""
    import gc
    import importlib
    import os

    from composer.cli.main import main

    seen = []
    name = {"generate": "run_generate", "harmonize": "run_harmonize", "gui": "run"}[command]
    monkeypatch.setattr(importlib.import_module(f"composer.cli.{module}"), name,
                        lambda args: seen.append(gc.isenabled()) or 0)  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["composer", command, *(["m.mid"] * (command == "harmonize"))])
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert gc.isenabled()
    try:
        assert main() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen == [not batch_job]
    assert os.environ.get("OPENBLAS_NUM_THREADS") == ("1" if batch_job else None)


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--bars", "4", "--key", "D minor", "--seed", "3", "--particles", "0"],
        ["continue", "primer.mid", "--bars", "2", "--voice-leading", "strict"],
        ["harmonize", "melody.mid", "--part", "2", "--variations", "3"],
        ["regenerate", "piece.mid", "--bars", "2-3", "--voices", "soprano"],
    ],
)
def test_a_batch_jobs_own_parser_reads_its_command_as_the_whole_one_does(argv):
    from composer.cli.main import BATCH_JOBS, BATCH_MODULE, build_parser

    assert argv[0] in BATCH_JOBS
    assert vars(build_parser((BATCH_MODULE,)).parse_args(argv)) == vars(
        build_parser().parse_args(argv)
    )
