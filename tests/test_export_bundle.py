"""`composer export` of a model: a checkpoint or a bundle -> a bundle, its weights at full or
half size (--float16: read back as float32, close to the original; a weight beyond float16's
range is a one-line error and writes nothing)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from composer.cli.main import main  # noqa: E402
from composer.errors import ModelError  # noqa: E402
from composer.runtime.bundle import load_bundle  # noqa: E402
from composer.train.bundle_writer import model_from_bundle, write_bundle  # noqa: E402
from composer.train.loop import TrainConfig, train  # noqa: E402
from composer.train.model import ModelConfig  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("trained")
    train(TrainConfig(data="jsb-quarter", out=str(tmp / "model"), checkpoint_dir=str(tmp / "ck"),
                      epochs=1, max_steps=2, batch_size=8, threads=1,
                      model=ModelConfig(hidden=8, embed=4, dropout=0.0, lookahead=0)))  # fmt: skip
    return tmp


def stored_dtypes(bundle: Path) -> set[str]:
    with zipfile.ZipFile(bundle / "weights.npz") as z, np.load(bundle / "weights.npz") as w:
        assert z.namelist()
        return {str(w[k].dtype) for k in w.files}


@pytest.mark.parametrize("source", ["ck/last.pt", "model"])
def test_float16_halves_the_weights_and_reads_back_close(trained, tmp_path, source, capsys):
    out = tmp_path / "half"
    assert main(["export", str(trained / source), "--out", str(out), "--float16"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert stored_dtypes(out) == {"float16"}
    full, half = load_bundle(trained / "model"), load_bundle(out)
    assert half.config["training"]["stored"] == "float16"
    assert half.config["model"] == full.config["model"]
    for name, w in full.weights.items():
        assert half.weights[name].dtype == np.float32
        np.testing.assert_allclose(half.weights[name], w, rtol=1e-3, atol=1e-4)
    if source == "model":  # a bundle keeps its training record and figures
        assert half.config["metrics"] == full.config["metrics"]
        assert half.config["training"]["steps"] == full.config["training"]["steps"]


def test_without_float16_the_weights_stay_float32(trained, tmp_path):
    assert main(["export", str(trained / "ck/last.pt"), "--out", str(tmp_path / "b")]) == 0
    assert stored_dtypes(tmp_path / "b") == {"float32"}
    assert json.loads((tmp_path / "b/config.json").read_text())["training"]["stored"] == "float32"


def test_a_weight_beyond_float16_is_one_line_and_writes_nothing(trained, tmp_path):
    model = model_from_bundle(load_bundle(trained / "model"))
    with torch.no_grad():
        model.head.bias[0] = 1e5
    with pytest.raises(ModelError, match="head.bias holds values beyond float16's") as info:
        write_bundle(model, tmp_path / "out", training={}, metrics={}, float16=True)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()
