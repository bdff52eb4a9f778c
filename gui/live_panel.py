"""The Live panel: stream an endless chorale or harmonize a MIDI keyboard, through
composer.live, with MIDI input/output ports and a clock source.

composer/live.py does the work; when it is not there (an older core) the panel says so and
stays disabled.
"""

from __future__ import annotations

import importlib.util

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.errors import ComposerError


def live_available() -> bool:
    return importlib.util.find_spec("composer.live") is not None


class LivePanel(QWidget):
    """Ports, clock and the two live modes. ``shutdown()`` stops whatever runs."""

    def __init__(self, player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.session = None
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 0, 4, 4)
        group = QGroupBox("Live")
        form = QFormLayout(group)
        self.mode = QComboBox()
        self.mode.addItem("Stream an endless chorale", "stream")
        self.mode.addItem("Harmonize my keyboard", "harmonize")
        self.in_port = QComboBox()
        self.out_port = QComboBox()
        self.clock = QComboBox()
        self.clock.addItem("Internal clock", "internal")
        self.clock.addItem("Follow MIDI clock (DAW)", "follow")
        self.clock.addItem("Send MIDI clock", "send")
        form.addRow("Mode", self.mode)
        form.addRow("Keyboard in", self.in_port)
        form.addRow("Output", self.out_port)
        form.addRow("Clock", self.clock)
        self.start = QPushButton("Start live")
        self.start.setObjectName("primary")
        self.start.setCheckable(True)
        self.start.toggled.connect(self._toggle)
        self.refresh = QPushButton("Refresh ports")
        self.refresh.clicked.connect(self.refresh_ports)
        self.info = QLabel("")
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        box.addWidget(group)
        box.addWidget(self.start)
        box.addWidget(self.refresh)
        box.addWidget(self.info)
        box.addStretch(1)
        if not live_available():
            for w in (group, self.start, self.refresh):
                w.setEnabled(False)
            self.info.setText("Live mode needs composer.live, which this installation lacks. "
                              "Playback to MIDI ports works from the transport bar.")  # fmt: skip
        else:
            self.refresh_ports()

    def refresh_ports(self) -> None:
        from composer import ports

        self.in_port.clear()
        self.out_port.clear()
        self.out_port.addItem("Built-in synth", "synth")
        self.out_port.addItem('Virtual port "Composer"', "virtual")
        try:
            listing = ports.list_ports(self.player.backend)
        except ComposerError as e:
            self.info.setText(str(e))
            return
        for name in listing.inputs:
            self.in_port.addItem(name, name)
        for name in listing.outputs:
            self.out_port.addItem(name, f"port:{name}")
        self.info.setText(f"MIDI system: {listing.backend}")

    def _toggle(self, on: bool) -> None:
        self.start.setText("Stop live" if on else "Start live")
        if not on:
            self.shutdown()

    def shutdown(self) -> None:
        if self.session is not None:
            try:
                self.session.stop()
            finally:
                self.session = None
