"""MIDI ports: backend choice, name matching, one-line errors; real ports through JACK."""

from __future__ import annotations

import json
import os
import threading

import mido
import pytest
from jack_fixtures import need_jack, rtmidi_jack_problem, settle, unique

from composer.cli.main import main
from composer.errors import PortError
from composer.realtime import ports


@pytest.fixture(scope="module")
def jack() -> None:
    need_jack(rtmidi_jack_problem())


class Inbox:
    """Collects messages from an input callback; waits for a condition."""

    def __init__(self) -> None:
        self.messages: list[mido.Message] = []
        self._cond = threading.Condition()

    def __call__(self, msg: mido.Message) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[mido.Message]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


# --- without a MIDI system -------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, spec",
    [
        ("jack", "mido.backends.rtmidi/UNIX_JACK"),
        ("ALSA", "mido.backends.rtmidi/LINUX_ALSA"),
        ("coremidi", "mido.backends.rtmidi/MACOSX_CORE"),
        ("winmm", "mido.backends.rtmidi/WINDOWS_MM"),
        ("mido.backends.rtmidi/UNIX_JACK", "mido.backends.rtmidi/UNIX_JACK"),
    ],
)
def test_backend_names(name, spec):
    assert ports.backend_spec(name) == spec


def test_backend_defaults_to_the_environment_then_the_system(monkeypatch):
    monkeypatch.setenv("MIDO_BACKEND", ports.JACK)
    assert ports.backend_spec(None) == ports.JACK
    assert ports.backend_label(None) == "jack"
    monkeypatch.delenv("MIDO_BACKEND")
    assert ports.backend_spec(None) == "mido.backends.rtmidi"
    assert ports.backend_label(None) == "system default"


def test_unknown_backend_is_a_port_error_naming_the_choices():
    with pytest.raises(PortError, match="alsa, jack, coremidi, winmm"):
        ports.backend_spec("pipewire")


NAMES = ["Composer:out", "fluidsynth:midi_00", "Keystation 49:Keystation MIDI 1"]


def test_find_port_by_exact_name_or_unique_part_case_insensitive():
    assert ports.find_port("fluidsynth:midi_00", NAMES) == "fluidsynth:midi_00"
    assert ports.find_port("keystation", NAMES) == "Keystation 49:Keystation MIDI 1"
    assert ports.find_port("Composer:out", NAMES + ["Composer:out 2"]) == "Composer:out"


def test_find_port_errors_list_the_available_or_matching_ports():
    with pytest.raises(PortError) as e:
        ports.find_port("nanoKEY", NAMES, "input")
    text = str(e.value)
    assert "no MIDI input port matches 'nanoKEY'" in text
    assert all(n in text for n in NAMES) and "\n" not in text
    with pytest.raises(PortError, match="matches several"):
        ports.find_port(":", NAMES)
    with pytest.raises(PortError, match="available outputs: none"):
        ports.find_port("x", [])


def test_virtual_ports_on_windows_point_to_a_loopback_driver(monkeypatch):
    monkeypatch.setattr(ports.sys, "platform", "win32")
    with pytest.raises(PortError, match="loopMIDI"):
        ports.open_output(virtual="Composer")
    with pytest.raises(PortError, match="loopMIDI"):
        ports.open_input(virtual="Composer")


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has ALSA MIDI")
def test_no_alsa_is_one_clear_line(capsys):
    with pytest.raises(PortError, match=r"^no ALSA MIDI here; try --backend jack$"):
        ports.list_ports("alsa")
    assert main(["ports", "--backend", "alsa"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "composer: error: no ALSA MIDI here; try --backend jack\n"


def test_no_jack_server_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", unique("composer-no-such-server"))
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(PortError, match=r"^JACK server not running\?"):
        ports.list_ports("jack")
    with pytest.raises(PortError, match=r"^JACK server not running\?"):
        ports.open_output(virtual="x", backend="jack")


def test_no_output_named_is_a_port_error():
    with pytest.raises(PortError, match="--out-port NAME or --virtual NAME"):
        ports.open_output(None, backend="jack")


# --- real ports through JACK -----------------------------------------------------------------
@pytest.mark.jack
class FakePort:
    closed = False
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[mido.Message] = []

    def send(self, msg: mido.Message) -> None:
        self.sent.append(msg)

    def close(self) -> None:
        self.closed = True


def test_a_jack_output_closes_only_after_its_last_messages_had_time_to_leave():
    now = [100.0]
    slept: list[float] = []
    port = FakePort()
    out = ports.DrainingOutput(port, drain=0.2, clock=lambda: now[0], sleep=slept.append)
    assert out.name == "fake"
    out.send(mido.Message("note_off", note=60))
    now[0] += 0.05  # 50 ms later
    out.close()
    assert port.sent == [mido.Message("note_off", note=60)] and port.closed
    assert slept == [pytest.approx(0.15)]  # the rest of the drain time, then closed
    idle = ports.DrainingOutput(FakePort(), drain=5.0, clock=lambda: now[0], sleep=slept.append)
    idle.close()  # nothing sent: closes at once
    assert slept == [pytest.approx(0.15)]


def test_virtual_output_is_listed_as_an_input_and_opened_by_a_unique_part(jack):
    name = unique("ptest")
    out = ports.open_output(virtual=name, backend="jack")
    try:
        listed = ports.list_ports("jack")
        full = f"{ports.CLIENT_NAME}:{name}"
        assert full in listed.inputs
        assert full not in listed.outputs
        inbox = Inbox()
        port_in = ports.open_input(name.upper(), backend="jack", callback=inbox)
        try:
            assert port_in.name == full
            sent = [
                mido.Message("note_on", channel=2, note=64, velocity=70),
                mido.Message("control_change", channel=2, control=64, value=127),
                mido.Message("clock"),
                mido.Message("note_off", channel=2, note=64, velocity=0),
            ]
            settle()
            for msg in sent:
                out.send(msg)
            assert inbox.wait_for(len(sent)) == sent
        finally:
            port_in.close()
    finally:
        out.close()


@pytest.mark.jack
def test_open_output_by_name_connects_to_a_virtual_input(jack):
    name = unique("pin")
    inbox = Inbox()
    port_in = ports.open_input(virtual=name, backend="jack", callback=inbox)
    try:
        out = ports.open_output(name, backend="jack")
        try:
            settle()
            out.send(mido.Message("note_on", note=60))
            assert inbox.wait_for(1) == [mido.Message("note_on", note=60)]
        finally:
            out.close()
        with pytest.raises(PortError, match="no MIDI output port matches"):
            ports.open_output(unique("missing"), backend="jack")
    finally:
        port_in.close()


@pytest.mark.jack
def test_ports_command_lists_jack_ports(jack, capsys, monkeypatch):
    name = unique("listed")
    out = ports.open_output(virtual=name, backend="jack")
    try:
        assert main(["ports", "--backend", "jack"]) == 0
        text = capsys.readouterr().out
        assert "MIDI backend: jack" in text and f"  Composer:{name}" in text
        monkeypatch.setenv("MIDO_BACKEND", ports.JACK)
        assert main(["ports", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["backend"] == "jack" and f"Composer:{name}" in data["inputs"]
    finally:
        out.close()
