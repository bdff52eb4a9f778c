"""The kernels a composing job calls, from wherever they load fastest: the extension module that
composer/runtime/aot.py compiled ahead of time for this machine and these sources (``./run.sh
setup`` builds it), else numba's (composer/runtime/kernels.py and faults.py, compiled on first
use or loaded from numba's cache).

Both are the same Python compiled by the same numba and LLVM for the same CPU with the same
options, so they write the same notes bit for bit (tests/test_native.py). The extension needs no
numba at run time: a cold ``composer generate`` skips importing numba and starting its compiler
(about 0.4 s). Nothing is loaded before the first call; an extension that is missing, stale
(another CPU, numba or source) or fails to load leaves numba's kernels in its place, silently.
``COMPOSER_KERNELS=jit`` chooses numba's even where the extension is built.

The extension checks no types (numba's dispatcher does): every array is checked here against
the kernel's signature, which the build saves beside the extension, so a wrong array is a
TypeError as with numba, never memory read as the wrong type.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from composer.runtime.layout import Teacher
from composer.score import Key
from composer.theory import counterpoint as cp

PACKAGE = Path(__file__).resolve().parent.parent  # composer/
# Everything the compiled code is made from: a change to any of them makes the extension stale.
SOURCES = (
    "runtime/layout.py",
    "runtime/kernels.py",
    "runtime/repeats.py",
    "runtime/faults.py",
    "runtime/aot.py",
    "encoding.py",
    "theory/counterpoint.py",
)
DIRECTORY = PACKAGE / "runtime" / "__pycache__"  # beside numba's own cache of the kernels
# The kernels a composing job calls from Python: kernels.run_positions, conditioning_rows,
# backward_lookahead and faults.count_batch.
EXPORTS = ("run_positions", "conditioning_rows", "backward_lookahead", "count_batch")

_lock = threading.Lock()
_loaded: SimpleNamespace | None = None


def build_key() -> str:
    """16 hex digits naming the extension these sources, this numba and llvmlite, this CPU and
    this Python would build."""
    h = hashlib.sha256()
    for rel in SOURCES:
        h.update((PACKAGE / rel).read_bytes())
    for dist in ("numba", "llvmlite"):  # their versions, without importing them (0.2 s)
        spec = importlib.util.find_spec(dist)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"{dist} is not installed")
        h.update(Path(spec.submodule_search_locations[0], "_version.py").read_bytes())
    h.update(cpu().encode())
    h.update(platform.python_version().encode())
    return h.hexdigest()[:16]


def cpu() -> str:
    """This CPU's model and features (the code is compiled for exactly those)."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read().split("\n\n", 1)[0]  # the first processor
        return "\n".join(
            line for line in info.splitlines() if line.startswith(("model name", "flags"))
        )
    except OSError:  # not Linux: the machine itself, so a copied venv does not use it
        return f"{platform.machine()} {platform.processor()} {platform.node()}"


def module_name(key: str) -> str:
    return f"aot_{key}"


def extension_path(key: str, directory: Path | None = None) -> Path:
    """Where the extension of ``key`` is built (default: DIRECTORY)."""
    return (directory or DIRECTORY) / (module_name(key) + importlib.machinery.EXTENSION_SUFFIXES[0])


def built_files(key: str, directory: Path | None = None) -> tuple[Path, Path]:
    """The extension of ``key`` and its kernels' signatures (JSON), as the build leaves them."""
    return extension_path(key, directory), (directory or DIRECTORY) / f"{module_name(key)}.json"


def kernels() -> SimpleNamespace:
    """The kernels (EXPORTS as attributes), loaded on the first call; ``source``: "aot" (the
    extension) or "jit" (numba's)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load_aot() if os.environ.get("COMPOSER_KERNELS") != "jit" else None
                _loaded = _loaded or load_jit()
    return _loaded


def load_jit() -> SimpleNamespace:
    """numba's kernels."""
    from composer.runtime import faults
    from composer.runtime import kernels as jit

    return SimpleNamespace(
        source="jit",
        run_positions=jit.run_positions,
        conditioning_rows=jit.conditioning_rows,
        backward_lookahead=jit.backward_lookahead,
        count_batch=faults.count_batch,
    )


