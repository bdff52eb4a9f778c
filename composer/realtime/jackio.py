"""What Composer's JACK clients share: opening one, JACK's frame clock, last-resort note-offs.

- :func:`jack_unavailable` says why a JACK-native client cannot run here (no JACK-Client
  package, no libjack, no server), for a one-line note; :func:`open_client` opens one or raises
  :class:`composer.errors.PortError`.
- :class:`FrameCounter` turns JACK's 32-bit ``last_frame_time`` into a 64-bit frame count.
- :class:`JackTime` maps JACK frames to JACK's microsecond clock (``jack_frames_to_time``,
  smoothed by JACK's own delay-locked loop) and to any other monotonic clock, such as Ableton
  Link's; JACK-Client does not wrap these calls, so they go through ctypes.
- :func:`release_once` sends note-offs through a one-off client when a client of ours is gone.

Needs the optional ``JACK-Client`` package (``import jack``) and a running JACK server.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Sequence
from typing import Any

from composer.errors import PortError
from composer.quiet import quiet_stderr

CLIENT_NAME = "Composer"
NOTE_OFF = 0x80
ROLLING = 1  # jack.ROLLING, without importing jack here


def jack_unavailable() -> str | None:
    """None if a JACK-native client can run here, else a short reason (for a one-line note)."""
    try:
        import jack
    except ImportError:
        return "JACK-Client is not installed (pip install JACK-Client)"
    except OSError as e:  # cffi could not load libjack
        return f"libjack cannot be loaded ({e})"
    try:
        with quiet_stderr():
            client = jack.Client("composer-probe", no_start_server=True)
    except jack.JackError:
        return "no JACK server is running"
    client.close()
    return None


def open_client(name: str) -> Any:
    """A new ``jack.Client`` (JACK may rename it ``name-01`` if the name is taken: read
    ``client.name``); PortError without a server."""
    import jack

    try:
        with quiet_stderr():
            return jack.Client(name, no_start_server=True)
    except jack.JackError:
        raise PortError(
            "JACK server not running? Start one (e.g. jackd -d dummy) or choose another --backend"
        ) from None


class FrameCounter:
    """64-bit frame times from JACK's 32-bit ``last_frame_time`` (it wraps after 2**32 frames,
    about a day at 48 kHz). ``update(lft)`` in each process callback returns the period's start."""

    def __init__(self) -> None:
        self.frame = 0
        self._last: int | None = None

    def update(self, lft: int) -> int:
        if self._last is None:
            self.frame = lft
        else:
            self.frame += (lft - self._last) & 0xFFFFFFFF
        self._last = lft
        return self.frame


_libjack: Any = None


def _lib() -> Any:
    global _libjack
    if _libjack is None:
        path = ctypes.util.find_library("jack") or "libjack.so.0"
        lib = ctypes.CDLL(path)
        lib.jack_get_time.restype = ctypes.c_uint64
        lib.jack_get_time.argtypes = []
        lib.jack_frames_to_time.restype = ctypes.c_uint64
        lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        _libjack = lib
    return _libjack


class JackTime:
    """JACK frames -> microseconds, on JACK's clock or on another one (``other()`` returning
    microseconds, e.g. ``link.clock().micros``).

    ``usecs(frame)``: when the frame is played, on JACK's clock (``jack_frames_to_time``, which
    JACK smooths with a delay-locked loop over its periods). ``offset()``: the other clock minus
    JACK's, read back to back (the two are monotonic clocks of the same machine; JACK uses
    CLOCK_MONOTONIC, Link CLOCK_MONOTONIC_RAW, which drift apart by parts per million, so the
    offset is read again every period).
    """

    def __init__(self, client: Any, other: Any = None) -> None:
        import jack

        self.lib = _lib()
        self.ptr = int(jack._ffi.cast("uintptr_t", client._ptr))
        self.other = other

    def usecs(self, frame: int) -> int:
        return self.lib.jack_frames_to_time(self.ptr, frame & 0xFFFFFFFF)

    def now(self) -> int:
        return self.lib.jack_get_time()

    def offset(self) -> int:
        """other clock - JACK's clock, in microseconds (the smaller of two tries' spans)."""
        get, other = self.lib.jack_get_time, self.other
        best = None
        for _ in range(2):
            a = get()
            o = other()
            b = get()
            if best is None or b - a < best[0]:
                best = (b - a, o - (a + b) // 2)
        return best[1]


def release_once(
    notes: Sequence[tuple[int, int]],
    destinations: Sequence[str],
    client_name: str = f"{CLIENT_NAME}-release",
    timeout: float = 1.0,
    extra: Sequence[bytes] = (),
) -> bool:
    """Send note-offs for (channel, pitch) pairs (and ``extra`` raw messages, e.g. a MIDI stop)
    to JACK MIDI input ports through a new client.

    For when a client of ours is gone. True if JACK took them (a period passed after they were
    written); False if there is no JACK server to take them.
    """
    if (not notes and not extra) or not destinations:
        return True
    try:
        client = open_client(client_name)
    except PortError:
        return False
    port = client.midi_outports.register("out")
    state = {"go": False, "cycles": 0}
    done = threading.Event()

    def process(frames: int) -> None:
        port.clear_buffer()
        if not state["go"]:
            return
        if state["cycles"] == 0:
            for ch, pitch in notes:
                port.write_midi_event(0, bytes((NOTE_OFF | ch, pitch, 0)))
            for data in extra:
                port.write_midi_event(0, data)
        state["cycles"] += 1
        if state["cycles"] >= 2:
            done.set()

    try:
        client.set_process_callback(process)
        client.activate()
        for name in destinations:
            with contextlib.suppress(Exception):
                client.connect(port, name)
        state["go"] = True
        return done.wait(timeout)
    finally:
        with contextlib.suppress(Exception):
            client.deactivate()
        client.close()
