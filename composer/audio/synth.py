"""Audio: an in-process FluidSynth with a General MIDI soundfont.

- ``render(score)`` renders a Score offline to a float32 stereo array ``[samples, 2]``.
- ``write_wav(score, path)`` writes that as a 16-bit PCM WAV file, atomically.
- ``LiveSynth`` plays to a real audio output (PulseAudio, JACK, ALSA, CoreAudio, DirectSound)
  and is usable as a MIDI output by the playback scheduler: ``send(mido.Message)``, ``panic()``.

The soundfont is the small GM one that ships inside pretty_midi (``TimGM6mb.sf2``). Voice ``v``
plays on MIDI channel ``v`` (the drum channel 9 is skipped), with the Score's programs (choir
aahs = 52 by default, church organ = 19), as ``composer.midi.io`` writes them.

Needs libfluidsynth (Debian/Ubuntu ``libfluidsynth3``, Homebrew ``fluidsynth``) and
``pip install pyfluidsynth``. Never imports torch or Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import wave
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from composer.errors import AudioError
from composer.fileio import atomic_path
from composer.quiet import quiet_stderr
from composer.score import Score

if TYPE_CHECKING:
    import mido

SAMPLE_RATE = 44100
RELEASE_SECONDS = 1.5  # tail after the last note-off, so notes (and reverb) decay to silence
VELOCITY = 80  # as composer.midi.io writes notes
GAIN = 0.5  # FluidSynth master gain; four choir voices peak near 0.2 of full scale
WAV_PEAK = 0.891  # write_wav normalizes the peak to -1 dBFS
DRUM_CHANNEL = 9
MIDI_CHANNELS = 16

INSTALL_HINT = (
    "install libfluidsynth (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew install "
    "fluidsynth) and `pip install pyfluidsynth`"
)

_lib_lock = threading.Lock()
_fluidsynth: ModuleType | None = None
_write_float = None


def _import_fluidsynth() -> ModuleType:
    """Import pyfluidsynth, turning its failures into one AudioError that says what to install.

    Without libfluidsynth the module raises ImportError/OSError at import time (and pretty_midi
    then wrongly says that pyfluidsynth is missing).
    """
    global _fluidsynth
    if _fluidsynth is not None:
        return _fluidsynth
    try:
        import fluidsynth
    except ModuleNotFoundError as e:
        if e.name != "fluidsynth":
            raise
        raise AudioError(
            f"audio needs pyfluidsynth, which is not installed: {INSTALL_HINT}"
        ) from None
    except (ImportError, OSError) as e:
        raise AudioError(f"cannot load the FluidSynth library ({e}): {INSTALL_HINT}") from None
    if not hasattr(fluidsynth, "Synth"):
        raise AudioError(
            f"the module `fluidsynth` at {getattr(fluidsynth, '__file__', '?')} is not "
            f"pyfluidsynth: `pip uninstall fluidsynth`, then {INSTALL_HINT}"
        )
    _fluidsynth = fluidsynth
    return fluidsynth


def _float_writer():
    """ctypes binding of ``fluid_synth_write_float`` (pyfluidsynth only wraps the int16 one)."""
    global _write_float
    if _write_float is None:
        fs = _import_fluidsynth()
        fn = getattr(fs._fl, "fluid_synth_write_float", None)
        if fn is None:
            return None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                       ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]  # fmt: skip
        fn.restype = ctypes.c_int
        _write_float = fn
    return _write_float


def default_soundfont() -> Path:
    """The General MIDI soundfont shipped inside pretty_midi (``TimGM6mb.sf2``)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise AudioError(
            "no soundfont: the default one ships with pretty_midi, which is not installed "
            "(`pip install pretty_midi`), or pass a .sf2 file"
        )
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise AudioError(
            f"no soundfont: {path} is missing (reinstall pretty_midi with "
            "`pip install --force-reinstall pretty_midi`, or pass a .sf2 file)"
        )
    return path


def voice_channel(voice: int) -> int:
    """MIDI channel (0-15) of a voice: the voice index, skipping the drum channel 9."""
    return voice if voice < DRUM_CHANNEL else voice + 1


def _new_synth(sample_rate: int, soundfont: str | os.PathLike | None, **settings):
    """A fluidsynth.Synth with the soundfont loaded. Returns (synth, soundfont id)."""
    fs = _import_fluidsynth()
    sf_path = Path(soundfont) if soundfont is not None else default_soundfont()
    if not sf_path.is_file():
        raise AudioError(f"soundfont {sf_path} does not exist: pass an existing .sf2 file")
    synth = fs.Synth(gain=GAIN, samplerate=float(sample_rate), **settings)
    sfid = synth.sfload(str(sf_path))
    if sfid < 0:
        synth.delete()
        raise AudioError(f"FluidSynth cannot load the soundfont {sf_path}: is it a .sf2 file?")
    return synth, sfid


