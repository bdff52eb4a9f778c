"""``composer export CHECKPOINT --out models/NAME``: a checkpoint -> a runnable bundle."""

from __future__ import annotations

import argparse

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="turn a training checkpoint into a model bundle",
        description="Write weights.npz + config.json (no pickle; loads "
        "without torch) from a checkpoint written by `composer train`.",
    )
    p.add_argument("checkpoint", type=options.PATH, help="e.g. checkpoints/bach-satb/last.pt")
    p.add_argument(
        "--out", type=options.PATH, required=True, help="bundle folder, e.g. models/mine"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.train.bundle_writer import export_checkpoint

    export_checkpoint(args.checkpoint, args.out)
    print(f"wrote {args.out}/weights.npz and {args.out}/config.json")
    return 0
