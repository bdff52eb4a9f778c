"""Fuzz the MIDI reader at scale: damaged copies of real files must raise MidiFileError or
read into a valid Score; any other exception, or an input taking longer than --hang seconds,
is counted and shown.

    .venv/bin/python bench/fuzz_midi.py [--inputs 50000] [--seed 1] [--hang 10]

Seeds: the small files the test suite fuzzes (write_midi and music21) plus whole chorales
exported by music21 and a longer write_midi score. Prints inputs per kind of damage,
outcomes, the most common refusal messages, the slowest input, and the two figures that
must be zero: other exceptions and hangs.
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from midi_fixtures import (  # noqa: E402
    example_score,
    music21_chorale_bytes,
    mutate,
    score_bytes,
    seed_files,
)

from composer.errors import MidiFileError  # noqa: E402
from composer.midi.io import read_midi_data  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise Hang


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang", type=float, default=10.0, help="seconds that count as a hang")
    args = ap.parse_args()

    seeds = list(seed_files())
    seeds += [music21_chorale_bytes(n) for n in ("bach/bwv66.6", "bach/bwv269", "bach/bwv8.6")]
    seeds.append(score_bytes(example_score(128, 4, 9)))
    print(f"{len(seeds)} seed files, {min(map(len, seeds))}-{max(map(len, seeds))} bytes")

    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _alarm)
    kinds: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    others: list[str] = []
    hangs = 0
    slowest = (0.0, "")
    start = time.perf_counter()
    for i in range(args.inputs):
        kind, data = mutate(seeds[i % len(seeds)], rng, seeds)
        kinds[kind] += 1
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.hang)
        try:
            score, _ = read_midi_data(data, "f.mid")
            score.validate()
            outcomes["read into a Score"] += 1
        except MidiFileError as e:
            outcomes["MidiFileError"] += 1
            problem = str(e).removeprefix("cannot read f.mid: ").split(";")[0]
            problems[re.sub(r"\d+", "N", re.sub(r"b'.*?'|b\".*?\"", "B", problem))] += 1
        except Hang:
            hangs += 1
            outcomes["hang"] += 1
        except Exception:  # noqa: BLE001 - the figure this script exists to measure
            outcomes["other exception"] += 1
            others.append(f"input {i} ({kind}): {traceback.format_exc(limit=3)}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - t0
        if took > slowest[0]:
            slowest = (took, kind)
    total = time.perf_counter() - start

    print(f"\n{args.inputs} inputs in {total:.1f} s ({total / args.inputs * 1e3:.2f} ms each), "
          f"slowest {slowest[0] * 1e3:.1f} ms ({slowest[1]})")  # fmt: skip
    print("\ninputs by kind of damage:")
    for k, n in sorted(kinds.items()):
        print(f"  {k:10s} {n:7d}")
    print("\noutcomes:")
    for k, n in outcomes.most_common():
        print(f"  {k:20s} {n:7d}")
    print(f"\n{len(problems)} distinct refusal messages (numbers and bytes folded); most common:")
    for p, n in problems.most_common(25):
        print(f"  {n:6d}  {p}")
    print(f"\nother exceptions: {len(others)}")
    print(f"hangs (> {args.hang:g} s): {hangs}")
    for o in others[:10]:
        print(o)
    return 1 if others or hangs else 0


if __name__ == "__main__":
    raise SystemExit(main())
