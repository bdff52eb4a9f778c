"""Run plain core calls off the GUI thread.

``Worker(fn, *args, **kwargs)`` is a QThread that calls ``fn(*args, progress=..., cancel=...,
**kwargs)`` (pass ``inject=False`` for functions that take neither). If ``fn`` returns a
generator, each item is emitted as ``yielded`` and the generator's return value as ``finished``.
Signals: ``progress(float 0..1)``, ``yielded(object)``, ``finished_ok(object)``,
``errored(str)`` (a one-line message), ``aborted()``. ``cancel()`` asks the job to stop; the
job checks ``cancel()`` (cooperative) and a cancelled job, or one that raises
composer.errors.Cancelled, ends with ``aborted`` unless it returned first.

``Runner`` starts workers for a window and its controllers and keeps them until they end; a
job's error goes to its own ``on_error``, or else to the runner's ``failed(name, message)``.

Every started worker is tracked in ``live_workers()`` until its thread ends, so the app can
cancel and join them on quit and tests can check that none is left running.
"""

from __future__ import annotations

import inspect
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from composer.errors import Cancelled, ComposerError

_live: set[Worker] = set()
_live_lock = threading.Lock()


def live_workers() -> list[Worker]:
    """Workers whose thread has been started and has not finished yet."""
    with _live_lock:
        return [w for w in _live if w.isRunning()]


def stop_all(timeout_ms: int = 5000) -> bool:
    """Cancel every live worker and wait for each to end; True if all ended within
    ``timeout_ms``. One that has not (loading a model cannot be cancelled) is waited for until it
    ends, with a line on stderr: a QThread destroyed while it runs aborts the process."""
    workers = list(live_workers())
    for w in workers:
        w.cancel()
    ok = True
    for w in workers:
        if not w.wait(timeout_ms):
            print(f"composer: waiting for '{w.name}' to finish", file=sys.stderr, flush=True)
            w.wait()
            ok = False
    return ok


class Worker(QThread):
    """One job on its own thread; see the module docstring."""

    progress = Signal(float)
    yielded = Signal(object)
    finished_ok = Signal(object)  # QThread already has a `finished` signal with no arguments
    errored = Signal(str)
    aborted = Signal()  # cancelled: nothing to report

    def __init__(self, fn: Callable[..., Any], *args: Any, inject: bool = True,
                 name: str = "", **kwargs: Any) -> None:  # fmt: skip
        super().__init__()
        self.fn, self.args, self.kwargs, self.inject = fn, args, kwargs, inject
        self.name = name or getattr(fn, "__name__", "job")
        self._cancel = threading.Event()
        self.setObjectName(f"Worker:{self.name}")
        self.finished.connect(self._forget)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def start(self, *a: Any) -> None:  # type: ignore[override]
        with _live_lock:
            _live.add(self)
        super().start(*a)

    def _forget(self) -> None:
        self.wait()  # finished is emitted just before the thread ends: let it end
        with _live_lock:
            _live.discard(self)

    def run(self) -> None:  # runs on the worker thread
        kwargs = dict(self.kwargs)
        if self.inject:
            kwargs["progress"] = self._report
            kwargs["cancel"] = self.cancelled
        try:
            result = self.fn(*self.args, **kwargs)
            if inspect.isgenerator(result):
                result = self._drain(result)
        except ComposerError as e:
            if isinstance(e, Cancelled) or self.cancelled():
                self.aborted.emit()
            else:
                self.errored.emit(str(e))
            return
        except Exception as e:  # a bug in the core: report it, never take the app down
            traceback.print_exc()
            if self.cancelled():
                self.aborted.emit()
            else:
                self.errored.emit(f"{type(e).__name__}: {e}")
            return
        if self.cancelled() and result is None:
            self.aborted.emit()
        else:
            self.finished_ok.emit(result)

    def _drain(self, gen) -> Any:
        try:
            while True:
                if self.cancelled():
                    gen.close()
                    return None
                self.yielded.emit(next(gen))
        except StopIteration as stop:
            return stop.value

    def _report(self, fraction: float) -> None:
        self.progress.emit(float(fraction))


class Runner(QObject):
    """Starts the workers of one window (and of the controllers it hands this to) and keeps each
    until its thread ends (``workers``). ``failed(name, message)``: a job without an
    ``on_error`` of its own failed."""

    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workers: set[Worker] = set()

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[float], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        inject: bool = True,
        name: str = "",
        **kwargs: Any,
    ) -> Worker:
        """Start ``fn(*args, **kwargs)`` on a Worker (see the module docstring) and return it."""
        w = Worker(fn, *args, inject=inject, name=name, **kwargs)
        if on_done:
            w.finished_ok.connect(on_done)
        w.errored.connect(on_error or (lambda msg, n=w.name: self.failed.emit(n, msg)))
        if on_progress:
            w.progress.connect(on_progress)
        if on_cancel:
            w.aborted.connect(on_cancel)
        self.workers.add(w)
        w.finished.connect(lambda w=w: self.workers.discard(w))
        w.start()
        return w

    def wait_all(self) -> None:
        """Wait for every job started here to end."""
        for w in list(self.workers):
            w.wait()
