"""Numba kernels against plain references: tanh, sampling, and torch's logits (parity)."""

import numpy as np
import pytest

from composer.encoding import TOK_START, encode_frames
from composer.runtime import kernels
from composer.runtime.bundle import MODELS_DIR, load_bundle
from composer.runtime.settings import SamplingSettings
from composer.runtime.tables import Tables


def test_fast_tanh_matches_numpy():
    x = np.linspace(-30, 30, 200001).astype(np.float32)
    got = np.array([kernels.fast_tanh(np.float32(v)) for v in x[::50]])
    assert np.abs(got - np.tanh(x[::50].astype(np.float64))).max() < 1e-6


def draw(logits, allowed, temperature=1.0, top_k=0, top_p=1.0, n=1, seed=1):
    state = np.array([seed], np.uint64)
    scratch = np.zeros(len(logits), np.float32)
    cand = np.zeros(len(logits), np.int64)
    return [
        kernels.sample_token(
            logits,
            allowed,
            np.float32(temperature),
            top_k,
            np.float32(top_p),
            scratch,
            cand,
            state,
            0,
        )  # fmt: skip
        for _ in range(n)
    ]


def test_sampling_follows_the_softmax():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    allowed = np.ones(4, bool)
    counts = np.bincount(draw(logits, allowed, n=40000), minlength=4) / 40000
    assert np.abs(counts - [0.5, 0.3, 0.15, 0.05]).max() < 0.01


def test_masks_top_k_top_p_and_greedy():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    allowed = np.array([True, True, True, False])
    assert set(draw(logits, allowed, n=3000)) == {0, 1, 2}
    assert set(draw(logits, allowed, top_k=2, n=3000)) == {0, 1}
    assert set(draw(logits, allowed, top_p=0.7, n=3000)) == {0, 1}  # 0.5 < 0.7 <= 0.8
    assert set(draw(logits, allowed, temperature=0, n=10)) == {0}
    assert draw(logits, np.zeros(4, bool)) == [kernels.NO_TOKEN]


def test_same_seed_same_draws():
    logits = np.zeros(50, np.float32)
    allowed = np.ones(50, bool)
    assert draw(logits, allowed, n=100, seed=7) == draw(logits, allowed, n=100, seed=7)
    assert draw(logits, allowed, n=100, seed=7) != draw(logits, allowed, n=100, seed=8)


def shipped(name):
    path = MODELS_DIR / name
    if not (path / "weights.npz").exists():
        pytest.fail(f"the shipped model {name} is missing")
    return load_bundle(path)


def numba_logits(tables: Tables, enc, forced=None, ctx=None, batch=1):
    """Teacher-forced logits [batch, N, V] from the kernels, the same sequence ``batch`` times;
    ``forced``: what the lookahead reads."""
    n = len(enc.tokens)
    tokens = enc.tokens.astype(np.int64)
    state = tables.new_state(batch, 0)
    out = np.zeros((batch, n), np.int64)
    logits = np.zeros((batch, n, tables.head_W.shape[0]), np.float32)
    cond = tables.conditioning(enc.slot, enc.pos, enc.fermata, enc.key, forced,
                               to_fermata=enc.to_fermata, to_end=enc.to_end)  # fmt: skip
    if ctx is not None:
        ctx = np.ascontiguousarray(np.repeat(ctx, batch, axis=0))
    inputs = tables.inputs(enc.slot, cond, tokens, np.full((batch, n), -1, np.int64), ctx)
    draw = tables.draw(SamplingSettings.voice_leading("free", temperature=1.0, top_p=1.0))
    tables.step(state, 0, n, inputs, draw, out, logits)
    assert (out == tokens).all()
    return logits[:, :, : tables.vocab]  # the output layer is padded to a multiple of 8 rows


