"""The JSB 16th-note model's richer inputs: how long each voice has held, and what the piece's
own past predicts. Each must come from earlier tokens only (the benchmark is an exact
autoregressive likelihood)."""

import numpy as np
import torch

from composer.corpus import jsb16_scores, load_jsb
from composer.encoding import TOK_UNKNOWN, VOCAB
from composer.train.dataset import collate, jsb16_example
from composer.train.features import MAX_HELD, held_steps, repeat_match
from composer.train.model import ChoraleLSTM, ModelConfig

C = [60, 55, 52, 48]
G = [62, 55, 50, 43]
F = [65, 57, 53, 41]


def test_held_steps_counts_what_each_token_has_seen():
    tokens = np.array([C, C, G, G, G])
    held = held_steps(tokens).reshape(5, 4, 4)  # (step, voice of the token, voice counted)
    assert held[0].tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]]
    # step 2's soprano: every voice has held C for 2 steps; its bass: S, A, T of G written
    # (the alto's G4 = 55 has now lasted 3 steps), the bass's C still 2
    assert held[2, 0].tolist() == [2, 2, 2, 2]
    assert held[2, 3].tolist() == [1, 3, 1, 2]
    assert held[4, 0].tolist() == [2, 4, 2, 2]


def test_held_steps_caps_at_a_bar():
    tokens = np.array([C] * 40)
    assert held_steps(tokens).max() == MAX_HELD


def test_repeat_match_copies_a_repeated_phrase():
    phrase = [C, G, F, C]  # one step per beat, then the same again
    tokens = np.array(phrase + phrase)
    out = repeat_match(tokens).reshape(8, 4)
    bucket, pred = out // VOCAB, out % VOCAB
    assert (pred[:5] == TOK_UNKNOWN).all() and (bucket[:5] == 0).all()  # nothing earlier yet
    # step 5 follows C, as step 1 did: it predicts step 1 (G) from a one-step match
    assert pred[5].tolist() == G and bucket[5].tolist() == [1] * 4
    # steps 6 and 7 follow longer matches (2 and 3 steps, bucket 1..3)
    assert pred[6].tolist() == F and pred[7].tolist() == C
    assert (bucket[7] == 1).all()


def test_repeat_match_needs_the_voices_above_to_agree():
    g2 = [67, 55, 50, 43]  # G with another soprano
    tokens = np.array([C, G, F, F, C, g2])
    pred = repeat_match(tokens).reshape(6, 4) % VOCAB
    # step 5 follows C as step 1 did (4 steps back, the same beat phase): its soprano is
    # predicted from step 1; the voices below see a soprano unlike step 1's, so no match
    assert pred[5, 0] == G[0]
    assert (pred[5, 1:] == TOK_UNKNOWN).all()


