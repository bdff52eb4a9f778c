"""Training: ``composer train --data bach|jsb-quarter|FOLDER --out models/NAME``.

Whole pieces in length-sorted batches; Adam with warm-up and cosine decay, gradient clipping;
validation each epoch, the best model exported as a bundle to ``--out`` every time it improves;
early stopping. Checkpoints (model, optimizer, position in the epoch, RNG) are written atomically
every ``--checkpoint-every`` steps and at each epoch's end, to a folder of their own per ``--out``
(composer.train.checkpoint.run_dir); ``--resume`` continues from the last one, so ``kill -9``
loses at most the steps since it, and refuses a checkpoint of another run.

Distributed: under ``torchrun --nproc_per_node=N -m composer train ...`` each process trains on a
shard of every epoch's batches with DistributedDataParallel (gloo on CPU, nccl on GPUs); rank 0
validates, checkpoints and exports.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from composer.errors import ComposerError, DataError
from composer.train.checkpoint import (
    check_same_run,
    describe,
    load_weights,
    out_path,
    read_training_checkpoint,
    run_dir,
    save_checkpoint,
)
from composer.train.dataset import (
    PieceDataset,
    collate,
    jsb16_example,
    jsb_example,
    satb_example,
)
from composer.train.model import ChoraleLSTM, ModelConfig, count_parameters


@dataclass
class TrainConfig:
    data: str = "bach"  # bach | jsb-quarter | jsb-16th | a folder of MIDI files
    out: str = "models/bach-satb"
    checkpoint_dir: str = ""  # default: checkpoints/<name of out>-<hash of its full path>
    epochs: int = 80
    max_steps: int = 0  # 0 = no limit
    batch_size: int = 4
    lr: float = 2e-3
    weight_decay: float = 1e-5
    warmup: int = 100  # steps
    clip: float = 1.0
    patience: int = 15  # epochs without a better valid figure before stopping
    seed: int = 0
    checkpoint_every: int = 50  # steps
    full: bool = False  # train on every split (for a shipped model, after a held-out run)
    jsb_shift: int = 0  # JSB: random transposition by up to this many semitones
    threads: int = 0  # torch threads per process (0 = torch's default)
    init_from: str = ""  # a bundle whose weights start the model (new parts start at zero)
    cadence_weight: float = 1.0  # SATB: loss weight of the tokens approaching each fermata
    ending_weight: float = 1.0  # SATB: loss weight of the final chord's onset
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        model = ModelConfig.from_dict(d.pop("model", {}))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(model=model, **{k: v for k, v in d.items() if k in names})

    @property
    def checkpoint_path(self) -> Path:
        base = Path(self.checkpoint_dir) if self.checkpoint_dir else run_dir(self.out)
        return base / "last.pt"


# --- data -------------------------------------------------------------------------------------
def load_pieces(data: str, split: str, full: bool = False) -> tuple[list, str, list[str]]:
    """(pieces, encoding, problems) for a data source and split ('train' or 'valid')."""
    if data == "jsb-quarter":
        from composer.corpus import load_jsb

        pieces = load_jsb("jsb-quarter", split)
        if full and split == "train":
            pieces = pieces + load_jsb("jsb-quarter", "valid")
        return pieces, "jsb-quarter", []
    if data == "jsb-16th":
        from composer.corpus import jsb16_scores, load_jsb

        pieces = load_jsb("jsb-16th-satb", split)
        if full and split == "train":
            pieces = pieces + load_jsb("jsb-16th-satb", "valid")
        return jsb16_scores(pieces), "jsb-16th", []
    if data == "bach":
        from composer.corpus import load_chorales

        if full and split == "train":
            return load_chorales(None), "satb", []
        return load_chorales(split), "satb", []
    return load_midi_folder(Path(data), split)


def load_midi_folder(folder: Path, split: str) -> tuple[list, str, list[str]]:
    """A user's folder of MIDI files -> four-voice Scores; 10% of files (by name hash) validate."""
    import hashlib

    from composer.midi.io import read_midi

    if not folder.is_dir():
        raise DataError(f"--data {folder}: not 'bach', 'jsb-quarter' or a folder of MIDI files")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise DataError(f"no .mid or .midi files in {folder}")
    pieces, problems = [], []
    for path in files:
        in_valid = int(hashlib.sha256(path.name.encode()).hexdigest(), 16) % 10 == 0
        if in_valid != (split == "valid"):
            continue
        try:
            score = read_midi(path)
        except ComposerError as e:
            problems.append(f"{path.name}: {e}")
            continue
        if score.voices != 4:
            problems.append(f"{path.name}: {score.voices} voices; training needs 4 (SATB)")
            continue
        pieces.append(score)
    return pieces, "satb", problems