# batch 1 runs the one-sequence product (kernels.panel_product_1); batch 9 a block of 8
# sequences (kernels.panel_product) and one left over
@pytest.mark.parametrize("pattern,seqs", [("free", 1), ("soprano", 1), ("free", 9)])
def test_parity_with_torch_satb(pattern, seqs):
    torch = pytest.importorskip("torch")
    from composer.corpus import load_chorales
    from composer.train.bundle_writer import model_from_bundle
    from composer.train.dataset import collate, satb_example

    bundle = shipped("bach-satb")
    score = next(s for s in load_chorales("valid") if s.steps >= 250).slice(0, 250)  # 1000 tokens
    ex = satb_example(score, None, pattern)
    batch = collate([ex])
    with torch.inference_mode():
        ref = model_from_bundle(bundle)(batch)[0].numpy()
    t = Tables(bundle)
    e = ex.enc
    forced = np.where(ex.fixed != 132, ex.fixed, -1) if ex.use_lookahead else None
    got = numba_logits(t, e, forced, batch=seqs)
    finite = np.isfinite(ref)
    assert len(e.tokens) == 1000
    for b in range(seqs):
        assert np.abs(got[b][finite] - ref[finite]).max() < 1e-4


@pytest.mark.parametrize("batch", [1, 8])
def test_parity_with_torch_jsb(tmp_path, batch):
    """A JSB quarter-note model through the kernels' frame slots (the shipped one reads the
    repeat match of frames, which only torch computes: a model like session 4's, at random)."""
    torch = pytest.importorskip("torch")
    from composer.corpus import load_jsb
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle, write_bundle
    from composer.train.dataset import collate, jsb_example
    from composer.train.model import ChoraleLSTM, ModelConfig

    torch.manual_seed(batch)
    config = ModelConfig(encoding="jsb-quarter", hidden=64, embed=32, lookahead=0, context=True)
    write_bundle(ChoraleLSTM(config).eval(), tmp_path, {}, {})
    bundle = load_bundle(tmp_path)
    frames = [f for piece in load_jsb("jsb-quarter", "valid")[:6] for f in piece]
    enc, _ = encode_frames(frames)
    frames = frames[
        : next(i for i in range(len(frames)) if sum(len(set(f)) + 1 for f in frames[:i]) >= 1000)
    ]
    ex = jsb_example(frames, None)
    with torch.inference_mode():
        ref = model_from_bundle(bundle)(collate([ex]))[0].numpy()
    t = Tables(bundle)
    e = ex.enc
    got = numba_logits(t, e, ctx=np.ascontiguousarray(ex.context[None]), batch=batch)
    finite = np.isfinite(ref)
    assert len(e.tokens) >= 1000
    for b in range(batch):
        assert np.abs(got[b][finite] - ref[finite]).max() < 1e-4
    assert TOK_START == e.inputs()[0]


@pytest.mark.parametrize("hidden,layers,plan", [(16, 1, False), (16, 3, True), (24, 2, True)])
def test_parity_with_torch_for_any_size(tmp_path, hidden, layers, plan):
    """Gate rows in pairs of panels (hidden 16: 64 rows) run through the panels, others (hidden
    24: 96 rows) through the row-by-row products; one layer or three; batch 1 and 9; with and
    without the plan inputs (steps to the next fermata and to the end)."""
    torch = pytest.importorskip("torch")
    from composer.corpus import load_chorales
    from composer.runtime.bundle import load_bundle
    from composer.train.bundle_writer import model_from_bundle, write_bundle
    from composer.train.dataset import collate, satb_example
    from composer.train.model import ChoraleLSTM, ModelConfig

    torch.manual_seed(hidden + layers)
    config = ModelConfig(hidden=hidden, embed=16, layers=layers, lookahead=8, context=True,
                         context_voices=True, plan=plan)  # fmt: skip
    write_bundle(ChoraleLSTM(config).eval(), tmp_path, {}, {})
    bundle = load_bundle(tmp_path)
    t = Tables(bundle)
    assert (len(t.P_first) > 0) == (hidden % 16 == 0)
    score = load_chorales("valid")[0].slice(0, 64)
    score.fermatas = (20, 50)
    ex = satb_example(score, None, "free")
    with torch.inference_mode():
        ref = model_from_bundle(bundle)(collate([ex]))[0].numpy()
    finite = np.isfinite(ref)
    for seqs in (1, 9):
        got = numba_logits(t, ex.enc, batch=seqs)
        for b in range(seqs):
            assert np.abs(got[b][finite] - ref[finite]).max() < 1e-4


