"""A wheel carries the shipped models and corpus, and composer.paths finds them once installed
(not only in a checkout): the package data set up by setup.py, found through importlib.resources.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_models_and_the_corpus_where_paths_finds_them(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    [wheel] = tmp_path.glob("chorale_composer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for bundle in ("bach-satb", "jsb-quarter"):
        assert {f"composer/models/{bundle}/config.json",
                f"composer/models/{bundle}/weights.npz"} <= names  # fmt: skip
    assert "composer/data/chorales/manifest.json" in names
    assert len([n for n in names if n.startswith("composer/data/chorales/")]) > 300
    assert not any(n.startswith(("models/", "data/", "tests/", "bench/")) for n in names)

    site = tmp_path / "site"  # a wheel is its files as they land in site-packages
    zipfile.ZipFile(wheel).extractall(site)
    # -S: no site-packages, so not the editable install of this checkout
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import composer.paths as p; "
            "print(p.MODELS_DIR); print(p.DATA_DIR); print(p.CHECKPOINTS_DIR)")  # fmt: skip
    found = subprocess.run([sys.executable, "-S", "-c", code, str(site)], cwd=tmp_path,
                           capture_output=True, text=True, check=True, env={})  # fmt: skip
    models, data, checkpoints = found.stdout.split("\n")[:3]
    assert Path(models) == site / "composer" / "models"
    assert (Path(models) / "bach-satb" / "weights.npz").is_file()
    assert Path(data) == site / "composer" / "data"
    assert checkpoints == "checkpoints"  # the working directory's, never the package's
