"""Training refuses to mix runs: checkpoints keyed by the full --out path, --resume says what it
resumes and refuses another run's checkpoint or other sizes; mismatched checkpoints, data and
diverging runs are one-line errors. Tiny models, two or three steps each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from composer.errors import ComposerError, DataError, ModelError  # noqa: E402
from composer.train.bundle_writer import export_checkpoint  # noqa: E402
from composer.train.checkpoint import load_checkpoint, run_dir, save_checkpoint  # noqa: E402
from composer.train.loop import TrainConfig, train  # noqa: E402
from composer.train.model import ModelConfig  # noqa: E402


def tiny(tmp: Path, out: str = "model", **kw) -> TrainConfig:
    base = dict(data="jsb-quarter", out=str(tmp / out), checkpoint_dir=str(tmp / "ck"), epochs=1,
                max_steps=2, batch_size=8, threads=1,
                model=ModelConfig(hidden=8, embed=4, dropout=0.0, lookahead=0))  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def test_checkpoints_are_keyed_by_the_full_output_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = run_dir("runs/A/m"), run_dir("runs/B/m")
    assert a != b and a.name.startswith("m-") and b.name.startswith("m-")
    assert run_dir(tmp_path / "runs/A/m") == a  # the same run, however it is named
    assert TrainConfig(out="runs/A/m").checkpoint_path == a / "last.pt"


def test_resume_says_what_it_resumes_and_refuses_another_run(tmp_path):
    said: list[str] = []
    train(tiny(tmp_path), say=said.append)
    assert said == [f"checkpoints go to {tmp_path / 'ck' / 'last.pt'}"]
    said.clear()
    train(tiny(tmp_path, max_steps=3), resume=True, say=said.append)
    assert said[0].startswith(f"resuming {tmp_path / 'ck' / 'last.pt'} at step 2 of 3")
    with pytest.raises(ModelError, match="belongs to the run writing") as info:
        train(tiny(tmp_path, out="other"), resume=True)  # same checkpoint folder, other --out
    assert "\n" not in str(info.value)
    bigger = ModelConfig(hidden=12, embed=4, dropout=0.0, lookahead=0)
    with pytest.raises(ModelError, match="hidden 8; this run asks for hidden 12"):
        train(tiny(tmp_path, model=bigger), resume=True)
    from composer.paths import DATA_DIR

    mine = tmp_path / "mine"
    mine.mkdir()
    for f in sorted((DATA_DIR / "chorales").glob("*.mid"))[:12]:
        (mine / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ModelError, match="trained on --data 'jsb-quarter'"):
        train(tiny(tmp_path, data=str(mine)), resume=True)


def test_resume_without_a_checkpoint_says_it_starts_anew(tmp_path):
    said: list[str] = []
    train(tiny(tmp_path, checkpoint_dir=str(tmp_path / "none")), resume=True, say=said.append)
    assert said == [f"no checkpoint at {tmp_path / 'none' / 'last.pt'} yet: starting a new run"]
    said.clear()
    train(tiny(tmp_path, checkpoint_dir=str(tmp_path / "none")), say=said.append)
    assert "replace" in said[0] and "--resume" in said[0]


def test_a_diverging_run_stops_with_one_line(tmp_path):
    with pytest.raises(ComposerError, match="training diverged") as info:
        train(tiny(tmp_path, lr=1e30, clip=1e30, warmup=0, max_steps=4))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "model").exists()  # nothing claims to be the model


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A folder with a tiny run's bundle (model/) and checkpoint (ck/last.pt)."""
    tmp = tmp_path_factory.mktemp("trained")
    train(tiny(tmp))
    return tmp


@pytest.mark.parametrize("damage, fragment", [
    (lambda s: {"x": torch.ones(2)}, "not a `composer train` checkpoint"),
    (lambda s: {**s, "config": "{oops"}, "training record is damaged"),
    (lambda s: {**s, "config": json.dumps({**json.loads(s["config"]), "model": {
        **json.loads(s["config"])["model"], "hidden": 32}})}, "do not fit"),
    (lambda s: {**s, "config": json.dumps({**json.loads(s["config"]), "model": {
        **json.loads(s["config"])["model"], "hidden": -3}})}, "model.hidden"),
    (lambda s: {**s, "model": {k: v for k, v in s["model"].items() if "head" not in k}},
     "do not fit"),
])  # fmt: skip
def test_exporting_a_mismatched_checkpoint_is_one_line(tmp_path, trained, damage, fragment):
    path = tmp_path / "bad.pt"
    save_checkpoint(path, damage(load_checkpoint(trained / "ck" / "last.pt")))
    with pytest.raises(ModelError, match=fragment) as info:
        export_checkpoint(path, tmp_path / "out")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, fragment", [
    ({"valid": []}, "no pieces"),
    ({"valid": [[[60.5, 64]]]}, "whole numbers 0-127"),
    ({"valid": [[[60, 61, 62, 63, 64]]]}, "up to 4"),
    ({"valid": [[[60, 60]]]}, "distinct"),
    ({"valid": [[]]}, "non-empty list of frames"),
    ({"train": []}, "no split 'valid'"),
    ([1, 2], "not a JSB file"),
])  # fmt: skip
def test_a_bad_jsb_data_file_is_one_line(tmp_path, trained, content, fragment):
    from composer.train.evaluate import evaluate

    data = tmp_path / "data.json"
    data.write_text(json.dumps(content))
    with pytest.raises(DataError, match=fragment):
        evaluate(trained / "model", data_file=str(data), particles=0)


def test_a_satb_model_is_not_evaluated_on_jsb_frames():
    from composer.train.evaluate import evaluate

    with pytest.raises(DataError, match="is a SATB chorale model"):
        evaluate("bach-satb", data="jsb-quarter", particles=0)


def test_the_command_says_what_it_resumes(tmp_path, monkeypatch, capsys):
    from composer.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("composer.train.checkpoint.CHECKPOINTS_DIR", tmp_path / "ck")
    argv = ["train", "--data", "jsb-quarter", "--out", "m", "--max-steps", "2", "--epochs", "1",
            "--batch-size", "8", "--hidden", "8", "--embed", "4", "--lookahead", "0",
            "--threads", "1"]  # fmt: skip
    assert main([*argv, "--resume"]) == 0
    assert "no checkpoint at" in capsys.readouterr().out
    assert main([*argv, "--resume", "--max-steps", "3"]) == 0
    assert "resuming" in capsys.readouterr().out