def test_a_sequence_samples_the_same_notes_alone_or_in_any_batch():
    """Every product a sampled token needs (the LSTM's and each voice's output rows) goes
    through the panel kernels, which sum in the same order whatever the batch: nine copies of
    one sequence, with one random state, sample exactly what it samples alone."""
    t = Tables(shipped("bach-satb"))
    from composer.encoding import plan_conditioning, satb_conditioning
    from composer.score import Key
    from composer.theory.plan import plan_fermatas

    steps = 64
    fermatas = plan_fermatas(steps, (4, 4), 0)
    slot, pos, ferm, key = satb_conditioning(steps, (4, 4), 0, fermatas, Key(0))
    to_fermata, to_end = plan_conditioning(steps, fermatas)
    cond = t.conditioning(slot, pos, ferm, key, to_fermata=to_fermata, to_end=to_end)
    settings = SamplingSettings(seed=3)
    n = steps * 4

    def sample(batch):
        state = t.new_state(batch, np.full(batch, 12345, np.uint64))
        out = np.zeros((batch, n), np.int64)
        inputs = t.inputs(slot, cond, np.full(n, -1, np.int64), np.full((batch, n), -1, np.int64))
        t.step(state, 0, n, inputs, t.draw(settings), out)
        return out

    alone = sample(1)[0]
    assert len(set(alone[::4].tolist())) > 5  # it is music, not one held note
    for b, tokens in enumerate(sample(9)):
        assert (tokens == alone).all(), f"sequence {b} of 9 differs"


def test_products_do_not_depend_on_the_batch():
    """Bit for bit, each sequence's products (the LSTM's and a voice's output rows) come out the
    same computed alone or in a batch of 9 (a block of 8 and one left over)."""
    from composer.runtime.kernels import layer_product, voice_logits

    t = Tables(shipped("bach-satb"))
    x = np.random.default_rng(0).standard_normal((9, 2 * t.hidden)).astype(np.float32)
    together = np.zeros((9, 4 * t.hidden), np.float32)
    layer_product(t.W_up[0], t.P_up[0], x, together, 9)
    v = t.head_W.shape[0]
    logits = np.zeros((9, v), np.float32)
    compact = np.zeros((9, len(t.P_out) * 32), np.float32)
    bass = 3  # two panels: the pair kernel alone, the one-panel kernel twice in a block
    voice_logits(t.P_out, t.out_rows, t.head_b, t.out_first[bass], t.out_count[bass],
                 np.ascontiguousarray(x[:, : t.hidden]), compact, logits, 9)  # fmt: skip
    for b in range(9):
        alone = np.zeros((1, 4 * t.hidden), np.float32)
        layer_product(t.W_up[0], t.P_up[0], x[b : b + 1], alone, 1)
        assert (alone[0] == together[b]).all()
        one = np.zeros((1, v), np.float32)
        top = np.ascontiguousarray(x[b : b + 1, : t.hidden])
        voice_logits(t.P_out, t.out_rows, t.head_b, t.out_first[bass], t.out_count[bass], top,
                     compact[:1], one, 1)  # fmt: skip
        assert (one[0] == logits[b]).all()