def load_aot(path: Path) -> SimpleNamespace:
    """The extension at ``path`` (built by composer/runtime/aot.py), each kernel behind a check
    of its arguments."""
    name = path.name.split(".")[0]
    spec = importlib.util.spec_from_file_location(
        name, path, loader=importlib.machinery.ExtensionFileLoader(name, str(path))
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    signatures = json.loads(path.with_name(f"{name}.json").read_text())
    return SimpleNamespace(
        source="aot",
        **{f: _checked(getattr(module, f), f, [_parse(s) for s in signatures[f]]) for f in EXPORTS},
    )


def _load_aot() -> SimpleNamespace | None:
    try:
        path = extension_path(build_key())
        return load_aot(path) if path.exists() else None
    except Exception:  # noqa: BLE001  whatever went wrong, numba's kernels do the same work
        return None


# --- argument checks ---------------------------------------------------------------------------
# A signature as aot.py saves it: ["array", dtype, ndim] (C-contiguous, writable: numba's types
# here are all C arrays), ["tuple", [items]] (a NamedTuple group), ["scalar", type].


def _parse(spec: list) -> Any:
    if spec[0] == "array":
        return ("array", np.dtype(spec[1]), spec[2])
    if spec[0] == "tuple":
        return ("tuple", [_parse(s) for s in spec[1]])
    return ("scalar",)


def _check(value: Any, spec: Any, where: str) -> None:
    kind = spec[0]
    if kind == "array":
        _, dtype, ndim = spec
        if not (
            isinstance(value, np.ndarray)
            and value.dtype == dtype
            and value.ndim == ndim
            and value.flags.c_contiguous
            and value.flags.writeable
        ):
            got = (
                f"{value.dtype}[{value.ndim}d{'' if value.flags.c_contiguous else ', strided'}"
                f"{'' if value.flags.writeable else ', read-only'}]"
                if isinstance(value, np.ndarray)
                else type(value).__name__
            )
            raise TypeError(f"{where}: a writable C-contiguous {dtype}[{ndim}d], not {got}")
    elif kind == "tuple":
        if not isinstance(value, tuple) or len(value) != len(spec[1]):
            raise TypeError(f"{where}: a group of {len(spec[1])}, not {type(value).__name__}")
        for k, (v, s) in enumerate(zip(value, spec[1])):
            _check(v, s, f"{where}[{k}]")


def _checked(kernel, name: str, args: list):
    # The last object passed in each place, already checked: the model's weights and the draw
    # settings come back unchanged at every call (the live harmonizer calls every step), and
    # neither a tuple's items nor an array's dtype, dimensions or layout can change.
    last: list[Any] = [None] * len(args)

    def call(*values):
        if len(values) != len(args):
            raise TypeError(f"{name}: {len(args)} arguments, not {len(values)}")
        for k, (v, s) in enumerate(zip(values, args)):
            if v is not last[k]:
                _check(v, s, f"{name} argument {k}")
                last[k] = v
        return kernel(*values)

    call.__name__ = name
    return call


# --- what Python calls -------------------------------------------------------------------------


def run_positions(state, start, stop, inputs, weights, draw, outputs) -> None:
    """kernels.run_positions: step the sequences through positions [start, stop)."""
    kernels().run_positions(state, start, stop, inputs, weights, draw, outputs)


def conditioning_rows(T_slot, slot, T_pos, pos, T_ferm, ferm, T_key, key, out) -> None:
    """kernels.conditioning_rows: each position's conditioning rows summed into ``out``."""
    kernels().conditioning_rows(T_slot, slot, T_pos, pos, T_ferm, ferm, T_key, key, out)


def backward_lookahead(fixed, pos, vocab, T_fix, T_pos, W_hh, out_h) -> None:
    """kernels.backward_lookahead: the backward LSTM over the fixed notes, into ``out_h``."""
    kernels().backward_lookahead(fixed, pos, vocab, T_fix, T_pos, W_hh, out_h)


@functools.lru_cache(maxsize=64)
def teacher(key: Key | None) -> Teacher:
    """theory.counterpoint's tables, for ``key`` (None: no key); made once per key (the
    particle filter asks after every chunk)."""
    pairs = cp.ALTERED_MINOR if key is not None and key.mode == "minor" else cp.ALTERED_MAJOR
    return Teacher(
        dissonant=np.ascontiguousarray(cp.DISSONANT, bool),
        falling=np.isin(np.arange(12), sorted(cp.FALLING)),
        awkward_bass=np.isin(np.arange(13), sorted(cp.AWKWARD_BASS)),
        altered=np.array([(a, (a + 1) % 12) in pairs for a in range(12)], bool),
        tonic=-1 if key is None else int(key.tonic),
        lowest=np.array([cp.LOWEST_SOPRANO, cp.LOWEST_ALTO], np.int64),
        clash_weight=int(cp.CLASH_WEIGHT),
        sevenths=_masks(cp.SEVENTH_CHORDS),
        six_fours=_masks(cp.SIX_FOURS),
    )


def _masks(chords) -> np.ndarray:
    """int64[k]: each set of intervals as a bit mask (bit i: i semitones)."""
    return np.array([sum(1 << i for i in c) for c in chords], np.int64)


def count_faults(
    tokens: np.ndarray,
    first: int,
    stop: int,
    beats: np.ndarray,
    key: Key | None,
    fermatas: np.ndarray | None = None,
) -> np.ndarray:
    """int64[B]: the faults each candidate (tokens int64[B, N], written up to step ``stop``)
    makes at steps [first, stop): ``theory.counterpoint.faults`` for each (faults.count_batch).
    beats: bool[steps]; fermatas: bool[steps], the steps under a fermata (None: none)."""
    out = np.zeros(len(tokens), np.int64)
    if fermatas is None:
        fermatas = np.zeros(len(beats), bool)
    kernels().count_batch(
        np.ascontiguousarray(tokens, np.int64), first, stop, np.ascontiguousarray(beats, bool),
        np.ascontiguousarray(fermatas, bool), teacher(key), out,
    )  # fmt: skip
    return out
