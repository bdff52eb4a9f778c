"""``composer ports``: list the MIDI inputs and outputs that live mode can use."""

from __future__ import annotations

import argparse
import json

BACKEND_HELP = (
    "MIDI system: alsa, jack, coremidi or winmm (default: $MIDO_BACKEND, else the system's)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ports",
        help="list MIDI input and output ports",
        description="List the MIDI ports live mode can open. A port is opened by its exact name "
        "or any unique part of it. Under JACK, another program's virtual output is one of our "
        "inputs.",
    )
    p.add_argument("--backend", metavar="B", help=BACKEND_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.realtime.ports import list_ports

    ports = list_ports(args.backend)
    if args.json:
        print(json.dumps({"backend": ports.backend, "inputs": list(ports.inputs),
                          "outputs": list(ports.outputs)}))  # fmt: skip
        return 0
    print(f"MIDI backend: {ports.backend}")
    print("Inputs (for --in-port, --clock-port):")
    for name in ports.inputs or ("(none)",):
        print(f"  {name}")
    print("Outputs (for --out-port):")
    for name in ports.outputs or ("(none)",):
        print(f"  {name}")
    return 0
