"""Live-mode timing through real JACK MIDI ports: stream onset jitter, harmonizer latency, soak.

    python bench/live.py                      # 2-minute stream, 200 harmonized notes
    python bench/live.py --seconds 20 --notes 50 --json
    python bench/live.py --seconds 0 --notes 0 --soak-minutes 30

Needs a running JACK server (``jackd --no-realtime -d dummy -r 48000 -p 256``) and the default
model (or --model). Figures, measured side by side in one run:

- **stream jitter**: a sampler stream at 120 bpm played by ``composer.playback.Player`` into a
  JACK port; onset (note_on) times against the 16th grid, p50 and p99 of |deviation|, (a) when
  the player hands each message to the port ("send"), (b) when a receiver in another process
  gets it through JACK ("arrival", median latency removed). JACK delivers MIDI once per period
  (buffer size / sample rate), so arrival jitter cannot be finer than that period, printed too.
  Notes left on are counted on both sides; messages JACK lost (xruns of a --no-realtime server
  on a loaded machine) are counted apart.
- **harmonizer latency**: a `composer live --harmonize` process; soprano note_on into its input
  -> the third harmony note_on out, p50 and p99; beside it, in the same run and interleaved,
  JACK's own port-to-port round trip (out -> in, one hop) and a MIDI-thru process (in -> out,
  no model: the same two hops as the harmonizer).
- **soak** (--soak-minutes): a `composer live` stream for that long; resident memory of the
  process at start and end, notes played, notes left hanging after SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import mido
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer import ports  # noqa: E402
from composer.playback import Player, sounding_after  # noqa: E402

RECEIVER = """
import sys, time, json
from composer import ports
events = []
port = ports.open_input(virtual=sys.argv[1], backend="jack",
                        callback=lambda m: events.append((time.perf_counter(), m.bytes())))
print("ready", flush=True)
sys.stdin.read()
port.close()
print(json.dumps(events), flush=True)
"""

THRU = """
import sys
from composer import ports
out = ports.open_output(sys.argv[2], backend="jack")
port = ports.open_input(sys.argv[1], backend="jack", callback=out.send)
print("ready", flush=True)
sys.stdin.read()
"""


def tag(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def pct(values, qs=(50, 99)) -> list[float]:
    if len(values) == 0:
        return [float("nan")] * len(qs)
    return [round(float(np.percentile(values, q)), 3) for q in qs]


def jack_period_ms() -> float | None:
    """JACK's period (buffer size / sample rate) in ms, from jack_bufsize and jack_samplerate."""
    if not (shutil.which("jack_bufsize") and shutil.which("jack_samplerate")):
        return None
    try:
        frames = int(subprocess.run(["jack_bufsize"], capture_output=True, text=True,
                                    timeout=5).stdout.split()[-1])  # fmt: skip
        rate = int(subprocess.run(["jack_samplerate"], capture_output=True, text=True,
                                  timeout=5).stdout.split()[-1])  # fmt: skip
    except (ValueError, IndexError, subprocess.SubprocessError):
        return None
    return 1000.0 * frames / rate


