"""The kernels compiled ahead of time (composer/runtime/aot.py) against numba's, and how
composer/runtime/native.py chooses between them: the same logits and notes bit for bit, wrong
arrays refused, numba's kernels whenever the extension is missing, stale or broken."""

import os
import subprocess
import sys

import numpy as np
import pytest

from composer.runtime import native
from composer.runtime.layout import Outputs
from composer.runtime.sampler import Sampler
from composer.runtime.settings import SamplingSettings
from composer.score import Key
from composer.theory.counterpoint import beat_steps


@pytest.fixture(scope="module")
def aot():
    """The extension built for these sources on this machine (``./run.sh setup`` builds it)."""
    path = native.extension_path(native.build_key())
    if not path.exists():
        pytest.skip(f"no ahead-of-time kernels built ({path.name}): ./run.sh setup builds them")
    return native.load_aot(path)


@pytest.fixture(scope="module")
def jit():
    return native.load_jit()


@pytest.fixture(scope="module")
def sampler():
    return Sampler.load()


def run_both(sampler, aot, jit, batch, forced_every=0, seed=1):
    """Run 12 steps of a 4/4 plan through each set of kernels from the same state: (tokens,
    logits, log weights) of each. forced_every > 0: every that-many-th token forced for all."""
    t = sampler.tables
    steps = 12
    n = steps * 4
    slot = np.tile(np.arange(4), steps).astype(np.int64)
    pos = np.repeat(np.arange(steps) % 16, 4).astype(np.int64)
    zeros = np.zeros(n, np.int64)
    forced = np.full(n, -1, np.int64)
    if forced_every:
        forced[::forced_every] = 128  # HOLD (a rest where nothing sounds: the model decides)
        forced[:4] = [72, 67, 60, 48]
    results = []
    for k in (aot, jit):
        cond = np.empty((n, t.T_slot.shape[1]), np.float32)
        k.conditioning_rows(t.T_slot, slot, t.T_pos, pos, t.T_ferm, zeros, t.T_key, zeros, cond)
        cond += t.T_phrase[np.full(n, 3)] + t.T_end[np.full(n, 20)]
        fixed = np.where(forced >= 0, forced, 132).reshape(-1, 4).astype(np.int64)
        look = np.zeros((steps, t.look_size), np.float32)
        k.backward_lookahead(fixed, np.ascontiguousarray(pos[::4]), t.vocab, t.Tb_fix, t.Tb_pos,
                             t.Wb_hh, look)  # fmt: skip
        cond = np.ascontiguousarray(cond + np.repeat(look @ t.W_look, 4, axis=0))
        state = t.new_state(batch, seed)
        out = np.zeros((batch, n), np.int64)
        logits = np.zeros((batch, n, t.head_W.shape[0]), np.float32)
        log_weight = np.zeros(batch)
        inputs = t.inputs(slot, cond, forced, np.full((batch, n), -1, np.int64))
        draw = t.draw(SamplingSettings(temperature=0.9, top_p=0.95, seed=seed), Key.parse("G"))
        outputs = Outputs(out, logits, True, log_weight, True)
        k.run_positions(state.kernel_arrays(), 0, n, inputs, t.weights, draw, outputs)
        results.append((out, logits, log_weight, look, state))
    return results


@pytest.mark.parametrize("batch, forced_every", [(1, 0), (9, 0), (16, 3)])
def test_ahead_of_time_kernels_compute_what_numbas_compute(sampler, aot, jit, batch, forced_every):
    (out_a, logits_a, w_a, look_a, s_a), (out_j, logits_j, w_j, look_j, s_j) = run_both(
        sampler, aot, jit, batch, forced_every
    )
    assert np.array_equal(look_a, look_j)
    assert np.array_equal(logits_a, logits_j)  # bit for bit, not merely close
    assert np.array_equal(out_a, out_j)
    assert np.array_equal(w_a, w_j)
    assert np.array_equal(s_a.h, s_j.h) and np.array_equal(s_a.rng, s_j.rng)
    assert (logits_a != 0).any() and len(set(out_a[:, 4:].ravel().tolist())) > 3