def _select_programs(synth, sfid: int, programs: Sequence[int]) -> None:
    for v, program in enumerate(programs):
        if not 0 <= program < 128:
            raise AudioError(f"voice {v}: program {program} is not a General MIDI program 0-127")
        synth.program_select(voice_channel(v), sfid, 0, int(program))


def step_samples(score: Score, sample_rate: int) -> np.ndarray:
    """int64[T + 1]: the sample index where each 16th step starts (the last = end of music)."""
    seconds_per_step = 15.0 / score.tempo
    return np.round(np.arange(score.steps + 1) * seconds_per_step * sample_rate).astype(np.int64)


def render(
    score: Score,
    sample_rate: int = SAMPLE_RATE,
    soundfont: str | os.PathLike | None = None,
    programs: Sequence[int] | None = None,
) -> np.ndarray:
    """Render a Score offline: float32 ``[samples, 2]`` (stereo, left/right), full scale = 1.0.

    Length = the music (``score.steps`` 16ths at ``score.tempo`` quarters per minute) plus
    ``RELEASE_SECONDS`` for the last notes to decay. Notes start and end on the exact sample of
    their step boundary (FluidSynth applies events at its 64-sample block rate, 1.5 ms at 44.1
    kHz). ``programs``: General MIDI program per voice (default ``score.programs``).
    """
    _import_fluidsynth()  # fail first with what to install
    score.validate()
    programs = tuple(score.programs if programs is None else programs)
    if len(programs) < score.voices:
        raise AudioError(f"{len(programs)} programs for {score.voices} voices: give one per voice")
    bounds = step_samples(score, sample_rate)
    total = int(bounds[-1] + round(RELEASE_SECONDS * sample_rate))
    out = np.zeros((total, 2), dtype=np.float32)

    # events[t] = (note-offs, note-ons) at the start of step t; offs come first.
    offs: dict[int, list[tuple[int, int]]] = {}
    ons: dict[int, list[tuple[int, int]]] = {}
    for v in range(score.voices):
        ch = voice_channel(v)
        for n in score.notes(v):
            ons.setdefault(n.start, []).append((ch, n.pitch))
            offs.setdefault(n.end, []).append((ch, n.pitch))
    times = sorted(set(ons) | set(offs))

    with _lib_lock:  # one rendering at a time per process keeps FluidSynth's globals calm
        synth, sfid = _new_synth(sample_rate, soundfont)
        try:
            _select_programs(synth, sfid, programs)
            writer = _float_writer()
            pos = 0
            for t in times:
                pos = _fill(synth, writer, out, pos, int(bounds[t]))
                for ch, pitch in offs.get(t, ()):
                    synth.noteoff(ch, pitch)
                for ch, pitch in ons.get(t, ()):
                    synth.noteon(ch, pitch, VELOCITY)
            _fill(synth, writer, out, pos, total)
        finally:
            synth.delete()
    return out


def _fill(synth, writer, out: np.ndarray, start: int, end: int) -> int:
    """Synthesize samples [start, end) of ``out`` (float32 [N, 2], C-contiguous). Returns end."""
    n = end - start
    if n <= 0:
        return start
    if writer is not None:
        ptr = out.ctypes.data + start * out.strides[0]
        if writer(synth.synth, n, ptr, 0, 2, ptr, 1, 2) != 0:
            raise AudioError("FluidSynth failed to synthesize audio")
    else:  # very old libfluidsynth: int16 only
        out[start:end] = synth.get_samples(n).reshape(-1, 2).astype(np.float32) / 32768.0
    return end


def to_pcm16(audio: np.ndarray, peak: float = WAV_PEAK) -> np.ndarray:
    """float audio ``[samples, channels]`` -> int16, scaled so its peak is ``peak`` of full
    scale (silence stays silence), so it never clips."""
    audio = np.asarray(audio, dtype=np.float32)
    top = float(np.max(np.abs(audio))) if audio.size else 0.0
    scale = peak / top if top > 0 else 1.0
    return np.clip(np.round(audio * scale * 32767.0), -32768, 32767).astype(np.int16)


def write_wav(
    score: Score,
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    soundfont: str | os.PathLike | None = None,
    programs: Sequence[int] | None = None,
) -> Path:
    """Render ``score`` and write a 16-bit PCM stereo WAV, normalized to -1 dBFS, atomically."""
    audio = render(score, sample_rate=sample_rate, soundfont=soundfont, programs=programs)
    pcm = to_pcm16(audio)
    path = Path(path)
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(pcm.shape[1])
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.astype("<i2").tobytes())
    return path