@pytest.mark.parametrize("seqs", [1, 9])
def test_each_voices_output_panels_give_the_whole_layers_logits(seqs):
    from composer.runtime.kernels import output_layer, voice_logits
    from composer.score import SATB

    t = Tables(shipped("bach-satb"))
    top = np.random.default_rng(seqs).standard_normal((seqs, t.hidden)).astype(np.float32)
    v = t.head_W.shape[0]
    whole = np.zeros((seqs, v), np.float32)
    output_layer(t.head_W, t.head_b, top, whole, seqs, 0, v)
    compact = np.zeros((seqs, len(t.P_out) * 32), np.float32)
    for s in range(len(SATB)):
        got = np.full((seqs, v), np.nan, np.float32)
        voice_logits(t.P_out, t.out_rows, t.head_b, t.out_first[s], t.out_count[s], top,
                     compact, got, seqs)  # fmt: skip
        rows = [*range(t.range_lo[s], t.range_hi[s] + 1), 128, 129]
        assert np.isfinite(got[:, rows]).all()
        assert np.isnan(np.delete(got, rows, axis=1)).all()  # nothing else written
        assert np.abs(got[:, rows] - whole[:, rows]).max() < 1e-5


@pytest.fixture(scope="module")
def panel_calls():
    """Plain compiled calls of the three IR products, one product per call."""
    from numba import njit

    @njit
    def block(P, X, out, panel, first):  # 8 sequences from ``first``, one panel
        kernels.panel_product(P, X, out, panel, first)

    @njit
    def pair(P, X, out, panel, first):  # one sequence, panels panel and panel + 1
        kernels.panel_product_1(P, X, out, panel, first)

    @njit
    def single(P, X, out, panel, first):  # one sequence, one panel
        kernels.panel_product_1x1(P, X, out, panel, first)

    return {"block": (block, 1, kernels.SEQS), "pair": (pair, 2, 1), "single": (single, 1, 1)}


@pytest.mark.parametrize("k", [1, 3, 17, 33, 101])
@pytest.mark.parametrize("kind", ["block", "pair", "single"])
def test_ir_panel_products_against_numpy(panel_calls, kind, k):
    """Each IR product adds exactly its rows x sequences of X @ W.T into out, for odd depths K
    and a panel and a first sequence other than 0; every other entry of out is left as it was."""
    call, panels, seqs = panel_calls[kind]
    rng = np.random.default_rng(k)
    rows, batch = 3 * kernels.ROWS, kernels.SEQS + 3  # three panels, 11 sequences
    W = rng.standard_normal((rows, k)).astype(np.float32)
    X = rng.standard_normal((batch, k)).astype(np.float32)
    start = rng.standard_normal((batch, rows)).astype(np.float32)
    out = start.copy()
    panel, first = 1, 3 if seqs == 1 else 2
    call(kernels.pack_panels(W), X, out, panel, first)
    want = start.astype(np.float64)
    r0, r1 = panel * kernels.ROWS, (panel + panels) * kernels.ROWS
    s0, s1 = first, first + seqs
    want[s0:s1, r0:r1] += X[s0:s1].astype(np.float64) @ W[r0:r1].T.astype(np.float64)
    assert np.abs(out - want).max() < 1e-5 * (1 + np.sqrt(k))
    untouched = np.ones(out.shape, bool)
    untouched[s0:s1, r0:r1] = False
    assert (out[untouched] == start[untouched]).all()


@pytest.mark.parametrize("batch", [1, 3, 8, 9, 17])
def test_layer_product_against_numpy_for_odd_sizes(batch):
    """The whole product a step makes (blocks of 8 through panel_product, the rest through
    panel_product_1), for an odd depth and batches that leave 0 to 7 sequences over."""
    rng = np.random.default_rng(batch)
    W = rng.standard_normal((4 * kernels.ROWS, 37)).astype(np.float32)
    X = rng.standard_normal((batch, 37)).astype(np.float32)
    out = np.zeros((batch, len(W)), np.float32)
    kernels.layer_product(W, kernels.pack_panels(W), X, out, batch)
    assert np.abs(out - X.astype(np.float64) @ W.T.astype(np.float64)).max() < 1e-4


