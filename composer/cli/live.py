"""``composer live``: stream an endless chorale into MIDI, or harmonize a keyboard as it is played.

    composer live --virtual Composer --tempo 90            # a MIDI source a DAW can record
    composer live --out-port fluidsynth --bars 8 --key "D minor"
    composer live --synth                                  # through the in-process synth
    composer live --harmonize --in-port Keystation --synth --echo
    composer live --virtual Composer --clock follow --clock-port "DAW clock"

Ctrl-C, SIGTERM and SIGHUP stop it with every note released.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from composer.cli.ports import BACKEND_HELP


def _time_signature(text: str) -> tuple[int, int]:
    try:
        num, den = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write it as 4/4 or 3/4") from None
    if num <= 0 or den not in (1, 2, 4, 8, 16):
        raise argparse.ArgumentTypeError(f"{text!r}: write it as 4/4 or 3/4")
    return num, den


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


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
    p.add_argument("--tempo", type=_positive(float), default=90.0, metavar="BPM",
                   help="quarter notes per minute (default 90)")  # fmt: skip
    p.add_argument("--bars", type=_positive(int), metavar="N", help="play N bars, then exit "
                   "(default: endless)")  # fmt: skip
    p.add_argument("--seconds", type=_positive(float), metavar="S", help="stop after S seconds")
    p.add_argument("--seed", type=int, help="random seed (the same seed plays the same music)")
    p.add_argument("--key", metavar="K", help="key, e.g. 'D minor' or 'Bb major' "
                   "(default: the model's choice)")  # fmt: skip
    p.add_argument("--time-signature", type=_time_signature, default=(4, 4), metavar="N/D",
                   help="default 4/4")  # fmt: skip
    p.add_argument("--temperature", type=_positive(float), default=1.0, help="sampling "
                   "temperature (default 1.0; lower is safer, higher is wilder)")  # fmt: skip
    p.add_argument("--model", metavar="DIR", help="model bundle (default models/bach-satb)")
    p.add_argument("--backend", metavar="B", help=BACKEND_HELP)
    p.add_argument("--harmonize", action="store_true", help="harmonize the notes played on "
                   "--in-port instead of streaming")  # fmt: skip
    p.add_argument("--in-port", metavar="NAME", help="MIDI input to harmonize (with --harmonize)")
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
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(f"composer live: {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    from composer.errors import ComposerError
    from composer.live import Terminated, terminate_on_signals

    if args.harmonize and not args.in_port:
        raise ComposerError("--harmonize needs --in-port NAME: the MIDI input to harmonize")
    if args.in_port and not args.harmonize:
        raise ComposerError("--in-port is for --harmonize; add --harmonize or drop --in-port")
    if args.clock == "follow" and not args.clock_port:
        raise ComposerError("--clock follow needs --clock-port NAME: the input with the clock")
    if args.harmonize and args.clock != "internal":
        raise ComposerError("--clock is for streaming; the harmonizer follows the player")
    try:
        with terminate_on_signals(), contextlib.ExitStack() as stack:
            if args.harmonize:
                return _harmonize(args, stack)
            return _stream(args, stack)
    except Terminated as e:
        print(f"composer live: stopped by {e}", file=sys.stderr)
        return Terminated.exit_code


def _deadline(seconds: float | None) -> float:
    return time.monotonic() + seconds if seconds else float("inf")


def _stream(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from composer.live import ClockFollowPlayer, open_outputs, output_name, sampler_stream
    from composer.playback import Player

    num, den = args.time_signature
    max_steps = args.bars * (num * 16 // den) if args.bars else None
    source = sampler_stream(args.model, key=args.key, time_signature=args.time_signature,
                            seed=args.seed, temperature=args.temperature)  # fmt: skip
    outputs = open_outputs(stack, out_port=args.out_port, virtual=args.virtual,
                           synth=args.synth, backend=args.backend)  # fmt: skip
    where = ", ".join(output_name(o) for o in outputs)
    length = f"{args.bars} bars" if args.bars else "endless"
    deadline = _deadline(args.seconds)

    if args.clock == "follow":
        from composer.ports import open_input

        follower = ClockFollowPlayer(source, outputs, max_steps=max_steps)
        stack.callback(follower.close)
        port = open_input(args.clock_port, backend=args.backend, callback=follower.handle)
        stack.callback(port.close)  # closed first: no clock arrives while notes are released
        _say(f"streaming ({length}) to {where}, following the clock on {port.name} "
             "(Ctrl-C to stop)")  # fmt: skip
        while not follower.done.wait(0.1) and time.monotonic() < deadline:
            pass
        if follower.error is not None:
            raise follower.error
        return 0

    player = Player(source, outputs, tempo=args.tempo, max_steps=max_steps,
                    send_clock=args.clock == "send")  # fmt: skip
    stack.callback(player.stop)  # runs before the ports close
    _say(f"streaming ({length}) at {args.tempo:g} bpm to {where} (Ctrl-C to stop)")
    player.start()
    while not player.wait(0.1) and time.monotonic() < deadline:
        pass
    player.stop()
    if player.error is not None:
        raise player.error
    return 0


def _harmonize(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from composer.live import LiveHarmonizer, open_outputs, output_name, sampler_harmonizer
    from composer.ports import open_input

    model = sampler_harmonizer(args.model, key=args.key, time_signature=args.time_signature,
                               seed=args.seed, temperature=args.temperature)  # fmt: skip
    outputs = open_outputs(stack, out_port=args.out_port, virtual=args.virtual,
                           synth=args.synth, backend=args.backend)  # fmt: skip
    echo = args.synth if args.echo is None else args.echo
    harmonizer = LiveHarmonizer(model, outputs, tempo=args.tempo, echo=echo)
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