# --- loss and validation ----------------------------------------------------------------------
def token_nll(model: ChoraleLSTM, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(nll[B, N] in nats per token, weight[B, N])."""
    logits = model(batch)
    nll = F.cross_entropy(logits.transpose(1, 2), batch["targets"], reduction="none")
    weight = batch["weight"]
    return torch.where(weight > 0, nll, torch.zeros_like(nll)), weight


@torch.inference_mode()
def validate(model: ChoraleLSTM, pieces: list, encoding: str) -> dict[str, float]:
    """Valid figures: JSB NLL per frame; SATB NLL per token (free) and per A/T/B token (soprano
    given, with lookahead). ``score`` is the figure early stopping minimizes."""
    model.eval()
    out: dict[str, float] = {}
    if encoding == "jsb-quarter":
        total, frames = 0.0, 0
        for i in range(0, len(pieces), 16):
            batch = collate([jsb_example(p, None) for p in pieces[i : i + 16]])
            nll, w = token_nll(model, batch)
            total += float((nll * w).sum())
            frames += sum(len(p) for p in pieces[i : i + 16])
        out["nll_per_frame"] = total / frames
        out["score"] = out["nll_per_frame"]
    else:
        patterns = ("free",) if encoding == "jsb-16th" else ("free", "soprano")
        for pattern in patterns:
            total, count = 0.0, 0.0
            for i in range(0, len(pieces), 16):
                chunk = pieces[i : i + 16]
                if encoding == "jsb-16th":
                    batch = collate([jsb16_example(p, None) for p in chunk])
                else:
                    repeat = model.config.repeat
                    batch = collate([satb_example(p, None, pattern, repeat=repeat) for p in chunk])
                nll, w = token_nll(model, batch)
                total += float((nll * w).sum())
                count += float(w.sum())
            out[f"nll_{pattern}"] = total / count
        out["score"] = (out["nll_free"] + out.get("nll_soprano", out["nll_free"])) / 2
    model.train()
    return out


# --- the loop ---------------------------------------------------------------------------------
def _check_size(model: ModelConfig) -> None:
    """Refuse, before building it, a model too big for Composer to run once trained."""
    from composer.runtime.schema import MAX_PARAMETERS, parameter_count

    n = parameter_count(model.to_dict())
    if n > MAX_PARAMETERS:
        raise ComposerError(
            f"a model of {n:,} parameters; Composer runs models of up to {MAX_PARAMETERS:,}: "
            "lower --hidden, --embed, --layers or --lookahead"
        )


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class Progress:
    """What the loop reports after each step (a CLI bar or a GUI can listen)."""

    epoch: int
    step: int
    total_steps: int
    loss: float
    tokens_per_second: float
    seconds_left: float
    valid: dict | None = None


def train(
    cfg: TrainConfig,
    resume: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict:
    """Train, export the best model to ``cfg.out``; return a summary dict. ``say`` hears what
    is resumed (or started) and where the checkpoints go."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world = 0, 1
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    train_pieces, encoding, problems = load_pieces(cfg.data, "train", cfg.full)
    valid_pieces, _, vproblems = load_pieces(cfg.data, "valid")
    if not train_pieces:
        raise DataError(f"no usable training pieces in {cfg.data}")
    cfg.model.encoding = encoding
    if encoding == "jsb-quarter":
        cfg.model.context, cfg.model.context_voices, cfg.model.lookahead = True, False, 0
        cfg.model.plan = False
    elif encoding == "jsb-16th":  # the benchmark: no fermatas, no key, nothing fixed
        cfg.model.context, cfg.model.context_voices, cfg.model.lookahead = True, True, 0
        cfg.model.plan = False
    else:
        cfg.model.context, cfg.model.context_voices = True, True
    if encoding != "jsb-16th":  # how long each voice has held: the benchmark's input only
        cfg.model.held = False
    _check_size(cfg.model)
    model = ChoraleLSTM(cfg.model)
    if cfg.init_from:
        init_from_bundle(model, cfg.init_from)
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    data = PieceDataset(
        train_pieces,
        encoding,
        cfg.batch_size,
        augment=True,
        seed=cfg.seed,
        jsb_shift=cfg.jsb_shift,
        cadence_weight=cfg.cadence_weight,
        repeat=cfg.model.repeat,
        ending_weight=cfg.ending_weight,
    )
    per_epoch = len(data.batch_indices(0)) // world
    if per_epoch == 0:
        raise DataError(
            f"{len(train_pieces)} training pieces make fewer batches than the {world} processes"
        )
    total = cfg.epochs * per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    state = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "best": float("inf"),
        "bad_epochs": 0,
        "history": [],
        "seconds": 0.0,
    }
    ckpt = cfg.checkpoint_path
    found = ckpt.exists()
    if resume and found:
        saved, recipe, saved_state = read_training_checkpoint(ckpt)
        run = json.loads(saved["run"]) if isinstance(saved.get("run"), str) else {}
        check_same_run(ckpt, recipe, run.get("out"), cfg.to_dict())
        load_weights(model, saved["model"], ckpt)
        try:
            optim.load_state_dict(saved["optim"])
            torch.set_rng_state(saved["torch_rng"])
        except (RuntimeError, TypeError, ValueError, KeyError) as e:
            raise ComposerError(f"{ckpt}: its optimizer state does not fit ({e})") from None
        state.update(saved_state)
        message = f"resuming {ckpt} at {describe(state, total)}"
    elif resume:
        message = f"no checkpoint at {ckpt} yet: starting a new run"
    elif found:
        message = (f"starting a new run: its checkpoints replace {ckpt} (add --resume to "
                   "continue that run instead)")  # fmt: skip
    else:
        message = f"checkpoints go to {ckpt}"
    if say and rank == 0:
        say(message)
    ddp_model = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        ddp_model = DistributedDataParallel(model)
    info = {
        "parameters": count_parameters(model),
        "train_pieces": len(train_pieces),
        "valid_pieces": len(valid_pieces),
        "problems": problems + vproblems,
        "steps_per_epoch": per_epoch,
        "world": world,
    }

    def checkpoint() -> None:
        if rank == 0:
            save_checkpoint(
                ckpt,
                {
                    "model": model.state_dict(),
                    "optim": optim.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "state": json.dumps(state),
                    "config": json.dumps(cfg.to_dict()),
                    "run": json.dumps({"out": out_path(cfg.out)}),
                },
            )

    model.train()
    t_start = time.monotonic() - state["seconds"]
    tokens_done, t_rate = 0, time.monotonic()
    stop = state["step"] >= total
    while not stop and state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        for i, batch in data.batches(epoch, rank, world, start=state["batch"]):
            for g in optim.param_groups:
                g["lr"] = learning_rate(cfg, state["step"], total)
            nll, w = token_nll(ddp_model, batch)
            loss = (nll * w).sum() / w.sum().clamp(min=1)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            if not torch.isfinite(norm):  # the same on every process (gradients are averaged)
                raise ComposerError(
                    f"training diverged: the loss is {loss.item():g} at step {state['step'] + 1};"
                    f" lower --lr (now {cfg.lr:g}) or raise --warmup"
                )
            optim.step()
            state["step"] += 1
            state["batch"] = i + 1
            state["seconds"] = time.monotonic() - t_start
            tokens_done += int(w.sum()) * world
            rate = tokens_done / max(1e-9, time.monotonic() - t_rate)
            left = (total - state["step"]) * state["seconds"] / max(1, state["step"])
            if on_progress and rank == 0:
                on_progress(Progress(epoch, state["step"], total, loss.item(), rate, left))
            if state["step"] % cfg.checkpoint_every == 0:
                checkpoint()
            if state["step"] >= total:
                stop = True
                break
        if state["batch"] >= per_epoch or stop:
            if rank == 0:
                figures = (
                    validate(model, valid_pieces, encoding)
                    if valid_pieces
                    else {"score": float(loss)}
                )
                figures.update(
                    epoch=epoch + 1, step=state["step"], seconds=round(state["seconds"], 1)
                )
                state["history"].append(figures)
                if figures["score"] < state["best"]:
                    state["best"], state["bad_epochs"] = figures["score"], 0
                    export_best(model, cfg, state, info)
                else:
                    state["bad_epochs"] += 1
                if on_progress:
                    on_progress(
                        Progress(epoch, state["step"], total, loss.item(), 0.0, 0.0, figures)
                    )
            state["epoch"], state["batch"] = epoch + 1, 0
            if distributed:
                import torch.distributed as dist

                flag = torch.tensor([state["bad_epochs"]], dtype=torch.int64)
                dist.broadcast(flag, 0)
                state["bad_epochs"] = int(flag)
            if state["bad_epochs"] >= cfg.patience:
                stop = True
            checkpoint()
    if distributed:
        import torch.distributed as dist

        dist.destroy_process_group()
    if rank == 0 and not math.isfinite(state["best"]):
        raise ComposerError(
            f"no finite validation figure after {state['step']} steps: nothing was written to "
            f"{cfg.out}; lower --lr or train longer"
        )
    info.update(
        best=state["best"],
        steps=state["step"],
        epochs=state["epoch"],
        seconds=round(state["seconds"], 1),
        history=state["history"],
    )
    return info


