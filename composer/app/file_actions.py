"""Files from the window: the Open and Export dialogs, the workers that read and write (the
work itself is composer.app.files, off the GUI thread), the Open Recent menu and dropped MIDI files.

The last folder used and the recent files (newest first, at most RECENT_MAX) are kept in the
window's QSettings as 'last_dir' and 'recent'.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from composer.app import files
from composer.export import FORMATS, export_score

if TYPE_CHECKING:
    from composer.app.mainwindow import MainWindow
    from composer.app.workers import Worker

RECENT_MAX = 8


class FileActions:
    """Open, export, recent files and drops for one MainWindow (its document, status bar,
    error dialogs, workers and settings)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def open_dialog(self) -> None:
        w = self.window
        start = w.settings.value("last_dir", str(Path.home()))
        kinds = "MIDI files (*.mid *.midi);;All files (*)"
        path, _ = QFileDialog.getOpenFileName(w, "Open MIDI file", start, kinds)
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> Worker:
        """Read a MIDI file on a worker; four voices open as a piece, one as a melody."""
        w = self.window
        w.statusBar().showMessage(f"Opening {Path(path).name}…")

        def done(result, path=path) -> None:
            kind, score = result
            if kind == "melody":
                w.doc.open_melody(score, source=path)
                w.compose_panel.set_mode("harmonize")
                msg = "Melody opened: press Ctrl+G to harmonize it"
            else:
                w.doc.open_piece(score, source=path)
                msg = f"Opened {Path(path).name}: {score.bars} bars"
            w.roll.fit_width()
            w.roll.center_on_music()
            w.statusBar().showMessage(msg, 6000)
            self.add_recent(path)

        def failed(msg: str, path=path) -> None:
            w.show_error(f"Cannot open {Path(path).name}: {msg}")

        return w._run(files.open_midi, path, inject=False, on_done=done, on_error=failed,
                      name="open")  # fmt: skip

    def export_dialog(self) -> None:
        w = self.window
        if w.doc.piece is None:
            w.statusBar().showMessage("Nothing to export yet", 4000)
            return
        start = w.settings.value("last_dir", str(Path.home()))
        stem = Path(w.doc.source).stem if w.doc.source else "chorale"
        filters = [f"{f.label} (*{f.suffixes[0]})" for f in FORMATS]
        path, chosen = QFileDialog.getSaveFileName(
            w, "Export", str(Path(start) / f"{stem}.mid"), ";;".join(filters))  # fmt: skip
        if path:
            if not Path(path).suffix:  # the suffix of the format chosen in the dialog
                path += FORMATS[filters.index(chosen) if chosen in filters else 0].suffixes[0]
            self.export(path)

    def export(self, path: str) -> Worker | None:
        """Export the piece to ``path`` (format by suffix, at the transport's tempo and the
        mixer's programs) on a worker."""
        w = self.window
        score = w.doc.piece
        if score is None:
            return None
        score = dataclasses.replace(score, tempo=float(w.transport.tempo.value()),
                                    meta=dict(score.meta))  # fmt: skip
        w.statusBar().showMessage(f"Exporting {Path(path).name}…")

        def done(written, path=path) -> None:
            w.doc.mark_exported()
            w.settings.setValue("last_dir", str(Path(path).parent))
            w.statusBar().showMessage(f"Exported {written}", 6000)

        def failed(msg: str, path=path) -> None:
            w.show_error(f"Cannot export {Path(path).name}: {msg}")

        return w._run(export_score, score, path, None, w.mixer.programs(), inject=False,
                      on_done=done, on_error=failed, name="export")  # fmt: skip

    # --- drag and drop ------------------------------------------------------------------------
    def drag_enter(self, e) -> None:
        """Accept a drag that carries a MIDI file (QDragEnterEvent)."""
        urls = e.mimeData().urls() if e.mimeData().hasUrls() else []
        if any(u.toLocalFile().lower().endswith(files.MIDI_SUFFIXES) for u in urls):
            e.acceptProposedAction()

    def drop(self, e) -> None:
        """Open the first MIDI file dropped (QDropEvent)."""
        for u in e.mimeData().urls():
            if u.toLocalFile().lower().endswith(files.MIDI_SUFFIXES):
                self.open_file(u.toLocalFile())
                e.acceptProposedAction()
                return

    # --- recent files -------------------------------------------------------------------------
    def add_recent(self, path: str) -> None:
        settings = self.window.settings
        recent = [p for p in self.recent() if p != path]
        settings.setValue("recent", [path] + recent[: RECENT_MAX - 1])
        settings.setValue("last_dir", str(Path(path).parent))
        self.update_recent_menu()

    def recent(self) -> list[str]:
        """The recent files, newest first."""
        value = self.window.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def update_recent_menu(self) -> None:
        """Fill the window's Open Recent menu from the settings."""
        menu = self.window.recent_menu
        menu.clear()
        for p in self.recent():
            menu.addAction(Path(p).name, lambda p=p: self.open_file(p))
        menu.setEnabled(bool(self.recent()))
