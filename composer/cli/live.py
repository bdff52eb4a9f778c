"""``composer live``: stream an endless chorale into MIDI, or harmonize a keyboard as it is played.

    composer live --virtual Composer --tempo 90            # a MIDI source a DAW can record
    composer live --out-port fluidsynth --bars 8 --key "D minor"
    composer live --synth                                  # through the in-process synth
    composer live --harmonize --in-port Keystation --synth --echo
    composer live --harmonize --backend jack --in-port Keystation --virtual Composer
    composer live --virtual Composer --clock follow --clock-port "DAW clock"
    composer live --backend jack --virtual Composer --sync link     # an Ableton Link peer
    composer live --backend jack --out-port fluidsynth --sync jack  # follow JACK transport

With ``--backend jack`` (and the JACK-Client package) the stream is a JACK client of its own
(``composer.realtime.jack_stream``) that writes every note at the frame where its time falls,
and the harmonizer one (``composer.realtime.jack_live``) that answers in the JACK period the
note came in; without JACK-Client, or with ``--no-jack-native``, python-rtmidi ports are used (a
period or two later, with a note). ``--sync link`` joins an Ableton Link session (tempo, beat
phase, start and stop; the stream starts on the session's bar); ``--sync jack`` follows JACK
transport (rolling or stopped, bars and beats, the timebase master's tempo).

Ctrl-C, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and every other catchable terminating signal stop it
with every note released.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from composer.cli import options
from composer.cli.ports import BACKEND_HELP
from composer.errors import ComposerError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live",
        help="stream an endless chorale to MIDI, or harmonize a keyboard live",
        description="Play an endless chorale into a MIDI port, a virtual port or the built-in "
        "synth; or, with --harmonize, turn each note played on --in-port into the soprano of a "
        "chord (alto, tenor, bass on channels 1-3). Ctrl-C or SIGTERM stop it cleanly.",
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out-port", metavar="NAME", help="send to this MIDI port (unique part of "
                     "its name is enough; see `composer ports`)")  # fmt: skip
    out.add_argument("--virtual", metavar="NAME", help="create a virtual MIDI output named NAME "
                     "that other programs connect to (macOS, Linux)")  # fmt: skip
    out.add_argument("--synth", action="store_true", help="play through the built-in synth")
    p.add_argument("--tempo", type=options.TEMPO, default=None, metavar="BPM",
                   help="quarter notes per minute (default 90; with --sync link, sets the "
                   "session's tempo, which is otherwise followed)")  # fmt: skip
    p.add_argument("--bars", type=options.LIVE_BARS, metavar="N", help="play N bars, then exit "
                   "(default: endless)")  # fmt: skip
    p.add_argument("--seconds", type=options.SECONDS, metavar="S", help="stop after S seconds")
    p.add_argument("--seed", type=options.SEED, help="random seed (the same seed plays the "
                   "same music)")  # fmt: skip
    p.add_argument("--key", type=options.KEY, metavar="K", help="key, e.g. 'D minor' or 'Bb major' "
                   "(default: the model's choice)")  # fmt: skip
    p.add_argument("--time-signature", type=options.TIME_SIGNATURE, default=(4, 4), metavar="N/D",
                   help="default 4/4")  # fmt: skip
    p.add_argument("--temperature", type=options.TEMPERATURE, default=1.0, help="sampling "
                   "temperature (default 1.0; lower is safer, higher is wilder)")  # fmt: skip
    p.add_argument("--model", type=options.NAME, metavar="DIR", help="model bundle "
                   "(default models/bach-satb)")  # fmt: skip
    p.add_argument("--backend", metavar="B", help=BACKEND_HELP)
    p.add_argument("--harmonize", action="store_true", help="harmonize the notes played on "
                   "--in-port instead of streaming")  # fmt: skip
    p.add_argument("--in-port", metavar="NAME", help="MIDI input to harmonize (with --harmonize)")
    p.add_argument(
        "--jack-native",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --backend jack: stream (or harmonize) as one JACK client that writes every "
        "note at its frame, Composer:out (default when the JACK-Client package is installed); "
        "--no-jack-native uses python-rtmidi ports",
    )
    # bench/live.py compares the two ways of doing the model's bookkeeping
    p.add_argument("--jack-bookkeeping", choices=("worker", "callback"), default="worker",
                   help=argparse.SUPPRESS)  # fmt: skip
    p.add_argument(
        "--echo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also play the soprano on channel 0 (default: on with --synth)",
    )
    p.add_argument("--clock", choices=("internal", "follow", "send"), default="internal",
                   help="follow: step on MIDI Beat Clock from --clock-port; send: send clock, "
                   "start and stop with the stream")  # fmt: skip
    p.add_argument("--clock-port", metavar="NAME", help="MIDI input carrying the DAW's clock")
    p.add_argument("--sync", choices=("internal", "link", "jack"), default="internal",
                   help="link: join an Ableton Link session (its tempo, beat phase, start and "
                   "stop; the stream starts on its bar); jack: follow JACK transport (with "
                   "--backend jack)")  # fmt: skip
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(f"composer live: {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    from composer.realtime.live import Terminated, terminate_on_signals

    if args.harmonize and not args.in_port:
        raise ComposerError("--harmonize needs --in-port NAME: the MIDI input to harmonize")
    if args.in_port and not args.harmonize:
        raise ComposerError("--in-port is for --harmonize; add --harmonize or drop --in-port")
    if args.clock == "follow" and not args.clock_port:
        raise ComposerError("--clock follow needs --clock-port NAME: the input with the clock")
    if args.harmonize and args.clock != "internal":
        raise ComposerError("--clock is for streaming; the harmonizer follows the player")
    if args.harmonize and args.sync != "internal":
        raise ComposerError("--sync is for streaming; the harmonizer follows the player")
    if args.sync != "internal" and args.clock == "follow":
        raise ComposerError(f"--sync {args.sync} and --clock follow are two clocks: choose one")
    if args.sync == "jack" and args.jack_native is False:
        raise ComposerError("--sync jack follows JACK transport as a JACK client: drop "
                            "--no-jack-native")  # fmt: skip
    try:
        with terminate_on_signals(), contextlib.ExitStack() as stack:
            if args.harmonize:
                return _harmonize(args, stack)
            return _stream(args, stack)
    except Terminated as e:
        print(f"composer live: stopped by {e}", file=sys.stderr)
        return e.exit_code


def _deadline(seconds: float | None) -> float:
    return time.monotonic() + seconds if seconds else float("inf")


def _tempo(args: argparse.Namespace) -> float:
    return args.tempo or 90.0


def _stream_jack_native(args: argparse.Namespace) -> bool:
    """Whether to stream as a JACK client of our own (raises for --sync jack without one)."""
    from composer.realtime.ports import backend_label

    on_jack = backend_label(args.backend) == "jack"
    if args.sync == "jack" and not on_jack:
        raise ComposerError("--sync jack follows JACK transport: add --backend jack")
    if args.jack_native and not on_jack:
        raise ComposerError("--jack-native needs --backend jack")
    if not on_jack or args.jack_native is False:
        return False
    if args.synth:
        if args.sync == "jack":
            raise ComposerError("--sync jack streams to a JACK port: use --out-port or --virtual")
        return False
    from composer.realtime.jackio import jack_unavailable

    why = jack_unavailable()
    if why is None:
        return True
    if args.jack_native or args.sync == "jack":
        raise ComposerError(f"{'--sync jack' if args.sync == 'jack' else '--jack-native'}: {why}")
    print(f"composer live: {why}; streaming through python-rtmidi ports instead (each note at "
          "the start of a JACK period)", file=sys.stderr)  # fmt: skip
    return False


def _stream(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    if _stream_jack_native(args):
        return _stream_jack(args, stack)
    return _stream_ports(args, stack)


def _length(args: argparse.Namespace) -> tuple[int | None, str]:
    num, den = args.time_signature
    max_steps = args.bars * (num * 16 // den) if args.bars else None
    return max_steps, (f"{args.bars} bars" if args.bars else "endless")


def _stream_jack(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    """The stream as a JACK client of its own: every note at its frame, on the chosen timeline."""
    import gc

    from composer.realtime import sync
    from composer.realtime.clock import try_realtime_priority
    from composer.realtime.jack_stream import JackStreamer
    from composer.realtime.live import sampler_stream

    max_steps, length = _length(args)
    source = sampler_stream(args.model, key=args.key, time_signature=args.time_signature,
                            seed=args.seed, temperature=args.temperature)  # fmt: skip
    if args.clock == "follow":
        timeline = sync.MidiClockTimeline()
        how = "on the MIDI clock of {clock}"
    elif args.sync == "link":
        timeline = sync.LinkTimeline(sync.join_link(args.tempo), sync.quantum(args.time_signature),
                                     args.tempo)  # fmt: skip
        stack.callback(timeline.leave)  # after the client has stopped (callbacks run last first)
        peers = timeline.link.numPeers()
        bpm = timeline.link.captureAppSessionState().tempo()
        how = (f"in an Ableton Link session ({peers} other peer{'s' * (peers != 1)}, "
               f"{bpm:g} bpm, from its next bar)")  # fmt: skip
    elif args.sync == "jack":
        timeline = sync.TransportTimeline(_tempo(args))
        how = "on JACK transport (waiting for it to roll)"
    else:
        timeline = sync.TempoTimeline(_tempo(args))
        how = f"at {_tempo(args):g} bpm"
    gc.collect()
    gc.freeze()  # what is loaded stays: the collector has less to walk in the JACK callback
    sys.setswitchinterval(0.0005)  # JACK's thread waits at most this long for the GIL
    try_realtime_priority()  # nor is it held up by this thread, preempted while holding the GIL
    streamer = JackStreamer(source, timeline, time_signature=args.time_signature,
                            max_steps=max_steps, send_clock=args.clock == "send",
                            out_name=args.virtual or "out")  # fmt: skip
    stack.callback(_close_stream, streamer)
    where = streamer.out_port_name
    if args.out_port:
        where += " -> " + _jack_connect(streamer.connect_output, args.out_port)
    if args.clock == "follow":
        clock = _jack_connect(lambda q: _connect_clock(streamer, timeline, q), args.clock_port)
        how = how.format(clock=clock)
    if args.sync == "link":
        timeline.start()  # the session plays (if it did not), from its next bar
    streamer.start()
    _say(f"streaming ({length}) {how} to {where}, each note at its JACK frame (Ctrl-C to stop)")
    deadline = _deadline(args.seconds)
    while not streamer.wait(0.1) and time.monotonic() < deadline:
        for notice in streamer.service():
            _say(notice)
    if streamer.error is not None:
        raise streamer.error
    return 0


def _connect_clock(streamer, timeline, query: str) -> str:
    """Connect the MIDI output named by query to the stream's clock input."""
    from composer.realtime.ports import find_port

    client = streamer.client
    names = [p.name for p in client.get_ports(is_midi=True, is_output=True)
             if p.name != streamer.out_port_name]  # fmt: skip
    full = find_port(query, names, "input")
    client.connect(full, timeline.port)
    return full


