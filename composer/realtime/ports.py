"""MIDI ports: list them, open one by name or by a unique part of its name, make virtual ones.

Built on mido with its python-rtmidi backend, loaded lazily (importing this module imports
neither). The backend is chosen by, in order: the ``backend`` argument (``--backend``), the
environment variable ``MIDO_BACKEND``, the system's default (ALSA on Linux, CoreMIDI on macOS,
WinMM on Windows). Short names: ``alsa``, ``jack``, ``coremidi``, ``winmm``; a full mido
backend string (``mido.backends.rtmidi/UNIX_JACK``) is accepted too.

Every failure a user can cause is a :class:`composer.errors.PortError` with a one-line message:
no MIDI system ("no ALSA MIDI here; try --backend jack"), no JACK server, no such port (with
the list of available ones), a name that matches several ports, virtual ports on Windows.

Port names as the backends give them: under JACK, ``client:port`` (e.g.
``RtMidiOut Client:Composer``); a virtual *output* made by another program is one of *our*
inputs (``input_names()``), and the reverse.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from composer.errors import PortError
from composer.quiet import quiet_stderr

RTMIDI = "mido.backends.rtmidi"
#: Short backend names -> rtmidi API names.
BACKENDS: dict[str, str] = {
    "alsa": "LINUX_ALSA",
    "jack": "UNIX_JACK",
    "coremidi": "MACOSX_CORE",
    "winmm": "WINDOWS_MM",
}
#: The JACK backend as mido spells it (also the value for ``MIDO_BACKEND``).
JACK = f"{RTMIDI}/UNIX_JACK"
#: The client name Composer's virtual ports appear under (``Composer:NAME`` in JACK).
CLIENT_NAME = "Composer"

_backends: dict[str, Any] = {}  # spec -> loaded mido.Backend


def backend_spec(backend: str | None = None) -> str:
    """The mido backend string for a short name, a full spec, or None (env, then system)."""
    if backend is None or backend == "":
        return os.environ.get("MIDO_BACKEND") or RTMIDI
    short = backend.strip().lower()
    if short in BACKENDS:
        return f"{RTMIDI}/{BACKENDS[short]}"
    if short in ("default", "system"):
        return RTMIDI
    if backend.startswith("mido.backends."):
        return backend
    raise PortError(
        f"unknown MIDI backend {backend!r}: use one of {', '.join(BACKENDS)}"
        " (or a mido backend such as mido.backends.rtmidi/UNIX_JACK)"
    )


def backend_label(backend: str | None = None) -> str:
    """A short human name for the backend in use: 'jack', 'alsa', ..., or 'system default'."""
    spec = backend_spec(backend)
    api = spec.split("/", 1)[1] if "/" in spec else None
    for short, name in BACKENDS.items():
        if name == api:
            return short
    return "system default" if spec == RTMIDI else spec


def _load(spec: str) -> Any:
    """A loaded mido.Backend for spec, or PortError if its library is missing."""
    if spec in _backends:
        return _backends[spec]
    import mido

    backend = mido.Backend(spec, load=False, use_environ=False)
    try:
        backend.load()
    except ModuleNotFoundError as e:
        if e.name == "rtmidi":
            raise PortError(
                "python-rtmidi is not installed: pip install python-rtmidi "
                "(or chorale-composer[live])"
            ) from None
        raise PortError(f"cannot load MIDI backend {spec}: {e}") from None
    if backend.api and backend.name == RTMIDI:
        available = backend.module.get_api_names()
        if backend.api not in available:
            names = [s for s, a in BACKENDS.items() if a in available]
            raise PortError(
                f"MIDI backend {backend_label(spec)} is not available in this python-rtmidi; "
                f"try --backend {' or '.join(names) or 'jack'}"
            )
    _backends[spec] = backend
    return backend


def _translate(error: BaseException, spec: str) -> PortError:
    """A backend exception -> a one-line PortError saying what to do."""
    text = str(error)
    label = backend_label(spec)
    if "ALSA" in text or (label == "alsa" and "sequencer" in text):
        return PortError("no ALSA MIDI here; try --backend jack")
    if "JACK" in text or label == "jack":
        if "not running" in text or "server" in text.lower():
            return PortError(
                "JACK server not running? Start one (e.g. jackd -d dummy) or choose another "
                "--backend"
            )
        return PortError(f"JACK MIDI error: {text}")
    if label == "system default" and sys.platform.startswith("linux"):
        return PortError(f"no MIDI system here ({text}); try --backend jack")
    return PortError(f"MIDI system not available ({label}): {text}")


@contextlib.contextmanager
def _backend_errors(spec: str) -> Iterator[None]:
    """Turn rtmidi's SystemError / RtMidiError (and mido's OSError) into PortError."""
    try:
        with quiet_stderr():
            yield
    except PortError:
        raise
    except (OSError, SystemError, RuntimeError) as e:  # rtmidi.SystemError is an OSError
        raise _translate(e, spec) from None


@dataclass(frozen=True)
class PortList:
    """The port names a backend sees: inputs (we can read from) and outputs (we can send to)."""

    backend: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def list_ports(backend: str | None = None) -> PortList:
    """All MIDI input and output port names. Raises PortError if there is no MIDI system."""
    spec = backend_spec(backend)
    mido_backend = _load(spec)
    with _backend_errors(spec):
        inputs = tuple(mido_backend.get_input_names())
        outputs = tuple(mido_backend.get_output_names())
    return PortList(backend_label(spec), inputs, outputs)


def input_names(backend: str | None = None) -> list[str]:
    return list(list_ports(backend).inputs)


def output_names(backend: str | None = None) -> list[str]:
    return list(list_ports(backend).outputs)


def find_port(query: str, names: list[str] | tuple[str, ...], kind: str = "output") -> str:
    """The one name equal to query, or else the one containing it (case-insensitive).

    Raises PortError when none or several match, listing the candidates.
    """
    if query in names:
        return query
    q = query.casefold()
    matches = [n for n in names if q in n.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        listed = "; ".join(names) if names else "none"
        raise PortError(
            f"no MIDI {kind} port matches {query!r}; available {kind}s: {listed} "
            "(see `composer ports`)"
        )
    raise PortError(
        f"{query!r} matches several MIDI {kind} ports: {'; '.join(matches)}; give more of the name"
    )


def _check_virtual(spec: str) -> None:
    if sys.platform == "win32" or backend_label(spec) == "winmm":
        raise PortError(
            "virtual MIDI ports are not possible on Windows: make one with a loopback driver "
            "such as loopMIDI and open it with --out-port / --in-port"
        )


def open_output(
    name: str | None = None,
    *,
    virtual: str | None = None,
    backend: str | None = None,
    client_name: str = CLIENT_NAME,
) -> Any:
    """Open an output port (a mido port with ``send``).

    name: an existing port, its exact name or a unique part of it. virtual: instead, create a
    port with this name that other programs connect to (macOS, Linux; under client_name).
    """
    spec = backend_spec(backend)
    before = _input_names(spec) if virtual is not None else ()
    port = _open(spec, "output", name, virtual, client_name,
                 "no MIDI output given: use --out-port NAME or --virtual NAME")  # fmt: skip
    if virtual is not None:  # the name other programs see: JACK makes a second "Composer"
        new = [n for n in _input_names(spec) if n not in before]  # "Composer-01"
        port.real_name = new[0] if len(new) == 1 else f"{client_name}:{virtual}"
    else:
        port = WatchedOutput(port, spec)
    return DrainingOutput(port) if backend_label(spec) == "jack" else port


def _input_names(spec: str) -> tuple[str, ...]:
    with contextlib.suppress(PortError):
        with _backend_errors(spec):
            return tuple(_load(spec).get_input_names())
    return ()


class WatchedOutput:
    """An output port opened by name that notices when the port goes away and opens it again
    when it comes back. ``check()`` (from the owner's thread, now and then; it looks at most
    every ``every`` seconds) returns what to tell the user; messages sent while the port is away
    are dropped (the stream goes on)."""

    def __init__(self, port: Any, spec: str, every: float = 0.5) -> None:
        self._port = port
        self._spec = spec
        self._every = every
        self._next_check = time.monotonic() + every
        self.target = port.name
        self.away = False

    @property
    def name(self) -> str:
        return self.target

    @property
    def closed(self) -> bool:
        return self._port.closed

    def send(self, msg: Any) -> None:
        if not self.away:
            with contextlib.suppress(OSError, SystemError, RuntimeError):
                self._port.send(msg)

    def check(self) -> list[str]:
        now = time.monotonic()
        if now < self._next_check or self._port.closed:
            return []
        self._next_check = now + self._every
        try:
            with _backend_errors(self._spec):
                present = self.target in self._names()
        except PortError:
            return []
        if self.away == (not present):
            return []
        if not present:
            self.away = True
            return [f"MIDI port {self.target} went away; the stream goes on and will send to it "
                    "again when it is back"]  # fmt: skip
        try:
            with _backend_errors(self._spec):
                fresh = _load(self._spec).open_output(self.target)
        except PortError as e:
            return [f"MIDI port {self.target} is back but cannot be opened: {e}"]
        with contextlib.suppress(Exception):
            self._port.close()
        self._port, self.away = fresh, False
        return [f"MIDI port {self.target} is back: sending to it again"]

    def _names(self) -> list[str]:
        """The output ports there are, through our own port's rtmidi object: the backend's
        listing opens a new client each time, and a new JACK client makes the server rebuild its
        graph (tens of milliseconds in which nothing plays)."""
        rt = getattr(self._port, "_rt", None)
        if rt is not None and hasattr(rt, "get_ports"):
            return list(rt.get_ports())
        return list(_load(self._spec).get_output_names())

    def close(self) -> None:
        self._port.close()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._port, attr)


def _open(
    spec: str,
    kind: str,
    name: str | None,
    virtual: str | None,
    client_name: str,
    missing: str,
    **kw: Any,
) -> Any:
    """Open a mido port of kind "input" or "output": a virtual one, or an existing one by
    (part of) its name; every failure is a one-line PortError (missing: when no name is given)."""
    if virtual is not None:
        _check_virtual(spec)
    mido_backend = _load(spec)
    opener = getattr(mido_backend, f"open_{kind}")
    if virtual is not None:
        with _backend_errors(spec):
            return opener(virtual, client_name=client_name, **kw)
    if not name:
        raise PortError(missing)
    with _backend_errors(spec):
        names = getattr(mido_backend, f"get_{kind}_names")()
    full = find_port(name, names, kind)
    with _backend_errors(spec):
        return opener(full, **kw)


class DrainingOutput:
    """A JACK output port whose ``close`` waits until what was just sent has left.

    rtmidi queues JACK messages for the client's next period, and jackd (in its default
    asynchronous mode) hands them on one period later still; closing the port at once can drop
    the last note-offs. ``close`` waits up to ``drain`` seconds after the last send (several
    periods at any usual buffer size); everything else is the mido port's own.
    """

    def __init__(
        self,
        port: Any,
        drain: float = 0.15,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._port = port
        self._drain = drain
        self._clock = clock
        self._sleep = sleep
        self._last_send = float("-inf")

    def send(self, msg: Any) -> None:
        self._port.send(msg)
        self._last_send = self._clock()

    def check(self) -> list[str]:
        check = getattr(self._port, "check", None)
        return check() if check is not None else []

    def close(self) -> None:
        if not self._port.closed:
            wait = self._last_send + self._drain - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._port.close()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._port, attr)

    def __enter__(self) -> DrainingOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DrainingOutput({self._port!r})"


def open_input(
    name: str | None = None,
    *,
    virtual: str | None = None,
    backend: str | None = None,
    callback: Callable[[Any], None] | None = None,
    client_name: str = CLIENT_NAME,
) -> Any:
    """Open an input port (a mido port; ``callback(msg)`` runs on the backend's thread).

    name: an existing port, its exact name or a unique part of it. virtual: create one instead.
    Clock messages (MIDI Beat Clock) are delivered; active sensing is filtered out.
    """
    return _open(backend_spec(backend), "input", name, virtual, client_name,
                 "no MIDI input given: use --in-port NAME", callback=callback)  # fmt: skip
