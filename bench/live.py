"""Live-mode timing through real JACK servers: what a synth hears, in JACK frames.

    python bench/live.py                      # 2-minute runs at 64 and 256 frames, 200 notes
    python bench/live.py --seconds 20 --notes 50 --json
    python bench/live.py --periods current    # on the JACK server already running
    python bench/live.py --seconds 0 --notes 0 --soak-minutes 30

Starts a JACK server of its own for each period in --periods (dummy driver, 48 kHz, ``-R``:
real-time, as musicians run JACK; ``--no-realtime-server`` as CI runs it), or uses the running
one with ``--periods current``; needs jackd, the JACK-Client and LinkPython-extern packages and
the default model (or --model). Figures, measured side by side in one run on each server:

- **stream, sync and clock** (bench/live_timing.py, its docstring says how each is read):
  `composer live` streams read by an independent JACK-native receiver in JACK frames: onset
  deviation from the 16th grid (p50, p99, max) of the JACK-native stream and of the rtmidi path
  beside it; notes lost and left on; the MIDI clock sent; the phase error against a second
  Ableton Link peer, a JACK timebase master and a MIDI clock source with jitter, each with a
  tempo change half-way.
- **harmonizer latency**: soprano note-on in -> third harmony note-on out, on one path for all:
  meter sender -> client under test -> meter receiver, where the meter is two JACK clients
  (JACK-Client) in this process and the client under test is one of (a) a minimal JACK client
  in another process that copies its input to its output in its process callback: JACK's own
  port-to-port latency; (b) `composer live --harmonize` as one JACK client
  (``composer.realtime.jack_live``), with the model's bookkeeping on a worker thread, and (b2) with
  the bookkeeping in the process callback; (c) `composer live --harmonize --no-jack-native`, the
  python-rtmidi harmonizer. The four are interleaved note by note in a random order, in one run,
  each note written at a random frame offset in the sender's period. Two clocks, p50 and p99:
  **frame**: JACK's own timeline, what a synth or DAW plays the notes at: (arrival frame -
  sent frame) / sample rate, each frame = the client's ``last_frame_time`` + the event's offset
  (0 = same period, same offset); **wall**: perf_counter() in the sender's process callback when
  it wrote the note -> perf_counter() in the receiver's process callback that read the answer
  (both in this process: one clock), i.e. the processing time inside the period plus any
  periods waited. `composer live` prints its counters on exit (chords answered a period late
  because the model was busy, bookkeeping done in the callback, longest callback), reported
  beside them; so are xruns the meter saw.
- **soak** (--soak-minutes, on the running server): side by side for that long, a `composer
  live` stream and a JACK-native `composer live --harmonize` played without a break (notes of
  50-400 ms, the last one held at SIGTERM); resident memory of each process at start and end,
  notes played, notes left hanging after SIGTERM.
"""

from __future__ import annotations

import argparse
import concurrent.futures
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

from composer.realtime import ports  # noqa: E402
from composer.realtime.playback import sounding_after  # noqa: E402