def python_script(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("bench: a helper process failed to open its JACK ports")
    return proc


def composer_live(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "composer", "live", "--backend", "jack", *args],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    line = proc.stdout.readline()
    if "Ctrl-C" not in line:
        proc.kill()
        raise SystemExit(f"bench: composer live did not start ({line.strip()!r})")
    return proc


class TimedPort:
    """Wraps an output port; records perf_counter() just before each message is sent."""

    def __init__(self, port) -> None:
        self.port = port
        self.sent: list[tuple[float, mido.Message]] = []

    def send(self, msg: mido.Message) -> None:
        self.sent.append((time.perf_counter(), msg))
        self.port.send(msg)


def grid_deviation(times: np.ndarray, t0: float, step: float) -> np.ndarray:
    """Seconds from each time to the nearest 16th-grid point t0 + k * step."""
    k = np.round((times - t0) / step)
    return times - (t0 + k * step)


def bench_stream(seconds: float, tempo: float, model: str | None) -> dict:
    from composer.live import sampler_stream

    name = tag("bench-sink")
    receiver = python_script(RECEIVER, name)
    out = TimedPort(ports.open_output(name, backend="jack"))
    source = sampler_stream(model, key="D minor", seed=7)
    step = 15.0 / tempo
    player = Player(source, out, tempo=tempo, max_steps=int(seconds / step))
    player.start()
    player.wait()
    player.stop()
    time.sleep(0.2)
    out.port.close()
    received, _ = receiver.communicate("", timeout=30)
    arrivals = [(t, mido.Message.from_bytes(b)) for t, b in json.loads(received)]
    t0 = player.step_time(0)
    sent_on = np.array([t for t, m in out.sent if m.type == "note_on" and m.velocity > 0])
    got_on = np.array([t for t, m in arrivals if m.type == "note_on" and m.velocity > 0])
    send_dev = grid_deviation(sent_on, t0, step) * 1000
    arr_dev = grid_deviation(got_on, t0, step) * 1000
    latency = float(np.median(arr_dev)) if len(arr_dev) else float("nan")
    return {
        "stream_seconds": seconds,
        "stream_tempo": tempo,
        "stream_onsets": int(len(sent_on)),
        "stream_received_onsets": int(len(got_on)),
        "realtime_priority": player.realtime_granted,
        "send_jitter_ms_p50_p99": pct(np.abs(send_dev)),
        "arrival_jitter_ms_p50_p99": pct(np.abs(arr_dev - latency)),
        "arrival_latency_ms_median": round(latency, 3),
        "stream_notes_left_on_sent": len(sounding_after(m for _, m in out.sent)),
        "stream_notes_left_on_received": len(sounding_after(m for _, m in arrivals)),
        "jack_lost_messages": len(out.sent) - len(arrivals),
    }


class Waiter:
    """An input callback that timestamps messages and wakes a waiter on a condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[tuple[float, mido.Message]] = []

    def __call__(self, msg: mido.Message) -> None:
        t = time.perf_counter()
        with self.cond:
            self.events.append((t, msg))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 2.0) -> float | None:
        """Arrival time of the first event (from now on) where predicate(events) holds."""
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.events), timeout)
            return self.events[-1][0] if ok else None

    def clear(self) -> None:
        with self.cond:
            self.events.clear()


def bench_harmonizer(notes: int, model: str | None) -> dict:
    kbd, harm_sink = tag("bench-kbd"), tag("bench-harm")
    loop_out, thru_in, thru_sink = tag("bench-loop"), tag("bench-thru-in"), tag("bench-thru")
    keyboard = ports.open_output(virtual=kbd, backend="jack")
    harm = Waiter()
    harm_port = ports.open_input(virtual=harm_sink, backend="jack", callback=harm)
    loop = ports.open_output(virtual=loop_out, backend="jack")
    jack_in = Waiter()
    loop_in = ports.open_input(loop_out, backend="jack", callback=jack_in)
    thru_kbd = ports.open_output(virtual=thru_in, backend="jack")
    thru = Waiter()
    thru_port = ports.open_input(virtual=thru_sink, backend="jack", callback=thru)
    relay = python_script(THRU, thru_in, thru_sink)
    args = ["--harmonize", "--in-port", kbd, "--out-port", harm_sink, "--key", "C major"]
    live = composer_live(*(args + (["--model", model] if model else [])))
    time.sleep(0.5)

    def third_harmony_on(events):
        return sum(m.type == "note_on" and m.velocity > 0 and m.channel in (1, 2, 3)
                   for _, m in events) >= 3  # fmt: skip

    lat_h, lat_j, lat_t = [], [], []
    melody = [72, 71, 69, 71, 72, 74, 76, 74, 72, 71, 69, 67]
    for i in range(notes):
        pitch = melody[i % len(melody)]
        harm.clear()
        time.sleep(random.uniform(0.02, 0.05))  # decorrelate from JACK's cycle phase
        t = time.perf_counter()
        keyboard.send(mido.Message("note_on", note=pitch, velocity=90))
        got = harm.wait_for(third_harmony_on)
        if got is not None:
            lat_h.append(got - t)
        time.sleep(0.03)
        keyboard.send(mido.Message("note_off", note=pitch))
        for port, waiter, out in ((loop, jack_in, lat_j), (thru_kbd, thru, lat_t)):
            waiter.clear()
            time.sleep(random.uniform(0.02, 0.05))
            t = time.perf_counter()
            port.send(mido.Message("note_on", note=pitch, velocity=90))
            got = waiter.wait_for(lambda ev: len(ev) >= 1)
            if got is not None:
                out.append(got - t)
            port.send(mido.Message("note_off", note=pitch))
    time.sleep(0.2)
    live.send_signal(signal.SIGTERM)
    live.wait(timeout=30)
    relay.communicate("", timeout=10)
    for p in (thru_port, thru_kbd, loop_in, loop, harm_port, keyboard):
        p.close()
    h, j, r = (np.array(x) * 1000 for x in (lat_h, lat_j, lat_t))
    return {
        "harmonizer_notes": notes,
        "harmonizer_answered": int(len(h)),
        "harmonizer_latency_ms_p50_p99": pct(h),
        "jack_roundtrip_ms_p50_p99": pct(j),
        "midi_thru_latency_ms_p50_p99": pct(r),
        "harmonizer_minus_jack_p99_ms": round(pct(h)[1] - pct(j)[1], 3),
        "harmonizer_minus_thru_p99_ms": round(pct(h)[1] - pct(r)[1], 3),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def bench_soak(minutes: float, tempo: float, model: str | None) -> dict:
    name = tag("bench-soak")
    sink = Waiter()
    port = ports.open_input(virtual=name, backend="jack", callback=sink)
    live = composer_live("--out-port", name, "--tempo", f"{tempo:g}",
                         *(["--model", model] if model else []))  # fmt: skip
    time.sleep(5)
    start = rss_mb(live.pid)
    time.sleep(max(0.0, minutes * 60 - 5))
    end = rss_mb(live.pid)
    live.send_signal(signal.SIGTERM)
    code = live.wait(timeout=30)
    time.sleep(0.3)
    port.close()
    messages = [m for _, m in sink.events]
    return {
        "soak_minutes": minutes,
        "soak_rss_mb_start_end": [start, end],
        "soak_note_ons": sum(m.type == "note_on" and m.velocity > 0 for m in messages),
        "soak_notes_left_on": len(sounding_after(messages)),
        "soak_exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="stream length (0: skip)")
    p.add_argument("--tempo", type=float, default=120.0, help="quarter notes per minute")
    p.add_argument("--notes", type=int, default=200, help="harmonized notes (0: skip)")
    p.add_argument("--soak-minutes", type=float, default=0.0, help="soak length (0: skip)")
    p.add_argument("--model", help="model bundle (default models/bach-satb)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(argv)
    from composer.errors import ComposerError

    try:
        ports.list_ports("jack")
    except ComposerError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    results: dict = {"jack_period_ms": jack_period_ms(), "load_average": os.getloadavg()[0]}
    if args.seconds > 0:
        results.update(bench_stream(args.seconds, args.tempo, args.model))
    if args.notes > 0:
        results.update(bench_harmonizer(args.notes, args.model))
    if args.soak_minutes > 0:
        results.update(bench_soak(args.soak_minutes, args.tempo, args.model))
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:34s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
