"""The synth: offline rendering, WAV files, and live output through a real PulseAudio null sink."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from composer.audio import synth
from composer.errors import AudioError
from composer.score import Note, Score

SR = 44100


def chord_then_rest() -> Score:
    """At 120 quarters/min a 16th is 0.125 s: a chord for 2 s, 1 s of rest, a note for 1 s."""
    notes = [Note(0, 0, 16, 72), Note(1, 0, 16, 67), Note(2, 0, 16, 64), Note(3, 0, 16, 48),
             Note(0, 24, 32, 74)]  # fmt: skip
    return Score.from_notes(notes, 32, tempo=120.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def test_default_soundfont_is_pretty_midis() -> None:
    sf = synth.default_soundfont()
    assert sf.name == "TimGM6mb.sf2" and sf.stat().st_size > 1_000_000


def test_render_shape_length_and_silences() -> None:
    score = chord_then_rest()
    audio = synth.render(score)
    music = 32 * 0.125
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.shape[0] == round((music + synth.RELEASE_SECONDS) * SR)
    chord = audio[int(0.2 * SR) : int(1.9 * SR)]
    gap = audio[int(2.9 * SR) : int(3.0 * SR)]  # 0.9 s after the chord's release
    note = audio[int(3.1 * SR) : int(3.9 * SR)]
    tail_end = audio[-int(0.2 * SR) :]  # the last 0.2 s of the 1.5 s release
    assert rms(chord) > 0.01 and rms(note) > 0.005
    assert rms(gap) < rms(chord) / 100
    assert rms(tail_end) < rms(note) / 100
    assert np.abs(audio).max() < 1.0  # float, not clipped
    # Nothing sounds before the first step boundary's 64-sample block.
    assert np.abs(audio[:64]).max() < 1e-3 or rms(audio[: int(0.01 * SR)]) < rms(chord)


def test_render_programs_change_the_sound_and_tempo_the_length() -> None:
    score = chord_then_rest()
    choir = synth.render(score)
    organ = synth.render(score, programs=(19, 19, 19, 19))
    assert choir.shape == organ.shape
    assert not np.allclose(choir, organ, atol=1e-3)
    slow = synth.render(Score(score.grid, tempo=60.0))
    assert slow.shape[0] == round((32 * 0.25 + synth.RELEASE_SECONDS) * SR)


def test_render_is_deterministic_and_empty_score_is_silent() -> None:
    score = chord_then_rest()
    assert np.array_equal(synth.render(score), synth.render(score))
    empty = Score(np.full((8, 4), -1, np.int16), tempo=120.0)
    audio = synth.render(empty)
    assert audio.shape[0] == round((1.0 + synth.RELEASE_SECONDS) * SR)
    assert np.abs(audio).max() < 1e-4


def test_write_wav_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out" / "piece.wav"
    synth.write_wav(chord_then_rest(), path)
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == SR and w.getnchannels() == 2 and w.getsampwidth() == 2
        frames = w.getnframes()
        pcm = np.frombuffer(w.readframes(frames), dtype="<i2").reshape(-1, 2)
    assert frames == round((4.0 + synth.RELEASE_SECONDS) * SR)
    peak = int(np.abs(pcm).max())
    assert 0.85 * 32767 < peak < 32767  # normalized to -1 dBFS, no clipping
    assert [p.name for p in path.parent.iterdir()] == ["piece.wav"]  # no temp file left


def test_write_wav_failure_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    with pytest.raises(AudioError, match="soundfont"):
        synth.write_wav(chord_then_rest(), path, soundfont=tmp_path / "missing.sf2")
    assert list(tmp_path.iterdir()) == []


def test_missing_libfluidsynth_says_what_to_install() -> None:
    # A fresh interpreter where the shared library cannot be found, as on a machine without it.
    code = (
        "import ctypes.util; ctypes.util.find_library = lambda name: None\n"
        "import numpy as np\n"
        "from composer.audio import synth\n"
        "from composer.errors import AudioError\n"
        "from composer.score import Score\n"
        "try:\n    synth.render(Score(np.full((4, 4), 60)))\n"
        "except AudioError as e:\n    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "ERR" in out.stdout, out.stderr
    assert "libfluidsynth3" in out.stdout and "pip install pyfluidsynth" in out.stdout


def test_live_synth_without_a_device_raises_audio_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/composer-test/native")
    with pytest.raises(AudioError, match="^no audio output: .*pulseaudio"):
        synth.LiveSynth(driver="pulseaudio")


@pytest.fixture
def pulse_null_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private PulseAudio server with a null sink; yields the env for its clients."""
    if not all(shutil.which(tool) for tool in ("pulseaudio", "parec", "pactl")):
        pytest.skip("pulseaudio and parec are not installed (apt install pulseaudio "
                    "pulseaudio-utils): cannot test live audio without a sound card")  # fmt: skip
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp_path))
    env.pop("PULSE_SERVER", None)
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "-L", "module-native-protocol-unix auth-anonymous=1",
         "-L", "module-null-sink sink_name=nullsink", "-L", "module-always-sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    socket = runtime / "pulse" / "native"
    try:
        for _ in range(100):
            if socket.exists() or server.poll() is not None:
                break
            time.sleep(0.05)
        env["PULSE_SERVER"] = f"unix:{socket}"
        # The socket appears before the null sink is loaded: a client connecting in between
        # would play into module-always-sink's auto_null instead. Wait for "nullsink".
        for _ in range(100):
            sinks = subprocess.run(["pactl", "list", "short", "sinks"], env=env,
                                   capture_output=True, text=True, timeout=10).stdout  # fmt: skip
            if "nullsink" in sinks or server.poll() is not None:
                break
            time.sleep(0.05)
        else:
            sinks = ""
        if "nullsink" not in sinks:
            server.kill()
            err = server.communicate(timeout=5)[1].decode(errors="replace")[-500:]
            pytest.fail(f"pulseaudio did not start with a null sink: {err}")
        monkeypatch.setenv("PULSE_SERVER", env["PULSE_SERVER"])
        yield env
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.mark.timeout(60)
def test_live_synth_plays_into_pulseaudio(pulse_null_sink: dict, tmp_path: Path) -> None:
    capture = tmp_path / "cap.raw"
    with capture.open("wb") as f:
        rec = subprocess.Popen(
            ["parec", "-d", "nullsink.monitor", "--format=s16le", "--rate=44100",
             "--channels=1", "--latency-msec=20"],
            env=pulse_null_sink, stdout=f,
        )  # fmt: skip
        try:
            for _ in range(100):  # until parec is connected and recording
                if capture.stat().st_size > 0:
                    break
                time.sleep(0.05)
            with synth.LiveSynth(driver=None) as live:
                assert live.driver == "pulseaudio"
                live.set_volume(0, 120)
                live.send(mido.Message("program_change", channel=0, program=19))
                for note in (60, 64, 67):
                    live.send(mido.Message("note_on", channel=0, note=note, velocity=100))
                time.sleep(0.8)
                live.panic()
                time.sleep(0.2)
            assert live.closed
            time.sleep(0.3)
        finally:
            rec.send_signal(signal.SIGINT)  # parec flushes what it recorded and exits
            rec.wait(timeout=5)
    pcm = np.fromfile(capture, dtype=np.int16)
    assert pcm.size > 0.5 * SR, "parec captured less than half a second"
    assert np.abs(pcm).max() > 1000, "the null sink heard silence"
