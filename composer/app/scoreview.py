"""The score view: the piece engraved as notation (verovio's SVG, composer.notation.engrave,
drawn by Qt's QSvgRenderer), beside the piano roll.

It follows the document: every new piece (compose, regenerate, undo, open) is engraved again
on a worker, at the view's width (again after a resize). The notes sounding at the playhead are
marked in their voice's colour and kept in view; the selection (bars x voices) is shaded on the
staves it covers; a click on a staff selects that bar of that voice, shift-click extends the
bars, as on the roll.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QLoggingCategory, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from composer.app.document import Document, Selection
from composer.app.pianoroll import VOICE_COLORS

QLoggingCategory.setFilterRules("qt.svg.warning=false")  # verovio's text spans, read as empty


class _Page(QWidget):
    """The engraved page, scaled to the view's width, with the playhead and selection marks."""

    clicked = Signal(object, bool)  # (bar, voice) or None, shift held

    def __init__(self, view: ScoreView) -> None:
        super().__init__()
        self.view = view
        self.renderer: QSvgRenderer | None = None
        self.rects: dict[str, QRectF] = {}  # element id -> rectangle in SVG units
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def scale(self) -> float:
        e = self.view.engraving
        return self.width() / e.width if e is not None and e.width else 1.0

    def rect_of(self, ident: str) -> QRectF | None:
        """An element's rectangle in widget pixels."""
        r = self.rects.get(ident)
        if r is None and self.renderer is not None and self.renderer.elementExists(ident):
            r = self.renderer.transformForElement(ident).mapRect(
                self.renderer.boundsOnElement(ident)
            )
            self.rects[ident] = r
        if r is None:
            return None
        s = self.scale()
        return QRectF(r.x() * s, r.y() * s, r.width() * s, r.height() * s)

    def paintEvent(self, e) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fbfaf6"))
        eng = self.view.engraving
        if self.renderer is None or eng is None:
            p.setPen(QColor("#6b6f7a"))
            p.drawText(self.rect(), Qt.AlignCenter, self.view.message)
            p.end()
            return
        p.setRenderHint(QPainter.Antialiasing)
        self.renderer.render(p, QRectF(0, 0, self.width(), eng.height * self.scale()))
        self._paint_selection(p)
        self._paint_playhead(p)
        p.end()

    def _paint_selection(self, p: QPainter) -> None:
        sel, eng = self.view.doc.selection, self.view.engraving
        if sel is None or eng is None:
            return
        for bar in eng.bars:
            if not sel.first_bar <= bar.number <= sel.last_bar:
                continue
            for v in sel.voices:
                if v < len(bar.staves):
                    r = self.rect_of(bar.staves[v])
                    if r is not None:
                        p.fillRect(r.adjusted(0, -4, 0, 4), QColor(90, 140, 230, 40))

    def _paint_playhead(self, p: QPainter) -> None:
        step, eng = self.view.playhead, self.view.engraving
        if step is None or eng is None:
            return
        xs = []
        for n in eng.sounding(step):
            r = self.rect_of(n.id)
            if r is None:
                continue
            color = QColor(VOICE_COLORS[n.voice % 4])
            color.setAlpha(110)
            p.setPen(Qt.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(r.adjusted(-3, -3, 3, 3), 4, 4)
            xs.append(r)
        if xs:
            top = min(r.top() for r in xs) - 12
            bottom = max(r.bottom() for r in xs) + 12
            x = min(r.left() for r in xs) - 5
            p.setPen(QPen(QColor(40, 40, 40, 140), 1.5))
            p.drawLine(int(x), int(top), int(x), int(bottom))

    def hit(self, x: float, y: float) -> tuple[int, int] | None:
        """(bar, voice) of the staff under a widget point."""
        eng = self.view.engraving
        if eng is None:
            return None
        for bar in eng.bars:
            for v, staff in enumerate(bar.staves):
                r = self.rect_of(staff)
                if r is not None and r.adjusted(0, -8, 0, 8).contains(x, y):
                    return bar.number, v
        return None

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.button() == Qt.LeftButton:
            pos = e.position()
            self.clicked.emit(self.hit(pos.x(), pos.y()), bool(e.modifiers() & Qt.ShiftModifier))


class ScoreView(QWidget):
    """Notation of ``doc``'s piece. ``runner(fn, *args, on_done=..., on_error=...,
    on_cancel=..., name=...)`` runs the engraving off the GUI thread (the window's Runner.run).
    ``engraved`` fires when a new engraving is shown."""

    engraved = Signal()

    def __init__(self, doc: Document, runner: Callable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.runner = runner
        self.engraving = None
        self.playhead: float | None = None
        self.message = "The score appears here when there is a piece"
        self._busy = False
        self._dirty = False
        self._width = 0
        self.page = _Page(self)
        self.page.clicked.connect(self._clicked)
        self.scroll = QScrollArea(widgetResizable=False)
        self.scroll.setWidget(self.page)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        self.status = QLabel("")
        self.status.setObjectName("hint")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.scroll)
        self._resize_timer = QTimer(self, singleShot=True, interval=250)
        self._resize_timer.timeout.connect(self.refresh)
        doc.listen(self._on_doc)
        self.setMinimumHeight(120)

    # --- following the document --------------------------------------------------------------
    def _on_doc(self, what: str) -> None:
        if what == "piece":
            self.refresh()
        elif what == "selection":
            self.page.update()

    def refresh(self) -> None:
        """Engrave the current piece (again), on a worker; one at a time, the latest wins."""
        if not self.isVisible():
            self._dirty = True
            return
        piece = self.doc.piece
        if piece is None:
            self.engraving = None
            self.page.renderer = None
            self._layout()
            return
        if self._busy:
            self._dirty = True
            return
        from composer.notation.engrave import engrave

        self._busy, self._dirty = True, False
        self._width = max(300, self.scroll.viewport().width())
        self.runner(engrave, piece, self._width, inject=False, on_done=self._show,
                    on_error=self._failed, on_cancel=self._cancelled, name="engrave")  # fmt: skip

    def _show(self, engraving) -> None:
        self._busy = False
        self.engraving = engraving
        self.page.renderer = QSvgRenderer(QByteArray(engraving.svg.encode("utf-8")))
        self.page.rects = {}
        self._layout()
        self.engraved.emit()
        if self._dirty:
            self.refresh()

    def _cancelled(self) -> None:
        self._busy = False

    def _failed(self, message: str) -> None:
        self._busy = False
        self.engraving = None
        self.page.renderer = None
        self.message = f"The score cannot be shown: {message}"
        self._layout()

    def _layout(self) -> None:
        width = self.scroll.viewport().width()
        e = self.engraving
        height = int(e.height * width / e.width) if e is not None and e.width else 200
        self.page.resize(width, max(height, self.scroll.viewport().height()))
        self.page.update()

    def showEvent(self, e) -> None:  # noqa: N802
        super().showEvent(e)
        if self._dirty or (self.engraving is None and self.doc.piece is not None):
            self.refresh()

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._layout()
        if self.engraving is not None and abs(self.scroll.viewport().width() - self._width) > 40:
            self._resize_timer.start()

    # --- playhead and selection ----------------------------------------------------------------
    def set_playhead(self, step: float | None) -> None:
        """Mark the notes sounding at ``step`` (16ths) and keep them in view."""
        self.playhead = step
        if step is not None and self.engraving is not None:
            rects = [self.page.rect_of(n.id) for n in self.engraving.sounding(step)]
            rects = [r for r in rects if r is not None]
            if rects:
                top = min(r.top() for r in rects)
                bottom = max(r.bottom() for r in rects)
                self.scroll.ensureVisible(int(rects[0].center().x()), int((top + bottom) / 2), 0,
                                          int((bottom - top) / 2) + 30)  # fmt: skip
        self.page.update()

    def _clicked(self, hit, extend: bool) -> None:
        if hit is None:
            return
        bar, voice = hit
        sel = self.doc.selection
        if extend and sel is not None:
            first, last = min(sel.first_bar, bar), max(sel.last_bar, bar)
            voices = tuple(sorted(set(sel.voices) | {voice}))
            self.doc.select(Selection(first, last, voices))
        else:
            self.doc.select(Selection(bar, bar, (voice,)))
