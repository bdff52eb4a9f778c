"""What a synth hears: `composer live` streams and syncs read in JACK frames (bench/live.py).

Every figure here comes from an independent JACK-native receiver (tests/jack_fixtures.py's
FrameSink: JACK-Client only, nothing of composer.realtime) reading each event's frame time,
``last_frame_time + offset``, which is when a synth or DAW on the same server plays it. Side by
side in one run, each a real `composer live --backend jack` process, for ``seconds``:

- **stream, JACK-native** (``composer.realtime.jack_stream``, with ``--clock send``) and
  **stream, rtmidi** (``--no-jack-native``): onset deviation from the 16th grid in frames and ms
  (p50, p99, max; the grid is the first onset plus whole steps); notes lost (the notes received
  against those the same seed renders, message for message: ``--bars`` ends the run), notes
  left on; the MIDI clock sent: its tempo (from the first to the last clock) and each clock's
  deviation from its grid.
- **Link** (``--sync link``): a second Link peer in this process holds the session (at the
  tempo given, changed by a fifth at ``change_at`` of the run); each onset's beat on that peer's
  timeline, at the onset's frame (JACK's frame -> time, plus the offset between the clocks), to
  the nearest 16th: the phase error in ms; the first onset's beat (a bar line: a multiple of 4);
  after the tempo change, the largest error within the first beat and after it.
- **JACK transport** (``--sync jack``): this process is the timebase master (BBT in whole ticks,
  1920 per beat, as Ardour writes it; the same tempo change); each onset's beat from the
  transport frame the sink read; the phase error in ms. The transport stops for a second at
  3/4 of the run and starts again: notes left on while stopped.
- **MIDI clock follow** (``--clock follow``): a JACK-native clock source here sends 24 ppqn with
  a random jitter of +-0.5 ms (24 frames) and the same tempo change; each onset against its
  clock's ideal (jitter-free) frame; the tempo the follower estimated is in its own output only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from jack_fixtures import ClockSender, FrameSink, TransportMaster, link_beats  # noqa: E402

RATE = 48000


def stats(values, scale: float = 1.0) -> list[float]:
    """p50, p99, max of |values| * scale (3 decimals); NaNs for none."""
    a = np.abs(np.asarray(values, float)) * scale
    if a.size == 0:
        return [float("nan")] * 3
    return [round(float(np.percentile(a, 50)), 3), round(float(np.percentile(a, 99)), 3),
            round(float(a.max()), 3)]  # fmt: skip


@contextlib.contextmanager
def private_server(period: int, realtime: bool = True, rate: int = RATE):
    """A JACK server of our own (dummy driver, ``period`` frames) for this process and its
    children (JACK_DEFAULT_SERVER), stopped at the end. realtime: as musicians run JACK
    (``-R``: its clients' process threads get SCHED_FIFO, where the system allows it), so other
    work on the machine does not make it miss periods; ``--no-realtime`` is how CI runs it."""
    name = f"composer-bench-{period}-{uuid.uuid4().hex[:6]}"
    log = open(f"/tmp/{name}.log", "w")  # noqa: SIM115
    mode = ["-R"] if realtime else ["--no-realtime"]
    proc = subprocess.Popen(["jackd", "-n", name, *mode, "-d", "dummy", "-r", str(rate),
                             "-p", str(period)], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    try:
        subprocess.run(["jack_wait", "-w", "-t", "10"], check=True, capture_output=True,
                       env=dict(os.environ))  # fmt: skip
        yield name
    finally:
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def have_jackd() -> bool:
    return shutil.which("jackd") is not None and shutil.which("jack_wait") is not None


class Live:
    """A `composer live --backend jack ...` process, started and waited for."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.args = args
        self.proc = subprocess.Popen([sys.executable, "-m", "composer", "live", "--backend", "jack",
                                      *args], cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        self.line = self.proc.stdout.readline()
        if "Ctrl-C" not in self.line:
            self.proc.kill()
            err = self.proc.communicate()[1].strip().splitlines()[-3:]
            raise SystemExit(f"bench: composer live {' '.join(args)} did not start: "
                             f"{self.line!r} {err}")  # fmt: skip
        self.err = ""

    def finish(self, sig: int | None = signal.SIGTERM, timeout: float = 60.0) -> int:
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        _, self.err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def summary(self) -> str:
        lines = [x for x in self.err.strip().splitlines() if "steps played" in x]
        return lines[-1].removeprefix("composer live: ") if lines else self.err.strip()[-200:]


def is_on(data: bytes) -> bool:
    return data[0] & 0xF0 == 0x90 and data[2] > 0


def note_messages(sink: FrameSink) -> list:
    return [m for m in sink.messages() if m.type in ("note_on", "note_off")]


def settled(messages: list) -> list:
    """The messages with the final run of note-offs (the release at the end) sorted: the stream
    ends its notes in the order they started, the scheduler voice by voice."""
    k = len(messages)
    while k and messages[k - 1].type == "note_off":
        k -= 1
    return messages[:k] + sorted(messages[k:], key=lambda m: (m.channel, m.note))


def expected_notes(bars: int, seed: int, model: str | None) -> list:
    """The note messages the stream plays for ``bars`` bars of 4/4 with this seed."""
    from composer.realtime.clock import FakeClock
    from composer.realtime.live import sampler_stream
    from composer.realtime.playback import Player, RecordingOutput

    clock = FakeClock()
    out = RecordingOutput(clock)
    Player(sampler_stream(model, seed=seed), out, clock=clock, tempo=120,
           max_steps=bars * 16).run()  # fmt: skip
    return out.messages


def grid_dev(frames: np.ndarray, step: float) -> np.ndarray:
    """Each frame time's distance (frames) from a 16th grid: the grid's step is fitted (least
    squares), so a scheduler on the wall clock is not charged with the drift between the wall
    clock and JACK's frame clock (a --no-realtime dummy driver slips by whole periods)."""
    if frames.size < 2:
        return np.zeros(frames.size)
    k = np.round((frames - frames[0]) / step)
    slope, start = np.polyfit(k, frames, 1)
    return frames - (start + slope * k)


def dev_figures(prefix: str, dev: np.ndarray, frames, sink: FrameSink) -> dict:
    """p50, p99, max of |dev| in frames and ms, and in ms over the events clear of xruns."""
    dev = np.asarray(dev, float)
    clean = np.array(sink.clean(list(frames)), bool) if len(dev) else np.zeros(0, bool)
    return {
        f"{prefix}_frames_p50_p99_max": stats(dev),
        f"{prefix}_ms_p50_p99_max": stats(dev, 1000 / RATE),
        f"{prefix}_ms_clear_of_xruns_p50_p99_max": stats(dev[clean], 1000 / RATE),
        f"{prefix}_events_clear_of_xruns": f"{int(clean.sum())} of {len(dev)}",
    }


def stream_figures(prefix: str, sink: FrameSink, tempo: float, expected: list | None) -> dict:
    from composer.realtime.playback import sounding_after

    onsets = np.array(sink.onsets(), float)
    got = note_messages(sink)
    out = {f"{prefix}_onsets": int(len(onsets))}
    out.update(dev_figures(f"{prefix}_onset_dev", grid_dev(onsets, RATE * 15 / tempo), onsets,
                           sink))  # fmt: skip
    out[f"{prefix}_notes_left_on"] = len(sounding_after(got))
    if expected is not None:
        lost = len(expected) - len(got)
        same = settled(got) == settled(expected)
        verdict = "identical" if same else "DIFFERENT"
        out[f"{prefix}_notes_as_rendered"] = f"{len(got)} of {len(expected)} messages, {verdict}"
        out[f"{prefix}_messages_lost"] = lost
    return out


def clock_figures(prefix: str, sink: FrameSink, tempo: float) -> dict:
    with sink.cond:
        clocks = np.array([f for f, d in sink.events if d == b"\xf8"])
    if clocks.size < 2:
        return {f"{prefix}_clocks": int(clocks.size)}
    tick = RATE * 60 / (tempo * 24)
    dev = clocks - clocks[0] - np.round((clocks - clocks[0]) / tick) * tick
    measured = 60 * RATE * (clocks.size - 1) / (24 * (clocks[-1] - clocks[0]))
    out = {
        f"{prefix}_clocks": int(clocks.size),
        f"{prefix}_tempo_bpm_measured_vs_set": [round(float(measured), 4), tempo],
    }
    out.update(dev_figures(f"{prefix}_phase", dev, clocks, sink))
    return out


PARTS = ("native", "rtmidi", "link", "transport", "clock")


def run_timing(
    seconds: float,
    tempo: float,
    model: str | None,
    period: int | None,
    parts: list[str] | tuple[str, ...] = PARTS,
) -> dict:
    """The stream and sync figures of ``parts`` (all by default), side by side for ``seconds`` on
    the JACK server this process reaches."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"bench: unknown parts {sorted(unknown)}: choose from {PARTS}")
    import gc

    from composer.realtime.playback import sounding_after

    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.0005)  # seven JACK clients' callbacks share this process's GIL
    from composer.realtime.clock import try_realtime_priority

    try_realtime_priority()  # and this thread, preempted while holding it, must not hold them up
    label = f"p{period}" if period else "jack"
    bars = max(1, int(seconds * tempo / 240))  # 4/4: a bar is 4 quarter notes
    run_seconds = bars * 240 / tempo
    change = 1.2  # the tempo change of Link, transport and the clock: a fifth up
    change_at = 0.5  # ... at half of the run
    seed = 1
    common = ["--seed", str(seed), *(["--model", model] if model else [])]
    figures: dict = {}
    sinks = {k: FrameSink() for k in parts}
    procs: dict[str, Live] = {}
    # the Link session, held by a peer here
    import link

    peer = link.Link(tempo)
    peer.startStopSyncEnabled = True
    peer.enabled = True
    beats = link_beats(sinks["link"], peer, 4.0) if "link" in parts else []
    # the transport's timebase master, and the MIDI clock source
    change_frame = int(run_seconds * change_at * RATE)
    master = TransportMaster([(0, tempo), (change_frame, tempo * change)])
    master.client.transport_stop()
    master.client.transport_frame = 0
    clocks_total = int(run_seconds * tempo / 60 * 24)
    change_clock = int(clocks_total * change_at) // 6 * 6
    sender = ClockSender([(0, tempo), (change_clock, tempo * change)], clocks_total + 60,
                         jitter=24, seed=3)  # fmt: skip
    try:
        if "native" in parts:
            procs["native"] = Live("--out-port", sinks["native"].name, "--tempo", f"{tempo:g}",
                                   "--bars", str(bars), "--clock", "send", *common)  # fmt: skip
        if "rtmidi" in parts:
            procs["rtmidi"] = Live("--out-port", sinks["rtmidi"].name, "--tempo", f"{tempo:g}",
                                   "--bars", str(bars), "--no-jack-native", *common)  # fmt: skip
        if "link" in parts:
            procs["link"] = Live("--out-port", sinks["link"].name, "--sync", "link", *common)
        if "transport" in parts:
            procs["transport"] = Live("--out-port", sinks["transport"].name, "--sync", "jack",
                                      *common)  # fmt: skip
        if "clock" in parts:
            procs["clock"] = Live("--out-port", sinks["clock"].name, "--clock", "follow",
                                  "--clock-port", sender.name, *common)  # fmt: skip
        xruns0 = {k: s.xruns for k, s in sinks.items()}
        t0 = time.monotonic()
        master.client.transport_start()
        sender.go(stop_after=False)
        # the Link tempo change, and the transport's stop and start at 3/4
        link_change_beat = None
        stuck_transport = None
        while time.monotonic() - t0 < run_seconds + 1:
            elapsed = time.monotonic() - t0
            if link_change_beat is None and elapsed >= run_seconds * change_at:
                state = peer.captureAppSessionState()
                now = peer.clock().micros()
                state.setTempo(tempo * change, now)
                peer.commitAppSessionState(state)
                link_change_beat = state.beatAtTime(now, 4.0)
            if "transport" in parts and stuck_transport is None and elapsed >= run_seconds * 0.75:
                master.client.transport_stop()
                time.sleep(1.0)
                stuck_transport = len(sounding_after(sinks["transport"].messages()))
                master.client.transport_start()
            time.sleep(0.05)
        codes = {k: p.finish(None if k in ("native", "rtmidi") else signal.SIGTERM)
                 for k, p in procs.items()}  # fmt: skip
        time.sleep(0.3)
    finally:
        for p in procs.values():
            if p.proc.poll() is None:
                p.proc.kill()
        master.close()
        sender.close()
        peer.enabled = False
    figures[f"{label}_seconds"] = round(run_seconds, 1)
    figures[f"{label}_exit_codes"] = codes
    expected = expected_notes(bars, seed, model)
    if "native" in parts:
        figures.update(stream_figures(f"{label}_stream_native", sinks["native"], tempo, expected))
        figures.update(clock_figures(f"{label}_clock_send", sinks["native"], tempo))
    if "rtmidi" in parts:
        figures.update(stream_figures(f"{label}_stream_rtmidi", sinks["rtmidi"], tempo, expected))
    # Link: each onset's beat on the peer's timeline
    ons = [(b, t) for _, d, b, t in beats if is_on(d)]
    if "link" in parts and ons:
        b = np.array([x for x, _ in ons])
        t = np.array([x for _, x in ons])
        err_ms = (b * 4 - np.round(b * 4)) / 4 * 60000 / t
        after = b >= (link_change_beat or np.inf)
        first_beat = after & (b < (link_change_beat or np.inf) + 1)
        figures[f"{label}_link_onsets"] = len(ons)
        figures[f"{label}_link_first_onset_beat"] = round(float(b[0]), 4)
        frames = [f for f, d, _, _ in beats if is_on(d)]
        figures.update(dev_figures(f"{label}_link_phase", err_ms * RATE / 1000, frames,
                                   sinks["link"]))  # fmt: skip
        figures[f"{label}_link_tempo_change"] = [tempo, tempo * change]
        figures[f"{label}_link_max_ms_first_beat_after_change_and_later"] = [
            stats(err_ms[first_beat])[2], stats(err_ms[after & ~first_beat])[2]]  # fmt: skip
        figures[f"{label}_link_notes_left_on"] = len(sounding_after(sinks["link"].messages()))
    # transport: each onset's beat from its transport frame
    figures.update(transport_figures(label, sinks, master, change_frame, stuck_transport))
    if "clock" in parts:
        figures.update(clock_follow_figures(label, sinks["clock"], sender, change_clock))
    figures[f"{label}_counters"] = {k: p.summary() for k, p in procs.items()}
    figures[f"{label}_xruns_during_run_and_start_up"] = [
        max(s.xruns - xruns0[k] for k, s in sinks.items()), max(xruns0.values())]  # fmt: skip
    for s in sinks.values():
        s.close()
    return figures


def transport_figures(label, sinks, master, change_frame, stuck_transport) -> dict:
    """The transport run's phase error: each onset's beat from the transport frame it played at."""
    from composer.realtime.playback import sounding_after

    if "transport" not in sinks:
        return {}
    figures: dict = {}
    with sinks["transport"].cond:
        tevents = [(f, d) for f, d in sinks["transport"].events if is_on(d)]
    pairs = [(f, sinks["transport"].transport_frame(f)) for f, _ in tevents]
    pairs = [(f, t) for f, t in pairs if t is not None]
    tframes = [t for _, t in pairs]
    if tframes:
        tb = np.array([master.beat_at(f) for f in tframes])
        tt = np.array([master._segment(f)[2] for f in tframes])
        err_ms = (tb * 4 - np.round(tb * 4)) / 4 * 60000 / tt
        cb = master.beat_at(change_frame)
        after = tb >= cb
        first_beat = after & (tb < cb + 1)
        figures[f"{label}_transport_onsets"] = len(tframes)
        figures.update(dev_figures(f"{label}_transport_phase", err_ms * RATE / 1000,
                                   [f for f, _ in pairs], sinks["transport"]))  # fmt: skip
        figures[f"{label}_transport_max_ms_first_beat_after_change_and_later"] = [
            stats(err_ms[first_beat])[2], stats(err_ms[after & ~first_beat])[2]]  # fmt: skip
        figures[f"{label}_transport_notes_on_while_stopped"] = stuck_transport
        figures[f"{label}_transport_notes_left_on"] = len(
            sounding_after(sinks["transport"].messages()))  # fmt: skip
    return figures


def clock_follow_figures(label, sink, sender, change_clock) -> dict:
    """The clock follower's phase error: each onset against its clock's ideal frame."""
    from composer.realtime.playback import sounding_after

    figures: dict = {}
    sent = {f: k for k, f in enumerate(sender.sent) if k % 6 == 0}
    conset = sink.onsets()
    on_clock = [f for f in conset if f in sent]
    phase = np.array([f - sender.ideal[sent[f]] for f in on_clock])
    after = np.array([sent[f] >= change_clock for f in on_clock], bool)
    first_beat = after & np.array([sent[f] < change_clock + 24 for f in on_clock], bool)
    figures[f"{label}_clock_follow_onsets_on_their_clock"] = f"{len(on_clock)} of {len(conset)}"
    figures.update(dev_figures(f"{label}_clock_follow_phase", phase, on_clock, sink))
    if phase.size:
        figures[f"{label}_clock_follow_max_ms_first_beat_after_change_and_later"] = [
            stats(phase[first_beat], 1000 / RATE)[2],
            stats(phase[after & ~first_beat], 1000 / RATE)[2]]  # fmt: skip
    figures[f"{label}_clock_follow_notes_left_on"] = len(sounding_after(sink.messages()))
    return figures


__all__ = ["have_jackd", "private_server", "run_timing"]

if __name__ == "__main__":  # a quick look: python bench/live_timing.py SECONDS [PERIOD]
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    ctx = private_server(per, "--no-realtime" not in sys.argv) if per else contextlib.nullcontext()
    with ctx:
        for key, value in run_timing(secs, 120.0, None, per or None).items():
            print(f"{key:60s} {value}")
