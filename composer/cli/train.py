"""``composer train``: train a model (see composer/train/loop.py)."""

from __future__ import annotations

import argparse


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
        default="bach",
        help="bach (data/chorales), jsb-quarter or jsb-16th (../shared/jsb), or a folder of MIDI",
    )
    p.add_argument("--out", required=True, help="bundle folder to write, e.g. models/mine")
    p.add_argument("--checkpoint-dir", default="", help="default: checkpoints/<name>")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: no limit)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW)")
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip")
    p.add_argument("--patience", type=int, default=15, help="early stopping, in epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps")
    p.add_argument(
        "--full",
        action="store_true",
        help="train on every split (for a shipped model, after a held-out run)",
    )
    p.add_argument(
        "--jsb-shift", type=int, default=0, help="JSB: random transposition by up to N semitones"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument(
        "--init-from",
        default="",
        metavar="BUNDLE",
        help="fine-tune: start from a bundle's weights (new inputs start at zero)",
    )
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--lookahead", type=int, default=128, help="backward LSTM size (0: none)")
    p.add_argument(
        "--no-plan",
        dest="plan",
        action="store_false",
        help="SATB: do not tell each token the steps to the next fermata and to the end",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from composer.train.loop import Progress, TrainConfig, train
    from composer.train.model import ModelConfig

    model = ModelConfig(
        embed=args.embed,
        hidden=args.hidden,
        layers=args.layers,
        dropout=args.dropout,
        lookahead=args.lookahead,
        plan=args.plan,
    )
    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        checkpoint_dir=args.checkpoint_dir,
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
        threads=args.threads,
        init_from=args.init_from,
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

    info = train(cfg, resume=args.resume, on_progress=on_progress)
    if bars:
        bars[0].close()
    for problem in info["problems"]:
        print(f"skipped {problem}")
    print(
        f"best valid figure {info['best']:.4f} after {info['steps']} steps, "
        f"{info['seconds'] / 60:.1f} min; model in {args.out}"
    )
    return 0
