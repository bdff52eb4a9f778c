"""``composer export CHECKPOINT --out models/NAME [--float16]``: a checkpoint (or a bundle)
-> a runnable bundle."""

from __future__ import annotations

import argparse

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="turn a training checkpoint into a model bundle",
        description="Write weights.npz + config.json (no pickle; loads "
        "without torch) from a checkpoint written by `composer train`, or from a bundle "
        "(to store its weights at half the size with --float16).",
    )
    p.add_argument(
        "checkpoint", type=options.PATH,
        help="a checkpoint (e.g. checkpoints/bach-satb/last.pt) or a bundle folder",
    )  # fmt: skip
    p.add_argument(
        "--out", type=options.PATH, required=True, help="bundle folder, e.g. models/mine"
    )
    p.add_argument(
        "--float16", action="store_true",
        help="store the weights as 16-bit floats: half the size, read back as 32-bit (for a "
        "model too large for the repository's 25 MB; check it with `composer evaluate`)",
    )  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from composer.train.bundle_writer import export_bundle, export_checkpoint

    if args.checkpoint.is_dir():
        export_bundle(args.checkpoint, args.out, float16=args.float16)
    else:
        export_checkpoint(args.checkpoint, args.out, float16=args.float16)
    print(f"wrote {args.out}/weights.npz and {args.out}/config.json")
    return 0
