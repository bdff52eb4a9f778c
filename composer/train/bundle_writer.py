"""A checkpoint or trained model -> a bundle (``composer export CHECKPOINT --out models/NAME``):
weights.npz + config.json, loaded by composer.runtime.bundle without torch; and back
(``model_from_bundle``: a bundle's weights in a torch model, for evaluation and parity tests)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from composer.encoding import N_PITCH, TOK_END, TOK_HOLD, TOK_REST, TOK_START, TOK_UNKNOWN, VOCAB
from composer.errors import ModelError
from composer.fileio import write_bytes_atomic, write_text_atomic
from composer.runtime.bundle import FORMAT, VERSION

HALF_MAX = float(np.finfo(np.float16).max)


def encoding_info(encoding: str) -> dict:
    return {
        "name": encoding,
        "vocab": VOCAB,
        "tokens": {
            "pitch": [0, N_PITCH - 1],
            "hold": TOK_HOLD,
            "rest": TOK_REST,
            "end": TOK_END,
            "start": TOK_START,
            "unknown": TOK_UNKNOWN,
        },
        "grid": {
            "satb": "16th steps, tokens S A T B per step",
            "jsb-16th": "16th steps, tokens S A T B per step (pitch or REST: no HOLD)",
        }.get(encoding, "quarter-note frames, pitches high to low then END"),
    }


def write_bundle(model, out: Path, training: dict, metrics: dict, float16: bool = False) -> None:
    """Write weights.npz + config.json for a ChoraleLSTM (torch) into ``out``. float16: store
    the weights at half the size (read back as float32; for a model that would not fit the
    repository's 25 MB otherwise); ModelError if a weight does not fit float16's range."""
    out = Path(out)
    dtype = np.float16 if float16 else np.float32
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    if float16:
        too_large = [k for k, w in weights.items() if np.abs(w).max(initial=0) >= HALF_MAX]
        if too_large:
            raise ModelError(f"{too_large[0]} holds values beyond float16's range; export it "
                             "without --float16")  # fmt: skip
    weights = {k: w.astype(dtype) for k, w in weights.items()}
    buf = io.BytesIO()
    # stored, not deflated: float32 weights shrink by 7% at most, and inflating them took 0.05 s
    # of every cold start (0.066 s against 0.011 s for the shipped SATB model)
    np.savez(buf, **weights)
    config = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config.to_dict(),
        "encoding": encoding_info(model.config.encoding),
        "training": {**training, "stored": np.dtype(dtype).name},
        "metrics": metrics,
    }
    previous = out / "config.json"
    if previous.exists():  # keep figures measured by `composer evaluate`
        try:
            old = json.loads(previous.read_text()).get("metrics", {})
            config["metrics"] = {**{k: v for k, v in old.items() if k != "valid"}, **metrics}
        except (ValueError, OSError, AttributeError, RecursionError):
            pass  # an unreadable old config has no figures to keep
    write_bytes_atomic(out / "weights.npz", buf.getvalue())
    write_text_atomic(out / "config.json", json.dumps(config, indent=1) + "\n")


def export_checkpoint(checkpoint: Path, out: Path, float16: bool = False) -> None:
    """Write the bundle of a `composer train` checkpoint (ModelError, one line, for a file that
    is not one, or whose weights do not fit its own config)."""
    from composer.runtime.schema import check_config
    from composer.train.checkpoint import load_weights, read_training_checkpoint
    from composer.train.model import ChoraleLSTM, ModelConfig

    saved, cfg, state = read_training_checkpoint(checkpoint)
    config = ModelConfig.from_dict(cfg["model"])
    check_config({"format": FORMAT, "version": VERSION, "model": config.to_dict()}, checkpoint)
    model = ChoraleLSTM(config)
    load_weights(model, saved["model"], checkpoint)
    history = state.get("history") if isinstance(state.get("history"), list) else []
    write_bundle(
        model,
        out,
        training={"recipe": cfg, "steps": state["step"], "from_checkpoint": str(checkpoint)},
        metrics={"valid": history[-1]} if history else {},
        float16=float16,
    )


def export_bundle(source: Path, out: Path, float16: bool = False) -> None:
    """Write a bundle's weights again (float16: at half the size) with its config, into ``out``
    (which may be ``source`` itself: both files are replaced atomically)."""
    from composer.runtime.bundle import load_bundle

    bundle = load_bundle(source)
    training, metrics = (bundle.config.get(k) for k in ("training", "metrics"))
    training = (
        {k: v for k, v in training.items() if k != "stored"} if isinstance(training, dict) else {}
    )
    metrics = metrics if isinstance(metrics, dict) else {}
    write_bundle(model_from_bundle(bundle), out, training, metrics, float16)


def model_from_bundle(bundle):
    """A torch ChoraleLSTM with a bundle's weights (for evaluation and parity tests)."""
    import torch

    from composer.train.model import ChoraleLSTM, ModelConfig

    model = ChoraleLSTM(ModelConfig.from_dict(bundle.model))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in bundle.weights.items()})
    model.eval()
    return model
