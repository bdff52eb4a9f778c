"""``composer data build | summary``: the chorale corpus in data/chorales/."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from composer.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="build or summarize the chorale corpus (data/chorales/)",
        description="Build or summarize the chorale corpus.",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    b = dsub.add_parser(
        "build",
        help="write music21's Bach chorales as MIDI + manifest (needs music21)",
        description="Write every four-part Bach chorale of "
        "music21's corpus through write_midi into DIR, with manifest.json.",
    )
    b.add_argument("--out", type=options.PATH, default=None, help="folder (default: data/chorales)")
    b.set_defaults(func=run_build)
    s = dsub.add_parser("summary", help="counts per split: chorales, steps, tokens, transpositions")
    s.add_argument(
        "--data", type=options.PATH, default=None, help="folder (default: data/chorales)"
    )
    s.set_defaults(func=run_summary)


def run_build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from composer.corpus import DATA_DIR, build_corpus

    out = args.out or DATA_DIR
    bar = tqdm(total=0, unit="chorale", desc="chorales")

    def progress(i: int, n: int) -> None:
        bar.total = n
        bar.n = i
        bar.refresh()

    kept, rejected = build_corpus(out, progress)
    bar.close()
    print(f"kept {len(kept)} chorales in {out}; rejected {len(rejected)}:")
    for reason, n in Counter(r.reason.split(":")[0] for r in rejected).most_common():
        print(f"  {n:4d}  {reason}")
    print(summary_text(out))
    return 0


def summary_text(data_dir: Path) -> str:
    from composer.corpus import load_chorales, load_manifest
    from composer.encoding import allowed_transpositions

    manifest = load_manifest(data_dir)
    lines = []
    by_split = Counter(e["split"] for e in manifest["chorales"])
    for split in ("train", "valid", "test"):
        scores = load_chorales(split, data_dir)
        steps = sum(s.steps for s in scores)
        shifts = [len(allowed_transpositions(s)) for s in scores]
        mean = sum(shifts) / max(1, len(shifts))
        lines.append(
            f"{split:5s}: {by_split[split]:3d} chorales, {steps:6d} steps, {steps * 4:6d} tokens;"
            f" transpositions per piece: mean {mean:.1f}, min {min(shifts, default=0)},"
            f" max {max(shifts, default=0)}"
        )
    return "\n".join(lines)


def run_summary(args: argparse.Namespace) -> int:
    from composer.corpus import DATA_DIR

    print(summary_text(args.data or DATA_DIR))
    return 0
