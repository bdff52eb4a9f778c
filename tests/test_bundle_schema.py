"""Bundles are checked on load: every broken or inconsistent one is a one-line ModelError that
names the file; only the arrays the model uses are read; the schema matches torch's model."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bundle_fixtures import TINY_MODEL, tiny_config, tiny_weights, write_bundle

from composer.errors import ModelError
from composer.runtime.bundle import load_bundle
from composer.runtime.schema import MAX_ABS_WEIGHT, OPTIONAL_ARRAYS, expected_arrays

W = tiny_weights(TINY_MODEL)


def _npz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _model(**kw) -> dict:
    return tiny_config(**kw)


BROKEN = {  # name: (config or raw text, weights dict or raw bytes, fragment of the message)
    "config null": ("null", W, "not a JSON object"),
    "config a list": ("[1, 2]", W, "not a JSON object"),
    "config not JSON": ("{oops", W, "not valid JSON"),
    "config nested too deep": ("[" * 100_000 + "]" * 100_000, W, "not valid JSON"),
    "config not UTF-8": (b"\xff\xfe{}", W, "not valid JSON"),
    "no model section": ({"format": "composer-bundle", "version": 1}, W, "no 'model'"),
    "wrong format": ({**_model(), "format": "other"}, W, "not a composer-bundle"),
    "version text": ({**_model(), "version": "1"}, W, "not a composer-bundle"),
    "version from the future": ({**_model(), "version": 99}, W, "version 99"),
    "vocab 1000": (_model(vocab=1000), W, "model.vocab is 1000"),
    "hidden huge": (_model(hidden=10**9), W, "model.hidden"),
    "hidden text": (_model(hidden="16"), W, "model.hidden"),
    "hidden 32, weights 16": (_model(hidden=32), W, "not (128, 16)"),
    "layers 0": (_model(layers=0), W, "model.layers"),
    "layers 3, weights 2": (_model(layers=3), W, "no array lstm.weight_ih_l2"),
    "lookahead 0, weights 8": (_model(lookahead=0), W, "has back.bias_hh_l0"),
    "context off, weights on": (_model(context=False), W, "ctx_emb.weight"),
    "context 1 (not a bool)": (_model(context=1), W, "model.context"),
    "SATB context not per voice": (_model(context_voices=False), W, "per voice"),
    "encoding bogus": (_model(encoding="bogus"), W, "model.encoding"),
    "too many parameters": (_model(hidden=4096, layers=16), W, "parameters"),
    "short tok_emb": (_model(), {**W, "tok_emb.weight": W["tok_emb.weight"][:50]}, "tok_emb"),
    "short head": (_model(), {**W, "head.bias": W["head.bias"][:99]}, "head.bias"),
    "3-D array": (_model(), {**W, "head.weight": W["head.weight"][None]}, "head.weight"),
    "missing array": (_model(), {k: v for k, v in W.items() if k != "lstm.bias_hh_l1"},
                      "no array lstm.bias_hh_l1"),
    "NaN": (_model(), {**W, "lstm.weight_hh_l0": W["lstm.weight_hh_l0"] * np.nan}, "NaN"),
    "inf": (_model(), {**W, "head.bias": W["head.bias"] + np.inf}, "infinite"),
    "beyond any weight": (_model(), {**W, "head.weight": W["head.weight"] * 1e9}, "beyond"),
    "float64 overflowing float32": (_model(), {**W, "head.bias": np.full(133, 1e300)}, "NaN or"),
    "integers": (_model(), {**W, "head.bias": np.zeros(133, np.int64)}, "int64"),
    "complex": (_model(), {**W, "head.bias": np.zeros(133, np.complex64)}, "complex64"),
    "empty npz": (_model(), {}, "no array"),
    "zero-byte npz": (_model(), b"", "not a readable npz"),
    "text, not zip": (_model(), b"hello", "not a readable npz"),
    "truncated zip": (_model(), "TRUNCATE", "not a readable npz"),
    "member not .npy": (_model(), _npz({**{f"{k}.npy": _npy(v) for k, v in W.items()},
                                        "head.bias.npy": b"not numpy"}), "not a plain .npy"),
    "huge npy header": (_model(), _npz({**{f"{k}.npy": _npy(v) for k, v in W.items()},
                                        "head.bias.npy": b"\x93NUMPY\x02\x00" + (200_000)
                                        .to_bytes(4, "little") + b" " * 200_000}), "large"),
    "data cut short": (_model(), _npz({**{f"{k}.npy": _npy(v) for k, v in W.items()},
                                       "head.weight.npy": _npy(W["head.weight"])[:300]}),
                       "cut short"),
    "object array": (_model(), "OBJECT", "object"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_bundle_is_one_line_naming_the_file(tmp_path: Path, name: str) -> None:
    config, weights, fragment = BROKEN[name]
    folder = tmp_path / "bundle"
    folder.mkdir()
    if isinstance(config, bytes):
        (folder / "config.json").write_bytes(config)
    else:
        text = config if isinstance(config, str) else json.dumps(config)
        (folder / "config.json").write_text(text)
    if weights == "TRUNCATE":
        np.savez_compressed(folder / "weights.npz", **W)
        data = (folder / "weights.npz").read_bytes()
        (folder / "weights.npz").write_bytes(data[: len(data) // 2])
    elif weights == "OBJECT":
        np.savez(folder / "weights.npz", **{**W, "head.bias": np.array([{}] * 133, object)})
    elif isinstance(weights, bytes):
        (folder / "weights.npz").write_bytes(weights)
    else:
        np.savez(folder / "weights.npz", **weights)
    with pytest.raises(ModelError) as info:
        load_bundle(folder)
    message = str(info.value)
    assert fragment in message, message
    assert str(folder) in message and "\n" not in message


def test_arrays_the_model_does_not_use_are_never_read(tmp_path: Path) -> None:
    members = {f"{k}.npy": _npy(v) for k, v in W.items()}
    members["junk.npy"] = b"not even numpy" * 1000  # a name no model array has
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(tiny_config()))
    (folder / "weights.npz").write_bytes(_npz(members))
    bundle = load_bundle(folder)
    assert set(bundle.weights) == set(W)
    assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in bundle.weights.values())


def test_other_float_types_and_fortran_order_load_as_float32(tmp_path: Path) -> None:
    weights = {k: np.asfortranarray(v.astype(np.float64)) for k, v in W.items()}
    weights["head.bias"] = W["head.bias"].astype(np.float16)
    bundle = load_bundle(write_bundle(tmp_path / "b", weights=weights))
    np.testing.assert_allclose(bundle.weights["tok_emb.weight"], W["tok_emb.weight"])


def test_a_flag_adds_its_arrays(tmp_path: Path) -> None:
    config = tiny_config(plan=True)
    assert set(expected_arrays(config["model"])) - set(W) == set(OPTIONAL_ARRAYS["plan"])
    with pytest.raises(ModelError, match="phrase_emb.weight"):
        load_bundle(write_bundle(tmp_path / "a", config, W))
    bundle = load_bundle(write_bundle(tmp_path / "b", config))
    assert bundle.weights["phrase_emb.weight"].shape == (66, TINY_MODEL["embed"])
    assert bundle.weights["end_emb.weight"].shape == (73, TINY_MODEL["embed"])


def test_the_shipped_bundles_load() -> None:
    for name in ("bach-satb", "jsb-16th", "jsb-quarter"):
        bundle = load_bundle(name)
        assert set(bundle.weights) == set(expected_arrays(bundle.model))
        assert max(float(np.abs(a).max()) for a in bundle.weights.values()) < MAX_ABS_WEIGHT


@pytest.mark.parametrize("model", [
    {},
    {"lookahead": 0},
    {"layers": 1, "context": False},
    {"context_voices": False, "encoding": "jsb-quarter", "lookahead": 0},
    {"layers": 3, "hidden": 24, "embed": 12},
    {"plan": True},
])  # fmt: skip
def test_the_schema_is_torchs_model(model: dict) -> None:
    """expected_arrays(config) names and shapes exactly the state_dict of ChoraleLSTM(config)."""
    torch = pytest.importorskip("torch")
    from composer.train.model import ChoraleLSTM, ModelConfig

    config = {**TINY_MODEL, **model}
    fields = set(ModelConfig.__dataclass_fields__)
    if not set(config) <= fields:
        pytest.skip(f"this ModelConfig has no {sorted(set(config) - fields)}")
    net = ChoraleLSTM(ModelConfig.from_dict(config))
    with torch.no_grad():
        shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == expected_arrays(config)