def test_the_masks_parallels_rule_is_the_python_one():
    """kernels.voice_mask keeps a compiled copy of composer.theory.voiceleading.parallel: for
    every candidate pitch of the voice being sampled, it is forbidden by RULE_NO_PARALLELS
    exactly when it makes parallels with a voice above it, as the Python rule says."""
    from composer.theory.voiceleading import parallel

    rng = np.random.default_rng(0)
    lo = np.array([60, 53, 48, 40, 0], np.int64)
    hi = np.array([81, 74, 69, 62, 127], np.int64)
    pitch_ok = np.ones(128, bool)
    allowed = np.zeros(kernels.END + 1, bool)
    forbidden_seen = 0
    for _ in range(400):
        s = int(rng.integers(1, 4))  # alto, tenor or bass: the voices with voices above them
        before = rng.integers(40, 82, (1, 4)).astype(np.int64)
        sounding = before + rng.integers(-4, 5, (1, 4))
        sounding[0, rng.random(4) < 0.1] = -1  # now and then a voice rests
        before[0, rng.random(4) < 0.1] = -1
        free = allowed.copy()
        kernels.voice_mask(free, 0, s, sounding, before, lo, hi, pitch_ok, 0)
        kernels.voice_mask(allowed, 0, s, sounding, before, lo, hi, pitch_ok,
                           kernels.RULE_NO_PARALLELS)  # fmt: skip
        for p in range(lo[s], hi[s] + 1):
            makes = any(
                parallel((int(before[0, u]), int(sounding[0, u])), (int(before[0, s]), p))
                for u in range(s)
            )
            assert allowed[p] == (free[p] and not makes), (s, before, sounding, p)
            forbidden_seen += makes
    assert forbidden_seen > 50  # the draws do reach the rule


def test_the_masks_contrary_rule_is_the_python_one():
    """With RULE_NO_CONTRARY too, a pitch is forbidden exactly when it makes fifths or octaves
    with a voice above it by parallel or by contrary motion (composer.theory.voiceleading)."""
    from composer.theory.voiceleading import contrary, parallel

    rng = np.random.default_rng(1)
    lo = np.array([60, 53, 48, 40, 0], np.int64)
    hi = np.array([81, 74, 69, 62, 127], np.int64)
    pitch_ok = np.ones(128, bool)
    allowed = np.zeros(kernels.END + 1, bool)
    contrary_seen = 0
    rules = kernels.RULE_NO_PARALLELS | kernels.RULE_NO_CONTRARY
    for _ in range(400):
        s = int(rng.integers(1, 4))
        before = rng.integers(40, 82, (1, 4)).astype(np.int64)
        sounding = before + rng.integers(-6, 7, (1, 4))
        free = allowed.copy()
        kernels.voice_mask(free, 0, s, sounding, before, lo, hi, pitch_ok, 0)
        kernels.voice_mask(allowed, 0, s, sounding, before, lo, hi, pitch_ok, rules)
        for p in range(lo[s], hi[s] + 1):
            moves = [((int(before[0, u]), int(sounding[0, u])), (int(before[0, s]), p))
                     for u in range(s)]  # fmt: skip
            by_contrary = any(contrary(*m) for m in moves)
            makes = by_contrary or any(parallel(*m) for m in moves)
            assert allowed[p] == (free[p] and not makes), (s, before, sounding, p)
            contrary_seen += by_contrary
    assert contrary_seen > 30


def test_the_kernels_refuse_a_jsb_model_that_reads_the_repeat_match(tmp_path):
    pytest.importorskip("torch")
    from composer.errors import ModelError
    from composer.train.bundle_writer import write_bundle
    from composer.train.model import ChoraleLSTM, ModelConfig

    config = ModelConfig(encoding="jsb-quarter", hidden=16, embed=8, lookahead=0, context=True,
                         repeat=True)  # fmt: skip
    write_bundle(ChoraleLSTM(config).eval(), tmp_path, {}, {})
    with pytest.raises(ModelError, match="SATB steps only"):
        Tables(load_bundle(tmp_path))
