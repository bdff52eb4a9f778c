"""The model sees only what it may: the past, and what is fixed."""

import numpy as np
import pytest
import torch

from composer.corpus import load_chorales
from composer.train.dataset import collate, satb_example
from composer.train.model import ChoraleLSTM, ModelConfig


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = ChoraleLSTM(ModelConfig(hidden=32, embed=16, lookahead=16, context=True,
                                context_voices=True))  # fmt: skip
    return m.eval()


@pytest.mark.parametrize("pattern", ["free", "ending", "soprano"])
def test_logits_never_depend_on_later_unfixed_music(model, pattern):
    score = load_chorales("valid")[0].slice(0, 64)
    other = score.transpose(2)
    k = 100  # token position: logits up to k must ignore every unfixed token after it
    a, b = satb_example(score, None, pattern), satb_example(other, None, pattern)
    mixed = satb_example(score, None, pattern)
    mixed.enc.tokens[k:] = b.enc.tokens[k:]
    mixed.context[k + 1 :] = b.context[k + 1 :]
    fixed_later = a.fixed[k:] != 132
    mixed.fixed[k:][~fixed_later] = 132
    mixed.fixed[k:][fixed_later] = a.fixed[k:][fixed_later]  # what is fixed stays as it was
    with torch.inference_mode():
        la = model(collate([a]))[0, : k + 1]
        lm = model(collate([mixed]))[0, : k + 1]
    assert torch.equal(la, lm)


def test_lookahead_reads_what_is_fixed(model):
    score = load_chorales("valid")[0].slice(0, 64)
    a = satb_example(score, None, "soprano")
    b = satb_example(score, None, "soprano")
    b.fixed[12:40:4] = np.where(b.fixed[12:40:4] < 128, b.fixed[12:40:4] + 1, b.fixed[12:40:4])
    with torch.inference_mode():
        la, lb = model(collate([a]))[0, :10], model(collate([b]))[0, :10]
    assert not torch.equal(la, lb)


def test_evaluate_reports_harmonization_three_ways_and_the_particles_see_ahead():
    from composer.runtime.sampler import Sampler
    from composer.train.bundle_writer import model_from_bundle
    from composer.train.evaluate import evaluate_satb

    sampler = Sampler.load()  # the shipped model
    scores = load_chorales("valid")[:3]
    r = evaluate_satb(model_from_bundle(sampler.bundle), scores, sampler, particles=32)
    assert r["pieces"] == 3 and r["particles"] == 32
    for key in ("with_lookahead", "without_lookahead", "particles"):
        assert 0.1 < r[f"harmonize_atb_nll_{key}"] < 2.0
    # Bayes' rule over the whole soprano beats reading it only up to now
    assert r["harmonize_atb_nll_particles"] < r["harmonize_atb_nll_without_lookahead"] - 0.005
