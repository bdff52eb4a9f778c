"""Training: configs round-trip, seeds reproduce, kill -9 then --resume, safe loading, torchrun."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from composer.errors import ModelError
from composer.runtime.bundle import load_bundle
from composer.train.checkpoint import load_checkpoint, save_checkpoint
from composer.train.loop import TrainConfig, train
from composer.train.model import ModelConfig

PY = sys.executable
TINY = ["--hidden", "16", "--embed", "8", "--dropout", "0.1", "--threads", "1"]


def tiny_config(tmp: Path, **kw) -> TrainConfig:
    model = ModelConfig(hidden=16, embed=8, dropout=0.1, lookahead=8)
    base = dict(
        data="jsb-quarter",
        out=str(tmp / "model"),
        checkpoint_dir=str(tmp / "ck"),
        epochs=1,
        max_steps=3,
        batch_size=8,
        threads=1,
        model=model,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_configs_round_trip():
    cfg = TrainConfig(epochs=7, model=ModelConfig(hidden=99, lookahead=0))
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert ModelConfig.from_dict(cfg.model.to_dict()) == cfg.model


def test_tiny_run_writes_a_bundle_that_loads_without_torch(tmp_path):
    info = train(tiny_config(tmp_path))
    assert info["steps"] == 3
    bundle = load_bundle(tmp_path / "model")
    assert bundle.model["encoding"] == "jsb-quarter" and bundle.model["hidden"] == 16
    assert bundle.config["training"]["recipe"]["data"] == "jsb-quarter"
    code = (
        "import sys; from composer.runtime.bundle import load_bundle; "
        f"b = load_bundle({str(tmp_path / 'model')!r}); "
        "assert 'torch' not in sys.modules; print(len(b.weights))"
    )
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 5


def test_same_seed_same_weights(tmp_path):
    train(tiny_config(tmp_path / "a", seed=5))
    train(tiny_config(tmp_path / "b", seed=5))
    train(tiny_config(tmp_path / "c", seed=6))
    a, b, c = (load_bundle(tmp_path / x / "model").weights for x in "abc")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_satb_training_step_runs_on_the_corpus(tmp_path):
    info = train(tiny_config(tmp_path, data="bach", max_steps=2, batch_size=4))
    assert info["steps"] == 2 and info["train_pieces"] > 200
    assert load_bundle(tmp_path / "model").model["lookahead"] == 8


def _state(path: Path) -> dict:
    return json.loads(load_checkpoint(path)["state"])


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path):
    args = [
        "-m",
        "composer",
        "train",
        "--data",
        "jsb-quarter",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--checkpoint-every",
        "4",
        "--seed",
        "3",
        *TINY,
    ]
    # the reference: the same run, never interrupted
    subprocess.run(
        [PY, *args, "--out", str(tmp_path / "ref"), "--checkpoint-dir", str(tmp_path / "ref-ck")],
        check=True,
        capture_output=True,
    )
    run = [PY, *args, "--out", str(tmp_path / "m"), "--checkpoint-dir", str(tmp_path / "ck")]
    proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "ck" / "last.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ckpt.exists() and _state(ckpt)["step"] >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _state(ckpt)["step"]
    assert killed_at >= 8
    subprocess.run(run + ["--resume"], check=True, capture_output=True)
    final = _state(ckpt)
    assert final["step"] == _state(tmp_path / "ref-ck" / "last.pt")["step"] > killed_at
    ref = load_checkpoint(tmp_path / "ref-ck" / "last.pt")["model"]
    resumed = load_checkpoint(ckpt)["model"]
    assert all(torch.equal(ref[k], resumed[k]) for k in ref)


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/composer-pickle-payload-ran"


def test_a_pickle_with_a_payload_is_refused(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"model": Payload()}, f)
    torch_evil = tmp_path / "evil2.pt"
    torch.save({"model": Payload()}, torch_evil)
    for path in (evil, torch_evil):
        with pytest.raises(ModelError, match="refusing"):
            load_checkpoint(path)
    assert not os.path.exists(MARKER)
    # a bundle whose weights need pickle is refused too
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    from bundle_fixtures import TINY_MODEL, tiny_config, tiny_weights

    (bundle / "config.json").write_text(json.dumps(tiny_config()))
    weights = {**tiny_weights(TINY_MODEL), "head.bias": np.array([Payload()] * 133, dtype=object)}
    np.savez(bundle / "weights.npz", **weights)
    with pytest.raises(ModelError, match="head.bias holds object"):
        load_bundle(bundle)
    assert not os.path.exists(MARKER)


def test_checkpoint_written_atomically(tmp_path):
    path = tmp_path / "ck" / "last.pt"
    save_checkpoint(path, {"x": torch.ones(3)})
    assert torch.equal(load_checkpoint(path)["x"], torch.ones(3))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


def test_torchrun_two_cpu_workers(tmp_path):
    torchrun = Path(PY).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "composer",
        "train",
        "--data",
        "jsb-quarter",
        "--max-steps",
        "4",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--out",
        str(tmp_path / "m"),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        *TINY,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    training = load_bundle(tmp_path / "m").config["training"]
    assert training["world"] == 2 and training["steps"] == 4


def test_user_midi_folder_lists_unusable_files(tmp_path):
    from composer.corpus import DATA_DIR
    from composer.train.loop import load_midi_folder

    folder = tmp_path / "mine"
    folder.mkdir()
    for f in sorted(DATA_DIR.glob("*.mid"))[:20]:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "broken.mid").write_bytes(b"MThd garbage")
    train_pieces, _, problems = load_midi_folder(folder, "train")
    valid_pieces, _, vproblems = load_midi_folder(folder, "valid")
    assert len(train_pieces) + len(valid_pieces) == 20
    assert any("broken.mid" in p for p in problems + vproblems)


def _tiny_jsb16(tmp: Path) -> Path:
    rng = np.random.default_rng(0)

    def piece(steps: int) -> list:
        base = np.array([72, 67, 60, 48])
        notes = base + rng.integers(-2, 3, size=(steps // 4, 4))
        grid = np.repeat(notes, 4, axis=0)
        grid[-3:, 1] = -1  # the alto rests at the end
        return grid.tolist()

    path = tmp / "jsb-16th-satb.json"
    path.write_text(json.dumps({"train": [piece(32), piece(48), piece(40)],
                                "valid": [piece(32), piece(24)]}))  # fmt: skip
    return path


def test_the_jsb_16th_benchmark_trains_and_evaluates_exactly(tmp_path, monkeypatch):
    import composer.corpus as corpus
    from composer.train.bundle_writer import model_from_bundle
    from composer.train.evaluate import evaluate

    data = _tiny_jsb16(tmp_path)
    monkeypatch.setattr(corpus, "JSB_DIR", tmp_path)
    train(tiny_config(tmp_path, data="jsb-16th", batch_size=2))
    bundle = load_bundle(tmp_path / "model")
    assert bundle.model["encoding"] == "jsb-16th" and not bundle.model["plan"]
    assert bundle.model["lookahead"] == 0
    result = evaluate(tmp_path / "model", "jsb-16th", "valid", str(data), particles=0)
    assert result["pieces"] == 2 and result["tokens"] == (32 + 24) * 4
    assert result["nll_per_step"] == pytest.approx(4 * result["nll_per_token"])
    # exact: every token's softmax is over pitch and REST only (the data has no HOLD)
    from composer.corpus import jsb16_scores
    from composer.train.dataset import collate, satb_example

    model = model_from_bundle(bundle)
    [score] = jsb16_scores([json.loads(data.read_text())["valid"][1]])
    batch = collate([satb_example(score, None, "free")])
    with torch.no_grad():
        p = torch.softmax(model(batch), dim=-1)[0]  # (N, vocab)
    assert torch.allclose(p.sum(-1), torch.ones(len(p)), atol=1e-5)
    assert float(p[:, 128].max()) == 0.0  # HOLD never
    targets = batch["targets"][0]
    nll = -torch.log(p[torch.arange(len(p)), targets]).mean()
    one = evaluate(tmp_path / "model", "jsb-16th", "valid", str(data), particles=0)
    assert one["nll_per_token"] == result["nll_per_token"]
    assert float(nll) > 0
    # the mixture over transpositions: at each token, the mean of the probabilities the model
    # gives the piece moved down a semitone, as it is, and moved up (each from earlier tokens)
    from composer.train.dataset import jsb16_example
    from composer.train.evaluate import token_nlls

    mixed = evaluate(tmp_path / "model", "jsb-16th", "valid", str(data), 0, transpositions=1)
    assert mixed["transpositions"] == 1 and mixed["tokens"] == result["tokens"]
    scores = jsb16_scores(json.loads(data.read_text())["valid"])
    moved = [[jsb16_example(s.transpose(k), None) for s in scores] for k in (-1, 0, 1)]
    probs = [np.exp(-np.concatenate(token_nlls(model, m))) for m in moved]
    by_hand = -np.log(np.mean(probs, axis=0)).mean()
    assert mixed["nll_per_token"] == pytest.approx(by_hand, rel=1e-9)
    assert mixed["nll_per_token"] != pytest.approx(result["nll_per_token"], rel=1e-6)


def test_a_mixture_of_one_prediction_is_that_prediction():
    from composer.train.evaluate import mixture

    a = np.array([0.5, 2.0, 0.1])
    [same] = mixture([[a], [a], [a]])
    assert same == pytest.approx(a)
    [half] = mixture([[np.array([np.log(2.0)])], [np.array([np.inf])]])  # p = (1/2 + 0) / 2
    assert half == pytest.approx([np.log(4.0)])


def test_fine_tuning_starts_where_the_bundle_left_off(tmp_path):
    from composer.train.bundle_writer import model_from_bundle
    from composer.train.loop import init_from_bundle
    from composer.train.model import ChoraleLSTM

    train(tiny_config(tmp_path, data="bach", max_steps=2, batch_size=4))
    bundle = load_bundle(tmp_path / "model")
    old = model_from_bundle(bundle)
    cfg = ModelConfig.from_dict({**bundle.model, "plan": True})
    new = ChoraleLSTM(cfg).eval()
    assert init_from_bundle(new, str(tmp_path / "model")) == [
        "phrase_emb.weight",
        "end_emb.weight",
    ]
    from composer.corpus import load_chorales
    from composer.train.dataset import collate, satb_example

    batch = collate([satb_example(load_chorales("valid")[0], None, "free")])
    with torch.no_grad():
        assert torch.allclose(old(batch), new(batch), atol=1e-6)
    # fewer hidden units than the bundle's, or another embedding: an error (more units grow it)
    for sizes in ({"hidden": 8}, {"embed": 12}):
        bad = ChoraleLSTM(ModelConfig.from_dict({**bundle.model, **sizes}))
        with pytest.raises(Exception, match="--init-from"):
            init_from_bundle(bad, str(tmp_path / "model"))
