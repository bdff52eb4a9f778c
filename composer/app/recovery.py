"""Autosave and crash recovery for the window.

Each change to the undo history saves the session (piece, variations, undo history and the
Compose panel's settings) AUTOSAVE_DELAY_MS later, on a worker; composer.app.files writes it
atomically as JSON. A clean exit deletes the file, so one found at start means Composer did
not close normally, and the window offers to restore it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtWidgets import QMessageBox

from composer.app import files

if TYPE_CHECKING:
    from composer.app.mainwindow import MainWindow
    from composer.app.workers import Worker

AUTOSAVE_DELAY_MS = 1500


def default_autosave_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or str(Path.home())
    return Path(base) / "autosave.json"


class Recovery:
    """Autosave and recovery for one MainWindow. ``path``: the autosave file."""

    def __init__(self, window: MainWindow, path: Path) -> None:
        self.window = window
        self.path = path
        self.timer = QTimer(window, singleShot=True, interval=AUTOSAVE_DELAY_MS)
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

    def save_now(self) -> Worker | None:
        """Write the autosave on a worker (nothing when there is no piece)."""
        w = self.window
        if w.doc.piece is None:
            return None
        text = files.autosave_text(w.doc, {"params": dataclasses.asdict(
            w.compose_panel.params())})  # fmt: skip
        return w._run(files.save_autosave, text, self.path, inject=False,
                      on_error=lambda m: w.statusBar().showMessage(f"Autosave failed: {m}"),
                      name="autosave")  # fmt: skip

    def restore(self) -> bool:
        """Load the autosaved session into the window; True if there was one."""
        w = self.window
        try:
            found = files.load_autosave(self.path)
        except Exception as e:
            w.show_error(str(e))
            return False
        if found is None:
            return False
        doc, _extra = found
        w.doc.state, w.doc.undo_stack, w.doc.redo_stack = (
            doc.state, doc.undo_stack, doc.redo_stack)  # fmt: skip
        w.doc.source, w.doc.dirty = doc.source, True
        w.doc._emit("piece", "variations", "locks", "history", "selection")
        w.roll.center_on_music()
        w.statusBar().showMessage("Restored your last session", 6000)
        return True

    def offer(self) -> None:
        """After a crash (an autosave left behind), ask whether to restore it."""
        if not self.path.is_file():
            return
        answer = QMessageBox.question(
            self.window,
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
