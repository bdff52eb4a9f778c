"""Where Composer finds the model bundles, the corpus and the training checkpoints.

Each is an environment variable when set, otherwise a folder of the repository checkout this
package was imported from (``models/``, ``data/``, ``checkpoints/``), so the depth of the module
asking does not matter:

- ``COMPOSER_MODELS``: model bundles (default ``<checkout>/models``)
- ``COMPOSER_DATA``: the corpus and other data (default ``<checkout>/data``)
- ``COMPOSER_CHECKPOINTS``: training checkpoints (default ``<checkout>/checkpoints``)
- ``COMPOSER_JSB_DIR``: the JSB Chorales benchmark (default ``<checkout>/../shared/jsb``)
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the checkout: composer/ is its package


def _env_or(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


MODELS_DIR = _env_or("COMPOSER_MODELS", REPO / "models")
DATA_DIR = _env_or("COMPOSER_DATA", REPO / "data")
CHECKPOINTS_DIR = _env_or("COMPOSER_CHECKPOINTS", REPO / "checkpoints")
JSB_DIR = _env_or("COMPOSER_JSB_DIR", REPO.parent / "shared" / "jsb")
