"""``composer evaluate``: NLL on held-out music, or a musical quality report (--report DIR)."""

from __future__ import annotations

import argparse
import json

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="measure a model: NLL on a split, or a musical quality report",
        description="Measure a model bundle. JSB models: NLL per frame (nll_per_frame, "
        "nll_per_frame_bai). SATB models: NLL per token and per voice, and harmonization NLL "
        "without lookahead, with the backward LSTM's and with the particle lookahead. --report DIR "
        "writes a musical report instead.",
    )
    p.add_argument("--model", type=options.NAME, default=None,
                   help="bundle folder or name (default: models/bach-satb)")  # fmt: skip
    p.add_argument("--data", type=options.NAME, default=None,
                   help="bach | jsb-quarter | jsb-16th | a folder of MIDI files")  # fmt: skip
    p.add_argument(
        "--data-file",
        type=options.NAME,
        default=None,
        help="a JSON file in the format of ../shared/jsb/jsb-quarter.json or jsb-16th-satb.json",
    )
    p.add_argument("--split", choices=("valid", "test", "train"), default="valid",
                   help="valid (default), test or train")  # fmt: skip
    p.add_argument(
        "--particles",
        type=options.PARTICLES,
        default=256,
        help="SATB: particles for the harmonization NLL with the particle lookahead (0: skip)",
    )
    p.add_argument(
        "--transpositions",
        type=options.TRANSPOSITIONS,
        default=0,
        metavar="N",
        help="JSB models: average the model's predictions over the piece transposed by -N..N "
        "semitones (a mixture of 2N+1 copies of the model: still an exact NLL; it helps a model "
        "trained on transpositions, as jsb-16th is; default 0)",
    )
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument(
        "--save", action="store_true", help="record the figures in the bundle's config.json"
    )
    p.add_argument(
        "--report",
        type=options.NAME,
        default=None,
        metavar="DIR",
        help="generate pieces and write a musical quality report (voice leading, harmony) into DIR",
    )
    p.add_argument("--pieces", type=options.PIECES, default=12, help="pieces per report section")
    p.add_argument("--seed", type=options.SEED, default=1, help="report: first seed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.report:
        from composer.reports.quality import run_report

        summary = run_report(args.model, args.report, pieces=args.pieces, seed=args.seed)
        print(summary["text"])
        if args.json:
            print(json.dumps(summary["figures"]))
        return 0
    from composer.train.evaluate import evaluate

    result = evaluate(
        args.model, args.data, args.split, args.data_file, args.particles, args.transpositions
    )
    if args.save:
        from composer.fileio import write_text_atomic
        from composer.runtime.bundle import resolve

        path = resolve(args.model) / "config.json"
        config = json.loads(path.read_text())
        config.setdefault("metrics", {})[args.split] = result
        write_text_atomic(path, json.dumps(config, indent=1) + "\n")
    for k, v in result.items():
        if isinstance(v, dict):
            print(
                f"{k}: "
                + ", ".join(
                    f"{a}={b:.4f}" if isinstance(b, float) else f"{a}={b}" for a, b in v.items()
                )
            )
        else:
            print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    if args.json:
        print(json.dumps(result))
    return 0
