"""Training checkpoints: written atomically, read without running code from the file, and tied
to the run they belong to.

``torch.load`` is only ever called with ``weights_only=True``: a file that needs pickle to
rebuild arbitrary objects (and so could run code) is refused with a ModelError.

A run is known by the full path of its ``--out``: its checkpoints go to
``checkpoints/<name>-<hash of the full path>/last.pt`` (``run_dir``), so ``--out runs/A/m`` and
``--out runs/B/m`` never share one, and each checkpoint records that path, so ``--resume``
refuses a checkpoint written for another ``--out``, or for other model sizes or data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from composer.errors import ModelError
from composer.fileio import atomic_path
from composer.paths import CHECKPOINTS_DIR

PAYLOAD_KEYS = ("model", "optim", "torch_rng", "state", "config")


def out_path(out: str | Path) -> str:
    """The full path of a run's ``--out`` (what identifies the run)."""
    return str(Path(out).expanduser().resolve())


def run_dir(out: str | Path) -> Path:
    """Where the checkpoints of the run writing ``out`` go: checkpoints/NAME-HASH."""
    full = out_path(out)
    digest = hashlib.sha256(full.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return CHECKPOINTS_DIR / f"{Path(full).name or 'model'}-{digest}"


def save_checkpoint(path: Path, payload: dict) -> None:
    """Save tensors, numbers and strings (no arbitrary objects) atomically."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint saved by save_checkpoint; refuse anything else."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no checkpoint at {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError, EOFError ...: all mean "refuse"
        raise ModelError(
            f"refusing to load {path}: it is not a plain weights checkpoint "
            f"({type(e).__name__}); only files written by `composer train` are accepted"
        ) from None
    return saved


def read_training_checkpoint(path: Path) -> tuple[dict, dict, dict]:
    """(payload, recipe, state) of a checkpoint written by `composer train`: ModelError, one
    line, for a file that is not one (other keys, damaged JSON)."""
    saved = load_checkpoint(path)
    missing = [k for k in PAYLOAD_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise ModelError(
            f"{path} is not a `composer train` checkpoint: it has no {', '.join(missing)}"
        )
    try:
        recipe, state = json.loads(saved["config"]), json.loads(saved["state"])
        if not isinstance(recipe, dict) or not isinstance(recipe.get("model"), dict):
            raise ValueError("no model section")
        if not isinstance(state, dict) or not isinstance(state.get("step"), int):
            raise ValueError("no step")
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path}: its training record is damaged ({e})") from None
    if not isinstance(saved["model"], dict):
        raise ModelError(f"{path}: its model weights are not a table of tensors")
    return saved, recipe, state


def describe(state: dict, total: int) -> str:
    """'step 120 of 5280 (epoch 3, best valid 1.2345)' for a checkpoint's state."""
    best = state.get("best")
    best_text = f", best valid {best:.4f}" if isinstance(best, float) and best < 1e300 else ""
    return f"step {state['step']} of {total} (epoch {state.get('epoch', 0) + 1}{best_text})"


def check_same_run(path: Path, recipe: dict, saved_out: str | None, cfg: dict) -> None:
    """Refuse to resume, from ``path``, a run other than the one ``cfg`` describes
    (TrainConfig.to_dict()): another --out, other model sizes, other data."""
    if saved_out is not None and saved_out != out_path(cfg["out"]):
        raise ModelError(
            f"{path} belongs to the run writing {saved_out}, not {out_path(cfg['out'])}: "
            "resume with that --out, or give this run its own --checkpoint-dir"
        )
    if saved_out is None and recipe.get("out") != cfg["out"]:
        raise ModelError(
            f"{path} belongs to the run writing {recipe.get('out')!r}, not {cfg['out']!r}: "
            "resume with that --out, or give this run its own --checkpoint-dir"
        )
    if recipe.get("data") != cfg["data"]:
        raise ModelError(
            f"{path} was trained on --data {recipe.get('data')!r}, this run asks for "
            f"{cfg['data']!r}: resume with the same data"
        )
    old, new = recipe["model"], cfg["model"]
    differ = [k for k in new if k != "dropout" and old.get(k) != new[k]]
    if differ:
        was = ", ".join(f"{k} {old.get(k)}" for k in differ)
        now = ", ".join(f"{k} {new[k]}" for k in differ)
        raise ModelError(
            f"{path} holds a model with {was}; this run asks for {now}: resume with the same "
            "sizes, or train to another --out"
        )


def load_weights(model: torch.nn.Module, weights: dict, path: Path) -> None:
    """``model.load_state_dict(weights)``, or ModelError naming what does not fit."""
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) if len(first) > 1 else str(e)
        raise ModelError(
            f"{path}: its weights do not fit the model its config describes ({detail[:300]})"
        ) from None