COPY = """
import sys, jack
client = jack.Client(sys.argv[1], no_start_server=True)
port_in = client.midi_inports.register("in")
port_out = client.midi_outports.register("out")

def process(frames):
    port_out.clear_buffer()
    for offset, data in port_in.incoming_midi_events():
        port_out.write_midi_event(offset, data)

client.set_process_callback(process)
client.activate()
client.connect(sys.argv[2], port_in)
client.connect(port_out, sys.argv[3])
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
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    line = proc.stdout.readline()
    if "Ctrl-C" not in line:
        proc.kill()
        err = proc.communicate()[1].strip().splitlines()[-3:]
        raise SystemExit(f"bench: composer live {' '.join(args)} did not start: {line!r} {err}")
    return proc


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


class Meter:
    """The one measuring JACK client pair of a run: ``send`` (an output port per path) and
    ``recv`` (an input port per path), both in this process, both stamping with JACK's frame
    clock (``last_frame_time + offset``) and perf_counter().

    ``play(path, data, offset)`` writes one event in the sender's next period at that offset;
    ``wait(path, count)`` waits until that path's input has received count note-ons (count
    note-offs with ``kind="off"``) since the last ``clear(path)`` and returns the last one's
    (frame, perf_counter()).
    """

    def __init__(self, paths: list[str]) -> None:
        import jack

        self.send = jack.Client(tag("bench-send"), no_start_server=True)
        self.recv = jack.Client(tag("bench-recv"), no_start_server=True)
        self.outs = {p: self.send.midi_outports.register(p) for p in paths}
        self.ins = {p: self.recv.midi_inports.register(p) for p in paths}
        self.rate = self.send.samplerate
        self.queue: list[tuple[str, int, bytes, list]] = []
        self.got: dict[str, list[tuple[int, float, bytes]]] = {p: [] for p in paths}
        self.cond = threading.Condition()
        self.xruns = 0
        self.send.set_process_callback(self._send)
        self.recv.set_process_callback(self._recv)
        self.send.set_xrun_callback(self._xrun)
        self.shut_down: list[str] = []  # reasons JACK gave for dropping a meter client
        for client in (self.send, self.recv):
            client.set_shutdown_callback(lambda status, reason: self.shut_down.append(reason))
        self.send.activate()
        self.recv.activate()

    def _xrun(self, delay: float) -> None:
        self.xruns += 1

    def _send(self, frames: int) -> None:
        for port in self.outs.values():
            port.clear_buffer()
        if self.queue:
            path, offset, data, stamp = self.queue.pop(0)
            self.outs[path].write_midi_event(offset, data)
            stamp.append((self.send.last_frame_time + offset, time.perf_counter()))

    def _recv(self, frames: int) -> None:
        now, start = time.perf_counter(), self.recv.last_frame_time
        for path, port in self.ins.items():
            events = [(start + t, now, bytes(d)) for t, d in port.incoming_midi_events()]
            if events:
                with self.cond:
                    self.got[path].extend(events)
                    self.cond.notify_all()

    def play(self, path: str, data: bytes, offset: int) -> tuple[int, float]:
        stamp: list = []
        self.queue.append((path, offset, data, stamp))
        while not stamp:
            time.sleep(0.0005)
        return stamp[0]

    def clear(self, path: str) -> None:
        with self.cond:
            self.got[path].clear()

    def wait(self, path: str, count: int, kind: str = "on", timeout: float = 2.0):
        def hits():
            return [(f, t) for f, t, d in self.got[path]
                    if (d[0] & 0xF0 == 0x90 and d[2] > 0) == (kind == "on")]  # fmt: skip

        with self.cond:
            if self.cond.wait_for(lambda: len(hits()) >= count, timeout):
                return hits()[count - 1]
        return None

    def close(self) -> None:
        for client in (self.send, self.recv):
            client.deactivate()
            client.close()


def _live_summary(err: str) -> dict:
    """The counters `composer live` prints when a JACK-native harmonizer stops."""
    import re

    m = re.search(r"(\d+) chords, (\d+) answered a period late, (\d+) bookkeeping catch-ups "
                  r"in the callback, longest callback ([\d.]+) ms, (\d+) chords prepared ahead",
                  err)  # fmt: skip
    if not m:
        return {"summary": err.strip().splitlines()[-1:] or ""}
    return {"chords": int(m[1]), "late": int(m[2]), "caught_up": int(m[3]),
            "longest_callback_ms": float(m[4]), "prepared_ahead": int(m[5])}  # fmt: skip


def bench_harmonizer(notes: int, model: str | None, tempo: float, b2: bool = False) -> dict:
    """(a) JACK's own port-to-port latency (a minimal copy client), (b) the JACK-native
    harmonizer (worker bookkeeping, and with ``b2`` bookkeeping in the callback), (c) the rtmidi
    harmonizer; interleaved in one run, each on the same path: meter sender -> client -> meter
    receiver. (b2's bookkeeping in the callback makes JACK miss whole periods on a real-time
    server on a loaded machine, which the other paths then share: off unless asked for.)"""
    paths = ["copy", "jack-worker", *(["jack-callback"] if b2 else []), "rtmidi"]
    meter = Meter(paths)
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["copy"] = python_script(COPY, tag("bench-copy"), meter.outs["copy"].name,
                                      meter.ins["copy"].name)  # fmt: skip
        common = ["--harmonize", "--key", "C major", "--tempo", f"{tempo:g}",
                  *(["--model", model] if model else [])]  # fmt: skip
        for path, extra in (("jack-worker", ["--jack-bookkeeping", "worker"]),
                            ("jack-callback", ["--jack-bookkeeping", "callback"]),
                            ("rtmidi", ["--no-jack-native"])):  # fmt: skip
            if path not in paths:
                continue
            procs[path] = composer_live(*common, *extra, "--in-port", meter.outs[path].name,
                                        "--out-port", meter.ins[path].name)  # fmt: skip
        time.sleep(0.5)
        frames_ms: dict[str, list[float]] = {p: [] for p in paths}
        wall_ms: dict[str, list[float]] = {p: [] for p in paths}
        melody = [72, 71, 69, 71, 72, 74, 76, 74, 72, 71, 69, 67]
        rng = random.Random(1)
        xruns0 = meter.xruns
        for i in range(notes):
            pitch = melody[i % len(melody)]
            for path in rng.sample(paths, len(paths)):  # interleaved, in a random order
                answers = 1 if path == "copy" else 3  # the third harmony note-on
                meter.clear(path)
                time.sleep(rng.uniform(0.01, 0.03))
                offset = rng.randrange(meter.send.blocksize)  # anywhere in the period
                f0, t0 = meter.play(path, bytes((0x90, pitch, 90)), offset)
                got = meter.wait(path, answers)
                if got is not None:
                    frames = (got[0] - f0) & 0xFFFFFFFF  # frame times wrap at 2**32
                    frames -= (frames >= 2**31) << 32  # signed: xruns can misplace a stamp
                    frames_ms[path].append(frames * 1000 / meter.rate)
                    wall_ms[path].append((got[1] - t0) * 1000)
                time.sleep(rng.uniform(0.02, 0.06))  # the note sounds; bookkeeping runs
                meter.play(path, bytes((0x80, pitch, 0)), rng.randrange(meter.send.blocksize))
                meter.wait(path, answers, kind="off")
        xruns = meter.xruns - xruns0
    finally:
        summaries = {}
        for path, proc in procs.items():
            if path == "copy":
                proc.communicate("", timeout=10)
            else:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
                summaries[path] = _live_summary(err or "")
        meter.close()
    out: dict = {"harmonizer_notes": notes, "xruns_seen_by_meter": xruns,
                 "meter_dropped_by_jack": meter.shut_down}  # fmt: skip
    names = {"copy": "a_jack_copy_client", "jack-worker": "b_jack_native_harmonizer",
             "jack-callback": "b2_jack_native_bookkeeping_in_callback",
             "rtmidi": "c_rtmidi_harmonizer"}  # fmt: skip
    for path, name in names.items():
        if path not in paths:
            continue
        out[f"{name}_answered"] = len(frames_ms[path])
        out[f"{name}_frames_p50_p99_max"] = pct([x * meter.rate / 1000 for x in frames_ms[path]],
                                                (50, 99, 100))  # fmt: skip
        out[f"{name}_frame_ms_p50_p99"] = pct(frames_ms[path])
        out[f"{name}_wall_ms_p50_p99"] = pct(wall_ms[path])
        if path in summaries:
            out[f"{name}_counters"] = summaries[path]
    for name, path in (("b", "jack-worker"), ("b2", "jack-callback")):
        if path not in paths:
            continue
        out[f"{name}_minus_a_p99_ms_frame_wall"] = [
            round(pct(frames_ms[path])[1] - pct(frames_ms["copy"])[1], 3),
            round(pct(wall_ms[path])[1] - pct(wall_ms["copy"])[1], 3),
        ]
    return out


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


def bench_soak_harmonizer(minutes: float, tempo: float, model: str | None) -> dict:
    """A JACK-native `composer live --harmonize` played without a break for that long: notes of
    50-400 ms with gaps, like a player; SIGTERM while the last note is held."""
    meter = Meter(["soak"])
    live = composer_live("--harmonize", "--key", "D minor", "--tempo", f"{tempo:g}",
                         "--in-port", meter.outs["soak"].name,
                         "--out-port", meter.ins["soak"].name,
                         *(["--model", model] if model else []))  # fmt: skip
    rng = random.Random(3)
    played = 0
    start_rss = None
    t_start = time.monotonic()
    t_end = t_start + minutes * 60
    pitch = 72
    while True:
        pitch = min(79, max(62, pitch + rng.choice((-2, -1, 1, 2))))
        meter.play("soak", bytes((0x90, pitch, 90)), rng.randrange(meter.send.blocksize))
        played += 1
        if start_rss is None and time.monotonic() - t_start > 5:
            start_rss = rss_mb(live.pid)
        if time.monotonic() >= t_end:
            break  # the last note is still held
        time.sleep(rng.uniform(0.05, 0.4))
        meter.play("soak", bytes((0x80, pitch, 0)), rng.randrange(meter.send.blocksize))
        time.sleep(rng.uniform(0.0, 0.2))
    time.sleep(0.1)
    end_rss = rss_mb(live.pid)
    live.send_signal(signal.SIGTERM)
    _, err = live.communicate(timeout=30)
    time.sleep(0.2)
    with meter.cond:
        messages = [mido.Message.from_bytes(d) for _, _, d in meter.got["soak"]]
    meter.close()
    return {
        "soak_harmonizer_notes_played": played,
        "soak_harmonizer_rss_mb_start_end": [start_rss, end_rss],
        "soak_harmonizer_chord_note_ons": sum(
            m.type == "note_on" and m.velocity > 0 for m in messages
        ),  # fmt: skip
        "soak_harmonizer_notes_left_on": len(sounding_after(messages)),
        "soak_harmonizer_exit_code": live.returncode,
        "soak_harmonizer_counters": _live_summary(err or ""),
        "soak_harmonizer_meter_dropped_by_jack": meter.shut_down,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="stream and sync runs (0: skip)")
    p.add_argument("--tempo", type=float, default=120.0, help="quarter notes per minute")
    p.add_argument("--notes", type=int, default=200, help="harmonized notes (0: skip)")
    p.add_argument("--periods", default="64,256",
                   help="JACK periods (frames) to start a server for, or 'current'")  # fmt: skip
    p.add_argument("--no-realtime-server", action="store_true",
                   help="start the servers with --no-realtime (as CI does)")  # fmt: skip
    p.add_argument(
        "--parts",
        default="native,rtmidi,link,transport,clock",
        help="which stream and sync runs to make side by side (default: all)",
    )
    p.add_argument(
        "--callback-bookkeeping",
        action="store_true",
        help="also the harmonizer with its bookkeeping in the process callback (b2)",
    )
    p.add_argument("--soak-minutes", type=float, default=0.0, help="soak length (0: skip)")
    p.add_argument("--model", help="model bundle (default models/bach-satb)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(argv)
    import contextlib
    import gc

    from composer.realtime.clock import try_realtime_priority

    sys.path.insert(0, str(REPO / "bench"))
    from live_timing import have_jackd, private_server, run_timing

    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.0005)  # the meter's JACK callbacks share this process's GIL
    try_realtime_priority()  # and this thread, preempted holding it, must not hold them up
    periods = [] if args.periods == "current" else [int(x) for x in args.periods.split(",")]
    if periods and not have_jackd():
        print("bench: jackd and jack_wait are needed (apt-get install jackd2)", file=sys.stderr)
        return 2
    results: dict = {"load_average": os.getloadavg()[0]}
    for period in periods or [None]:
        server = (private_server(period, realtime=not args.no_realtime_server) if period
                  else contextlib.nullcontext())  # fmt: skip
        with server:
            from composer.errors import ComposerError

            try:
                ports.list_ports("jack")
            except ComposerError as e:
                print(f"bench: {e}", file=sys.stderr)
                return 2
            label = f"p{period}" if period else "jack"
            results[f"{label}_period_ms"] = jack_period_ms()
            if args.seconds > 0:
                results.update(run_timing(args.seconds, args.tempo, args.model, period,
                                          args.parts.split(",")))  # fmt: skip
            if args.notes > 0:
                harmonizer = bench_harmonizer(args.notes, args.model, args.tempo,
                                              args.callback_bookkeeping)  # fmt: skip
                results.update({f"{label}_{k}": v for k, v in harmonizer.items()})
    if args.soak_minutes > 0:  # the stream and the JACK-native harmonizer, side by side
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(bench_soak, args.soak_minutes, args.tempo, args.model),
                    pool.submit(bench_soak_harmonizer, args.soak_minutes, args.tempo,
                                args.model)]  # fmt: skip
            for job in jobs:
                results.update(job.result())
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:62s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
