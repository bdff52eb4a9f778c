"""Hostile cases, run as a user runs them (one process per case), classified and counted: issue
14's kinds (writes, bundles, options, training, the app; live mode is bench/live.py's).

    .venv/bin/python bench/hostile.py [--code ROOT] [--only KIND] [--json]

``--code ROOT`` runs the ``composer`` package found in ROOT (e.g. an export of another commit:
``git archive main | tar -x -C /tmp/before``) instead of this checkout's; the checks always
use this checkout's reader. Each case expects an error or a result; the outcome is one of

- clean error: refused, exit status non-zero, no traceback (its stderr lines are counted too)

Devices are private copies made with mknod in a scratch folder (run as root): the code under
test may replace its target, and must never replace the machine's /dev/full or /dev/null.
- correct: done, and the check of the result passed
- traceback: a Python traceback on stderr
- crash: killed by a signal (segfault, abort) where no signal was sent
- wrong: exit status 0 for what should be refused, or a result that fails its check, or a
  refusal of something valid
- loss: a file clobbered or lost (a device replaced, a link broken, work not saved)
- hang: no answer within the case's time limit

and the table of counts per kind is printed (Markdown), then every case that is not a clean
error or correct, with why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

from composer.midi.io import read_midi, write_midi  # noqa: E402
from composer.score import HOLD, Score  # noqa: E402

OUTCOMES = ("clean error", "correct", "traceback", "crash", "wrong", "loss", "hang")


@dataclass
class Case:
    kind: str
    name: str
    argv: list[str] | None = None  # composer ARGV; or run() does it all
    expect: str = "error"  # or "ok"
    check: Callable[[Path, subprocess.CompletedProcess], tuple[str, str] | None] | None = None
    setup: Callable[[Path], None] | None = None
    run: Callable[[Path, dict], tuple[str, str]] | None = None  # (outcome, why)
    timeout: float = 240
    env: dict = field(default_factory=dict)


def piece(bars: int = 4) -> Score:
    grid = np.full((bars * 16, 4), HOLD, np.int16)
    for v, p in enumerate((72, 65, 57, 48)):
        grid[::4, v] = p
    return Score(grid, tempo=90)


def valid_midi(path: Path, **want) -> tuple[str, str] | None:
    try:
        score = read_midi(path)
    except Exception as e:  # noqa: BLE001
        return "wrong", f"{path.name} does not read back: {e}"
    if score.voices != 4 or not any(score.notes()):
        return "wrong", f"{path.name}: {score.voices} voices, no notes"
    for k, v in want.items():
        if getattr(score, k) != v:
            return "wrong", f"{path.name}: {k} {getattr(score, k)}, not {v}"
    return None


# --- running -------------------------------------------------------------------------------
def composer_cmd(code: Path) -> list[str]:
    return [sys.executable, "-m", "composer"]


def classify(case: Case, tmp: Path, out: subprocess.CompletedProcess | None) -> tuple[str, str]:
    if out is None:
        return "hang", f"no answer in {case.timeout:g} s"
    err = out.stderr
    lines = [ln for ln in err.splitlines() if ln.strip() and "\r" not in ln and "it/s" not in ln]
    if "Traceback (most recent call last)" in err:
        last = [ln for ln in err.splitlines() if ln.strip()][-1]
        return "traceback", last[:160]
    if out.returncode < 0 or out.returncode in (134, 139):
        return "crash", f"exit {out.returncode}: {(lines or [''])[-1][:120]}"
    checked = case.check(tmp, out) if case.check else None
    if checked and checked[0] == "loss":
        return checked
    if case.expect == "error":
        if out.returncode == 0:
            return "wrong", "accepted: " + (out.stdout.strip().splitlines() or [""])[0][:120]
        return "clean error", f"{len(lines)} line(s): {(lines or [''])[-1][:140]}"
    if out.returncode != 0:
        return "wrong", f"refused a valid request: {(lines or [''])[-1][:140]}"
    return checked or ("correct", "")


def run_case(case: Case, code: Path, base_env: dict) -> tuple[str, str]:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    env = {**base_env, **case.env, "COMPOSER_CHECKPOINTS": str(tmp / "checkpoints"),
           "XDG_DATA_HOME": str(tmp / "xdg-data"),
           "XDG_CONFIG_HOME": str(tmp / "xdg-config")}  # fmt: skip
    try:
        if case.setup:
            case.setup(tmp)
        if case.run:
            return case.run(tmp, env)
        argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
        try:
            out = subprocess.run([*composer_cmd(code), *argv], cwd=tmp, env=env, text=True,
                                 capture_output=True, timeout=case.timeout,
                                 errors="backslashreplace")  # fmt: skip
        except subprocess.TimeoutExpired:
            out = None
        return classify(case, tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- 1. writes ----------------------------------------------------------------------------------
def mk_dev(tmp: Path) -> None:
    os.mknod(tmp / "devnode", 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def check_dev(tmp: Path, out) -> tuple[str, str] | None:
    if not stat.S_ISCHR(os.stat(tmp / "devnode").st_mode):
        return "loss", "the device node was replaced by a regular file"
    return None


def mk_link(tmp: Path) -> None:
    (tmp / "real.mid").write_bytes(b"old")
    (tmp / "link.mid").symlink_to(tmp / "real.mid")


def check_link(tmp: Path, out):
    if not (tmp / "link.mid").is_symlink():
        return "loss", "the symlink was replaced by a file (its target left as it was)"
    return valid_midi(tmp / "real.mid")


def mk_private(tmp: Path) -> None:
    (tmp / "secret.mid").write_bytes(b"old")
    (tmp / "secret.mid").chmod(0o600)


def check_private(tmp: Path, out):
    mode = stat.S_IMODE((tmp / "secret.mid").stat().st_mode)
    return (
        ("loss", f"mode 0600 became {mode:04o}")
        if mode != 0o600
        else valid_midi(tmp / "secret.mid")
    )


def mk_hard(tmp: Path) -> None:
    (tmp / "h1.mid").write_bytes(b"old")
    os.link(tmp / "h1.mid", tmp / "h2.mid")


def check_hard(tmp: Path, out):
    if (tmp / "h1.mid").stat().st_nlink != 2 or (tmp / "h1.mid").read_bytes() == b"old":
        return "loss", "the hard link was broken (h1.mid kept the old bytes)"
    return valid_midi(tmp / "h1.mid")


def check_absent(*names):
    def check(tmp: Path, out):
        for n in names:
            if (tmp / n).exists() and out.returncode != 0:
                return "wrong", f"{n} written although refused"
        return None

    return check


def fifo_run(tmp: Path, env: dict) -> tuple[str, str]:
    os.mkfifo(tmp / "pipe")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append((tmp / "pipe").read_bytes()), daemon=True)
    reader.start()
    try:
        out = subprocess.run([*composer_cmd(Path()), "generate", "--bars", "2", "--seed", "1",
                              "--out", str(tmp / "pipe")], cwd=tmp, env=env, text=True,
                             capture_output=True, timeout=120)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "hang", "no answer"
    reader.join(5)
    case = Case("writes", "fifo", expect="ok")
    result = classify(case, tmp, out)
    if result[0] != "correct":
        return result
    if not stat.S_ISFIFO(os.stat(tmp / "pipe").st_mode):
        return "loss", "the FIFO was replaced by a regular file"
    if not got or not got[0].startswith(b"MThd"):
        return "wrong", "the reader got no MIDI through the FIFO"
    return "correct", ""


def orphan_run(tmp: Path, env: dict) -> tuple[str, str]:
    """kill -9 in the middle of a write, then write again in that folder."""
    code = ("import os, signal, sys\nfrom composer.fileio import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    open(tmp, 'wb').write(b'half a file' * 100000)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code, str(tmp / "out" / "big.mid")], env=env,
                   capture_output=True, timeout=60)  # fmt: skip
    left = [p.name for p in (tmp / "out").iterdir()]
    if not left:
        return "wrong", "no temporary to clean (nothing was written before the kill?)"
    out = subprocess.run([*composer_cmd(Path()), "generate", "--bars", "2", "--seed", "1",
                          "--out", str(tmp / "out" / "next.mid")], cwd=tmp, env=env, text=True,
                         capture_output=True, timeout=120)  # fmt: skip
    if out.returncode:
        return classify(Case("writes", "orphan", expect="ok"), tmp, out)
    still = [p.name for p in (tmp / "out").iterdir() if p.name != "next.mid"]
    if still:
        return "loss", f"{len(still)} orphaned temporary file(s) of 1.1 MB left: {still[0]}"
    return "correct", ""


def write_cases() -> list[Case]:
    g = ["generate", "--bars", "2", "--seed", "1"]
    return [
        Case("writes", "--out a character device", [*g, "--out", "{tmp}/devnode"], "ok",
             check_dev, mk_dev),
        Case("writes", "--out a full device", [*g, "--out", "{tmp}/full"],
             setup=lambda t: os.mknod(t / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))),
        Case("writes", "--out a FIFO", run=fifo_run),
        Case("writes", "--out a symlink", [*g, "--out", "{tmp}/link.mid"], "ok", check_link,
             mk_link),
        Case("writes", "--out a 0600 file", [*g, "--out", "{tmp}/secret.mid"], "ok",
             check_private, mk_private),
        Case("writes", "--out a hard-linked file", [*g, "--out", "{tmp}/h2.mid"], "ok", check_hard,
             mk_hard),
        Case("writes", "--out X --wav X", [*g, "--out", "x.mid", "--wav", "x.mid"], "error",
             check_absent("x.mid")),
        Case("writes", "--out X --musicxml ./X", [*g, "--out", "x.mid", "--musicxml", "./x.mid"],
             "error", check_absent("x.mid")),
        Case("writes", "--out a folder", [*g, "--out", "{tmp}"]),
        Case("writes", "--out below a file", [*g, "--out", "{tmp}/f/x.mid"],
             setup=lambda t: (t / "f").write_text("x")),
        Case("writes", "--out a name of 300 bytes", [*g, "--out", "x" * 300 + ".mid"]),
        Case("writes", "--out a non-UTF-8 name", [*g, "--out", os.fsdecode(b"\xff\xfe.mid")], "ok",
             lambda t, o: valid_midi(t / os.fsdecode(b"\xff\xfe.mid"))),
        Case("writes", "kill -9 mid-write, then write again", run=orphan_run),
        Case("writes", "variations numbered, --out /", [*g, "--variations", "2", "--out", "/"]),
    ]  # fmt: skip


# --- 2. bundles ---------------------------------------------------------------------------------
def bundle_cases() -> list[Case]:
    from test_bundle_schema import BROKEN, W

    cases = []
    for name, (config, weights, _) in BROKEN.items():

        def setup(tmp: Path, config=config, weights=weights) -> None:
            d = tmp / "bundle"
            d.mkdir()
            if isinstance(config, bytes):
                (d / "config.json").write_bytes(config)
            else:
                (d / "config.json").write_text(
                    config if isinstance(config, str) else json.dumps(config)
                )
            if weights == "TRUNCATE":
                np.savez_compressed(d / "weights.npz", **W)
                data = (d / "weights.npz").read_bytes()
                (d / "weights.npz").write_bytes(data[: len(data) // 2])
            elif weights == "OBJECT":
                np.savez(d / "weights.npz", **{**W, "head.bias": np.array([{}] * 133, object)})
            elif isinstance(weights, bytes):
                (d / "weights.npz").write_bytes(weights)
            else:
                np.savez(d / "weights.npz", **weights)

        argv = [
            "generate",
            "--bars",
            "2",
            "--seed",
            "1",
            "--model",
            "{tmp}/bundle",
            "--out",
            "o.mid",
        ]
        cases.append(Case("bundles", name, argv, setup=setup))

    def shipped(tmp: Path, extra: dict | None = None, edit: Callable | None = None) -> None:
        src = HERE / "models" / "bach-satb"
        d = tmp / "bundle"
        d.mkdir()
        config = json.loads((src / "config.json").read_text())
        if edit:
            edit(config)
        (d / "config.json").write_text(json.dumps(config))
        if extra is None:
            shutil.copy(src / "weights.npz", d / "weights.npz")
        else:
            w = dict(np.load(src / "weights.npz"))
            np.savez(d / "weights.npz", **w, **extra)

    gen = ["generate", "--bars", "2", "--seed", "1", "--model", "{tmp}/bundle", "--out", "o.mid"]
    cases += [
        Case("bundles", "shipped, with an extra 256 MB array", gen, "ok",
             lambda t, o: valid_midi(t / "o.mid"),
             lambda t: shipped(t, {"junk": np.zeros((8192, 8192), np.float32)})),
        Case("bundles", "shipped, hidden 512 in config", gen,
             setup=lambda t: shipped(t, edit=lambda c: c["model"].update(hidden=512))),
        Case("bundles", "shipped, vocab 1000 in config", gen,
             setup=lambda t: shipped(t, edit=lambda c: c["model"].update(vocab=1000))),
        Case("bundles", "shipped, hidden 10^9 in config", gen,
             setup=lambda t: shipped(t, edit=lambda c: c["model"].update(hidden=10**9))),
        Case("bundles", "a FIFO as config.json", gen, timeout=30,
             setup=lambda t: (shipped(t), (t / "bundle" / "config.json").unlink(),
                              os.mkfifo(t / "bundle" / "config.json"))),
        Case("bundles", "evaluate a bundle whose config disagrees", ["evaluate", "--model",
             "{tmp}/bundle", "--particles", "0"],
             setup=lambda t: shipped(t, edit=lambda c: c["model"].update(layers=3))),
        Case("bundles", "an SATB model with a JSB context", gen,
             setup=lambda t: shipped(t, edit=lambda c: c["model"].update(context_voices=False))),
    ]  # fmt: skip
    return cases


# --- 3. options ---------------------------------------------------------------------------------
def option_cases() -> list[Case]:
    g = ["generate", "--bars", "2", "--out", "o.mid"]
    tiny_train = ["train", "--out", "m", *TINY]
    mid = lambda t: write_midi(piece(), t / "p.mid")  # noqa: E731
    longp = lambda t: write_midi(Score(np.tile(piece(4).grid, (300, 1)), tempo=90), t / "p.mid")  # noqa: E731
    live = ["live", "--synth", "--seconds", "3"]
    cases = []
    for v in ("nan", "1e-9", "inf", "1e9", "-5", "0"):
        cases.append(Case("options", f"generate --tempo {v}", [*g, "--tempo", v]))
    for cmd, base in (("generate", g), ("harmonize", ["harmonize", "p.mid", "--out", "o.mid"]),
                      ("start", ["start", "--no-gui", "--out", "o"]),
                      ("gui", ["gui"])):  # fmt: skip
        cases.append(Case("options", f"{cmd} --seed -1", [*base, "--seed", "-1"], setup=mid))
    for opt, v in (("--temperature", "nan"), ("--temperature", "-1"), ("--top-k", "-3"),
                   ("--top-p", "0"), ("--top-p", "nan"), ("--pickup", "-1"), ("--pickup", "1000"),
                   ("--variations", "0"), ("--variations", "100000"), ("--bars", "0"),
                   ("--bars", "100000"), ("--voice-temperature", "nan,1,1,1"),
                   ("--time-signature", "4/0"), ("--time-signature", "7/3")):  # fmt: skip
        cases.append(Case("options", f"generate {opt} {v}", [*g, opt, v]))
    for v in ("-1", "100000", "1300"):
        argv = ["continue", "p.mid", "--bars", v, "--out", "o.mid"]
        cases.append(Case("options", f"continue --bars {v}", argv, setup=mid))
    cases.append(
        Case(
            "options",
            "continue past what the reader reads",
            ["continue", "p.mid", "--bars", "300", "--out", "o.mid"],
            setup=longp,
        )
    )
    cases.append(
        Case(
            "options",
            "regenerate --particles -1",
            ["regenerate", "p.mid", "--bars", "1", "--particles", "-1"],
            setup=mid,
        )
    )
    for opt, v in (("--pieces", "-1"), ("--particles", "-1"), ("--split", "bogus")):
        cases.append(Case("options", f"evaluate {opt} {v}", ["evaluate", opt, v], timeout=120))
    for opt, v in (("--batch-size", "0"), ("--lr", "nan"), ("--hidden", "0"), ("--dropout", "2"),
                   ("--checkpoint-every", "0"), ("--epochs", "0"), ("--layers", "0"),
                   ("--warmup", "-1"), ("--clip", "nan"), ("--jsb-shift", "-3")):  # fmt: skip
        cases.append(Case("options", f"train {opt} {v}", [*tiny_train, opt, v], timeout=180))
    for opt, v in (("--seconds", "nan"), ("--tempo", "1e9"), ("--tempo", "nan"), ("--seed", "-1"),
                   ("--bars", "0"), ("--temperature", "nan")):  # fmt: skip
        cases.append(Case("options", f"live {opt} {v}", [*live, opt, v], timeout=20))
    # valid values that must work
    cases += [
        Case("options", "generate --tempo 72 (valid)", [*g, "--tempo", "72", "--seed", "1"], "ok",
             lambda t, o: valid_midi(t / "o.mid", tempo=72.0)),
        Case("options", "generate --temperature 0 --top-k 5 (valid)",
             [*g, "--temperature", "0", "--top-k", "5", "--seed", "0"], "ok",
             lambda t, o: valid_midi(t / "o.mid")),
        Case("options", "generate --time-signature 3/4 --pickup 2 (valid)",
             [*g, "--time-signature", "3/4", "--pickup", "2", "--seed", "1"], "ok",
             lambda t, o: valid_midi(t / "o.mid", time_signature=(3, 4), pickup=2)),
        Case("options", "continue --bars 2 (valid)",
             ["continue", "p.mid", "--bars", "2", "--out", "o.mid", "--seed", "1"], "ok",
             lambda t, o: valid_midi(t / "o.mid", steps=64 + 32), mid),
    ]  # fmt: skip
    return cases


# --- 4. training --------------------------------------------------------------------------------
TINY = ["--data", "jsb-quarter", "--max-steps", "2", "--epochs", "1", "--batch-size", "8",
        "--hidden", "8", "--embed", "4", "--lookahead", "0", "--threads", "1"]  # fmt: skip


def two_runs(tmp: Path, env: dict) -> tuple[str, str]:
    """runs/A/m and runs/B/m, then B --resume: B's own checkpoint, A's untouched."""
    cmd = [*composer_cmd(Path()), "train", *TINY]
    for out in ("runs/A/m", "runs/B/m"):
        r = subprocess.run([*cmd, "--out", out], cwd=tmp, env=env, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
        if r.returncode:
            return classify(Case("training", "", expect="ok"), tmp, r)
    ckpts = sorted((tmp / "checkpoints").rglob("last.pt"))
    if len(ckpts) < 2:
        return (
            "loss",
            f"the two runs share one checkpoint ({ckpts[0].parent.name}/last.pt): "
            "run B replaced run A's",
        )
    return "correct", ""


def resume_other(tmp: Path, env: dict) -> tuple[str, str]:
    """--checkpoint-dir of run A given to run C with --resume: must be refused."""
    cmd = [*composer_cmd(Path()), "train", *TINY, "--checkpoint-dir", "ck"]
    subprocess.run([*cmd, "--out", "A"], cwd=tmp, env=env, capture_output=True, timeout=300)
    r = subprocess.run([*cmd, "--out", "C", "--resume"], cwd=tmp, env=env, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    return classify(Case("training", ""), tmp, r)


def resume_nothing(tmp: Path, env: dict) -> tuple[str, str]:
    r = subprocess.run([*composer_cmd(Path()), "train", *TINY, "--out", "m", "--resume"], cwd=tmp,
                       env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    if r.returncode == 0 and "no checkpoint" not in (r.stdout + r.stderr):
        return "wrong", "--resume with no checkpoint started afresh without a word"
    return classify(Case("training", "", expect="ok"), tmp, r)


def resume_sizes(tmp: Path, env: dict) -> tuple[str, str]:
    cmd = [*composer_cmd(Path()), "train", *TINY, "--out", "m"]
    subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=300)
    r = subprocess.run([*cmd, "--resume", "--hidden", "16"], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    return classify(Case("training", ""), tmp, r)


def checkpoint_case(name: str, damage: str) -> Case:
    code = ("import json, sys, torch\nfrom composer.train.checkpoint import load_checkpoint\n"
            "s = load_checkpoint(sys.argv[1])\nc = json.loads(s['config'])\n" + damage +
            "\ntorch.save(s, sys.argv[2])\n")  # fmt: skip

    def run(tmp: Path, env: dict) -> tuple[str, str]:
        subprocess.run([*composer_cmd(Path()), "train", *TINY, "--out", "m", "--checkpoint-dir",
                        "ck"], cwd=tmp, env=env, capture_output=True, timeout=300)  # fmt: skip
        subprocess.run([sys.executable, "-c", code, "ck/last.pt", "bad.pt"], cwd=tmp, env=env,
                       capture_output=True, timeout=120)  # fmt: skip
        r = subprocess.run([*composer_cmd(Path()), "export", "bad.pt", "--out", "x"], cwd=tmp,
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        return classify(Case("training", name), tmp, r)

    return Case("training", name, run=run)


def jsb_file(content) -> Callable[[Path], None]:
    return lambda t: (t / "d.json").write_text(json.dumps(content))


def training_cases() -> list[Case]:
    ev = ["evaluate", "--model", "jsb-quarter", "--data-file", "d.json", "--particles", "0"]
    return [
        Case("training", "--out runs/A/m and runs/B/m", run=two_runs),
        Case("training", "--resume another run's checkpoint", run=resume_other),
        Case("training", "--resume with no checkpoint", run=resume_nothing),
        Case("training", "--resume with other sizes", run=resume_sizes),
        checkpoint_case("export: a checkpoint of other sizes",
                        "c['model']['hidden'] = 32; s['config'] = json.dumps(c)"),
        checkpoint_case("export: a checkpoint with other keys",
                        "s['model'] = {k + 'x': v for k, v in s['model'].items()}"),
        checkpoint_case("export: a torch file, not a checkpoint", "s = {'x': torch.ones(2)}"),
        checkpoint_case("export: damaged record", "s['state'] = '{'"),
        Case("training", "evaluate a SATB model on JSB data",
             ["evaluate", "--model", "bach-satb", "--data", "jsb-quarter", "--particles", "0"]),
        Case("training", "evaluate: empty valid split", ev, setup=jsb_file({"valid": []})),
        Case("training", "evaluate: non-integer pitches", ev,
             setup=jsb_file({"valid": [[[60.5, 64]]]})),
        Case("training", "evaluate: five pitches in a frame", ev,
             setup=jsb_file({"valid": [[[60, 62, 64, 65, 67]]]})),
        Case("training", "evaluate: a frame of text", ev, setup=jsb_file({"valid": [["abc"]]})),
        Case("training", "evaluate: a list, not splits", ev, setup=jsb_file([1, 2])),
        Case("training", "train --epochs 0", ["train", *TINY, "--out", "m", "--epochs", "0"]),
        Case("training", "train --data an empty folder", ["train", *TINY[2:], "--out", "m",
                                                          "--data", "{tmp}"]),
    ]  # fmt: skip


# --- 5. the app ---------------------------------------------------------------------------------
DRIVER = """
import sys, json
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
import composer.app.mainwindow as mw
from composer.midi.io import read_midi
piece = read_midi(sys.argv[1])
mode = sys.argv[2]
asked = []
QMessageBox.question = staticmethod(lambda *a, **k: asked.append(1) or QMessageBox.Yes)
orig = mw.MainWindow.show
def show(self):
    orig(self)
    def ready():
        if mode == "dirty":
            self.doc.set_results([piece], "New chorale")
        print("READY", flush=True)
    def later():
        try:
            self.roll.grab()
            painted = "ok"
        except Exception as e:
            painted = type(e).__name__
        print("ASKED" if asked else "NOT-ASKED", "PAINT", painted, flush=True)
        self.doc.dirty = False
        self.close()
    QTimer.singleShot(200, ready)
    if mode == "offer":
        QTimer.singleShot(3000, later)
