"""Tiny model bundles written with numpy alone (no training): small random weights of exactly
the shapes composer.runtime.schema derives from a config, so a test can damage them at will."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from composer.encoding import VOCAB
from composer.runtime.bundle import FORMAT, VERSION
from composer.runtime.schema import expected_arrays

TINY_MODEL = {
    "encoding": "satb",
    "vocab": VOCAB,
    "embed": 8,
    "hidden": 16,
    "layers": 2,
    "dropout": 0.0,
    "lookahead": 8,
    "context": True,
    "context_voices": True,
}


def tiny_config(**model) -> dict:
    return {"format": FORMAT, "version": VERSION, "model": {**TINY_MODEL, **model}}


def tiny_weights(model: dict, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: (rng.standard_normal(shape) * 0.3).astype(np.float32)
        for name, shape in expected_arrays(model).items()
    }


def write_bundle(folder: Path, config: dict | None = None, weights: dict | None = None) -> Path:
    """A bundle folder with config.json and weights.npz (the tiny model unless given)."""
    config = tiny_config() if config is None else config
    weights = tiny_weights(config["model"]) if weights is None else weights
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    np.savez(folder / "weights.npz", **weights)
    return folder