def test_repeat_match_prefers_the_longer_match():
    a, x = [57, 53, 48, 41], [50, 50, 50, 50]
    # step 16 follows "G x C"; at its beat phase, step 4 followed "G x C" (3 steps) and step
    # 12 followed "a x C" (2 steps)
    tokens = np.array([a, G, x, C, F, a, a, a, a, a, x, C, G, G, x, C, F])
    out = repeat_match(tokens).reshape(17, 4)
    assert (out[16] % VOCAB).tolist() == F  # copies step 4
    assert (out[16] // VOCAB).tolist() == [1] * 4  # a 3-step match: bucket 1-3


def test_features_never_depend_on_later_tokens():
    score = jsb16_scores(load_jsb("jsb-16th-satb", "valid"))[0]
    a = jsb16_example(score, None)
    steps = score.steps
    k = steps // 2
    tokens = a.enc.tokens.reshape(steps, 4).copy()
    tokens[k:] = tokens[::-1][: steps - k]  # a different future
    held, repeat = held_steps(tokens), repeat_match(tokens)
    n = k * 4 + 1  # every token up to step k's soprano sees only steps before k
    assert np.array_equal(held[:n], a.held[:n])
    assert np.array_equal(repeat[:n], a.repeat[:n])


def test_model_reads_the_features():
    torch.manual_seed(0)
    config = ModelConfig(encoding="jsb-16th", hidden=32, embed=16, lookahead=0, context=True,
                         context_voices=True, held=True, repeat=True)  # fmt: skip
    model = ChoraleLSTM(config).eval()
    score = jsb16_scores(load_jsb("jsb-16th-satb", "valid"))[0].slice(0, 64)
    batch = collate([jsb16_example(score, None)])
    with torch.inference_mode():
        base = model(batch)
        batch["repeat"] = torch.full_like(batch["repeat"], TOK_UNKNOWN)
        assert not torch.equal(base, model(batch))


def test_quarter_frames_repeat_match_is_causal():
    from composer.train.dataset import jsb_example
    from composer.train.features import frame_repeat_match

    piece = load_jsb("jsb-quarter", "valid")[0]
    a = jsb_example(piece, None)
    k = len(piece) // 2
    other = jsb_example(piece[:k] + piece[::-1][: len(piece) - k], None)
    n = sum(len(set(f)) + 1 for f in piece[:k]) + 1  # up to frame k's first token
    assert np.array_equal(a.repeat[:n], other.repeat[:n])
    # a piece played twice: the second time, once 8 frames match, each frame's first token is
    # copied from the first time
    twice = jsb_example(piece + piece, None)
    first = np.cumsum([0] + [len(set(f)) + 1 for f in piece + piece])[len(piece) + 8 : -1]
    assert (twice.repeat[first] % VOCAB == twice.enc.tokens[first]).all()
    assert len(frame_repeat_match([(60, 130), (130,)])) == 3


def test_repeat_gate_raises_only_the_predicted_token():
    torch.manual_seed(0)
    config = ModelConfig(encoding="jsb-16th", hidden=32, embed=16, lookahead=0, context=True,
                         context_voices=True, held=True, repeat=True)  # fmt: skip
    model = ChoraleLSTM(config).eval()
    with torch.no_grad():
        model.repeat_gate.bias.fill_(2.0)
        model.repeat_gate.weight.zero_()
    repeat = torch.tensor([[0 * VOCAB + TOK_UNKNOWN, 3 * VOCAB + 60]])
    bonus = model.repeat_bonus(repeat, torch.zeros(1, 2, 32))
    assert bonus[0, 0].abs().sum() == 0  # nothing matched: no bonus
    assert bonus[0, 1, 60] == 2.0 and bonus[0, 1].sum() == 2.0


def test_a_bundle_with_the_new_inputs_loads(tmp_path):
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle, write_bundle

    config = ModelConfig(encoding="jsb-quarter", hidden=32, embed=16, lookahead=0, context=True,
                         repeat=True)  # fmt: skip
    model = ChoraleLSTM(config)
    write_bundle(model, tmp_path, training={}, metrics={})
    again = model_from_bundle(load_bundle(tmp_path))
    assert torch.equal(again.repeat_gate.weight, model.repeat_gate.weight)


def test_an_satb_bundle_cannot_ask_for_the_held_input():
    import pytest

    from composer.errors import ModelError
    from composer.runtime.schema import check_config

    model = ModelConfig(encoding="satb", context=True, context_voices=True, held=True)
    with pytest.raises(ModelError, match="JSB models only"):
        check_config({"format": "composer-bundle", "version": 1, "model": model.to_dict()}, "x")


def test_the_repeat_match_is_on_by_default_for_the_jsb_benchmarks_only():
    from composer.cli.main import build_parser
    from composer.cli.train import model_config

    def parse(argv):
        return build_parser().parse_args([*argv, "--out", "models/x"])

    assert model_config(parse(["train", "--data", "jsb-16th"])).repeat
    assert model_config(parse(["train", "--data", "jsb-quarter"])).repeat
    assert not model_config(parse(["train", "--data", "bach"])).repeat  # it loops when free
    assert model_config(parse(["train", "--data", "bach", "--repeat"])).repeat
    assert not model_config(parse(["train", "--data", "jsb-16th", "--no-repeat"])).repeat


def test_a_model_grown_from_a_smaller_one_starts_as_it(tmp_path):
    """--init-from a bundle with fewer hidden units: the grown model computes the same logits,
    and its new units learn (they have a gradient)."""
    from composer.train.bundle_writer import write_bundle
    from composer.train.loop import init_from_bundle

    torch.manual_seed(3)
    small = ModelConfig(encoding="jsb-16th", hidden=16, embed=8, lookahead=0, context=True,
                        context_voices=True, held=True, repeat=True)  # fmt: skip
    write_bundle(ChoraleLSTM(small).eval(), tmp_path, {}, {})
    big = ChoraleLSTM(ModelConfig(**{**small.to_dict(), "hidden": 24}))
    init_from_bundle(big, str(tmp_path))
    score = jsb16_scores(load_jsb("jsb-16th-satb", "valid"))[0].slice(0, 32)
    batch = collate([jsb16_example(score, None)])
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle

    with torch.no_grad():
        want = model_from_bundle(load_bundle(tmp_path))(batch)
        got = big.eval()(batch)
    finite = torch.isfinite(want)
    assert (got[finite] - want[finite]).abs().max() < 1e-5
    big.train()
    loss = big(batch)[torch.isfinite(want)].logsumexp(0)
    loss.backward()
    assert big.head.weight.grad[:, 16:].abs().sum() > 0  # what the new units send learns
