"""A trained model ready to run: ``weights.npz`` (no pickle) + ``config.json``.

Loads with numpy only (no torch), so generation, playback, live mode and the app start fast.
config.json says everything needed to use the model and where it came from: format version,
the model's dimensions, the encoding and its vocabulary, training data and recipe, metrics.
``load_bundle`` checks both against composer.runtime.schema before anything uses them, and
reads only the arrays the model uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.errors import ModelError
from composer.paths import MODELS_DIR
from composer.runtime.schema import FORMAT, MAX_CONFIG_BYTES, VERSION, check_config, read_weights

__all__ = ["FORMAT", "VERSION", "Bundle", "load_bundle", "resolve"]
DEFAULT_MODEL = "bach-satb"


@dataclass
class Bundle:
    path: Path
    config: dict  # the whole config.json
    weights: dict[str, np.ndarray]  # float32 arrays by torch state_dict name

    @property
    def model(self) -> dict:
        return self.config["model"]


def resolve(name_or_path: str | Path | None) -> Path:
    """A bundle folder from a path, or a name under models/ (default: bach-satb)."""
    if name_or_path is None:
        return MODELS_DIR / DEFAULT_MODEL
    p = Path(name_or_path)
    try:
        exists = p.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: not a bundle, said by the caller
        exists = False
    if exists or p.is_absolute() or len(p.parts) > 1:
        return p
    return MODELS_DIR / p


def load_bundle(name_or_path: str | Path | None = None) -> Bundle:
    """Load and check a bundle (composer.runtime.schema): ModelError, one line naming the file
    and the problem, for anything missing, damaged or inconsistent."""
    path = resolve(name_or_path)
    cfg_path, w_path = path / "config.json", path / "weights.npz"
    if not _is_file(cfg_path) or not _is_file(w_path):
        raise ModelError(
            f"no model bundle at {path} (needs config.json and weights.npz); "
            f"train one with `composer train` or pass --model models/NAME"
        )
    try:
        if cfg_path.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelError(f"{cfg_path} is over {MAX_CONFIG_BYTES // 2**20} MB; not a config")
        config = json.loads(cfg_path.read_bytes())
    except (ValueError, RecursionError) as e:
        raise ModelError(f"{cfg_path} is not valid JSON: {e}") from None
    except OSError as e:
        raise ModelError(f"cannot read {cfg_path}: {e.strerror or e}") from None
    model = check_config(config, cfg_path)
    weights = read_weights(w_path, model)
    return Bundle(path, config, weights)


def _is_file(path: Path) -> bool:
    """A regular file (a FIFO or device would block or never end)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
