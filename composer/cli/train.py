"""``composer train``: train a model (see composer/train/loop.py)."""

from __future__ import annotations

import argparse

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on Bach's chorales, the JSB benchmark or your MIDI folder",
        description="Train the chorale LSTM. Also runs under torchrun for several processes: "
        "torchrun --standalone --nproc_per_node=2 -m composer train ...",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--data",
        type=options.NAME,
        default="bach",
        help="bach (data/chorales), jsb-quarter or jsb-16th (../shared/jsb), or a folder of MIDI",
    )
    p.add_argument("--out", type=options.NAME, required=True,
                   help="bundle folder to write, e.g. models/mine")  # fmt: skip
    p.add_argument("--checkpoint-dir", type=options.NAME, default=None,
                   help="default: checkpoints/<name of --out>-<hash of its full path>")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="continue this --out's last checkpoint")  # fmt: skip
    p.add_argument("--epochs", type=options.EPOCHS, default=80)
    p.add_argument("--max-steps", type=options.MAX_STEPS, default=0,
                   help="stop after N steps (0: no limit)")  # fmt: skip
    p.add_argument("--batch-size", type=options.BATCH_SIZE, default=4)
    p.add_argument("--lr", type=options.LEARNING_RATE, default=2e-3,
                   help="peak learning rate (AdamW)")  # fmt: skip
    p.add_argument("--weight-decay", type=options.WEIGHT_DECAY, default=1e-5)
    p.add_argument("--warmup", type=options.WARMUP, default=100, help="warm-up steps")
    p.add_argument("--clip", type=options.CLIP, default=1.0, help="gradient-norm clip")
    p.add_argument("--patience", type=options.PATIENCE, default=15,
                   help="early stopping, in epochs")  # fmt: skip
    p.add_argument("--seed", type=options.SEED, default=0)
    p.add_argument("--checkpoint-every", type=options.CHECKPOINT_EVERY, default=50, help="steps")
    p.add_argument(
        "--full",
        action="store_true",
        help="train on every split (for a shipped model, after a held-out run)",
    )
    p.add_argument(
        "--jsb-shift",
        type=options.JSB_SHIFT,
        default=0,
        help="JSB: random transposition by up to N semitones",
    )
    p.add_argument(
        "--cadence-weight",
        type=options.CADENCE_WEIGHT,
        default=1.0,
        help="SATB: loss weight of the tokens of each cadence (the half-note before a fermata "
        "and its chord); the others weigh 1",
    )
    p.add_argument(
        "--ending-weight",
        type=options.CADENCE_WEIGHT,
        default=1.0,
        help="SATB: loss weight of the tokens of the final chord's onset (where a minor "
        "chorale's Picardy third is decided); the others weigh 1",
    )
    p.add_argument("--threads", type=options.THREADS, default=0, help="torch threads (0: default)")
    p.add_argument(
        "--init-from",
        type=options.NAME,
        default=None,
        metavar="BUNDLE",
        help="fine-tune: start from a bundle's weights (new inputs start at zero)",
    )
    p.add_argument("--embed", type=options.EMBED, default=128)
    p.add_argument("--hidden", type=options.HIDDEN, default=256)
    p.add_argument("--layers", type=options.LAYERS, default=2)
    p.add_argument("--dropout", type=options.DROPOUT, default=0.3)
    p.add_argument("--lookahead", type=options.LOOKAHEAD, default=128,
                   help="backward LSTM size (0: none)")  # fmt: skip
    p.add_argument(
        "--no-plan",
        dest="plan",
        action="store_false",
        help="SATB: do not tell each token the steps to the next fermata and to the end",
    )
    p.add_argument(
        "--no-held",
        dest="held",
        action="store_false",
        help="JSB 16th: do not tell each token how long each voice has held",
    )
    p.add_argument(
        "--repeat",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="tell each token what the piece's own past predicts (the step after the longest "
        "earlier match of the steps just written). Default: on for the JSB benchmarks, off for "
        "chorales to compose with (a model that reads it loops when it writes freely)",
    )
    p.set_defaults(func=run)


def model_config(args: argparse.Namespace):
    """The ModelConfig the options ask for (the repeat match by default for JSB data only)."""
    from composer.train.model import ModelConfig

    return ModelConfig(
        embed=args.embed,
        hidden=args.hidden,
        layers=args.layers,
        dropout=args.dropout,
        lookahead=args.lookahead,
        plan=args.plan,
        held=args.held,
        repeat=args.repeat if args.repeat is not None else args.data.startswith("jsb"),
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from composer.train.loop import Progress, TrainConfig, train

    model = model_config(args)
    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        checkpoint_dir=args.checkpoint_dir or "",
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup=args.warmup,
        clip=args.clip,
        patience=args.patience,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        full=args.full,
        jsb_shift=args.jsb_shift,
        cadence_weight=args.cadence_weight,
        ending_weight=args.ending_weight,
        threads=args.threads,
        init_from=args.init_from or "",
        model=model,
    )
    bars: list = []  # the bar appears with the first step, after the data has loaded

    def on_progress(p: Progress) -> None:
        if not bars:
            bars.append(tqdm(total=p.total_steps, unit="step", dynamic_ncols=True))
        bar = bars[0]
        if p.valid is not None:
            figures = " ".join(
                f"{k}={v:.4f}"
                for k, v in p.valid.items()
                if isinstance(v, float) and k != "seconds"
            )
            bar.write(f"epoch {p.epoch + 1}: {figures}")
            return
        bar.total = p.total_steps
        bar.n = p.step
        bar.set_postfix_str(
            f"epoch {p.epoch + 1} loss {p.loss:.3f} {p.tokens_per_second:,.0f} tok/s", refresh=False
        )
        bar.refresh()

    info = train(cfg, resume=args.resume, on_progress=on_progress, say=print)
    if bars:
        bars[0].close()
    for problem in info["problems"]:
        print(f"skipped {problem}")
    print(
        f"best valid figure {info['best']:.4f} after {info['steps']} steps, "
        f"{info['seconds'] / 60:.1f} min; model in {args.out}"
    )
    return 0
