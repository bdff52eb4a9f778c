"""The side panels: composing settings, variations, the voice mixer, and the transport bar.

Views only: each panel shows values and emits signals; the main window connects them to the
document, the workers and the player.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.app.compose import MODE_LABELS, MODES, VOICE_LEADING_LABELS, ComposeParams, Mode
from composer.app.pianoroll import VOICE_COLORS
from composer.score import ENSEMBLES, Key, Score

# Every key with a signature, enharmonic spellings both offered (Db major and C# major), by tonic
KEYS = ["Auto"] + [
    str(k)
    for mode in ("major", "minor")
    for k in sorted(
        (Key.from_sharps(s, mode) for s in range(-7, 8)), key=lambda k: (k.tonic, k.sharps)
    )  # fmt: skip
]
TIME_SIGNATURES = {"4/4": (4, 4), "3/4": (3, 4), "2/4": (2, 4), "2/2": (2, 2)}  # the model's
PICKUPS = {"Auto": None, "None": 0, "An 8th": 2, "A quarter": 4, "Two quarters": 8,
           "Three quarters": 12}  # fmt: skip
INSTRUMENTS = {  # General MIDI programs (0-based) that suit a chorale voice
    "Choir Aahs": 52, "Voice Oohs": 53, "Church Organ": 19, "Reed Organ": 20,
    "Acoustic Grand": 0, "Harpsichord": 6, "String Ensemble": 48, "Violin": 40, "Viola": 41,
    "Cello": 42, "Contrabass": 43, "Flute": 73, "Recorder": 74, "Oboe": 68, "Clarinet": 71,
    "Bassoon": 70, "French Horn": 60, "Trumpet": 56, "Trombone": 57, "Tuba": 58,
}  # fmt: skip


class ComposePanel(QGroupBox):
    """Mode, bars, key, time signature, tempo, temperature, top-p, seed, variations, and the
    Compose button with progress and cancel. Emits ``composeRequested(ComposeParams)``."""

    composeRequested = Signal(object)
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Compose", parent)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight)
        self.mode = QComboBox()
        for m in MODES:
            self.mode.addItem(MODE_LABELS[m], m)
        self.bars = QSpinBox(minimum=1, maximum=64, value=8, suffix=" bars")
        self.key = QComboBox()
        self.key.addItems(KEYS)
        self.time_sig = QComboBox()
        self.time_sig.addItems(list(TIME_SIGNATURES))
        self.pickup = QComboBox()
        for name, steps in PICKUPS.items():
            self.pickup.addItem(name, steps)
        self.pickup.setToolTip(
            "The beats before the first bar line (bar 0).\nAuto: a quarter in 4/4, none in 3/4."
        )
        self.read_label = QLabel("")
        self.read_label.setObjectName("hint")
        self.read_label.setWordWrap(True)
        self.tempo = QSpinBox(minimum=30, maximum=220, value=80, suffix=" bpm")
        self.temperature = QDoubleSpinBox(minimum=0.1, maximum=2.0, singleStep=0.05, value=0.9)
        self.top_p = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=0.95)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=1)
        self.new_seed = QToolButton(text="New")
        self.new_seed.setToolTip("New random seed")
        self.new_seed.clicked.connect(self.roll_seed)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        self.variations = QSpinBox(minimum=1, maximum=8, value=3)
        self.particles = QSpinBox(minimum=0, maximum=64, value=32, suffix=" candidates")
        self.particles.setToolTip(
            "Candidates written together. Harmonize and regenerate: after every beat those\n"
            "that fit the music still to come are kept. New, continue and harmonize: those\n"
            "that close each phrase with a cadence and end on the tonic are chosen.\n"
            "More: a closer fit, slower. 0: one pass, with the model's own lookahead only."
        )
        self.voice_leading = QComboBox()
        for style, label in VOICE_LEADING_LABELS.items():
            self.voice_leading.addItem(label, style)
        self.voice_leading.setToolTip(
            "Bach's rules: no parallel fifths or octaves, no voice crossing; and the\n"
            "candidates a harmony teacher would mark down (dissonances leapt into or out of,\n"
            "sevenths that do not fall, doubled leading tones, stray six-fours) are dropped.\n"
            "Strict: also soprano-alto and alto-tenor within an octave.\n"
            "Model only: whatever the model writes."
        )
        form.addRow("Mode", self.mode)
        form.addRow("Length", self.bars)
        form.addRow("Key", self.key)
        form.addRow("Time", self.time_sig)
        form.addRow("Pickup", self.pickup)
        form.addRow("Tempo", self.tempo)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", seed_row)
        form.addRow("Variations", self.variations)
        form.addRow("Voice leading", self.voice_leading)
        form.addRow("Look-ahead", self.particles)
        self.selection_label = QLabel("Selection: none (drag on the roll)")
        self.selection_label.setObjectName("hint")
        self.selection_label.setWordWrap(True)
        self.compose_button = QPushButton("Compose  (Ctrl+G)")
        self.compose_button.setObjectName("primary")
        self.compose_button.clicked.connect(lambda: self.composeRequested.emit(self.params()))
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.progress.setFixedHeight(6)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.read_label)
        box.addWidget(self.selection_label)
        box.addWidget(self.compose_button)
        box.addWidget(self.progress)
        box.addWidget(self.cancel_button)
        self.set_busy(False)
        self.key.setCurrentText("D minor")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()

    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        self.bars.setEnabled(mode in ("generate", "continue"))
        self.time_sig.setEnabled(mode == "generate")
        self.pickup.setEnabled(mode == "generate")
        self.key.setEnabled(mode in ("generate", "harmonize"))

    def roll_seed(self) -> None:
        self.seed.setValue(random.randrange(2**31 - 1))

    def set_mode(self, mode: Mode) -> None:
        self.mode.setCurrentIndex(MODES.index(mode))

    def params(self) -> ComposeParams:
        return ComposeParams(
            mode=self.mode.currentData(),
            bars=self.bars.value(),
            key=self.key.currentText(),
            time_signature=TIME_SIGNATURES[self.time_sig.currentText()],
            tempo=float(self.tempo.value()),
            temperature=round(self.temperature.value(), 3),
            top_p=round(self.top_p.value(), 3),
            seed=self.seed.value(),
            variations=self.variations.value(),
            voice_leading=self.voice_leading.currentData(),
            particles=self.particles.value(),
            pickup=self.pickup.currentData(),
        )

    def follow(self, score: Score, found: list[str] | tuple[str, ...] = ()) -> None:
        """Show what an opened file gave: its key, meter, tempo and pickup ("Auto" for a key
        the file does not give, so harmonize finds it), and say so under the form."""
        key = str(score.key) if score.key is not None and "key" in found else "Auto"
        if self.key.findText(key) < 0:
            self.key.addItem(key)
        self.key.setCurrentText(key)
        num, den = score.time_signature
        name = f"{num}/{den}"
        if self.time_sig.findText(name) < 0:
            TIME_SIGNATURES.setdefault(name, (num, den))
            self.time_sig.addItem(name)
        self.time_sig.setCurrentText(name)
        if "tempo" in found:
            self.tempo.setValue(int(round(score.tempo)))
        i = self.pickup.findData(score.pickup)
        if i < 0:
            self.pickup.addItem(f"{score.pickup} 16ths", score.pickup)
            i = self.pickup.count() - 1
        self.pickup.setCurrentIndex(i)
        given = [w for w, f in (("key", "key"), ("time", "time_signature"), ("tempo", "tempo"))
                 if f in found]  # fmt: skip
        pickup = f"a pickup of {score.pickup} 16ths" if score.pickup else "no pickup"
        self.read_label.setText(
            f"From the file: {', '.join(given) or 'no key, time or tempo'}; {pickup}"
            + ("" if "key" in found else " (key: Auto, found from the notes)")
        )

    def set_params(self, p: ComposeParams) -> None:
        self.set_mode(p.mode if p.mode in MODES else "generate")
        self.bars.setValue(int(p.bars))
        if p.key in KEYS:
            self.key.setCurrentText(p.key)
        for name, ts in TIME_SIGNATURES.items():
            if tuple(p.time_signature) == ts:
                self.time_sig.setCurrentText(name)
        self.tempo.setValue(int(p.tempo))
        self.temperature.setValue(float(p.temperature))
        self.top_p.setValue(float(p.top_p))
        self.seed.setValue(int(p.seed))
        self.variations.setValue(int(p.variations))
        index = self.voice_leading.findData(p.voice_leading)
        self.voice_leading.setCurrentIndex(max(0, index))
        self.particles.setValue(int(p.particles))
        self.pickup.setCurrentIndex(max(0, self.pickup.findData(p.pickup)))

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.compose_button.setEnabled(not busy)
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)
        self.progress.setValue(0)
        if busy and text:
            self.progress.setFormat(text)

    def set_progress(self, fraction: float) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))


class VariationsPanel(QGroupBox):
    """The variations of the last compose: click to choose one, double-click to hear it.
    Emits ``chosen(int)`` and ``audition(int)``."""

    chosen = Signal(int)
    audition = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Variations", parent)
        self.list = QListWidget()
        self.list.setMinimumHeight(90)
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda it: self.audition.emit(self.list.row(it)))
        self.play_button = QPushButton("▶  Audition")
        self.play_button.clicked.connect(lambda: self.audition.emit(self.list.currentRow()))
        box = QVBoxLayout(self)
        box.addWidget(self.list)
        box.addWidget(self.play_button)
        self._updating = False

    def show_variations(self, scores: tuple[Score, ...], current: int) -> None:
        self._updating = True
        self.list.clear()
        for i, s in enumerate(scores):
            key = f", {s.key}" if s.key else ""
            notes = sum(1 for _ in s.notes())
            item = QListWidgetItem(f"Variation {i + 1}  ·  {s.bars} bars{key}")
            item.setToolTip(f"{notes} notes; double-click to hear it")
            self.list.addItem(item)
        if scores:
            self.list.setCurrentRow(current)
        self.play_button.setEnabled(bool(scores))
        self._updating = False

    def _row_changed(self, row: int) -> None:
        if not self._updating and row >= 0:
            self.chosen.emit(row)


class MixerPanel(QGroupBox):
    """Per voice: instrument, volume, mute, solo, lock. Emits ``programChanged(voice, program)``,
    ``volumeChanged(voice, 0-127)``, ``mixChanged()`` (mute/solo) and ``lockToggled(voice)``."""

    programChanged = Signal(int, int)
    volumeChanged = Signal(int, int)
    mixChanged = Signal()
    lockToggled = Signal(int)

    def __init__(self, names: tuple[str, ...] = ("Soprano", "Alto", "Tenor", "Bass"),
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__("Voices", parent)
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(3)
        self.ensemble = QComboBox()
        self.ensemble.setToolTip("Every voice at once: the ensemble that plays the chorale")
        self.ensemble.addItem("Custom", "")
        for name in ENSEMBLES:
            self.ensemble.addItem(name.capitalize(), name)
        self.ensemble.activated.connect(self._ensemble_chosen)
        grid.addWidget(QLabel("Ensemble"), 8, 0)
        grid.addWidget(self.ensemble, 8, 1, 1, 3)
        self.instruments: list[QComboBox] = []
        self.volumes: list[QSlider] = []
        self.mutes: list[QToolButton] = []
        self.solos: list[QToolButton] = []
        self.locks: list[QToolButton] = []
        for v, name in enumerate(names):
            label = QLabel(name)
            label.setStyleSheet(f"color: {VOICE_COLORS[v]}; font-weight: 600;")
            inst = QComboBox()
            for iname, prog in INSTRUMENTS.items():
                inst.addItem(iname, prog)
            inst.currentIndexChanged.connect(
                lambda _i, v=v, c=inst: self.programChanged.emit(v, int(c.currentData()))
            )
            inst.currentIndexChanged.connect(lambda _i: self._show_ensemble())
            vol = QSlider(Qt.Horizontal, minimum=0, maximum=127, value=100)
            vol.setToolTip(f"{name} volume")
            vol.valueChanged.connect(lambda x, v=v: self.volumeChanged.emit(v, x))
            mute = QToolButton(text="M", checkable=True, toolTip=f"Mute {name}")
            solo = QToolButton(text="S", checkable=True, toolTip=f"Solo {name}")
            lock = QToolButton(
                text="Lock", checkable=True, toolTip=f"Lock {name}: keep it when regenerating"
            )
            mute.setObjectName("mute")
            solo.setObjectName("solo")
            mute.toggled.connect(self.mixChanged)
            solo.toggled.connect(self.mixChanged)
            lock.clicked.connect(lambda _c, v=v: self.lockToggled.emit(v))
            grid.addWidget(label, 2 * v, 0)
            grid.addWidget(mute, 2 * v, 1)
            grid.addWidget(solo, 2 * v, 2)
            grid.addWidget(lock, 2 * v, 3)
            grid.addWidget(inst, 2 * v + 1, 0)
            grid.addWidget(vol, 2 * v + 1, 1, 1, 3)
            self.instruments.append(inst)
            self.volumes.append(vol)
            self.mutes.append(mute)
            self.solos.append(solo)
            self.locks.append(lock)
        grid.setColumnStretch(0, 1)
        self._show_ensemble()

    def audible(self) -> list[bool]:
        """Which voices sound: soloed ones if any solo is on, else the unmuted ones."""
        solo = [b.isChecked() for b in self.solos]
        if any(solo):
            return solo
        return [not b.isChecked() for b in self.mutes]

    def programs(self) -> list[int]:
        return [int(c.currentData()) for c in self.instruments]

    def _ensemble_chosen(self, _index: int) -> None:
        programs = ENSEMBLES.get(self.ensemble.currentData() or "")
        if programs is not None:
            self.set_programs(list(programs))

    def _show_ensemble(self) -> None:
        now = tuple(self.programs())
        name = next((n for n, progs in ENSEMBLES.items() if progs == now), "")
        i = self.ensemble.findData(name)
        self.ensemble.blockSignals(True)
        self.ensemble.setCurrentIndex(max(0, i))
        self.ensemble.blockSignals(False)

    def set_programs(self, programs: list[int]) -> None:
        for c, p in zip(self.instruments, programs, strict=False):
            i = c.findData(int(p))
            if i >= 0:
                c.setCurrentIndex(i)

    def show_locks(self, locked: frozenset[int]) -> None:
        for v, b in enumerate(self.locks):
            b.blockSignals(True)
            b.setChecked(v in locked)
            b.blockSignals(False)


class TransportBar(QWidget):
    """Play/pause, stop, loop the selection, tempo, output, and the position readout.
    Emits ``playToggled()``, ``stopped()``, ``loopToggled(bool)``, ``tempoChanged(int)``,
    ``outputChosen(str)`` (an output id: 'synth', 'virtual', or 'port:NAME')."""

    playToggled = Signal()
    stopped = Signal()
    loopToggled = Signal(bool)
    tempoChanged = Signal(int)
    outputChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.play = QPushButton("▶  Play")
        self.play.setObjectName("transport")
        self.play.setToolTip("Play / pause (Space)")
        self.play.clicked.connect(self.playToggled)
        self.stop = QPushButton("■  Stop")
        self.stop.setObjectName("transport")
        self.stop.clicked.connect(self.stopped)
        self.loop = QPushButton("⟲  Loop selection", checkable=True)
        self.loop.setObjectName("transport")
        self.loop.toggled.connect(self.loopToggled)
        self.tempo = QSpinBox(minimum=30, maximum=220, value=80, suffix=" bpm")
        self.tempo.setToolTip("Playback tempo (quarter notes per minute)")
        self.tempo.valueChanged.connect(self.tempoChanged)
        self.position = QLabel("Bar –  ·  0:00")
        self.position.setObjectName("position")
        self.position.setMinimumWidth(130)
        self.output = QComboBox()
        self.output.setToolTip("Where playback goes: the built-in synth or a MIDI port")
        self.output.setMinimumWidth(200)
        self.output.activated.connect(lambda _i: self.outputChosen.emit(self.output.currentData()))
        for w in (self.play, self.stop, self.loop):
            row.addWidget(w)
        row.addSpacing(12)
        row.addWidget(QLabel("Tempo"))
        row.addWidget(self.tempo)
        row.addSpacing(12)
        row.addWidget(self.position)
        row.addStretch(1)
        row.addWidget(QLabel("Output"))
        row.addWidget(self.output)

    def set_outputs(self, outputs: list[tuple[str, str]], current: str) -> None:
        """outputs: (id, label) pairs."""
        self.output.blockSignals(True)
        self.output.clear()
        for oid, label in outputs:
            self.output.addItem(label, oid)
        i = self.output.findData(current)
        self.output.setCurrentIndex(max(0, i))
        self.output.blockSignals(False)

    def set_playing(self, playing: bool) -> None:
        self.play.setText("❚❚  Pause" if playing else "▶  Play")

    def set_position(self, bar: int, seconds: float) -> None:
        m, s = divmod(int(seconds), 60)
        self.position.setText(f"Bar {bar}  ·  {m}:{s:02d}")
