"""What a model bundle must hold, derived from its config: checked on load, before any kernel
sees an array.

``check_config(config, path)`` checks config.json's types and sizes; ``expected_arrays(model)``
gives the name and shape of every array the model uses (those of torch's ``state_dict`` of
composer.train.model.ChoraleLSTM with that config; a test keeps the two equal);
``read_weights(path, expected)`` reads exactly those arrays from weights.npz, checking each
header's shape and dtype before its data is read, then its values (finite, within
MAX_ABS_WEIGHT). Arrays the model does not use are never read. Every problem is a ModelError of
one line that names the file and what is wrong.

With the shapes checked, every index the kernels compute stays inside its array: tokens are
below VOCAB (the vocabulary is the encoding's), voices, bar positions, fermatas and keys below
the rows of their tables, context pitches below the context table's rows.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import numpy as np

from composer.encoding import (
    N_HELD,
    N_KEY,
    N_MATCH,
    N_PITCH,
    N_POS,
    N_SLOT,
    N_TO_END,
    N_TO_FERMATA,
    VOCAB,
)
from composer.errors import ModelError

FORMAT = "composer-bundle"  # config.json's "format"
VERSION = 1  # the newest "version" this Composer reads
ENCODINGS = ("satb", "jsb-16th", "jsb-quarter")  # composer.train.model.ModelConfig.encoding
GRID_ENCODINGS = ("satb", "jsb-16th")  # SATB tokens per 16th step; context per voice
MAX_DIM = 4096  # embed, hidden, lookahead (composer.limits: what `composer train` accepts)
MAX_LAYERS = 16
MAX_PARAMETERS = 100_000_000  # 400 MB of float32: far beyond a chorale model (1.3 M)
# |weight| above this is no trained value; below it, every sum the kernels form stays finite in
# float32 (4096 x 1e4 x 1e4 < 3e38), so logits are finite and sampling is well defined
MAX_ABS_WEIGHT = 1e4
MAX_CONFIG_BYTES = 10 * 1024 * 1024
MAX_NPY_HEADER = 10_000

# Arrays a config flag adds: flag -> {name: shape}, each dimension a number fixed by the
# encoding or the name of a model size ("embed", "hidden").
# "plan": steps to the next fermata and to the end (composer.encoding.plan_conditioning).
# "held", "repeat": richer inputs (composer.train.features); "held" is the JSB 16th model's
# only (torch), the repeat match is also computed by the kernels for SATB models.
OPTIONAL_ARRAYS: dict[str, dict[str, tuple[int | str, ...]]] = {
    "plan": {"phrase_emb.weight": (N_TO_FERMATA, "embed"), "end_emb.weight": (N_TO_END, "embed")},
    "held": {"held_emb.weight": (4 * N_HELD, "embed")},
    "repeat": {
        "repeat_emb.weight": (N_MATCH * VOCAB, "embed"),
        "repeat_gate.weight": (N_MATCH, "hidden"),
        "repeat_gate.bias": (N_MATCH,),
    },
}
JSB_ONLY = ("held",)  # the sampler (SATB) never computes these inputs
BOOLEAN_FLAGS = ("context", "context_voices", *OPTIONAL_ARRAYS)


def _int(model: dict, key: str, lo: int, hi: int, where: str) -> int:
    value = model.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(f"{where}: model.{key} is {value!r}; it must be a whole number {lo}-{hi}")
    if not lo <= value <= hi:
        raise ModelError(f"{where}: model.{key} is {value}; it must be {lo}-{hi}")
    return value


def check_config(config: object, where: str | Path) -> dict:
    """The ``model`` section of a bundle's config.json, checked (ModelError otherwise)."""
    if not isinstance(config, dict):
        kind = "null" if config is None else f"a JSON {type(config).__name__}"
        raise ModelError(f"{where}: the config is {kind}, not a JSON object")
    version = config.get("version", 0)
    if config.get("format") != FORMAT or isinstance(version, bool) or not isinstance(version, int):
        raise ModelError(f"{where}: not a {FORMAT} (its format and version are missing or wrong)")
    if not 1 <= version <= VERSION:
        raise ModelError(
            f"{where}: a {FORMAT} of version {version}; this Composer reads 1-{VERSION}"
        )
    model = config.get("model")
    if not isinstance(model, dict):
        raise ModelError(f"{where}: no 'model' section (the model's sizes) in the config")
    encoding = model.get("encoding")
    if encoding not in ENCODINGS:
        raise ModelError(f"{where}: model.encoding is {encoding!r}; it must be one of {ENCODINGS}")
    vocab = model.get("vocab")
    if vocab != VOCAB or isinstance(vocab, bool):
        raise ModelError(
            f"{where}: model.vocab is {vocab!r}; the {encoding} encoding has {VOCAB} tokens"
        )
    enc = config.get("encoding")
    if isinstance(enc, dict) and "vocab" in enc and enc["vocab"] != vocab:
        raise ModelError(f"{where}: encoding.vocab {enc['vocab']!r} disagrees with model.vocab")
    _int(model, "embed", 1, MAX_DIM, str(where))
    _int(model, "hidden", 1, MAX_DIM, str(where))
    _int(model, "layers", 1, MAX_LAYERS, str(where))
    _int(model, "lookahead", 0, MAX_DIM, str(where))
    for flag in BOOLEAN_FLAGS:
        if flag in model and not isinstance(model[flag], bool):
            raise ModelError(f"{where}: model.{flag} is {model[flag]!r}; it must be true or false")
    if encoding in GRID_ENCODINGS and model.get("context") and not model.get("context_voices"):
        # the sampler feeds an SATB model each voice's sounding pitch (kernels.CTX_SOUNDING);
        # a context of the previous frame (JSB quarter's) is never given to it: read past
        raise ModelError(
            f"{where}: an {encoding} model with model.context has it per voice "
            "(model.context_voices true); this config is neither SATB's nor JSB's"
        )
    for flag in JSB_ONLY:
        if model.get(flag) and not encoding.startswith("jsb"):
            raise ModelError(f"{where}: model.{flag} is an input of the JSB models only")
    if "dropout" in model:
        d = model["dropout"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
            raise ModelError(f"{where}: model.dropout is {d!r}; it must be a number in [0, 1)")
    total = parameter_count(model)
    if total > MAX_PARAMETERS:
        raise ModelError(
            f"{where}: the config asks for {total:,} parameters; Composer runs models of up to "
            f"{MAX_PARAMETERS:,}"
        )
    return model


def expected_arrays(model: dict) -> dict[str, tuple[int, ...]]:
    """name -> shape of every array a model of this config uses (torch state_dict names)."""
    v, e, h = model["vocab"], model["embed"], model["hidden"]
    look, layers = model["lookahead"], model["layers"]
    shapes: dict[str, tuple[int, ...]] = {
        "tok_emb.weight": (v, e),
        "slot_emb.weight": (N_SLOT, e),
        "pos_emb.weight": (N_POS, e),
        "ferm_emb.weight": (2, e),
        "key_emb.weight": (N_KEY, e),
    }
    if model.get("context"):  # one row per (voice,) pitch, and "no pitch"
        shapes["ctx_emb.weight"] = ((4 if model.get("context_voices") else 1) * N_PITCH + 1, e)
    if look:
        shapes["fix_emb.weight"] = (4 * v, e)
        shapes["back.weight_ih_l0"] = (4 * look, e)
        shapes["back.weight_hh_l0"] = (4 * look, look)
        shapes["back.bias_ih_l0"] = (4 * look,)
        shapes["back.bias_hh_l0"] = (4 * look,)
    for k in range(layers):
        shapes[f"lstm.weight_ih_l{k}"] = (4 * h, e + look if k == 0 else h)
        shapes[f"lstm.weight_hh_l{k}"] = (4 * h, h)
        shapes[f"lstm.bias_ih_l{k}"] = (4 * h,)
        shapes[f"lstm.bias_hh_l{k}"] = (4 * h,)
    shapes["head.weight"] = (v, h)
    shapes["head.bias"] = (v,)
    for flag, arrays in OPTIONAL_ARRAYS.items():
        if model.get(flag):
            for name, shape in arrays.items():
                shapes[name] = tuple(model[d] if isinstance(d, str) else d for d in shape)
    return shapes


_MODEL_ARRAY = re.compile(
    r"^(?:(?:tok|slot|pos|ferm|key|ctx|fix)_emb\.weight|head\.(?:weight|bias)"
    r"|(?:lstm|back)\.(?:weight|bias)_(?:ih|hh)_l\d+)$"
)


def _is_model_array(name: str) -> bool:
    """A name the model's own arrays take (others in the archive are ignored, never read)."""
    optional = {n for arrays in OPTIONAL_ARRAYS.values() for n in arrays}
    return bool(_MODEL_ARRAY.match(name)) or name in optional


def parameter_count(model: dict) -> int:
    """How many numbers a model of this config holds."""
    return sum(math.prod(s) for s in expected_arrays(model).values())


def _sizes(model: dict) -> str:
    keys = ("vocab", "embed", "hidden", "layers", "lookahead")
    return ", ".join(f"{k} {model.get(k)}" for k in keys)


def read_weights(path: Path, model: dict) -> dict[str, np.ndarray]:
    """The arrays ``model`` uses, read from the npz at ``path`` (float32, C order), checked."""
    expected = expected_arrays(model)
    try:
        with zipfile.ZipFile(path) as z:
            members = set(z.namelist())
            missing = [n for n in expected if f"{n}.npy" not in members]
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise ModelError(
                    f"{path}: no array {', '.join(missing[:3])}{more}; a model with "
                    f"{_sizes(model)} needs it"
                )
            foreign = sorted(n for m in members if _is_model_array(n := m.removesuffix(".npy"))
                             and n not in expected)  # fmt: skip
            if foreign:
                raise ModelError(
                    f"{path}: has {', '.join(foreign[:3])}, which a model with {_sizes(model)} "
                    "and these flags does not have (the config and the weights disagree)"
                )
            return {name: _read(z, name, shape, path) for name, shape in expected.items()}
    except ModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise ModelError(f"{path}: not a readable npz archive ({e})") from None
    except Exception as e:  # noqa: BLE001 - zlib, EOF, OS errors from a damaged archive
        raise ModelError(f"{path}: cannot read ({type(e).__name__}: {e})") from None


def _read(z: zipfile.ZipFile, name: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    fmt = np.lib.format
    member = f"{name}.npy"
    with z.open(member) as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                found, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=MAX_NPY_HEADER)
            elif version == (2, 0):
                found, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=MAX_NPY_HEADER)
            else:
                raise ValueError(f".npy format version {version}")
        except ValueError as e:
            why = re.split(r"\.\s", str(e))[0]  # numpy's first sentence says it
            raise ModelError(f"{path}: {name} is not a plain .npy array ({why})") from None
        if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8) or dtype.fields is not None:
            raise ModelError(f"{path}: {name} holds {dtype}; weights are floating-point numbers")
        if tuple(found) != shape:
            raise ModelError(
                f"{path}: {name} has shape {tuple(found)}, not {shape} as the config's sizes "
                "need (the config and the weights disagree)"
            )
        header = f.tell()
    need = header + math.prod(shape) * dtype.itemsize
    if z.getinfo(member).file_size < need:
        raise ModelError(f"{path}: {name} is cut short (its data ends before {shape} values)")
    with z.open(member) as f:
        array = fmt.read_array(f, allow_pickle=False)
    with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused below
        array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise ModelError(f"{path}: {name} holds NaN or infinite values (a diverged training run?)")
    if array.size and float(np.abs(array).max()) > MAX_ABS_WEIGHT:
        raise ModelError(
            f"{path}: {name} holds values beyond ±{MAX_ABS_WEIGHT:g}, more than any trained "
            "weight (a diverged training run?)"
        )
    return array
