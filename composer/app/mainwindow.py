"""The main window: lays out the roll and the panels, and wires them to the document, the
workers (composer.app.workers) and the player (composer.app.player).

Files (open, export, recent, drops) are composer.app.file_actions, autosave and crash recovery
composer.app.recovery, the settings kept between runs composer.app.settings: controllers given
the document, the runner and the settings, which answer through signals; the window forwards to
them. Nothing slow runs here: loading the model, composing, reading and exporting files and
autosaving are Workers; playback is composer.realtime.playback's scheduler thread.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from composer.app.compose import MODE_LABELS, ComposeParams, compose
from composer.app.document import Change, Document
from composer.app.file_actions import FileActions
from composer.app.live_panel import LivePanel
from composer.app.panels import ComposePanel, MixerPanel, TransportBar, VariationsPanel
from composer.app.pianoroll import PianoRoll
from composer.app.player import AppPlayer, PlayerState
from composer.app.recovery import Recovery, default_autosave_path
from composer.app.scoreview import ScoreView
from composer.app.settings import restore_settings, save_settings
from composer.app.workers import Runner, Worker, stop_all
from composer.score import Score

CloseAnswer = Literal["export", "discard", "cancel"]  # closing with a piece not exported


def load_sampler(model: str | None = None):
    """A model bundle (default: the shipped models/bach-satb), via composer.runtime.sampler (numpy
    and numba, no torch)."""
    from composer.runtime.sampler import Sampler

    return Sampler.load(model)


class MainWindow(QMainWindow):
    """Composer's window. ``composed`` fires after new music is on the roll (for scripts)."""

    composed = Signal()
    samplerReady = Signal()

    def __init__(
        self,
        settings: QSettings | None = None,
        autosave_path: Path | None = None,
        audio: bool = True,
        sampler_loader: Callable | None = load_sampler,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Composer")
        self.settings = settings or QSettings("Composer", "Composer")
        self.doc = Document()
        self.sampler = None
        self.sampler_error: str | None = None
        self.runner = Runner(self)
        self.runner.failed.connect(lambda name, msg: self.show_error(f"{name}: {msg}"))
        self.workers = self.runner.workers  # the jobs running for this window
        self.compose_worker: Worker | None = None
        self._pending_compose: ComposeParams | None = None
        self.last_dialog: QMessageBox | None = None
        self.ask_on_close: Callable[[], CloseAnswer] = self._ask_on_close
        self._closing = False
        self._t0 = time.perf_counter()

        self.player = AppPlayer(self, audio=audio)
        self.file_actions = FileActions(self.doc, self.runner, self.settings, self)
        self.file_actions.opened.connect(self._file_opened)
        # the panel shows the key, meter, tempo and pickup the file gave (Auto for no key)
        self.file_actions.read.connect(lambda s, r: self.compose_panel.follow(s, r.found))
        self.file_actions.status.connect(self._show_status)
        self.file_actions.error.connect(self.show_error)
        self._build()
        self._build_menus()
        restore_settings(self.settings, self, self.compose_panel, self.mixer, self.faults_toggle)
        self.doc.listen(self._on_doc)
        self.recovery = Recovery(self.doc, self.runner, autosave_path or default_autosave_path(),
                                 self._autosave_extra, self)  # fmt: skip
        self.recovery.restored.connect(self.roll.center_on_music)
        self.recovery.status.connect(self._show_status)
        self.recovery.error.connect(self.show_error)
        self._report_audio()
        self.setAcceptDrops(True)
        if sampler_loader is not None:
            self.runner.run(
                sampler_loader,
                inject=False,
                name="load model",
                on_done=self._sampler_loaded,
                on_error=self._sampler_failed,
            )
            self.model_label.setText("Model: loading…")

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.roll = PianoRoll(self.doc)
        self.score_view = ScoreView(self.doc, self.runner.run)
        self.compose_panel = ComposePanel()
        self.variations_panel = VariationsPanel()
        self.mixer = MixerPanel()
        self.live_panel = LivePanel(self.player, self._live_context)
        self.transport = TransportBar()
        self.faults_toggle = QCheckBox("Show voice-leading faults")
        self.faults_label = QLabel("")
        self.faults_label.setObjectName("hint")

        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(6, 0, 2, 6)
        lbox.addWidget(self.compose_panel)
        lbox.addWidget(self.variations_panel, 1)
        left_scroll = QScrollArea(widgetResizable=True)
        left_scroll.setWidget(left)
        left_scroll.setMinimumWidth(left.minimumSizeHint().width() + 16)
        left_scroll.setFrameShape(QScrollArea.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        right = QTabWidget()
        mix_page = QWidget()
        mbox = QVBoxLayout(mix_page)
        mbox.setContentsMargins(4, 0, 4, 4)
        mbox.addWidget(self.mixer)
        mbox.addWidget(self.faults_toggle)
        mbox.addWidget(self.faults_label)
        mbox.addStretch(1)
        right.addTab(mix_page, "Mixer")
        right.addTab(self.live_panel, "Live")
        right.setMinimumWidth(290)

        center = QSplitter(Qt.Vertical)  # the roll above, the engraved score below
        center.addWidget(self.roll)
        center.addWidget(self.score_view)
        center.setSizes([380, 320])
        center.setCollapsible(0, False)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left_scroll)
        split.addWidget(center)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([left_scroll.minimumWidth(), 700, 300])
        split.setCollapsible(1, False)
        self.setCentralWidget(split)

        bar = QToolBar("Transport", movable=False)
        bar.addWidget(self.transport)
        self.addToolBar(Qt.TopToolBarArea, bar)

        sb = self.statusBar()
        self.model_label = QLabel("Model: –")
        self.audio_label = QLabel("")
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.audio_label)

        c = self.compose_panel
        c.composeRequested.connect(self.compose)
        c.cancelRequested.connect(self.cancel_compose)
        self.variations_panel.chosen.connect(self.doc.choose_variation)
        self.variations_panel.audition.connect(self.audition)
        self.mixer.programChanged.connect(self.player.set_program)
        self.mixer.volumeChanged.connect(self.player.set_volume)
        self.mixer.mixChanged.connect(lambda: self.player.set_audible(self.mixer.audible()))
        self.mixer.lockToggled.connect(self.doc.toggle_voice_lock)
        self.transport.playToggled.connect(self.play_pause)
        self.transport.stopped.connect(self.stop)
        self.transport.tempoChanged.connect(self._tempo_changed)
        self.transport.loopToggled.connect(lambda _on: self._restart_if_playing())
        self.transport.outputChosen.connect(self.choose_output)
        self.player.position.connect(self._on_position)
        self.player.stateChanged.connect(self._on_player_state)
        self.player.failed.connect(lambda msg: self.show_error(f"Playback stopped: {msg}"))
        self.roll.status.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.faults_toggle.toggled.connect(self._toggle_faults)
        self.refresh_outputs()

    def _build_menus(self) -> None:
        m = self.menuBar()
        file = m.addMenu("&File")
        self._action(file, "&Open…", self.open_dialog, QKeySequence.Open)
        file.addMenu(self.file_actions.recent_menu)
        file.addSeparator()
        self._action(file, "&Export…", self.export_dialog, "Ctrl+E")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit)
        edit = m.addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", self.doc.undo, "Ctrl+Z")
        self.redo_action = self._action(edit, "&Redo", self.doc.redo, "Ctrl+Shift+Z")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addSeparator()
        self._action(edit, "&Lock selection", lambda: self.doc.lock_selection(True), "Ctrl+L")
        self._action(edit, "U&nlock selection", lambda: self.doc.lock_selection(False),
                     "Ctrl+Shift+L")  # fmt: skip
        self._action(edit, "Clear selection", lambda: self.doc.select(None), "Esc")
        comp = m.addMenu("&Compose")
        self._action(comp, "&Compose", lambda: self.compose(self.compose_panel.params()),
                     "Ctrl+G")  # fmt: skip
        self._action(comp, "New &seed", self.compose_panel.roll_seed, "Ctrl+R")
        self._action(comp, "Cancel", self.cancel_compose)
        play = m.addMenu("&Playback")
        self._action(play, "Play / Stop", self.play_stop, "Space")
        self._action(play, "Pause", self.play_pause)
        self._action(play, "Stop", self.stop)
        self._action(play, "Refresh outputs", self.refresh_outputs)
        view = m.addMenu("&View")
        self._action(view, "Zoom in", lambda: self.roll.zoom(1.25), QKeySequence.ZoomIn)
        self._action(view, "Zoom out", lambda: self.roll.zoom(0.8), QKeySequence.ZoomOut)
        self._action(view, "Fit piece", self.roll.fit_width, "Ctrl+0")
        view.addAction(self.faults_toggle.text(), self.faults_toggle.toggle)
        score = view.addAction("Show the score", self.score_view.setVisible)
        score.setCheckable(True)
        score.setChecked(True)
        self._update_history_actions()
        self.file_actions.update_recent_menu()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.WindowShortcut)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        self.addAction(act)
        return act

    # --- messages ---------------------------------------------------------------------------
    def _show_status(self, message: str, ms: int = 0) -> None:
        self.statusBar().showMessage(message, ms)

    def show_error(self, message: str, title: str = "Composer") -> QMessageBox:
        """A window-modal error dialog that does not block the event loop."""
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self.last_dialog = box
        self.statusBar().showMessage(message, 8000)
        return box

    # --- model and composing ----------------------------------------------------------------
    def _sampler_loaded(self, sampler) -> None:
        self.sampler = sampler
        bundle = getattr(sampler, "bundle", None)
        name = bundle.path.name if bundle is not None else "loaded"
        self.model_label.setText(f"Model: {name}")
        self.samplerReady.emit()
        if self._pending_compose is not None:
            params, self._pending_compose = self._pending_compose, None
            self.compose(params)

    def _sampler_failed(self, message: str) -> None:
        self.sampler_error = message
        self.model_label.setText("Model: not loaded")
        self.compose_panel.set_busy(False)
        self.show_error(f"The model could not be loaded: {message}")

    def compose(self, params: ComposeParams | None = None) -> None:
        """Start composing with the panel's settings (queued until the model has loaded)."""
        params = params or self.compose_panel.params()
        if self.compose_worker is not None:
            return
        if self.sampler is None:
            if self.sampler_error:
                self.show_error(f"No model to compose with: {self.sampler_error}")
                return
            self._pending_compose = params
            self.compose_panel.set_busy(True)
            self.statusBar().showMessage("Composing as soon as the model has loaded…")
            return
        d = self.doc
        region = d.selection.steps(d.piece) if d.selection and d.piece else None
        voices = d.selection.voices if d.selection else ()
        self.compose_panel.set_busy(True)
        self.statusBar().showMessage(f"Composing ({params.mode})…")
        started = time.perf_counter()
        label = MODE_LABELS[params.mode]

        def done(scores, label=label) -> None:
            self.compose_worker = None
            self.compose_panel.set_busy(False)
            if not scores:
                return
            self.doc.set_results(list(scores), label, keep_melody=params.mode == "harmonize")
            if params.mode in ("generate", "harmonize"):
                self.roll.fit_width()
            self.roll.center_on_music()
            secs = time.perf_counter() - started
            self.statusBar().showMessage(
                f"{label}: {len(scores)} variation(s) in {secs:.1f} s (seed {params.seed})", 8000
            )
            self.composed.emit()

        def failed(msg: str) -> None:
            self.compose_worker = None
            self.compose_panel.set_busy(False)
            self.show_error(f"Cannot compose: {msg}")

        def cancelled() -> None:
            self.compose_worker = None
            self.compose_panel.set_busy(False)
            self.statusBar().showMessage("Composing cancelled", 4000)

        self.compose_worker = self.runner.run(
            compose, self.sampler, params, d.piece, melody=d.melody, region=region,
            region_voices=voices, voice_locks=d.voice_locks,
            lock_mask=d.lock_mask() if d.piece is not None else None,
            on_done=done, on_error=failed, on_cancel=cancelled,
            on_progress=self.compose_panel.set_progress, name="compose")  # fmt: skip

    def _live_context(self):
        """(sampler, key, tempo, settings) for the Live panel, from the Compose panel."""
        from composer.app.compose import sampling_settings
        from composer.score import Key

        p = self.compose_panel.params()
        key = Key.parse("C major" if p.key == "Auto" else p.key)
        return self.sampler, key, float(self.transport.tempo.value()), sampling_settings(p)

    def cancel_compose(self) -> None:
        self._pending_compose = None
        if self.compose_worker is not None:
            self.compose_worker.cancel()
        else:
            self.compose_panel.set_busy(False)

    # --- document -> views ------------------------------------------------------------------
    def _on_doc(self, what: Change) -> None:
        if what == "variations":
            self.variations_panel.show_variations(self.doc.variations, self.doc.current)
        elif what == "locks":
            self.mixer.show_locks(self.doc.voice_locks)
        elif what == "history":
            self._update_history_actions()
            self.recovery.schedule()
        elif what == "selection":
            sel = self.doc.selection
            self.compose_panel.selection_label.setText(
                f"Selection: {sel}" if sel else "Selection: none (drag on the roll)"
            )
            if sel and self.compose_panel.mode.currentData() != "regenerate":
                self.compose_panel.set_mode("regenerate")
        if what == "piece":
            p = self.doc.piece
            if p is not None:
                self.transport.tempo.blockSignals(True)
                self.transport.tempo.setValue(int(round(p.tempo)))
                self.transport.tempo.blockSignals(False)
                self.player.tempo = None
            self._update_faults_label()
            self._update_title()
            if self.player.state != "stopped":
                self.stop()
        if what == "saved":
            self._update_title()

    def _update_title(self) -> None:
        p = self.doc.piece
        name = Path(self.doc.source).name if self.doc.source else ("Untitled" if p else "")
        star = " •" if self.doc.dirty and p is not None else ""
        self.setWindowTitle(f"{name}{star} — Composer" if name else "Composer")

    def _update_history_actions(self) -> None:
        self.undo_action.setEnabled(self.doc.can_undo())
        self.redo_action.setEnabled(self.doc.can_redo())
        top = self.doc.undo_stack[-1:] and self.doc.state.label
        self.undo_action.setText(f"&Undo {top}" if top else "&Undo")

    def _toggle_faults(self, on: bool) -> None:
        self.roll.set_show_faults(on)
        self._update_faults_label()

    def _update_faults_label(self) -> None:
        if not self.faults_toggle.isChecked() or self.doc.piece is None:
            self.faults_label.setText("")
            return
        self.roll.set_show_faults(True)
        par, rng = self.roll.fault_counts()
        self.faults_label.setText(f"{par} parallel 5th/8ve(s) · {rng} note(s) out of range")

    # --- playback ---------------------------------------------------------------------------
    def play_stop(self) -> None:
        if self.player.state == "playing":
            self.stop()
        else:
            self.play()

    def play_pause(self) -> None:
        if self.player.state == "playing":
            self.player.pause()
        elif self.player.state == "paused":
            self.player.resume()
        else:
            self.play()

    def play(self, score: Score | None = None) -> None:
        score = score or self.doc.piece
        if score is None:
            self.statusBar().showMessage("Nothing to play: compose or open a piece first", 4000)
            return
        region = None
        if self.transport.loop.isChecked() and self.doc.selection is not None:
            region = self.doc.selection.steps(score)
        try:
            self.player.play(score, start=region[0] if region else 0, region=region)
        except Exception as e:  # AudioError / PortError: the app keeps going
            self.show_error(f"Cannot play: {e}")

    def audition(self, index: int) -> None:
        if 0 <= index < len(self.doc.variations):
            self.doc.choose_variation(index)
            self.play(self.doc.variations[index])

    def stop(self) -> None:
        self.player.stop()

    def _restart_if_playing(self) -> None:
        if self.player.state == "playing":
            self.play()

    def _tempo_changed(self, bpm: int) -> None:
        self.player.set_tempo(float(bpm))

    def _on_position(self, step: float) -> None:
        p = self.doc.piece
        if step < 0 or p is None:
            self.roll.set_playhead(None)
            self.score_view.set_playhead(None)
            return
        self.roll.set_playhead(step)
        self.score_view.set_playhead(step)
        seconds = step * 15.0 / (self.player.tempo or p.tempo)
        self.transport.set_position(p.bar_of(int(step)), seconds)

    def _on_player_state(self, state: PlayerState) -> None:
        self.transport.set_playing(state == "playing")

    def refresh_outputs(self) -> None:
        self.transport.set_outputs(self.player.outputs(), self.player.output_id)

    def choose_output(self, output_id: str) -> None:
        try:
            self.player.set_output(output_id)
            self.statusBar().showMessage(f"Playing to {self.transport.output.currentText()}", 5000)
        except Exception as e:
            self.show_error(f"Cannot use that output: {e}")
        self.refresh_outputs()
        self.settings.setValue("output", self.player.output_id)

    def _report_audio(self) -> None:
        if self.player.synth is not None:
            self.audio_label.setText(f"Audio: {self.player.synth.driver}")
        else:
            self.audio_label.setText("No audio device: MIDI ports only")
            self.statusBar().showMessage(
                f"No audio device ({self.player.audio_error}); play to a MIDI port instead", 10000
            )

    # --- files, autosave and settings (composer.app.file_actions, composer.app.recovery,
    # composer.app.settings) --------
    def open_dialog(self) -> None:
        self.file_actions.open_dialog()

    def open_file(self, path: str) -> Worker:
        """Read a MIDI or MusicXML file on a worker; four voices open as a piece, one as a
        melody."""
        return self.file_actions.open_file(path)

    def _file_opened(self, kind: str, _path: str) -> None:
        if kind == "melody":
            self.compose_panel.set_mode("harmonize")
        self.roll.fit_width()
        self.roll.center_on_music()

    def export_dialog(self) -> None:
        path = self.file_actions.ask_export_path()
        if path:
            self.export(path)

    def export(self, path: str) -> Worker | None:
        """Export the piece to ``path`` (format by suffix) on a worker, at the transport's tempo
        and with the mixer's programs."""
        return self.file_actions.export(path, tempo=self.transport.tempo.value(),
                                        programs=self.mixer.programs())  # fmt: skip

    def dragEnterEvent(self, e) -> None:  # noqa: N802
        self.file_actions.drag_enter(e)

    def dropEvent(self, e) -> None:  # noqa: N802
        self.file_actions.drop(e)

    @property
    def autosave_path(self) -> Path:
        """The autosave file (JSON)."""
        return self.recovery.path

    @autosave_path.setter
    def autosave_path(self, path: Path) -> None:
        self.recovery.path = path

    def autosave_now(self) -> Worker | None:
        return self.recovery.save_now()

    def restore_autosave(self) -> bool:
        """Load the autosaved session into this window; True if there was one."""
        return self.recovery.restore()

    def offer_recovery(self) -> None:
        """After a crash (an autosave left behind), ask whether to restore it."""
        self.recovery.offer()

    def _autosave_extra(self) -> dict:
        """Saved beside the document: the Compose panel's settings."""
        return {"params": dataclasses.asdict(self.compose_panel.params())}

    def save_settings(self) -> None:
        save_settings(self.settings, self, self.compose_panel, self.mixer, self.faults_toggle)

    # --- closing ----------------------------------------------------------------------------
    def _ask_on_close(self) -> CloseAnswer:
        box = QMessageBox(QMessageBox.Question, "Close Composer",
                          "This piece has not been exported. Export it before closing?",
                          parent=self)  # fmt: skip
        export = box.addButton("Export…", QMessageBox.AcceptRole)
        discard = box.addButton("Close without exporting", QMessageBox.DestructiveRole)
        box.addButton(QMessageBox.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "export" if clicked is export else "discard" if clicked is discard else "cancel"

    def closeEvent(self, e) -> None:  # noqa: N802
        if self.doc.dirty and self.doc.piece is not None and not self._closing:
            answer = self.ask_on_close()
            if answer == "cancel":
                e.ignore()
                return
            if answer == "export":
                self.export_dialog()
                self.runner.wait_all()
                if self.doc.dirty:  # export cancelled or failed: stay open
                    e.ignore()
                    return
        self._closing = True
        self.shutdown()
        self.recovery.clear()  # a clean exit: nothing to recover
        e.accept()

    def shutdown(self) -> None:
        """Stop playback (note-offs), cancel and join every worker, save settings."""
        self.recovery.stop()
        self.player.close()
        self.live_panel.shutdown()
        self._pending_compose = None
        stop_all()
        self.save_settings()
