"""The boundaries: composer/ never imports Qt; runtime modules never import torch."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "composer"
RUNTIME = ("midi_io", "sampler", "stream", "tables", "kernels", "bundle", "playback", "live",
           "ports", "jack_live", "synth", "clock", "score", "encoding", "metrics")  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


LAUNCHER = CORE / "cli" / "gui.py"  # `composer gui` starts the app: the one allowed door
APP = CORE / "app"  # the app: the one package that imports Qt


def test_core_never_imports_qt():
    qt = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "gui"}
    offenders = [
        p.name
        for p in CORE.rglob("*.py")
        if p != LAUNCHER and APP not in p.parents and imported_modules(p) & qt
    ]
    assert offenders == []


def test_runtime_modules_do_not_pull_in_torch_or_qt():
    code = (
        "import importlib, sys\n"
        f"for m in {RUNTIME!r}:\n"
        "    try:\n"
        "        importlib.import_module('composer.' + m)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != 'composer.' + m: raise\n"
        "print(' '.join(sorted(m for m in ('torch', 'PySide6') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