def default_drivers() -> tuple[str, ...]:
    """FluidSynth audio drivers to try, in order, on this platform."""
    if sys.platform == "darwin":
        return ("pulseaudio", "jack", "coreaudio")
    if sys.platform.startswith("win"):
        return ("jack", "wasapi", "dsound", "waveout")
    return ("pulseaudio", "jack", "alsa")


class LiveSynth:
    """An in-process FluidSynth playing to a real audio output; a MIDI output for a scheduler.

    ``driver``: a FluidSynth audio driver name ('pulseaudio', 'jack', 'alsa', 'coreaudio',
    'dsound', ...) or None to try ``default_drivers()`` in order. JACK is never auto-started
    (``JACK_NO_START_SERVER`` is set), and its ports are connected to the system playback.
    Raises AudioError("no audio output: ...") when no driver can open a device.
    ``programs``: General MIDI program of voices 0, 1, 2, ... on their ``voice_channel``
    (default 4 x choir aahs).
    Every method is thread-safe.
    """

    def __init__(
        self,
        driver: str | None = None,
        soundfont: str | os.PathLike | None = None,
        sample_rate: int = SAMPLE_RATE,
        programs: Sequence[int] = (52, 52, 52, 52),
        device: str | None = None,
    ) -> None:
        fs = _import_fluidsynth()
        self._lock = threading.Lock()
        self._synth, self._sfid = _new_synth(sample_rate, soundfont)
        self.driver: str | None = None
        os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never spawn a jackd from here
        tried = []
        for name in (driver,) if driver else default_drivers():
            self._synth.setting("audio.driver", name)
            if name == "jack":
                self._synth.setting("audio.jack.autoconnect", 1)
            if device:
                self._synth.setting(f"audio.{name}.device", device)
            with quiet_stderr():  # FluidSynth, ALSA and JACK print their own failures
                handle = fs.new_fluid_audio_driver(self._synth.settings, self._synth.synth)
            if handle:
                self._synth.audio_driver = handle  # Synth.delete() frees it
                self.driver = name
                break
            tried.append(name)
        if self.driver is None:
            self._synth.delete()
            self._synth = None
            raise AudioError(
                f"no audio output: FluidSynth could not open {', '.join(tried)} (start a sound "
                "server or JACK, or choose another driver); MIDI ports still work"
            )
        for ch, program in enumerate(programs):
            self.set_program(voice_channel(ch), program)

    # --- MIDI output interface ---------------------------------------------------------------
    def send(self, msg: mido.Message) -> None:
        """Play one mido message: note_on/note_off, program_change, control_change, pitchwheel.

        Other messages (clock, sysex, ...) are ignored. A note_on with velocity 0 is a note-off.
        """
        kind = msg.type
        with self._lock:
            s = self._live()
            if kind == "note_on" and msg.velocity > 0:
                s.noteon(msg.channel, msg.note, msg.velocity)
            elif kind in ("note_on", "note_off"):
                s.noteoff(msg.channel, msg.note)
            elif kind == "program_change":
                s.program_select(msg.channel, self._sfid, 0, msg.program)
            elif kind == "control_change":
                s.cc(msg.channel, msg.control, msg.value)
            elif kind == "pitchwheel":
                s.pitch_bend(msg.channel, msg.pitch)

    def panic(self) -> None:
        """All notes off (released, so they fade) and sustain off on every channel."""
        with self._lock:
            if self._synth is None:
                return
            for ch in range(MIDI_CHANNELS):
                self._synth.cc(ch, 64, 0)
                self._synth.all_notes_off(ch)

    def set_program(self, channel: int, program: int) -> None:
        """General MIDI program (0-127) of a channel (0-15), from the soundfont's bank 0."""
        if not 0 <= program < 128 or not 0 <= channel < MIDI_CHANNELS:
            raise AudioError(f"program {program} on channel {channel}: need 0-127 and 0-15")
        with self._lock:
            self._live().program_select(channel, self._sfid, 0, program)

    def set_volume(self, channel: int, volume: int) -> None:
        """Channel volume (MIDI CC 7), 0-127."""
        with self._lock:
            self._live().cc(channel, 7, max(0, min(127, int(volume))))

    def close(self) -> None:
        """Silence everything and release the audio device. Safe to call twice."""
        self.panic()
        with self._lock:
            if self._synth is not None:
                for ch in range(MIDI_CHANNELS):
                    self._synth.all_sounds_off(ch)
                self._synth.delete()
                self._synth = None

    @property
    def closed(self) -> bool:
        return self._synth is None

    def _live(self):
        if self._synth is None:
            raise AudioError("the synth is closed: open a new LiveSynth")
        return self._synth

    def __enter__(self) -> LiveSynth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_synth", None) is not None:
            try:
                self.close()
            except Exception:
                pass