def init_from_bundle(model: ChoraleLSTM, bundle_dir: str) -> list[str]:
    """Start ``model`` from a bundle's weights (fine-tuning). Arrays the bundle lacks (a new
    input such as the plan embeddings) start at zero, so the model starts as the bundle's. A
    model with more hidden units than the bundle's (and the same other sizes) is grown from it
    (``widen``), starting as the bundle's too; arrays of any other shape are an error. Returns
    the names that started at zero."""
    from composer.runtime.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    own = model.state_dict()
    h_old, h_new = bundle.model["hidden"], model.config.hidden
    same_sizes = all(bundle.model[k] == getattr(model.config, k)
                     for k in ("embed", "layers", "lookahead"))  # fmt: skip
    grow = same_sizes and h_old < h_new
    for name, array in bundle.weights.items():
        if name in own and tuple(own[name].shape) != array.shape and not grow:
            raise DataError(
                f"--init-from {bundle_dir}: {name} is {array.shape}, the model's is "
                f"{tuple(own[name].shape)}; give the same --embed/--layers/--lookahead, and "
                "--hidden at least the bundle's"
            )
    fresh = [name for name in own if name not in bundle.weights]
    with torch.no_grad():
        for name in fresh:
            own[name].zero_()
        start = {}
        for name, array in bundle.weights.items():
            if name in own:
                start[name] = (widen(array, own[name], h_old, h_new)
                               if tuple(own[name].shape) != array.shape
                               else torch.from_numpy(array))  # fmt: skip
    model.load_state_dict({**own, **start})
    return fresh


