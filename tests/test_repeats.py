"""The repeat match as the kernels compute it, token by token while sampling, equals the one the
model learned from (composer.train.features.repeat_match), and a model that reads it gives the
same logits in torch and in the kernels, in one call or in chunks."""

import numpy as np
import pytest

from composer.corpus import load_chorales
from composer.encoding import encode_satb
from composer.runtime import repeats
from composer.runtime.settings import SamplingSettings
from composer.runtime.tables import Tables
from composer.train.features import repeat_match


def kernel_rows(tokens: np.ndarray, chunk: int) -> np.ndarray:
    """The kernels' match row at every position, the runs started afresh every ``chunk``
    positions (as at each kernel call) and advanced step by step between."""
    out = tokens.astype(np.int64)[None].copy()
    runs = np.zeros((1, len(tokens) // 16 + 2), np.int64)
    rows = np.empty(len(tokens), np.int64)
    for i in range(len(tokens)):
        if i % chunk == 0:
            repeats.start_runs(out, 0, i // 4, runs)
        elif i % 4 == 0:
            repeats.advance_runs(out, 0, i // 4, runs)
        rows[i] = repeats.match_row(out, 0, i, runs, 133)
    return rows


@pytest.mark.parametrize("chunk", [16, 12, 10**6])
def test_the_kernels_match_as_the_model_learned(chunk):
    for score in load_chorales("valid")[:6]:
        tokens = encode_satb(score).tokens
        expected = repeat_match(tokens)
        assert (expected // 133 > 0).mean() > 0.3  # chorales do repeat themselves
        assert np.array_equal(kernel_rows(tokens, chunk), expected)


def test_parity_with_torch_with_the_repeat_match(tmp_path):
    torch = pytest.importorskip("torch")
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle, write_bundle
    from composer.train.dataset import collate, satb_example
    from composer.train.model import ChoraleLSTM, ModelConfig

    torch.manual_seed(5)
    config = ModelConfig(hidden=32, embed=16, layers=2, lookahead=8, context=True,
                         context_voices=True, plan=True, repeat=True)  # fmt: skip
    model = ChoraleLSTM(config).eval()
    with torch.no_grad():  # a trust big enough to matter
        model.repeat_gate.bias.copy_(torch.arange(7.0))
    write_bundle(model, tmp_path, {}, {})
    bundle = load_bundle(tmp_path)
    score = load_chorales("valid")[1].slice(0, 96)
    ex = satb_example(score, None, "free", repeat=True)
    with torch.inference_mode():
        ref = model_from_bundle(bundle)(collate([ex]))[0].numpy()
    t = Tables(bundle)
    enc = ex.enc
    n = len(enc.tokens)
    cond = t.conditioning(enc.slot, enc.pos, enc.fermata, enc.key,
                          to_fermata=enc.to_fermata, to_end=enc.to_end)  # fmt: skip
    draw = t.draw(SamplingSettings.voice_leading("free", temperature=1.0, top_p=1.0))
    finite = np.isfinite(ref)
    for seqs, chunk in ((1, n), (9, 16)):
        state = t.new_state(seqs, 0)
        out = np.zeros((seqs, n), np.int64)
        logits = np.zeros((seqs, n, t.head_W.shape[0]), np.float32)
        inputs = t.inputs(enc.slot, cond, enc.tokens.astype(np.int64),
                          np.full((seqs, n), -1, np.int64))  # fmt: skip
        for start in range(0, n, chunk):
            t.step(state, start, min(n, start + chunk), inputs, draw, out, logits)
        for b in range(seqs):
            got = logits[b, :, : t.vocab]
            assert np.abs(got[finite] - ref[finite]).max() < 1e-4


def test_a_stream_finds_no_match(tmp_path):
    """An endless stream keeps no history: its tokens are as the model learned for an unknown
    end, with nothing matched (and it runs)."""
    pytest.importorskip("torch")
    from composer.runtime.bundle import load_bundle
    from composer.runtime.sampler import Sampler
    from composer.train.bundle_writer import write_bundle
    from composer.train.model import ChoraleLSTM, ModelConfig

    config = ModelConfig(hidden=16, embed=8, layers=1, lookahead=8, context=True,
                         context_voices=True, plan=True, repeat=True)  # fmt: skip
    write_bundle(ChoraleLSTM(config).eval(), tmp_path, {}, {})
    sampler = Sampler(load_bundle(tmp_path))
    stream = sampler.stream("C", (4, 4), SamplingSettings(seed=1))
    cells = [next(stream) for _ in range(40)]
    assert len(cells) == 40
