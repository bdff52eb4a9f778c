"""The piano roll: draws a Document's piece, lets the user select, lock and inspect notes.

Layout (pixels): a keyboard of pitch names on the left (KEY_W wide), a bar ruler on top
(RULER_H high), then the grid: x = step * px_per_step, y = (top_pitch - pitch) * row_h.
Zoom with Ctrl+wheel or ``zoom(factor)``; scroll with the wheel and the scroll bars.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QToolTip, QWidget

from composer.app.document import Document, Selection
from composer.score import PITCH_NAMES, Score, pitch_name
from composer.theory.voiceleading import out_of_range, parallels

KEY_W = 58
RULER_H = 26
LOW, HIGH = 31, 86  # G1 .. D6: every voice range with room
VOICE_COLORS = ("#ef6461", "#f4b942", "#5cc98a", "#5b9cf0")  # S A T B
BG = QColor("#1d1f26")
BG_ALT = QColor("#23262f")
BAR_LINE = QColor("#59606e")
BEAT_LINE = QColor("#343844")
STEP_LINE = QColor("#272a33")
TEXT = QColor("#c8ccd6")
PLAYHEAD = QColor("#ffffff")
FAULT = QColor("#ff3b6b")
RANGE = QColor("#ff9f1c")


class PianoRoll(QAbstractScrollArea):
    """A view of ``doc``. Signals: ``selectionMade(Selection)``, ``status(str)``."""

    selectionMade = Signal(object)
    status = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.px_per_step = 9.0
        self.row_h = 11
        self.playhead: float | None = None  # step (16ths, fractional)
        self.follow = True
        self.show_faults = False
        self._drag_from: QPointF | None = None
        self._drag_to: QPointF | None = None
        self._faults: tuple = ([], [])
        self._focus_click_until = 0.0  # a click that only gives the roll focus keeps the selection
        self.viewport().setMouseTracking(True)
        self.setMinimumSize(480, 300)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.setFocusPolicy(Qt.StrongFocus)
        doc.listen(self._on_doc)
        self._update_scrollbars()

    # --- geometry ---------------------------------------------------------------------------
    @property
    def score(self) -> Score | None:
        return self.doc.piece

    def content_size(self) -> tuple[float, float]:
        steps = self.score.steps if self.score else 64
        return steps * self.px_per_step + 40, (HIGH - LOW + 1) * self.row_h

    def _update_scrollbars(self) -> None:
        w, h = self.content_size()
        vw = self.viewport().width() - KEY_W
        vh = self.viewport().height() - RULER_H
        self.horizontalScrollBar().setRange(0, max(0, int(w - vw)))
        self.horizontalScrollBar().setPageStep(max(1, vw))
        self.verticalScrollBar().setRange(0, max(0, int(h - vh)))
        self.verticalScrollBar().setPageStep(max(1, vh))
        self.horizontalScrollBar().setSingleStep(int(self.px_per_step * 4))
        self.verticalScrollBar().setSingleStep(self.row_h * 2)

    def step_to_x(self, step: float) -> float:
        return KEY_W + step * self.px_per_step - self.horizontalScrollBar().value()

    def x_to_step(self, x: float) -> float:
        return (x - KEY_W + self.horizontalScrollBar().value()) / self.px_per_step

    def pitch_to_y(self, pitch: int) -> float:
        return RULER_H + (HIGH - pitch) * self.row_h - self.verticalScrollBar().value()

    def y_to_pitch(self, y: float) -> int:
        return HIGH - int((y - RULER_H + self.verticalScrollBar().value()) // self.row_h)

    def note_rect(self, start: int, end: int, pitch: int) -> QRectF:
        x0, x1 = self.step_to_x(start), self.step_to_x(end)
        return QRectF(x0 + 1, self.pitch_to_y(pitch) + 1, max(2.0, x1 - x0 - 2), self.row_h - 2)

    def note_at(self, pos: QPointF):
        """The Note under a viewport position (topmost voice first), or None."""
        if self.score is None or pos.x() < KEY_W or pos.y() < RULER_H:
            return None
        for note in self.score.notes():
            r = self.note_rect(note.start, note.end, note.pitch)
            if r.adjusted(-1, -1, 1, 1).contains(pos):
                return note
        return None

    def center_on_music(self) -> None:
        """Scroll vertically so the piece's pitches are in view."""
        s = self.score
        if s is None or not (s.grid >= 0).any():
            return
        sounding = s.grid[s.grid >= 0]
        mid = (int(sounding.min()) + int(sounding.max())) / 2
        y = (HIGH - mid) * self.row_h - (self.viewport().height() - RULER_H) / 2
        self.verticalScrollBar().setValue(int(y))

    def fit_width(self) -> None:
        """Zoom so the whole piece fits the view's width (px_per_step kept in [4, 14])."""
        s = self.score
        if s is None or s.steps == 0:
            return
        avail = self.viewport().width() - KEY_W - 24
        self.px_per_step = min(14.0, max(4.0, avail / s.steps))
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(0)
        self.viewport().update()

    def zoom(self, factor: float) -> None:
        """Horizontal zoom around the left edge of the view; px_per_step kept in [2, 40]."""
        first = self.x_to_step(KEY_W)
        self.px_per_step = min(40.0, max(2.0, self.px_per_step * factor))
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(int(first * self.px_per_step))
        self.viewport().update()

    def set_playhead(self, step: float | None) -> None:
        """Move the playhead (16th steps) and keep it in view while following playback."""
        self.playhead = step
        if step is not None and self.follow:
            x = self.step_to_x(step)
            vw = self.viewport().width()
            if x > vw - 40 or x < KEY_W:
                bar = self.horizontalScrollBar()
                bar.setValue(int(step * self.px_per_step - (vw - KEY_W) * 0.15))
        self.viewport().update()

    def set_show_faults(self, on: bool) -> None:
        self.show_faults = on
        self._refresh_faults()
        self.viewport().update()

    def fault_counts(self) -> tuple[int, int]:
        """(parallels, notes out of range) currently marked."""
        return len(self._faults[0]), len(self._faults[1])

    def _refresh_faults(self) -> None:
        s = self.score
        if self.show_faults and s is not None:
            self._faults = (parallels(s), out_of_range(s))
        else:
            self._faults = ([], [])

    def _on_doc(self, what: str) -> None:
        if what == "piece":
            self._update_scrollbars()
            self._refresh_faults()
        if what in ("piece", "locks", "selection"):
            self.viewport().update()

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._update_scrollbars()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self.viewport().update()

    # --- painting ---------------------------------------------------------------------------
    def paintEvent(self, e) -> None:  # noqa: N802
        p = QPainter(self.viewport())
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.viewport().width(), self.viewport().height()
        p.fillRect(0, 0, w, h, BG)
        p.setClipRect(KEY_W, RULER_H, w - KEY_W, h - RULER_H)
        self._paint_rows(p, w)
        self._paint_grid(p, h)
        self._paint_selection(p, h)
        self._paint_notes(p)
        if self.show_faults:
            self._paint_faults(p)
        self._paint_drag(p)
        self._paint_playhead(p, h)
        p.setClipping(False)
        self._paint_ruler(p, w)
        self._paint_keyboard(p, h)
        if self.score is None:
            p.setPen(TEXT)
            p.setFont(QFont(self.font().family(), 13))
            p.drawText(
                QRectF(KEY_W, RULER_H, w - KEY_W, h - RULER_H),
                Qt.AlignCenter,
                "Press Ctrl+G to compose a chorale, or open a MIDI file (Ctrl+O)",
            )

    def _paint_rows(self, p: QPainter, w: int) -> None:
        for pitch in range(LOW, HIGH + 1):
            if pitch % 12 in (1, 3, 6, 8, 10):
                y = self.pitch_to_y(pitch)
                p.fillRect(QRectF(KEY_W, y, w, self.row_h), BG_ALT)
            if pitch % 12 == 0:
                y = self.pitch_to_y(pitch) + self.row_h
                p.setPen(QPen(BEAT_LINE, 1))
                p.drawLine(QPointF(KEY_W, y), QPointF(w, y))

    def _paint_grid(self, p: QPainter, h: int) -> None:
        s = self.score
        steps = s.steps if s else 64
        spb = s.steps_per_bar if s else 16
        pickup = s.pickup if s else 0
        beat = 16 // (s.time_signature[1] if s else 4)
        first = max(0, int(self.x_to_step(KEY_W)) - 1)
        last = min(steps, int(self.x_to_step(self.viewport().width())) + 1)
        for t in range(first, last + 1):
            rel = t - pickup
            if rel % spb == 0:
                pen = QPen(BAR_LINE, 1.4)
            elif rel % beat == 0:
                pen = QPen(BEAT_LINE, 1)
            elif self.px_per_step >= 8:
                pen = QPen(STEP_LINE, 1)
            else:
                continue
            x = self.step_to_x(t)
            p.setPen(pen)
            p.drawLine(QPointF(x, RULER_H), QPointF(x, h))

    def _paint_notes(self, p: QPainter) -> None:
        s = self.score
        if s is None:
            return
        sel = self.doc.selection
        region = sel.steps(s) if sel else None
        mask = self.doc.lock_mask()
        for v in reversed(range(s.voices)):
            base = QColor(VOICE_COLORS[v % 4])
            for n in s.notes(v):
                r = self.note_rect(n.start, n.end, n.pitch)
                if r.right() < KEY_W or r.left() > self.viewport().width():
                    continue
                color = QColor(base)
                if region and not (v in sel.voices and region[0] <= n.start < region[1]):
                    color.setAlpha(110)
                p.setPen(QPen(color.darker(150), 1))
                p.setBrush(QBrush(color))
                p.drawRoundedRect(r, 3, 3)
                if mask[n.start, v]:
                    p.setPen(QPen(QColor("#ffffff"), 1.6))
                    p.setBrush(QBrush(QColor(255, 255, 255, 60), Qt.BDiagPattern))
                    p.drawRoundedRect(r, 3, 3)

    def _paint_faults(self, p: QPainter) -> None:
        s = self.score
        if s is None:
            return
        grid = s.pitch_grid()
        p.setPen(QPen(FAULT, 2.2))
        for f in self._faults[0]:
            for v in (f.upper, f.lower):
                a = QPointF(self.step_to_x(f.before + 0.5), self.pitch_to_y(grid[f.before, v])
                            + self.row_h / 2)  # fmt: skip
                b = QPointF(self.step_to_x(f.step + 0.5), self.pitch_to_y(grid[f.step, v])
                            + self.row_h / 2)  # fmt: skip
                p.drawLine(a, b)
        p.setBrush(Qt.NoBrush)
        p.setPen(QPen(RANGE, 2, Qt.DashLine))
        for n in self._faults[1]:
            end = n.start + 1
            while end < s.steps and s.grid[end, n.voice] == -2:
                end += 1
            p.drawRoundedRect(self.note_rect(n.start, end, n.pitch).adjusted(-2, -2, 2, 2), 4, 4)

    def _paint_selection(self, p: QPainter, h: int) -> None:
        s, sel = self.score, self.doc.selection
        if s is None or sel is None:
            return
        a, b = sel.steps(s)
        r = QRectF(self.step_to_x(a), RULER_H, self.step_to_x(b) - self.step_to_x(a), h)
        p.fillRect(r, QColor(120, 170, 255, 38))
        p.setPen(QPen(QColor(140, 180, 255, 160), 1, Qt.DashLine))
        p.drawRect(r)

    def _paint_drag(self, p: QPainter) -> None:
        if self._drag_from is None or self._drag_to is None:
            return
        p.setPen(QPen(QColor("#9ec1ff"), 1, Qt.DashLine))
        p.setBrush(QColor(120, 170, 255, 40))
        p.drawRect(QRectF(self._drag_from, self._drag_to).normalized())

    def _paint_playhead(self, p: QPainter, h: int) -> None:
        if self.playhead is None:
            return
        x = self.step_to_x(self.playhead)
        p.setPen(QPen(PLAYHEAD, 2))
        p.drawLine(QPointF(x, RULER_H), QPointF(x, h))

    def _paint_ruler(self, p: QPainter, w: int) -> None:
        p.fillRect(QRectF(0, 0, w, RULER_H), QColor("#15171c"))
        s = self.score
        if s is None:
            return
        p.setFont(QFont(self.font().family(), 8))
        sel = self.doc.selection
        every = max(1, int(36 // (s.steps_per_bar * self.px_per_step)) + 1)
        for bar in range(0 if s.pickup else 1, s.bars + 1):
            start = s.bar_start(bar) if bar else 0
            end = s.bar_start(bar + 1)
            x0, x1 = self.step_to_x(start), self.step_to_x(min(end, s.steps))
            if x1 < KEY_W or x0 > w:
                continue
            if sel and sel.first_bar <= bar <= sel.last_bar:
                p.fillRect(QRectF(x0, 0, x1 - x0, RULER_H), QColor("#2f4a7a"))
            p.setPen(QPen(BAR_LINE, 1))
            p.drawLine(QPointF(x0, RULER_H - 8), QPointF(x0, RULER_H))
            if bar % every == 0 or bar == 1:
                p.setPen(TEXT)
                p.drawText(QPointF(x0 + 4, RULER_H - 9), str(bar))
        p.setPen(QPen(QColor("#f4b942"), 1.3))
        for f in s.fermatas:  # a fermata: an arc over a dot
            x = self.step_to_x(f) + 4
            p.setBrush(Qt.NoBrush)
            p.drawArc(QRectF(x - 5, RULER_H - 9, 10, 10), 0, 180 * 16)
            p.setBrush(QColor("#f4b942"))
            p.drawEllipse(QPointF(x, RULER_H - 3), 1.3, 1.3)
        if self.playhead is not None:
            x = self.step_to_x(self.playhead)
            p.setBrush(PLAYHEAD)
            p.setPen(Qt.NoPen)
            p.drawPolygon([QPointF(x - 5, RULER_H - 7), QPointF(x + 5, RULER_H - 7),
                           QPointF(x, RULER_H)])  # fmt: skip

    def _paint_keyboard(self, p: QPainter, h: int) -> None:
        p.fillRect(QRectF(0, RULER_H, KEY_W, h), QColor("#e9e9ec"))
        p.setFont(QFont(self.font().family(), 7))
        for pitch in range(LOW, HIGH + 1):
            y = self.pitch_to_y(pitch)
            if y + self.row_h < RULER_H or y > h:
                continue
            black = pitch % 12 in (1, 3, 6, 8, 10)
            if black:
                p.fillRect(QRectF(0, y, KEY_W * 0.62, self.row_h), QColor("#2a2b30"))
            p.setPen(QPen(QColor("#b9bac2"), 1))
            p.drawLine(QPointF(0, y + self.row_h), QPointF(KEY_W, y + self.row_h))
            if not black:
                p.setPen(QColor("#1d1f26") if pitch % 12 else QColor("#c0392b"))
                p.drawText(
                    QRectF(0, y, KEY_W - 4, self.row_h),
                    Qt.AlignRight | Qt.AlignVCenter,
                    f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}",
                )
        p.fillRect(QRectF(0, 0, KEY_W, RULER_H), QColor("#15171c"))
        p.setPen(QPen(QColor("#0b0c0f"), 1))
        p.drawLine(QPointF(KEY_W, 0), QPointF(KEY_W, h))

    # --- interaction ------------------------------------------------------------------------
    def wheelEvent(self, e) -> None:  # noqa: N802
        if e.modifiers() & Qt.ControlModifier:
            self.zoom(1.15 if e.angleDelta().y() > 0 else 1 / 1.15)
            e.accept()
        elif e.modifiers() & Qt.ShiftModifier:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - e.angleDelta().y())
        else:
            super().wheelEvent(e)

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.button() == Qt.LeftButton and e.position().x() > KEY_W:
            self._drag_from = self._drag_to = e.position()
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            self._drag_to = e.position()
            self.viewport().update()
        else:
            note = self.note_at(e.position())
            if note is not None:
                QToolTip.showText(e.globalPosition().toPoint(), self.describe(note), self)
            else:
                QToolTip.hideText()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        a, b = self._drag_from, e.position()
        self._drag_from = self._drag_to = None
        if abs(a.x() - b.x()) < 4 and abs(a.y() - b.y()) < 4:
            if time.monotonic() > self._focus_click_until:
                self.doc.select(None)  # a click clears the selection; a focusing click does not
            self._focus_click_until = 0.0
        else:
            self.select_rect(a, b)
        self.viewport().update()

    def focusInEvent(self, e) -> None:  # noqa: N802
        if e.reason() in (Qt.MouseFocusReason, Qt.ActiveWindowFocusReason):
            self._focus_click_until = time.monotonic() + 1.0
        super().focusInEvent(e)

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        note = self.note_at(e.position())
        if note is not None:
            self.doc.toggle_note_lock(note.voice, note.start)

    def select_rect(self, a: QPointF, b: QPointF) -> Selection | None:
        """Select the bars under x a..b and the voices with notes inside the rectangle (all
        voices if none)."""
        s = self.score
        if s is None:
            return None
        t0 = max(0.0, min(self.x_to_step(a.x()), self.x_to_step(b.x())))
        t1 = min(float(s.steps - 1), max(self.x_to_step(a.x()), self.x_to_step(b.x())))
        p_hi, p_lo = self.y_to_pitch(min(a.y(), b.y())), self.y_to_pitch(max(a.y(), b.y()))
        voices = sorted({n.voice for n in s.notes() if n.start <= t1 and n.end > t0
                         and p_lo <= n.pitch <= p_hi})  # fmt: skip
        first, last = s.bar_of(int(t0)), s.bar_of(int(t1))  # a pickup is bar 0
        sel = Selection(first, last, tuple(voices) or tuple(range(s.voices)))
        self.doc.select(sel)
        self.selectionMade.emit(sel)
        self.status.emit(f"Selected {sel}")
        return sel

    def describe(self, note) -> str:
        s = self.score
        bar = s.bar_of(note.start)
        beat_len = 16 // s.time_signature[1]
        beat = (note.start - (s.bar_start(bar) if bar else 0)) // beat_len + 1
        lock = " (locked)" if self.doc.is_locked(note.voice, note.start) else ""
        name = s.voice_names[note.voice]
        return f"{pitch_name(note.pitch)} · {name} · bar {bar}, beat {beat}{lock}"

    def contextMenuEvent(self, e) -> None:  # noqa: N802
        pos = QPointF(e.pos())
        note = self.note_at(pos)
        menu = QMenu(self)
        if note is not None:
            locked = (note.voice, note.start) in self.doc.note_locks
            act = QAction("Unlock note" if locked else "Lock note", menu)
            act.triggered.connect(lambda: self.doc.toggle_note_lock(note.voice, note.start))
            menu.addAction(act)
            name = self.score.voice_names[note.voice]
            vlocked = note.voice in self.doc.voice_locks
            act = QAction(f"{'Unlock' if vlocked else 'Lock'} {name}", menu)
            act.triggered.connect(lambda: self.doc.toggle_voice_lock(note.voice))
            menu.addAction(act)
        if self.doc.selection is not None:
            menu.addSeparator()
            menu.addAction("Lock selection", lambda: self.doc.lock_selection(True))
            menu.addAction("Unlock selection", lambda: self.doc.lock_selection(False))
        if not menu.isEmpty():
            menu.exec(e.globalPos())

    def scroll_to_start(self) -> None:
        self.horizontalScrollBar().setValue(0)

    def visible_point(self, step: float, pitch: int) -> QPoint:
        return QPointF(self.step_to_x(step), self.pitch_to_y(pitch) + self.row_h / 2).toPoint()
