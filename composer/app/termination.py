"""SIGTERM (logout, shutdown, ``kill``), SIGHUP (the terminal closed) and SIGINT (Ctrl-C) close
the window as Quit does, without asking: playback stops with every note released, workers are
joined, settings saved. Work not yet exported is first written to the autosave, which the next
start offers back; nothing is lost.

Python runs a signal handler only when the interpreter gets control, which Qt's event loop
does not give it while idle: ``signal.set_wakeup_fd`` writes a byte to a socket that a
QSocketNotifier watches, so the handler runs as soon as the signal arrives.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from collections.abc import Callable

from PySide6.QtCore import QSocketNotifier, QTimer

SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))


def close_for_signal(app, window, signum: int) -> None:
    """Close ``window`` without asking, keep unexported work in its autosave, leave the event
    loop (exit status 0: the request was carried out)."""
    name = signal.Signals(signum).name
    doc = window.doc
    keep = doc.piece is not None and doc.dirty
    window.ask_on_close = lambda: "discard"  # the autosave below keeps the work
    window.close()  # stops playback (note-offs), joins workers, saves settings
    note = ""
    if keep:
        try:
            window.recovery.write_now()
            note = "; your unexported work is kept and offered at the next start"
        except Exception as e:  # noqa: BLE001 - report, then still quit as asked
            note = f"; the autosave could not be written ({e})"
    print(f"composer: {name}: closed{note}", file=sys.stderr, flush=True)
    app.exit(0)


def install(app, window) -> Callable[[], None]:
    """Route SIGTERM, SIGHUP and SIGINT to ``close_for_signal``; returns the undo."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Read, window)
    received: list[int] = []

    def drain(*_args) -> None:  # Python code runs: the pending handlers have run before it
        with contextlib.suppress(OSError):
            while reader.recv(64):
                pass

    def handler(signum, _frame) -> None:
        if not received:  # the first signal closes; more while closing are ignored
            received.append(signum)
            QTimer.singleShot(0, lambda: close_for_signal(app, window, signum))

    notifier.activated.connect(drain)
    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}

    def uninstall() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()

    return uninstall
