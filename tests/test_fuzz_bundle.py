"""Fuzzing bundles through ``composer generate``: hypothesis damages config.json and weights.npz
of a tiny model; each run either writes a valid four-voice MIDI file (exit 0) or prints one
line naming the bundle's file (exit 2). Never a traceback, never a crash (the numba kernels only
see arrays whose shapes were checked), never a silently empty result.

The command runs in this process (composer.cli.main.main), so a few hundred runs take seconds.
``COMPOSER_FUZZ_BUNDLES=3000 pytest tests/test_fuzz_bundle.py`` runs longer. (It found an SATB
config with a JSB-style context, which made the kernels read past an array: now refused.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from bundle_fixtures import TINY_MODEL, tiny_config, tiny_weights
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from composer.cli.main import main
from composer.midi.io import read_midi

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 8, 16, 133, 134, 4096, 4097, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
MODEL_KEYS = [*TINY_MODEL, "plan"]
TOP_KEYS = ["format", "version", "model", "encoding"]


@st.composite
def configs(draw) -> bytes:
    """config.json bytes: the tiny model's config with a few fields replaced or removed, or
    (sometimes) not a config at all."""
    kind = draw(st.sampled_from(["model", "model", "model", "top", "raw", "json"]))
    config = tiny_config()
    if kind == "raw":
        return draw(st.binary(max_size=40))
    if kind == "json":
        return json.dumps(draw(HOSTILE)).encode()
    for _ in range(draw(st.integers(1, 3))):
        where = config["model"] if kind == "model" else config
        key = draw(st.sampled_from(MODEL_KEYS if kind == "model" else TOP_KEYS))
        if draw(st.integers(0, 4)) == 0:
            where.pop(key, None)
        else:
            where[key] = draw(HOSTILE)
    return json.dumps(config, allow_nan=True).encode()


ARRAY_EDITS = ["drop", "truncate", "transpose", "extra row", "3-D", "scalar", "int", "float16",
               "float64", "complex", "bool", "nan", "inf", "huge", "empty", "rename"]  # fmt: skip


@st.composite
def sound_models(draw) -> dict:
    """A valid model config of odd sizes (one hidden unit, no lookahead, one layer, ...)."""
    return {
        **TINY_MODEL,
        "embed": draw(st.integers(1, 12)),
        "hidden": draw(st.integers(1, 20)),
        "layers": draw(st.integers(1, 3)),
        "lookahead": draw(st.integers(0, 6)),
        "context": draw(st.booleans()),
        "context_voices": draw(st.booleans()),
        "plan": draw(st.booleans()),
    }


@st.composite
def bundles(draw) -> tuple[bytes, dict | bytes]:
    """(config.json bytes, weights): a sound model of odd sizes, or the tiny one with its
    config, its weights or both damaged."""
    kind = draw(st.sampled_from(["sound", "config", "weights", "both"]))
    model = draw(sound_models()) if kind == "sound" else TINY_MODEL
    config = (
        draw(configs()) if kind in ("config", "both") else json.dumps(tiny_config(**model)).encode()
    )
    weights = draw(weight_sets(model, damage=kind in ("weights", "both")))
    return config, weights


@st.composite
def weight_sets(draw, model: dict = TINY_MODEL, damage: bool = True) -> dict | bytes:
    """weights.npz contents: the model's arrays with a few damaged, extra ones added, or
    (sometimes) damaged archive bytes."""
    weights = tiny_weights(model, seed=draw(st.integers(0, 3)))
    if not damage:
        return weights
    names = sorted(weights)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        edit = draw(st.sampled_from(ARRAY_EDITS))
        a = weights.get(name)
        if a is None or np.ndim(a) == 0:  # dropped, or made a scalar by an earlier edit
            continue
        if edit == "drop":
            del weights[name]
        elif edit == "truncate":
            weights[name] = a[: max(0, len(a) - draw(st.integers(1, 5)))]
        elif edit == "transpose":
            weights[name] = a.T
        elif edit == "extra row":
            weights[name] = np.concatenate([a, a[:1]])
        elif edit == "3-D":
            weights[name] = a[None]
        elif edit == "scalar":
            weights[name] = np.float32(1.0)
        elif edit in ("int", "float16", "float64", "complex", "bool"):
            dtype = {"int": np.int32, "complex": np.complex64, "bool": np.bool_}.get(edit, edit)
            weights[name] = a.astype(dtype) + (1j if edit == "complex" else 0)
        elif edit in ("nan", "inf", "huge") and a.size:
            b = a.astype(np.float32).reshape(-1)
            b[draw(st.integers(0, b.size - 1))] = {"nan": np.nan, "inf": -np.inf, "huge": 3e5}[edit]
            weights[name] = b.reshape(a.shape)
        elif edit == "empty":
            weights[name] = np.zeros((0,) + a.shape[1:], np.float32)
        elif edit == "rename":
            weights[name.replace("l0", "l7").replace("weight", "bias")] = weights.pop(name)
    if draw(st.booleans()):
        weights[draw(st.sampled_from(["junk", "lstm.weight_ih_l5", "ctx_emb.weight"]))] = np.zeros(
            (3, 3), np.float32
        )
    if draw(st.integers(0, 5)) == 0:  # damage the archive itself
        import io

        buf = io.BytesIO()
        np.savez(buf, **weights)
        data = bytearray(buf.getvalue())
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
        return bytes(data[:cut])
    return weights


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="composer-fuzz-bundle-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run_generate(folder: Path, out: Path, capsys) -> tuple[int, str]:
    out.unlink(missing_ok=True)
    code = main(["generate", "--bars", "1", "--seed", "1", "--model", str(folder), "--out",
                 str(out), "--variations", "2"])  # fmt: skip
    return code, capsys.readouterr().err


def check(code: int, err: str, folder: Path, out: Path) -> str:
    if code == 0:
        for k in (1, 2):
            score = read_midi(out.with_name(f"{out.stem}-{k}{out.suffix}"))
            assert score.voices == 4 and score.steps > 0 and any(score.notes())
        return "generated"
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("composer: error: "), err
    assert str(folder) in lines[0], err
    return "refused"


def test_the_tiny_bundle_generates(workdir, capsys) -> None:
    folder = workdir / "good"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(tiny_config()))
    np.savez(folder / "weights.npz", **tiny_weights(TINY_MODEL))
    assert check(*run_generate(folder, workdir / "o.mid", capsys), folder, workdir / "o.mid") == (
        "generated"
    )


SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


EXAMPLES = int(os.environ.get("COMPOSER_FUZZ_BUNDLES", "150"))  # more: a longer local run


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=SLOW_OK)
@given(bundle=bundles())
def test_damaged_bundles_generate_or_give_one_line(workdir, capsys, bundle) -> None:
    config, weights = bundle
    folder = workdir / "b"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "config.json").write_bytes(config)
    if isinstance(weights, bytes):
        (folder / "weights.npz").write_bytes(weights)
    else:
        np.savez(folder / "weights.npz", **weights)
    out = workdir / "o.mid"
    for p in workdir.glob("o-*.mid"):
        p.unlink()
    event(check(*run_generate(folder, out, capsys), folder, out))
