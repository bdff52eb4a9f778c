"""A trained model ready to run: ``weights.npz`` (no pickle) + ``config.json``.

Loads with numpy only (no torch), so generation, playback, live mode and the app start fast.
config.json says everything needed to use the model and where it came from: format version,
the model's dimensions, the encoding and its vocabulary, training data and recipe, metrics.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.errors import ModelError
from composer.paths import MODELS_DIR

FORMAT = "composer-bundle"
VERSION = 1
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
    if p.exists() or p.is_absolute() or len(p.parts) > 1:
        return p
    return MODELS_DIR / p


def load_bundle(name_or_path: str | Path | None = None) -> Bundle:
    path = resolve(name_or_path)
    cfg_path, w_path = path / "config.json", path / "weights.npz"
    if not cfg_path.exists() or not w_path.exists():
        raise ModelError(
            f"no model bundle at {path} (needs config.json and weights.npz); "
            f"train one with `composer train` or pass --model models/NAME"
        )
    try:
        config = json.loads(cfg_path.read_text())
    except ValueError as e:
        raise ModelError(f"{cfg_path} is not valid JSON: {e}") from None
    if config.get("format") != FORMAT or int(config.get("version", 0)) > VERSION:
        raise ModelError(f"{path} is not a {FORMAT} of version {VERSION} or older")
    try:
        with np.load(w_path, allow_pickle=False) as z:
            weights = {k: z[k].astype(np.float32) for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ModelError(f"cannot read {w_path}: {e}") from None
    return Bundle(path, config, weights)