mw.MainWindow.show = show
from composer.app.app import run
sys.exit(run(None, audio=False))
"""


def app_env(env: dict) -> dict:
    return {**env, "QT_QPA_PLATFORM": "offscreen"}


def autosave_file(tmp: Path) -> Path:
    return tmp / "xdg-data" / "Composer" / "Composer" / "autosave.json"


def signal_case(sig: str) -> Case:
    def run(tmp: Path, env: dict) -> tuple[str, str]:
        write_midi(piece(), tmp / "p.mid")
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp / "p.mid"), "dirty"],
                                cwd=tmp, env=app_env(env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            line = proc.stdout.readline()
            if "READY" not in line:
                return "wrong", f"the app did not start: {proc.communicate(timeout=30)[1][-200:]}"
            time.sleep(0.3)  # within the autosave's 1.5 s delay
            proc.send_signal(getattr(signal, sig))
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return "hang", f"still running 60 s after {sig}"
        if "Traceback" in err:
            return "traceback", err.strip().splitlines()[-1][:160]
        saved = autosave_file(tmp)
        if not saved.exists():
            return "loss", f"{sig}: exit {proc.returncode}, the last change was not autosaved"
        if proc.returncode != 0:
            return "wrong", f"{sig}: exit {proc.returncode}"
        return "correct", ""

    return Case("app", f"{sig} with unexported work", run=run)


def damaged_autosave_case(name: str, damage: Callable[[dict], None]) -> Case:
    def run(tmp: Path, env: dict) -> tuple[str, str]:
        from composer.app.document import Document
        from composer.app.files import autosave_text

        doc = Document()
        doc.set_results([piece()], "New chorale")
        data = json.loads(autosave_text(doc))
        damage(data)
        saved = autosave_file(tmp)
        saved.parent.mkdir(parents=True)
        saved.write_text(json.dumps(data))
        write_midi(piece(), tmp / "p.mid")
        try:
            out = subprocess.run([sys.executable, "-c", DRIVER, str(tmp / "p.mid"), "offer"],
                                 cwd=tmp, env=app_env(env), capture_output=True, text=True,
                                 timeout=120)  # fmt: skip
        except subprocess.TimeoutExpired:
            return "hang", "no answer"
        if "Traceback" in out.stderr and "ASKED" in out.stdout:
            return "wrong", "offered, restored, then: " + out.stderr.strip().splitlines()[-1][:120]
        if "Traceback" in out.stderr:
            return "traceback", out.stderr.strip().splitlines()[-1][:160]
        if out.returncode < 0:
            return "crash", f"exit {out.returncode}"
        if "NOT-ASKED" not in out.stdout:
            return "wrong", f"the damaged session was offered ({out.stdout.strip()[:80]})"
        return "clean error", "not offered; set aside with a message"

    return Case("app", f"damaged autosave: {name}", run=run)


def app_cases() -> list[Case]:
    def score0(d: dict) -> dict:
        return d["state"]["scores"][0]

    cases = [signal_case(s) for s in ("SIGTERM", "SIGHUP", "SIGINT")]
    cases += [
        damaged_autosave_case("meter 4/0", lambda d: score0(d).update(time_signature=[4, 0])),
        damaged_autosave_case("lock on voice 8", lambda d: d["state"].update(voice_locks=[7])),
        damaged_autosave_case("variation 10 of 1", lambda d: d["state"].update(current=9)),
        damaged_autosave_case("tempo NaN", lambda d: score0(d).update(tempo=float("nan"))),
        damaged_autosave_case("pickup 40", lambda d: score0(d).update(pickup=40)),
        damaged_autosave_case("note lock at step -5",
                              lambda d: d["state"].update(note_locks=[[1, -5]])),
    ]  # fmt: skip
    write = lambda t: (t / "f").write_text("a file")  # noqa: E731
    shot = ["gui", "--no-audio", "--quit-after-compose", "--seed", "1", "--screenshot"]
    offscreen = {"QT_QPA_PLATFORM": "offscreen"}
    unreachable = {"DISPLAY": ":97", "QT_QPA_PLATFORM": "", "WAYLAND_DISPLAY": ""}
    cases += [
        Case("app", "gui --screenshot below a file", [*shot, "{tmp}/f/x.png"], setup=write,
             env=offscreen, timeout=180),
        Case("app", "gui --screenshot /proc/x.png", [*shot, "/proc/x.png"], env=offscreen,
             timeout=180),
        Case("app", "gui --screenshot x.txt", [*shot, "x.txt"], env=offscreen, timeout=180),
        Case("app", "gui, display :97 unreachable", ["gui"], env=unreachable, timeout=60),
        Case("app", "gui, QT_QPA_PLATFORM=nosuch", ["gui"], env={"QT_QPA_PLATFORM": "nosuch"},
             timeout=60),
        Case("app", "start, display :97 unreachable", ["start", "--seed", "1", "--out", "c"], "ok",
             lambda t, o: valid_midi(t / "c.mid"), env=unreachable, timeout=180),
    ]  # fmt: skip
    return cases


KINDS = {"writes": write_cases, "bundles": bundle_cases, "options": option_cases,
         "training": training_cases, "app": app_cases}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", type=Path, default=HERE, help="root of the composer package to run")
    ap.add_argument("--only", choices=list(KINDS), action="append")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(args.code.resolve())
    env.setdefault("COMPOSER_JSB_DIR", str(HERE.parent / "shared" / "jsb"))
    env["COMPOSER_MODELS"] = str(args.code.resolve() / "models")
    env.pop("QT_QPA_PLATFORM", None)
    results: list[tuple[Case, str, str]] = []
    for kind in args.only or KINDS:
        for case in KINDS[kind]():
            started = time.monotonic()
            outcome, why = run_case(case, args.code, env)
            results.append((case, outcome, why))
            print(f"{kind:8s} {outcome:11s} {time.monotonic() - started:6.1f}s  {case.name}  "
                  f"{why}"[:220], file=sys.stderr, flush=True)  # fmt: skip
    counts = {k: Counter(o for c, o, _ in results if c.kind == k) for k in KINDS if
              any(c.kind == k for c, _, _ in results)}  # fmt: skip
    print("| kind | cases | " + " | ".join(OUTCOMES) + " |")
    print("|---|---:|" + "---:|" * len(OUTCOMES))
    total = Counter()
    for kind, c in counts.items():
        total.update(c)
        print(f"| {kind} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |")
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    bad = [(c, o, w) for c, o, w in results if o not in ("clean error", "correct")]
    for c, o, w in bad:
        print(f"- {c.kind}: {c.name}: **{o}** {w}")
    if args.json:
        print(json.dumps({k: dict(v) for k, v in counts.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