def _close_stream(streamer) -> None:
    streamer.close()
    print(f"composer live: {streamer.steps_played} steps played, {streamer.underruns} not ready "
          f"in time, {getattr(streamer.timeline, 'late', 0)} ticks late, "
          f"{streamer.stops} stops of the timeline, longest callback "
          f"{streamer.callback_max * 1000:.2f} ms", file=sys.stderr)  # fmt: skip


def _stream_ports(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from composer.realtime.live import ClockFollowPlayer, open_outputs, output_name, sampler_stream
    from composer.realtime.playback import Player

    max_steps, length = _length(args)
    source = sampler_stream(args.model, key=args.key, time_signature=args.time_signature,
                            seed=args.seed, temperature=args.temperature)  # fmt: skip
    outputs = open_outputs(stack, out_port=args.out_port, virtual=args.virtual,
                           synth=args.synth, backend=args.backend)  # fmt: skip
    where = ", ".join(output_name(o) for o in outputs)
    deadline = _deadline(args.seconds)

    if args.clock == "follow":
        from composer.realtime.ports import open_input

        follower = ClockFollowPlayer(source, outputs, max_steps=max_steps)
        stack.callback(follower.close)
        port = open_input(args.clock_port, backend=args.backend, callback=follower.handle)
        stack.callback(port.close)  # closed first: no clock arrives while notes are released
        _say(f"streaming ({length}) to {where}, following the clock on {port.name} "
             "(Ctrl-C to stop)")  # fmt: skip
        while not follower.done.wait(0.1) and time.monotonic() < deadline:
            _watch(outputs)
        if follower.error is not None:
            raise follower.error
        return 0

    timing = None
    how = f"at {_tempo(args):g} bpm"
    if args.sync == "link":
        from composer.realtime.playback import LinkTiming
        from composer.realtime.sync import join_link, quantum

        timing = LinkTiming(join_link(args.tempo), quantum(args.time_signature), args.tempo)
        stack.callback(timing.leave)  # after the player has stopped
        how = (f"in an Ableton Link session ({timing.link.numPeers()} other peers, from its "
               "next bar)")  # fmt: skip
    player = Player(source, outputs, tempo=_tempo(args), max_steps=max_steps,
                    send_clock=args.clock == "send", timing=timing)  # fmt: skip
    stack.callback(player.stop)  # runs before the ports close
    _say(f"streaming ({length}) {how} to {where} (Ctrl-C to stop)")
    player.start()
    while not player.wait(0.1) and time.monotonic() < deadline:
        _watch(outputs)
        if timing is not None:
            timing.poll()
    player.stop()
    if player.error is not None:
        raise player.error
    return 0


def _watch(outputs) -> None:
    """Report ports that went away or came back (they reconnect by themselves)."""
    for out in outputs:
        check = getattr(out, "check", None)
        if check is not None:
            for notice in check():
                _say(notice)


def _harmonize(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from composer.realtime.ports import backend_label

    if args.jack_native and backend_label(args.backend) != "jack":
        raise ComposerError("--jack-native needs --backend jack")
    if backend_label(args.backend) == "jack" and args.jack_native is not False:
        from composer.realtime.jack_live import jack_unavailable

        why = jack_unavailable()
        if why is None:
            return _harmonize_jack(args, stack)
        if args.jack_native:
            raise ComposerError(f"--jack-native: {why}")
        print(f"composer live: {why}; harmonizing through python-rtmidi ports instead "
              "(a period or two later)", file=sys.stderr)  # fmt: skip
    from composer.realtime.live import PortHarmonizer, open_outputs, output_name, sampler_harmonizer
    from composer.realtime.ports import open_input

    model = sampler_harmonizer(args.model, key=args.key, time_signature=args.time_signature,
                               seed=args.seed, temperature=args.temperature)  # fmt: skip
    outputs = open_outputs(stack, out_port=args.out_port, virtual=args.virtual,
                           synth=args.synth, backend=args.backend)  # fmt: skip
    echo = args.synth if args.echo is None else args.echo
    harmonizer = PortHarmonizer(model, outputs, tempo=_tempo(args), echo=echo)
    stack.callback(harmonizer.close)
    port = open_input(args.in_port, backend=args.backend, callback=harmonizer.handle)
    stack.callback(port.close)  # closed first, then the sounding chord is released
    where = ", ".join(output_name(o) for o in outputs)
    _say(f"harmonizing {port.name} -> {where} (Ctrl-C to stop)")
    deadline = _deadline(args.seconds)
    while time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        if harmonizer.error is not None:
            raise harmonizer.error
    return 0


def _harmonize_jack(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    """The harmonizer as one JACK client, answering in the period each note came in."""
    import gc

    from composer.realtime.jack_live import JackHarmonizer
    from composer.realtime.live import open_outputs, sampler_harmonizer

    model = sampler_harmonizer(args.model, key=args.key, time_signature=args.time_signature,
                               seed=args.seed, temperature=args.temperature,
                               warm=True)  # fmt: skip
    synth = open_outputs(stack, synth=True) if args.synth else []
    echo = args.synth if args.echo is None else args.echo
    gc.collect()
    gc.freeze()  # what is loaded stays: the collector has less to walk in the JACK callback
    sys.setswitchinterval(0.0005)  # JACK's thread waits at most this long for the GIL
    harmonizer = JackHarmonizer(model, tempo=_tempo(args), echo=echo, outputs=synth,
                                out_name=args.virtual or "out",
                                bookkeeping=args.jack_bookkeeping)  # fmt: skip
    stack.callback(_close_and_report, harmonizer)
    source = _jack_connect(harmonizer.connect_input, args.in_port)
    where = harmonizer.out_port_name
    if args.out_port:
        where += " -> " + _jack_connect(harmonizer.connect_output, args.out_port)
    if synth:
        where += " and the synth"
    harmonizer.settle()  # the connections are live: a note played now is answered
    _say(f"harmonizing {source} -> {where} in JACK's process cycle (Ctrl-C to stop)")
    deadline = _deadline(args.seconds)
    while not harmonizer.done.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            break
    if harmonizer.error is not None:
        raise harmonizer.error
    return 0


def _jack_connect(connect, query: str) -> str:
    import jack

    from composer.errors import PortError

    try:
        return connect(query)
    except jack.JackError as e:
        raise PortError(f"JACK refused the connection to {query!r}: {e}") from None


def _close_and_report(harmonizer) -> None:
    harmonizer.close()
    ahead = getattr(harmonizer.model, "answered_ahead", 0)
    print(f"composer live: {harmonizer.chords} chords, {harmonizer.late} answered a period late, "
          f"{harmonizer.caught_up} bookkeeping catch-ups in the callback, longest callback "
          f"{harmonizer.callback_max * 1000:.2f} ms, {ahead} chords prepared ahead",
          file=sys.stderr)  # fmt: skip
