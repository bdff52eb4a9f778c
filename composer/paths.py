"""Where Composer finds the model bundles, the corpus and the training checkpoints.

Each is an environment variable when set; otherwise:

- ``COMPOSER_MODELS``: model bundles. Installed from a wheel: the ones it ships,
  ``composer/models/`` (package data, found through importlib.resources); in a checkout (an
  editable install, or the source tree on the path): ``<checkout>/models``.
- ``COMPOSER_DATA``: the corpus and other data; ``composer/data/`` in a wheel, else
  ``<checkout>/data``.
- ``COMPOSER_CHECKPOINTS``: training checkpoints: ``<checkout>/checkpoints``, or
  ``checkpoints/`` in the working directory when Composer is not run from a checkout (never
  inside an installed package).
- ``COMPOSER_JSB_DIR``: the JSB Chorales benchmark: ``<checkout>/../shared/jsb``, or ``jsb/`` in
  the working directory.

The wheel gets ``models/`` and ``data/`` as package data through setup.py (pyproject.toml alone
cannot map folders outside the package into it).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent  # the checkout, when composer/ is run from one
CHECKOUT: Path | None = REPO if (REPO / "pyproject.toml").is_file() else None


def _env_or(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


def shipped(name: str) -> Path:
    """The folder ``name`` shipped with Composer: the package's own (a wheel install) when it
    has one, else the checkout's."""
    packaged = Path(str(importlib.resources.files("composer") / name))
    if packaged.is_dir():
        return packaged
    return (CHECKOUT or REPO) / name


MODELS_DIR = _env_or("COMPOSER_MODELS", shipped("models"))
DATA_DIR = _env_or("COMPOSER_DATA", shipped("data"))
CHECKPOINTS_DIR = _env_or(
    "COMPOSER_CHECKPOINTS", CHECKOUT / "checkpoints" if CHECKOUT else Path("checkpoints")
)
JSB_DIR = _env_or(
    "COMPOSER_JSB_DIR", CHECKOUT.parent / "shared" / "jsb" if CHECKOUT else Path("jsb")
)
