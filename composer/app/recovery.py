"""Autosave and crash recovery for the window.

Each change to the undo history saves the session (piece, variations, undo history and the
Compose panel's settings) AUTOSAVE_DELAY_MS later, on a worker; composer.app.files writes it
atomically as JSON. A clean exit deletes the file, so one found at start means Composer did
not close normally, and the window offers to restore it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from composer.app import files
from composer.app.document import Document
from composer.app.workers import Runner, Worker
from composer.errors import ComposerError

AUTOSAVE_DELAY_MS = 1500


def default_autosave_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or str(Path.home())
    return Path(base) / "autosave.json"


class Recovery(QObject):
    """Autosave and recovery of one document. ``path``: the autosave file; ``extra()``: the
    settings saved beside the document (a JSON-ready dict); ``parent``: the widget its question
    is asked over. Signals: ``restored()`` after a session is back in the document;
    ``status(message, ms)`` for the status bar; ``error(message)`` for an error dialog."""

    restored = Signal()
    status = Signal(str, int)
    error = Signal(str)

    def __init__(self, doc: Document, runner: Runner, path: Path, extra: Callable[[], dict],
                 parent: QWidget) -> None:  # fmt: skip
        super().__init__(parent)
        self.doc, self.runner, self.path, self.extra = doc, runner, path, extra
        self.dialog_parent = parent
        self.timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self.timer.timeout.connect(self.save_now)

    def schedule(self) -> None:
        """Autosave AUTOSAVE_DELAY_MS from now (a later call restarts the wait)."""
        self.timer.start()

    def stop(self) -> None:
        """Cancel a scheduled autosave."""
        self.timer.stop()

    def clear(self) -> None:
        """Delete the autosave: a clean exit leaves nothing to recover."""
        self.path.unlink(missing_ok=True)

    def snapshot(self) -> str | None:
        """The session as autosave JSON (None when there is no piece)."""
        if self.doc.piece is None:
            return None
        return files.autosave_text(self.doc, self.extra())

    def write_now(self) -> None:
        """Write the autosave on this thread, now (when the app is told to quit: SIGTERM)."""
        self.stop()
        text = self.snapshot()
        if text is not None:
            files.save_autosave(text, self.path)

    def save_now(self) -> Worker | None:
        """Write the autosave on a worker (nothing when there is no piece)."""
        text = self.snapshot()
        if text is None:
            return None
        return self.runner.run(files.save_autosave, text, self.path, inject=False,
                               on_error=lambda m: self.status.emit(f"Autosave failed: {m}", 0),
                               name="autosave")  # fmt: skip

    def restore(self) -> bool:
        """Load the autosaved session into the document; True if there was one."""
        try:
            found = files.load_autosave(self.path)
        except Exception as e:
            self.error.emit(str(e))
            return False
        if found is None:
            return False
        saved, _extra = found
        self.doc.restore(saved)
        self.restored.emit()
        self.status.emit("Restored your last session", 6000)
        return True

    def offer(self) -> None:
        """After a crash (an autosave left behind), ask whether to restore it. A damaged one is
        not offered: it is set aside (autosave.damaged.json) and the user told why."""
        if not self.path.is_file():
            return
        try:
            if files.load_autosave(self.path) is None:
                return
        except ComposerError as e:
            aside = self.path.with_suffix(".damaged.json")
            try:
                self.path.replace(aside)
                kept = f"; it is kept as {aside}"
            except OSError:
                kept = ""
            self.error.emit(f"{e}{kept}")
            return
        answer = QMessageBox.question(
            self.dialog_parent,
            "Restore your work?",
            "Composer did not close normally last time. Restore the piece, its variations and "
            "the undo history from then?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.Yes,
        )
        if answer == QMessageBox.Yes:
            self.restore()
        else:
            self.clear()