def test_ahead_of_time_faults_are_numbas(aot, jit):
    rng = np.random.default_rng(3)
    tokens = rng.integers(40, 80, (24, 64 * 4)).astype(np.int64)
    tokens[rng.random(tokens.shape) < 0.4] = 128
    beats = beat_steps(64, (4, 4), 0)
    fermatas = np.zeros(64, bool)
    fermatas[28:32] = fermatas[60:] = True
    got = []
    for k in (aot, jit):
        out = np.zeros(24, np.int64)
        k.count_batch(tokens, 8, 64, np.ascontiguousarray(beats, bool), fermatas,
                      native.teacher(Key.parse("D minor")), out)  # fmt: skip
        got.append(out)
    assert np.array_equal(got[0], got[1]) and got[0].sum() > 0


def test_a_whole_piece_is_the_same_note_for_note(sampler, aot, jit, monkeypatch):
    """generate with the default 32 candidates, on two threads, through each set of kernels."""
    pieces = []
    for k in (aot, jit):
        monkeypatch.setattr(native, "_loaded", k)
        settings = SamplingSettings.voice_leading("bach", temperature=0.9, seed=5, particles=32)
        [p] = sampler.generate(bars=4, key=Key.parse("E minor"), settings=settings)
        pieces.append(p.grid)
    assert np.array_equal(pieces[0], pieces[1])


def test_wrong_arrays_are_refused_not_read(sampler, aot):
    t = sampler.tables
    n = 8
    slot, zeros = np.arange(n, dtype=np.int64) % 4, np.zeros(n, np.int64)
    good = (t.T_slot, slot, t.T_pos, zeros, t.T_ferm, zeros, t.T_key, zeros)
    out = np.empty((n, t.T_slot.shape[1]), np.float32)
    aot.conditioning_rows(*good, out)
    for bad in (
        out.astype(np.float64),  # another dtype
        np.empty((2 * n, out.shape[1]), np.float32)[::2],  # strided
        out[None],  # another number of dimensions
        np.frombuffer(out.tobytes(), np.float32).reshape(out.shape),  # read-only
    ):
        with pytest.raises(TypeError):
            aot.conditioning_rows(*good, bad)
    with pytest.raises(TypeError):
        aot.conditioning_rows(*good)


def test_numbas_kernels_stand_in_for_a_missing_or_broken_extension(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "DIRECTORY", tmp_path)
    monkeypatch.setattr(native, "_loaded", None)
    assert native.kernels().source == "jit"  # missing
    path = native.extension_path(native.build_key(), tmp_path)
    path.write_bytes(b"not a shared library")
    monkeypatch.setattr(native, "_loaded", None)
    assert native.kernels().source == "jit"  # broken
    counted = native.count_faults(np.full((2, 16), 60, np.int64), 0, 4, np.ones(4, bool), None)
    assert counted.shape == (2,)


def test_the_key_changes_with_the_sources(tmp_path, monkeypatch):
    key = native.build_key()
    for rel in native.SOURCES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((native.PACKAGE / rel).read_bytes())
    monkeypatch.setattr(native, "PACKAGE", tmp_path)
    assert native.build_key() == key
    with open(tmp_path / "runtime/kernels.py", "a") as f:
        f.write("\n# changed\n")
    assert native.build_key() != key


def test_a_batch_job_never_imports_numba_when_the_extension_is_built(aot, tmp_path):
    code = (
        "import sys; from composer.cli.main import main; "
        f"main(['generate', '--bars', '2', '--seed', '1', '--out', r'{tmp_path / 'x.mid'}']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "x.mid").exists()


def test_composer_kernels_jit_chooses_numba(tmp_path):
    code = "from composer.runtime import native; print(native.kernels().source)"
    env = {**os.environ, "COMPOSER_KERNELS": "jit"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "jit"
