"""Files from the window: the Open and Export dialogs, the workers that read and write (the
work itself is composer.app.files and composer.export, off the GUI thread), the Open Recent
menu and dropped MIDI or MusicXML files.

A controller: it is given the document, the runner, the settings and a parent widget for its
dialogs, changes the document, and tells the window the rest through signals (``opened``,
``exported``, ``status``, ``error``). The last folder used and the recent files (newest first,
at most RECENT_MAX) are kept in the settings as 'last_dir' and 'recent'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from composer.app import files
from composer.app.document import Document
from composer.app.workers import Runner, Worker
from composer.export import FORMATS, export_score

RECENT_MAX = 8


class FileActions(QObject):
    """Open, export, recent files and drops for one document.

    Signals: ``read(score, report)`` when a file has been read (its ReadReport says what it gave:
    key, meter, tempo); ``opened(kind, path)`` after it is open in the document (kind 'piece' or
    'melody', from composer.app.files.open_score); ``exported(path)``; ``status(message, ms)``
    for the status bar (ms 0: until replaced); ``error(message)`` for an error dialog.
    ``recent_menu`` is the Open Recent menu, kept filled from the settings.
    """

    read = Signal(object, object)
    opened = Signal(str, str)
    exported = Signal(str)
    status = Signal(str, int)
    error = Signal(str)

    def __init__(self, doc: Document, runner: Runner, settings: QSettings,
                 parent: QWidget) -> None:  # fmt: skip
        super().__init__(parent)
        self.doc, self.runner, self.settings = doc, runner, settings
        self.dialog_parent = parent
        self.recent_menu = QMenu("Open &Recent", parent)
        self.export_layout = "open"  # MusicXML: the layout chosen in the last Export dialog

    def open_dialog(self) -> None:
        start = self.settings.value("last_dir", str(Path.home()))
        kinds = ("Scores (*.mid *.midi *.musicxml *.xml *.mxl);;MIDI files (*.mid *.midi);;"
                 "MusicXML (*.musicxml *.xml *.mxl);;All files (*)")  # fmt: skip
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open a melody or a chorale",
                                              start, kinds)  # fmt: skip
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> Worker:
        """Read a MIDI or MusicXML file on a worker; four voices open as a piece, one as a
        melody (``read`` first tells what the file gave)."""
        self.status.emit(f"Opening {Path(path).name}…", 0)

        def done(result, path=path) -> None:
            kind, score, report = result
            self.read.emit(score, report)
            if kind == "melody":
                self.doc.open_melody(score, source=path)
                msg = "Melody opened: press Ctrl+G to harmonize it"
            else:
                self.doc.open_piece(score, source=path)
                msg = f"Opened {Path(path).name}: {score.bars} bars"
            self.opened.emit(kind, path)
            if report.warnings:
                msg += " · " + "; ".join(report.warnings)
            self.status.emit(msg, 12000 if report.warnings else 6000)
            self.add_recent(path)

        def failed(msg: str, path=path) -> None:
            self.error.emit(f"Cannot open {Path(path).name}: {msg}")

        return self.runner.run(files.open_score, path, inject=False, on_done=done,
                               on_error=failed, name="open")  # fmt: skip

    def ask_export_path(self) -> str | None:
        """Ask where to export the piece (the Export dialog); None when there is no piece or the
        dialog was cancelled. A name without a suffix gets the suffix of the format chosen."""
        if self.doc.piece is None:
            self.status.emit("Nothing to export yet", 4000)
            return None
        start = self.settings.value("last_dir", str(Path.home()))
        mode = self.doc.piece.meta.get("mode", "")
        suggested = files.suggest_export_path(self.doc.source, start, mode)  # beside the input
        filters = [f"{f.label} (*{f.suffixes[0]})" for f in FORMATS]
        closed = "MusicXML, closed score: S/A and T/B on two staves (*.musicxml)"
        path, chosen = QFileDialog.getSaveFileName(
            self.dialog_parent, "Export", str(suggested), ";;".join(filters + [closed])
        )
        if not path:
            return None
        self.export_layout = "closed" if chosen == closed else "open"
        if not Path(path).suffix:
            path += ".musicxml" if chosen == closed else FORMATS[
                filters.index(chosen) if chosen in filters else 0].suffixes[0]  # fmt: skip
        return path

    def export(self, path: str, tempo: float | None = None,
               programs: Sequence[int] | None = None,
               layout: str | None = None) -> Worker | None:  # fmt: skip
        """Export the piece to ``path`` (format by suffix) on a worker, at ``tempo`` (quarter
        notes per minute; default the piece's) with a General MIDI program per voice; MusicXML
        in ``layout`` (default: the one chosen in the Export dialog)."""
        score = self.doc.piece
        if score is None:
            return None
        if tempo is not None:
            score = dataclasses.replace(score, tempo=float(tempo), meta=dict(score.meta))
        self.status.emit(f"Exporting {Path(path).name}…", 0)

        def done(written, path=path) -> None:
            self.doc.mark_exported()
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.exported.emit(str(written))
            self.status.emit(f"Exported {written}", 6000)

        def failed(msg: str, path=path) -> None:
            self.error.emit(f"Cannot export {Path(path).name}: {msg}")

        programs = list(programs) if programs is not None else None
        layout = layout or self.export_layout
        return self.runner.run(export_score, score, path, None, programs, layout, inject=False,
                               on_done=done, on_error=failed, name="export")  # fmt: skip

    # --- drag and drop ------------------------------------------------------------------------
    def drag_enter(self, e) -> None:
        """Accept a drag that carries a MIDI or MusicXML file (QDragEnterEvent)."""
        urls = e.mimeData().urls() if e.mimeData().hasUrls() else []
        if any(u.toLocalFile().lower().endswith(files.OPEN_SUFFIXES) for u in urls):
            e.acceptProposedAction()

    def drop(self, e) -> None:
        """Open the first MIDI or MusicXML file dropped (QDropEvent)."""
        for u in e.mimeData().urls():
            if u.toLocalFile().lower().endswith(files.OPEN_SUFFIXES):
                self.open_file(u.toLocalFile())
                e.acceptProposedAction()
                return

    # --- recent files -------------------------------------------------------------------------
    def add_recent(self, path: str) -> None:
        recent = [p for p in self.recent() if p != path]
        self.settings.setValue("recent", [path] + recent[: RECENT_MAX - 1])
        self.settings.setValue("last_dir", str(Path(path).parent))
        self.update_recent_menu()

    def recent(self) -> list[str]:
        """The recent files, newest first."""
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def update_recent_menu(self) -> None:
        """Fill the Open Recent menu from the settings."""
        menu = self.recent_menu
        menu.clear()
        for p in self.recent():
            menu.addAction(Path(p).name, lambda p=p: self.open_file(p))
        menu.setEnabled(bool(self.recent()))
