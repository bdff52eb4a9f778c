"""Training checkpoints: written atomically, read without running code from the file.

``torch.load`` is only ever called with ``weights_only=True``: a file that needs pickle to
rebuild arbitrary objects (and so could run code) is refused with a ModelError.
"""

from __future__ import annotations

from pathlib import Path

import torch

from composer.errors import ModelError
from composer.fileio import atomic_path


def save_checkpoint(path: Path, payload: dict) -> None:
    """Save tensors, numbers and strings (no arbitrary objects) atomically."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint saved by save_checkpoint; refuse anything else."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError, EOFError ...: all mean "refuse"
        raise ModelError(
            f"refusing to load {path}: it is not a plain weights checkpoint "
            f"({type(e).__name__}); only files written by `composer train` are accepted"
        ) from None
