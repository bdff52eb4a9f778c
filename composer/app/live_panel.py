"""The Live panel: stream an endless chorale or harmonize a MIDI keyboard, through
composer.realtime.live, with MIDI input/output ports and a clock source: the app's tempo, a DAW's
MIDI clock, or an Ableton Link session (its tempo, beat phase, start and stop; the stream starts
on the session's bar).

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
    return importlib.util.find_spec("composer.realtime.live") is not None


class LivePanel(QWidget):
    """Ports, clock and the two live modes. ``shutdown()`` stops whatever runs."""

    def __init__(self, player, context=None, parent: QWidget | None = None) -> None:
        """player: composer.app.player.AppPlayer (its MIDI backend and outputs). context(): returns
        (sampler or None, Key, tempo in quarters per minute, SamplingSettings)."""
        super().__init__(parent)
        self.player = player
        self.context = context
        self.session = None  # a Player, ClockFollowPlayer, PortHarmonizer or JackStreamer
        self._ports: list = []  # MIDI ports opened for the session
        self._link = None  # the Ableton Link timing, while the clock is "link"
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
        self.clock.addItem("Ableton Link session", "link")
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
            self.info.setText(
                "Live mode needs composer.realtime.live, which this installation lacks. "
                "Playback to MIDI ports works from the transport bar."
            )
        else:
            self.refresh_ports()

    def refresh_ports(self) -> None:
        from composer.realtime import ports

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
            self.info.setText("Live stopped; every note is off.")
            return
        try:
            self.info.setText(self._start())
        except ComposerError as e:
            self.shutdown()
            self.info.setText(f"Cannot start: {e}")
            self.start.blockSignals(True)
            self.start.setChecked(False)
            self.start.setText("Start live")
            self.start.blockSignals(False)

    def _output(self):
        from composer.realtime import ports

        choice = self.out_port.currentData()
        if choice == "synth":
            if self.player.synth is None:
                raise ComposerError(f"no audio device ({self.player.audio_error}): "
                                    "choose a MIDI port")  # fmt: skip
            return self.player.synth
        if choice == "virtual":
            port = ports.open_output(virtual="Composer", backend=self.player.backend)
        else:
            port = ports.open_output(choice[5:], backend=self.player.backend)
        self._ports.append(port)
        return port

    def _start(self) -> str:
        """Start the chosen mode with composer.realtime.live; returns a status line."""
        from composer.realtime import ports
        from composer.realtime.live import ClockFollowPlayer, PortHarmonizer
        from composer.realtime.playback import Player

        sampler, key, tempo, settings = self.context() if self.context else (None,) * 4
        if sampler is None:
            raise ComposerError("the model is still loading: try again in a moment")
        self.player.stop()
        out = self._output()
        mode, clock = self.mode.currentData(), self.clock.currentData()
        if mode == "harmonize":
            name = self.in_port.currentData()
            if not name:
                raise ComposerError("no MIDI keyboard: connect one and press Refresh ports")
            harm = PortHarmonizer(sampler.harmonizer(key=key, settings=settings), [out],
                                  tempo=tempo)  # fmt: skip
            self.session = harm
            self._ports.append(ports.open_input(name, backend=self.player.backend,
                                                callback=harm.handle))  # fmt: skip
            return f"Harmonizing {name} in {key}: play a melody."
        stream = sampler.stream(key=key, settings=settings)
        if clock == "follow":
            name = self.in_port.currentData()
            if not name:
                raise ComposerError("no MIDI clock input: choose the DAW's port as Keyboard in")
            follower = ClockFollowPlayer(stream, [out])
            self.session = follower
            self._ports.append(ports.open_input(name, backend=self.player.backend,
                                                callback=follower.handle))  # fmt: skip
            return f"Streaming on the clock of {name}: press play in the DAW."
        if clock == "link":
            from composer.realtime.playback import LinkTiming
            from composer.realtime.sync import join_link, quantum

            timing = LinkTiming(join_link(None, wait=0.3), quantum((4, 4)))  # the stream: 4/4
            self._link = timing  # the session's tempo is followed; left in shutdown()
            player = Player(stream, [out], tempo=tempo, timing=timing)
            self.session = player
            player.start()
            peers = timing.link.numPeers()
            return (f"Streaming in {key} in an Ableton Link session ({peers} other "
                    f"peer{'s' * (peers != 1)}), from its next bar.")  # fmt: skip
        player = Player(stream, [out], tempo=tempo, send_clock=clock == "send")
        self.session = player
        player.start()
        return f"Streaming an endless chorale in {key} at {tempo:g} bpm."

    def shutdown(self) -> None:
        """Stop the live session (note-offs on every output) and close its ports."""
        session, self.session = self.session, None
        if session is not None:
            stop = getattr(session, "stop", None) or session.close
            try:
                stop()
            except Exception:  # stopping must go on to close the ports
                pass
        ports, self._ports = self._ports, []
        for port in reversed(ports):
            try:
                port.close()
            except Exception:
                pass
        timing, self._link = self._link, None
        if timing is not None:
            timing.leave()  # leaves the Link session, the player having stopped