def widen(old: np.ndarray, new: torch.Tensor, h_old: int, h_new: int) -> torch.Tensor:
    """A bundle's array ``old`` for a model with ``h_new`` hidden units instead of ``h_old``
    (``new``: the model's own freshly initialized array). The old units keep their weights
    (in each of the LSTM's four gate blocks); what the new units read starts small and random
    (a tenth of the model's initialization), and what they send to the old units and to the
    output starts at zero, so the grown model computes exactly what the bundle's did, and the
    new units still learn (their output is not zero, so what they send has a gradient)."""

    def place(size_old: int, size_new: int) -> tuple[np.ndarray, np.ndarray]:
        """Where the old entries go along one dimension, and which entries are new units."""
        if size_old == size_new:  # not a dimension over the hidden units
            return np.arange(size_old), np.zeros(size_new, bool)
        if (size_old, size_new) == (4 * h_old, 4 * h_new):  # gate blocks i, f, g, o
            at = np.concatenate([g * h_new + np.arange(h_old) for g in range(4)])
        elif (size_old, size_new) == (h_old, h_new):
            at = np.arange(h_old)
        else:
            raise DataError(f"cannot grow an array of {old.shape} into {tuple(new.shape)}")
        is_new = np.ones(size_new, bool)
        is_new[at] = False
        return at, is_new

    out = new.detach().clone() * 0.1
    old_t = torch.from_numpy(np.ascontiguousarray(old))
    if old.ndim == 1:
        at, is_new = place(old.shape[0], new.shape[0])
        out[torch.from_numpy(is_new)] = 0.0
        out[torch.from_numpy(at)] = old_t
        return out
    rows, new_rows = place(old.shape[0], new.shape[0])
    cols, new_cols = place(old.shape[1], new.shape[1])
    out[np.ix_(~new_rows, new_cols)] = 0.0  # the new units send nothing to the old ones yet
    out[np.ix_(rows, cols)] = old_t
    return out


def export_best(model: ChoraleLSTM, cfg: TrainConfig, state: dict, info: dict) -> None:
    from composer.train.bundle_writer import write_bundle

    training = {
        "recipe": cfg.to_dict(),
        "steps": state["step"],
        "epochs": state["epoch"] + 1,
        "seconds": round(state["seconds"], 1),
        "torch": torch.__version__,
        **{k: v for k, v in info.items() if k != "problems"},
    }
    write_bundle(
        model,
        Path(cfg.out),
        training=training,
        metrics={"valid": state["history"][-1]} if state["history"] else {},
    )
