"""Numba kernels: the LSTM steps, the output layer, masks and sampling. No torch.

Pure functions over arrays, compiled with ``cache=True, nogil=True`` and explicit signatures;
the random state (one splitmix64 word per sequence) is passed in and updated in place, so
results are reproducible and the kernels are thread-safe. The outer loop (chunks, progress,
cancelling) stays in Python (composer/runtime/sampler.py).

Shapes: B sequences sampled together (variations), H hidden units, G = 4H gates (torch's order
i, f, g, o), V vocabulary, N token positions. The first LSTM layer's input weights are folded
into per-token and per-conditioning tables (``T_*``: [rows, G]), so a step only multiplies the
recurrent weights. Those products run through register-blocked kernels written in LLVM IR
(``panel_product``, ``panel_product_1``, below) over a packed copy of the weights.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from composer.runtime import repeats
from composer.runtime.layout import (  # noqa: F401  (the names Python reads, re-exported)
    CTX_GIVEN,
    CTX_NONE,
    CTX_SOUNDING,
    ROWS,
    RULE_CLOSE_SPACING,
    RULE_NO_CONTRARY,
    RULE_NO_CROSSING,
    RULE_NO_PARALLELS,
    Draw,
    Inputs,
    Outputs,
    State,
    Weights,
    pack_panels,
)

f32 = types.float32
i64 = types.int64
u64 = types.uint64
F1 = f32[::1]
F2 = f32[:, ::1]
F3 = f32[:, :, ::1]
F4 = f32[:, :, :, ::1]
I1 = i64[::1]
I2 = i64[:, ::1]
I3 = i64[:, :, ::1]

NO_TOKEN = -1
TOK_UNKNOWN = 132  # the repeat match's "nothing matches" (bucket 0)
# Token ids (composer.encoding): pitches 0-127, then HOLD, REST, END.
HOLD = 128
REST = 129
END = 130

# Every kernel: cached, releases the GIL, fastmath, numpy's error model. Those with an explicit
# signature (run_positions, sample_token, ...) are compiled at import; the helpers without one
# are called only from compiled kernels, typed on first use and compiled into their callers.
_OPTS = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")


TANH_CLAMP = np.float32(7.90531110763549805)


@njit(**_OPTS)
def fast_tanh(x):
    """tanh by a rational minimax approximation (max abs error 3e-7 in float32).

    Plain arithmetic, so LLVM vectorizes the loops that call it; np.tanh and np.exp do not
    vectorize here (no SVML) and took most of a step's time.
    """
    x = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


@njit(**_OPTS)
def _sigmoid(x):
    return np.float32(0.5) + np.float32(0.5) * fast_tanh(np.float32(0.5) * x)


@njit(**_OPTS)
def matvec1_add(W, x, out):
    """out += W @ x for one sequence: 4 rows at a time (4 independent sums per loaded x).
    W: [R, K] row-major, x: [K], out: [R]."""
    rows, k = W.shape
    rows4 = rows // 4 * 4
    for j in range(0, rows4, 4):
        w0, w1, w2, w3 = W[j], W[j + 1], W[j + 2], W[j + 3]
        a0 = a1 = a2 = a3 = np.float32(0.0)
        for i in range(k):
            xi = x[i]
            a0 += w0[i] * xi
            a1 += w1[i] * xi
            a2 += w2[i] * xi
            a3 += w3[i] * xi
        out[j] += a0
        out[j + 1] += a1
        out[j + 2] += a2
        out[j + 3] += a3
    for j in range(rows4, rows):
        w = W[j]
        acc = np.float32(0.0)
        for i in range(k):
            acc += w[i] * x[i]
        out[j] += acc


@njit(**_OPTS)
def matvec_add(W, X, out, batch):
    """out[b, :] += W @ X[b, :] for b < batch. W: [R, K] row-major; X: [B, K]; out: [B, R].

    Sequences 0 .. 8n-1 (R even): blocks of 2 rows x 8 sequences, 16 sums, so each weight loaded
    serves 8 sequences; the rest: blocks of 4 rows x 4 sequences; then one sequence at a time, 4
    rows at once. Each sequence's sums are formed the same way whatever the batch around it, as
    long as groups start at multiples of 8 (sampler.split_batch).
    """
    rows, k = W.shape
    octs = batch // 8 * 8 if rows % 2 == 0 else 0
    for j in range(0, rows if octs else 0, 2):
        w0, w1 = W[j], W[j + 1]
        for b in range(0, octs, 8):
            x0, x1, x2, x3 = X[b], X[b + 1], X[b + 2], X[b + 3]
            x4, x5, x6, x7 = X[b + 4], X[b + 5], X[b + 6], X[b + 7]
            a00 = a01 = a02 = a03 = a04 = a05 = a06 = a07 = np.float32(0.0)
            a10 = a11 = a12 = a13 = a14 = a15 = a16 = a17 = np.float32(0.0)
            for i in range(k):
                v0, v1 = w0[i], w1[i]
                y0, y1, y2, y3 = x0[i], x1[i], x2[i], x3[i]
                y4, y5, y6, y7 = x4[i], x5[i], x6[i], x7[i]
                a00 += v0 * y0
                a01 += v0 * y1
                a02 += v0 * y2
                a03 += v0 * y3
                a04 += v0 * y4
                a05 += v0 * y5
                a06 += v0 * y6
                a07 += v0 * y7
                a10 += v1 * y0
                a11 += v1 * y1
                a12 += v1 * y2
                a13 += v1 * y3
                a14 += v1 * y4
                a15 += v1 * y5
                a16 += v1 * y6
                a17 += v1 * y7
            out[b, j] += a00
            out[b + 1, j] += a01
            out[b + 2, j] += a02
            out[b + 3, j] += a03
            out[b + 4, j] += a04
            out[b + 5, j] += a05
            out[b + 6, j] += a06
            out[b + 7, j] += a07
            out[b, j + 1] += a10
            out[b + 1, j + 1] += a11
            out[b + 2, j + 1] += a12
            out[b + 3, j + 1] += a13
            out[b + 4, j + 1] += a14
            out[b + 5, j + 1] += a15
            out[b + 6, j + 1] += a16
            out[b + 7, j + 1] += a17
    quads = octs + (batch - octs) // 4 * 4 if rows % 4 == 0 else octs
    for j in range(0, rows if quads > octs else 0, 4):
        w0, w1, w2, w3 = W[j], W[j + 1], W[j + 2], W[j + 3]
        for b in range(octs, quads, 4):
            x0, x1, x2, x3 = X[b], X[b + 1], X[b + 2], X[b + 3]
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = np.float32(0.0)
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = np.float32(0.0)
            for i in range(k):
                v0, v1, v2, v3 = w0[i], w1[i], w2[i], w3[i]
                y0, y1, y2, y3 = x0[i], x1[i], x2[i], x3[i]
                a00 += v0 * y0
                a01 += v0 * y1
                a02 += v0 * y2
                a03 += v0 * y3
                a10 += v1 * y0
                a11 += v1 * y1
                a12 += v1 * y2
                a13 += v1 * y3
                a20 += v2 * y0
                a21 += v2 * y1
                a22 += v2 * y2
                a23 += v2 * y3
                a30 += v3 * y0
                a31 += v3 * y1
                a32 += v3 * y2
                a33 += v3 * y3
            out[b, j] += a00
            out[b + 1, j] += a01
            out[b + 2, j] += a02
            out[b + 3, j] += a03
            out[b, j + 1] += a10
            out[b + 1, j + 1] += a11
            out[b + 2, j + 1] += a12
            out[b + 3, j + 1] += a13
            out[b, j + 2] += a20
            out[b + 1, j + 2] += a21
            out[b + 2, j + 2] += a22
            out[b + 3, j + 2] += a23
            out[b, j + 3] += a30
            out[b + 1, j + 3] += a31
            out[b + 2, j + 3] += a32
            out[b + 3, j + 3] += a33
    if quads == batch:
        return
    for b in range(quads, batch):  # one to three sequences left
        matvec1_add(W, X[b], out[b])


# --- The products' inner kernels, in LLVM IR -----------------------------------------------
#
# Both run as a register-blocked outer product, the way BLAS micro-kernels do: for each input i,
# load a panel's weights for i (16-float vectors), broadcast x[s, i] for each sequence of the
# block, and add the products into vector accumulators that stay in registers the whole loop,
# with no horizontal sums at the end. Numba cannot express vector accumulators (an array of them
# lives in memory), so the loop is built directly in LLVM IR through numba.extending.intrinsic
# and inlined into the kernels that call it. The weights are packed once into panels 32 rows
# wide (pack_panels), so a product reads them front to back:
#
# - panel_product: one panel x 8 sequences, 16 accumulators. From 8 sequences on, a step is bound
#   by arithmetic, and each weight loaded serves 8 sequences.
# - panel_product_1: two panels x 1 sequence, 4 accumulators (enough to hide the adds' latency).
#   At one sequence, a step is bound by memory: this reads two sequential streams.
#
# Each sum runs over i in order, one multiply-add at a time, in both kernels: a sequence's
# result is the same whichever kernel computes it and whatever the other sequences are.
#
# The multiply-add is ``llvm.fmuladd``, not ``llvm.fma``: where the CPU has FMA (x86 since
# Haswell, every AArch64) LLVM emits the same fused instruction as ``llvm.fma`` would, so the
# notes are bit for bit those of the fused kernel; where it has none, ``llvm.fma`` must still
# round once and becomes a call to libm's ``fmaf`` per lane (a library call in the innermost
# loop), while ``llvm.fmuladd`` becomes a vector multiply and a vector add. Fused or not is the
# target's choice, the same for every kernel and every batch, so a sequence still samples the
# same notes alone or in a batch on any one machine; between machines with and without FMA the
# last bits may differ.
#
# Register assumptions. panel_product keeps 16 v16f32 accumulators (8 sequences x 2 vectors)
# live across the loop, plus the 2 weight vectors and a broadcast: 19 of AVX-512's 32 vector
# registers, so on AVX-512 they all fit. panel_product_1 needs 4 accumulators + 4 weight
# vectors + a broadcast. numba compiles for the host CPU, and LLVM splits each v16f32 into the
# vectors the CPU has: on AVX2 (16 registers of 8 floats) panel_product's accumulators become 32
# ymm values, more than the registers, so some live on the stack and each multiply-add also
# loads and stores; on SSE or NEON (4 floats) more so. The results are unchanged (the same
# operations per lane, in the same order); only the speed drops, by an amount not measured here
# (this machine has AVX-512; bench/sampler.py's matvec_gmacs would show it). Keeping AVX2 in
# registers would take a smaller block (say 4 sequences x 2 vectors of 8 floats: 8 accumulators)
# and panels packed to match.
#
# Prefetching. Each product asks for its weights PREFETCH_ROWS rows (8: 2 KB of a panel) before
# it reads them (``llvm.prefetch``). The weights a step reads (3 MB for the shipped model: layer 1
# and 2 in panels) do not stay in a core's L2 from one step to the next, and the hardware's own
# prefetcher left the products waiting on those loads (perf annotate: a third of their time on
# the instruction after the weight load). Prefetching changes no result (it only moves data into
# the cache); it made a 16-bar generate with 32 candidates 15% faster on this machine
# (4 to 32 rows ahead tried: 8 was best).
# (They live in this file, not a module of their own, because numba's cache of a kernel is only
# invalidated by changes to the file that defines it.)

LANES = 16  # floats per vector
PREFETCH_ROWS = 8  # how far ahead the products ask for their weights
SEQS = 8  # sequences per block of panel_product: 8 x 2 vectors = 16 accumulators


def _c_float32(ty, ndim) -> bool:
    return (
        isinstance(ty, types.Array)
        and ty.dtype == types.float32
        and ty.ndim == ndim
        and ty.layout == "C"
    )


def _panel_kernel(count: int, seqs: int):
    """An intrinsic ``(P, X, out, panel, first)`` for the rows of panels panel .. panel + count - 1
    (rows panel * ROWS .. (panel + count) * ROWS - 1) of out[first : first + seqs] +=
    X[first : first + seqs] @ W.T, with the weights W packed in P (``pack_panels``).

    P: float32[R / ROWS, K, ROWS]; X: float32[B, K]; out: float32[B, R]; all C-contiguous, with
    panel + count <= R / ROWS, first + seqs <= B and K >= 1 (not checked: the callers do).
    """
    vectors = count * ROWS // LANES

    def kernel(typingctx, P, X, out, panel, first):
        if not (_c_float32(P, 3) and _c_float32(X, 2) and _c_float32(out, 2)):
            return None
        sig = types.void(P, X, out, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            p_arr, x_arr, o_arr = (
                context.make_array(t)(context, builder, v)
                for t, v in zip(signature.args[:3], args[:3])
            )
            panel_i, first_i = args[3:]
            intp = context.get_value_type(types.intp)
            vec = ir.VectorType(ir.FloatType(), LANES)
            fmuladd = cgutils.get_or_insert_function(  # see "multiply-add" above
                builder.module, ir.FunctionType(vec, [vec, vec, vec]), "llvm.fmuladd.v16f32"
            )

            def const(n):
                return ir.Constant(intp, n)

            def i32(n):
                return ir.Constant(ir.IntType(32), n)

            i8p = ir.IntType(8).as_pointer()
            prefetch = builder.module.declare_intrinsic(  # named for the pointer type LLVM has
                "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p] + [i32(0).type] * 3)
            )

            def vector_at(ptr, offset):
                return builder.bitcast(builder.gep(ptr, [offset]), vec.as_pointer())

            k = builder.extract_value(p_arr.shape, 1)
            x_stride = builder.extract_value(x_arr.shape, 1)
            o_stride = builder.extract_value(o_arr.shape, 1)
            panel_size = builder.mul(k, const(ROWS))
            weights = builder.gep(p_arr.data, [builder.mul(panel_i, panel_size)])
            x_rows = builder.gep(x_arr.data, [builder.mul(first_i, x_stride)])
            zero = ir.Constant(vec, [0.0] * LANES)
            undef = ir.Constant(vec, ir.Undefined)
            splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)

            entry = builder.block
            loop = builder.append_basic_block("panel.loop")
            done = builder.append_basic_block("panel.done")
            builder.branch(loop)
            builder.position_at_end(loop)
            i = builder.phi(intp)
            i.add_incoming(const(0), entry)
            acc = [[builder.phi(vec) for _ in range(vectors)] for _ in range(seqs)]
            for row in acc:
                for a in row:
                    a.add_incoming(zero, entry)
            w_row = builder.gep(weights, [builder.mul(i, const(ROWS))])
            for q in range(count):  # see "Prefetching" above: a row is two cache lines
                for line in range(ROWS // LANES):
                    offset = const(PREFETCH_ROWS * ROWS + line * LANES)
                    ahead = builder.add(builder.mul(const(q), panel_size), offset)
                    address = builder.bitcast(builder.gep(w_row, [ahead]), i8p)
                    builder.call(prefetch, [address, i32(0), i32(3), i32(1)])  # read, keep, data
            w = [  # panel q's h-th vector
                builder.load(vector_at(w_row, builder.add(q_offset, const(h * LANES))), align=4)
                for q_offset in (builder.mul(const(q), panel_size) for q in range(count))
                for h in range(ROWS // LANES)
            ]
            summed = []
            for s in range(seqs):
                xs = builder.load(
                    builder.gep(x_rows, [builder.add(builder.mul(const(s), x_stride), i)])
                )
                xv = builder.shuffle_vector(
                    builder.insert_element(undef, xs, const(0)), undef, splat
                )
                summed.append([builder.call(fmuladd, [w[h], xv, acc[s][h]]) for h in range(len(w))])
            i_next = builder.add(i, const(1))
            body = builder.block
            i.add_incoming(i_next, body)
            for s in range(seqs):
                for h, a in enumerate(acc[s]):
                    a.add_incoming(summed[s][h], body)
            builder.cbranch(builder.icmp_signed("<", i_next, k), loop, done)

            builder.position_at_end(done)
            column = builder.mul(panel_i, const(ROWS))
            for s in range(seqs):
                o_row = builder.add(builder.mul(builder.add(first_i, const(s)), o_stride), column)
                for h, total in enumerate(summed[s]):
                    ptr = vector_at(o_arr.data, builder.add(o_row, const(h * LANES)))
                    builder.store(builder.fadd(builder.load(ptr, align=4), total), ptr, align=4)
            return context.get_dummy_value()

        return sig, codegen

    kernel.__name__ = f"panel_product_{count}x{seqs}"
    return intrinsic(kernel)


panel_product = _panel_kernel(1, SEQS)
panel_product_1 = _panel_kernel(2, 1)  # panels in pairs: an even number of them
panel_product_1x1 = _panel_kernel(1, 1)  # one panel, one sequence: a voice's output rows


@njit(**_OPTS)
def lstm_cell(gates, h, c, batch):
    """Apply LSTM gates [B, 4H] (pre-activation, i f g o) to state h, c [B, H] in place."""
    hidden = h.shape[1]
    for b in range(batch):
        # 1-D views of the four gate blocks: plain unit-stride loops that LLVM vectorizes
        gi = gates[b, :hidden]
        gf = gates[b, hidden : 2 * hidden]
        gg = gates[b, 2 * hidden : 3 * hidden]
        go = gates[b, 3 * hidden :]
        hb = h[b]
        cb = c[b]
        for u in range(hidden):
            cn = _sigmoid(gf[u]) * cb[u] + _sigmoid(gi[u]) * fast_tanh(gg[u])
            cb[u] = cn
            hb[u] = _sigmoid(go[u]) * fast_tanh(cn)


@njit(**_OPTS)
def _next_random(state, b):
    """splitmix64: advance sequence b's state, return 64 random bits."""
    z = state[b] + types.uint64(0x9E3779B97F4A7C15)
    state[b] = z
    z = (z ^ (z >> types.uint64(30))) * types.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> types.uint64(27))) * types.uint64(0x94D049BB133111EB)
    return z ^ (z >> types.uint64(31))


@njit(**_OPTS)
def uniform(state, b):
    """A float64 in [0, 1) from sequence b's random state."""
    return np.float64(_next_random(state, b) >> types.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(i64(F1, types.boolean[::1], f32, i64, f32, F1, I1, types.uint64[::1], i64), **_OPTS)
def sample_token(logits, allowed, temperature, top_k, top_p, scratch, cand, state, b):
    """Sample a token from logits [V] restricted to ``allowed``.

    temperature <= 0 takes the most likely allowed token. top_k = 0 and top_p >= 1 disable those
    filters. scratch: float32[V] and cand: int64[V], work space. Returns NO_TOKEN if nothing is
    allowed. The allowed tokens are listed first (cand, in order), so the rest of the work
    scales with how many a voice may take, not with the vocabulary.
    """
    n = 0
    best, best_i = -np.inf, NO_TOKEN
    for i in range(logits.shape[0]):
        if allowed[i]:
            cand[n] = i
            n += 1
            if logits[i] > best:
                best, best_i = logits[i], i
    if best_i == NO_TOKEN or temperature <= 0:
        return best_i
    # probabilities, unnormalized
    total = 0.0
    for j in range(n):
        p = math.exp((logits[cand[j]] - best) / temperature)
        scratch[j] = p
        total += p
    if top_k > 0 or top_p < 1.0:
        # keep the likeliest tokens: at most top_k, and just enough to reach top_p of the mass.
        # A selection loop, O(kept * allowed): the nucleus is small, and nothing is allocated.
        limit = top_k if top_k > 0 else n
        kept, mass = 0, 0.0
        while kept < limit and mass < top_p * total:
            top, top_j = 0.0, -1
            for j in range(n):
                if scratch[j] > top:
                    top, top_j = scratch[j], j
            if top_j < 0:
                break
            scratch[top_j] = -top  # mark as kept (negative), restore below
            kept += 1
            mass += top
        for j in range(n):
            scratch[j] = -scratch[j] if scratch[j] < 0 else 0.0
        total = mass
    u = uniform(state, b) * total
    acc = 0.0
    last = best_i
    for j in range(n):
        if scratch[j] > 0.0:
            acc += scratch[j]
            last = cand[j]
            if u < acc:
                return cand[j]
    return last


@njit(**_OPTS)
def log_softmax_at(logits, token):
    """log p(token) under softmax(logits) over the tokens a cell can hold (pitch, HOLD, REST)."""
    top = -np.inf
    for t in range(END):
        top = max(top, logits[t])
    total = 0.0
    for t in range(END):
        total += math.exp(logits[t] - top)
    return logits[token] - top - math.log(total)


@njit(**_OPTS)
def lstm_input(x, i, batch, prev_tok, cond, ctx, sounding, ctx_mode, T_tok, T_ctx, ctx_sum, ctx_of):
    """x[b] = layer-1 input gates of position i: the previous token's table row, the position's
    conditioning row (voice, bar position, fermata, key and lookahead, summed per plan), and
    the context rows (JSB: the previous frame; SATB: each voice's sounding pitch).

    SATB: ctx_sum[b] holds the sum of the context rows for the pitches ctx_of[b] (int64[B, 4],
    -2 where unknown), and is summed again only when what sounds has changed: a voice changes
    at one position in a few, and the rows come from a table too big to stay in cache."""
    g = x.shape[1]
    for b in range(batch):
        t = prev_tok[b]
        for j in range(g):
            x[b, j] = T_tok[t, j] + cond[i, j]
        if ctx_mode == CTX_GIVEN:
            for k in range(ctx.shape[2]):
                p = ctx[b, i, k]
                if p >= 0:
                    for j in range(g):
                        x[b, j] += T_ctx[p, j]
        elif ctx_mode == CTX_SOUNDING:
            voices = sounding.shape[1]
            changed = False
            for k in range(voices):
                changed |= ctx_of[b, k] != sounding[b, k]
            if changed:
                ctx_sum[b] = 0.0
                for k in range(voices):
                    p = sounding[b, k]
                    ctx_of[b, k] = p
                    if p >= 0:
                        row = k * 128 + p
                        for j in range(g):
                            ctx_sum[b, j] += T_ctx[row, j]
            for j in range(g):
                x[b, j] += ctx_sum[b, j]


@njit(**_OPTS)
def layer_product(W, P, X, out, batch):
    """out[b] += W @ X[b] for b < batch, through the packed panels P (pack_panels): blocks
    of 8 sequences with panel_product, the sequences left over one by one with panel_product_1.
    Without panels (P empty: the rows do not split into them), through matvec_add on W."""
    if P.shape[0] == 0:
        matvec_add(W, X, out, batch)
        return
    blocks = batch // SEQS * SEQS
    for p in range(P.shape[0]):
        for b in range(0, blocks, SEQS):
            panel_product(P, X, out, p, b)
    for b in range(blocks, batch):
        for p in range(0, P.shape[0], 2):
            panel_product_1(P, X, out, p, b)


@njit(**_OPTS)
def lstm_layers(gates, batch, W_first, W_up, P_first, P_up, b_up, h, c, cat):
    """Run every LSTM layer one step for ``batch`` sequences.

    gates: [B, G], holding layer 1's input gates (lstm_input), then work space; W_first: layer
    1's recurrent weights [G, H]; W_up[l - 1]: layer l's input and recurrent weights side by side
    [G, 2H], applied to cat = [h of layer l - 1 | h of layer l] in one pass; P_first, P_up: the
    same weights packed in panels (pack_panels; empty: none); h, c: [L, B, H] updated in place;
    cat [B, 2H]: work space.
    """
    layers, _, hidden = h.shape
    layer_product(W_first, P_first, h[0], gates, batch)
    lstm_cell(gates, h[0], c[0], batch)
    for layer in range(1, layers):
        for b in range(batch):
            gates[b] = b_up[layer - 1]
            cat[b, :hidden] = h[layer - 1, b]
            cat[b, hidden:] = h[layer, b]
        layer_product(W_up[layer - 1], P_up[layer - 1], cat, gates, batch)
        lstm_cell(gates, h[layer], c[layer], batch)


@njit(**_OPTS)
def output_layer(head_W, head_b, top, logits, batch, r0, r1):
    """logits[b, r0:r1] = head_W[r0:r1] @ top[b] + head_b[r0:r1]; the other logits are left
    as they were. With r0 a multiple of 8, each logit is computed exactly as in the whole layer
    (matvec_add's blocks line up), so skipping rows changes nothing else."""
    for b in range(batch):
        logits[b, r0:r1] = head_b[r0:r1]
    matvec_add(head_W[r0:r1], top, logits[:, r0:r1], batch)


@njit(**_OPTS)
def voice_logits(P_out, out_rows, head_b, first, count, top, compact, logits, batch):
    """The logits a voice may sample (its range, HOLD and REST), from its own output panels:
    P_out[first : first + count] holds those rows of the output layer packed (pack_panels),
    out_rows[c] the token of compact column c (-1: padding). Through the panel kernels, so a
    sequence's logits do not depend on the batch around it. compact: [B, len(P_out) * ROWS]
    work space; the other logits are left as they were."""
    c0, c1 = first * ROWS, (first + count) * ROWS
    for b in range(batch):
        compact[b, c0:c1] = 0.0
    blocks = batch // SEQS * SEQS
    for p in range(first, first + count):
        for b in range(0, blocks, SEQS):
            panel_product(P_out, top, compact, p, b)
    for b in range(blocks, batch):
        p = first
        while p < first + count:
            if p + 1 < first + count:
                panel_product_1(P_out, top, compact, p, b)
                p += 2
            else:
                panel_product_1x1(P_out, top, compact, p, b)
                p += 1
    for b in range(batch):
        for col in range(c0, c1):
            t = out_rows[col]
            if t >= 0:
                logits[b, t] = compact[b, col] + head_b[t]


@njit(**_OPTS)
def voice_mask(allowed, b, s, sounding, before, range_lo, range_hi, pitch_ok, rules):
    """allowed[t] for voice s's next token: its range, the key filter, HOLD only while sounding,
    REST always; then the rules against the voices above it, already written at this step.

    A new pitch p for voice s makes consecutive fifths/octaves with voice u (above) when both
    move in the same direction from an interval of a fifth or octave (mod 12) to the same one:
    composer.theory.voiceleading.parallel's rule, compiled (tests/test_kernels.py holds the two
    equal).
    """
    v = allowed.shape[0]
    for t in range(v):
        allowed[t] = False
    cur = sounding[b, s]
    for p in range(range_lo[s], range_hi[s] + 1):
        allowed[p] = pitch_ok[p]
    allowed[HOLD] = cur >= 0
    allowed[REST] = True
    if s == 0:
        return
    over = sounding[b, s - 1]
    if over >= 0 and rules & RULE_NO_CROSSING:
        for p in range(over + 1, range_hi[s] + 1):
            allowed[p] = False
        if cur > over:
            allowed[HOLD] = False
    if over >= 0 and s <= 2 and rules & RULE_CLOSE_SPACING:
        for p in range(range_lo[s], min(over - 12, range_hi[s] + 1)):
            allowed[p] = False
        if 0 <= cur < over - 12:
            allowed[HOLD] = False
    mine = before[b, s]
    if mine >= 0 and rules & RULE_NO_PARALLELS:
        contrary = rules & RULE_NO_CONTRARY != 0
        for u in range(s):
            was, now = before[b, u], sounding[b, u]
            if was < 0 or now < 0 or now == was:
                continue
            interval = abs(was - mine) % 12
            if interval != 0 and interval != 7:
                continue
            up = now > was
            for p in range(range_lo[s], range_hi[s] + 1):
                if p != mine and (contrary or (p > mine) == up) and abs(now - p) % 12 == interval:
                    allowed[p] = False


@njit(**_OPTS)
def trust_the_match(logits, match, top, rep_W, rep_b, vocab, batch):
    """Add to the logit of the token each sequence's repeat match predicts the trust the model
    puts in it (a product of its top layer's state and the row of the match's length)."""
    hidden = top.shape[1]
    for b in range(batch):
        bucket = match[b] // vocab
        if bucket > 0:
            trust = rep_b[bucket]
            for k in range(hidden):
                trust += rep_W[bucket, k] * top[b, k]
            logits[b, match[b] - bucket * vocab] += trust


# The groups' numba types, for the explicit signature (a NamedTuple of arrays is passed as its
# fields: unpacking it costs nothing).
STATE = types.NamedTuple((I1, F3, F3, types.uint64[::1], I2, I2), State)
INPUTS = types.NamedTuple((I1, F2, I3, I1, I2, types.boolean), Inputs)
WEIGHTS = types.NamedTuple(
    (i64, F2, F2, F2, F3, F3, F4, F2, F2, F1, F3, I1, I1, I1, types.boolean, F2, F2, F1), Weights
)
DRAW = types.NamedTuple((I1, I1, i64, types.boolean[::1], F1, i64, f32), Draw)
OUTPUTS = types.NamedTuple((I2, F3, types.boolean, types.float64[::1], types.boolean), Outputs)


@njit(types.void(STATE, i64, i64, INPUTS, WEIGHTS, DRAW, OUTPUTS), **_OPTS)
def run_positions(state, start, stop, inputs, weights, draw, outputs):
    """Step B sequences through token positions [start, stop) of a SATB (or JSB) sequence.

    At each position: the layer-1 input from the previous token and the position's conditioning,
    every LSTM layer, then the token: ``inputs.forced[i]`` (shared) or ``inputs.out_forced[b, i]``
    (per sequence) when >= 0, else sampled from the output layer under the masks (``draw``). The
    output layer is skipped for forced tokens unless ``outputs.keep_logits`` (then logits go to
    outputs.logits[b, i]). ``state`` is updated in place; every token goes to outputs.tokens.
    outputs.weigh: add to outputs.log_weight[b] the log-probability the model (no masks, no
    temperature) gives each shared forced token ``forced[i]``: the particle weights of the
    particle filter (Sampler.sample). A model with ``weights.repeat`` also reads, at each
    position, what the sequence's own past predicts (composer.runtime.repeats: from the tokens
    in outputs.tokens when ``inputs.history``), as an input row and as a trust added to the
    predicted token's logit. The groups' fields are described where they are defined.
    """
    prev_tok, h, c, rng, sounding, before = state
    slot, cond, ctx, forced, out_forced, history = inputs
    (ctx_mode, T_tok, T_ctx, W_first, W_up, P_first, P_up, b_up, head_W, head_b,
     P_out, out_rows, out_first, out_count, repeat, T_rep, rep_W, rep_b) = weights  # fmt: skip
    range_lo, range_hi, rules, pitch_ok, temperature, top_k, top_p = draw
    out_tokens, out_logits, keep_logits, log_weight, weigh = outputs
    batch = prev_tok.shape[0]
    g = W_first.shape[0]
    v = head_W.shape[0]
    gates = np.empty((batch, g), dtype=np.float32)
    logits = np.empty((batch, v), dtype=np.float32)
    allowed = np.empty(v, dtype=np.bool_)
    scratch = np.empty(v, dtype=np.float32)
    cand = np.empty(v, dtype=np.int64)
    compact = np.empty((batch, P_out.shape[0] * ROWS), dtype=np.float32)
    layers, _, hidden = h.shape
    cat = np.empty((batch, 2 * hidden), dtype=np.float32)
    ctx_sum = np.empty((batch, g), dtype=np.float32)
    ctx_of = np.full((batch, sounding.shape[1]), -2, dtype=np.int64)
    offsets = out_tokens.shape[1] // 16 + 2 if repeat and history else 1
    runs = np.zeros((batch, offsets), dtype=np.int64)
    match = np.full(batch, TOK_UNKNOWN, dtype=np.int64)
    if repeat and history:
        for b in range(batch):
            repeats.start_runs(out_tokens, b, start // 4, runs)
    for i in range(start, stop):
        lstm_input(
            gates, i, batch, prev_tok, cond, ctx, sounding, ctx_mode, T_tok, T_ctx, ctx_sum, ctx_of
        )
        if repeat:
            for b in range(batch):
                if history:
                    if i % 4 == 0 and i > start:
                        repeats.advance_runs(out_tokens, b, i // 4, runs)
                    match[b] = repeats.match_row(out_tokens, b, i, runs, T_tok.shape[0])
                for j in range(g):
                    gates[b, j] += T_rep[match[b], j]
        lstm_layers(gates, batch, W_first, W_up, P_first, P_up, b_up, h, c, cat)
        all_forced = forced[i] >= 0
        if not all_forced:
            all_forced = True
            for b in range(batch):
                if out_forced[b, i] < 0:
                    all_forced = False
        weigh_here = weigh and forced[i] >= 0
        s = slot[i]
        if keep_logits or weigh_here or (s >= 4 and not all_forced):
            output_layer(head_W, head_b, h[layers - 1], logits, batch, 0, v)
            if repeat:
                trust_the_match(logits, match, h[layers - 1], rep_W, rep_b, T_tok.shape[0], batch)
            if keep_logits:
                out_logits[:, i, :] = logits
            if weigh_here:
                for b in range(batch):
                    log_weight[b] += log_softmax_at(logits[b], forced[i])
        elif not all_forced:  # only what a voice may sample: its range, then HOLD and REST
            if out_count[s] > 0:
                voice_logits(P_out, out_rows, head_b, out_first[s], out_count[s], h[layers - 1],
                             compact, logits, batch)  # fmt: skip
            else:
                lo = range_lo[s] // 8 * 8
                output_layer(head_W, head_b, h[layers - 1], logits, batch, lo,
                             min(v, (range_hi[s] + 8) // 8 * 8))  # fmt: skip
                output_layer(head_W, head_b, h[layers - 1], logits, batch, HOLD, min(v, HOLD + 8))
            if repeat:
                trust_the_match(logits, match, h[layers - 1], rep_W, rep_b, T_tok.shape[0], batch)
        if s == 0:  # a new step: remember the chord that sounded before it
            before[:batch] = sounding[:batch]
        for b in range(batch):
            tok = forced[i] if forced[i] >= 0 else out_forced[b, i]
            if tok < 0:
                if s < 4:
                    voice_mask(allowed, b, s, sounding, before, range_lo, range_hi, pitch_ok, rules)
                else:  # a JSB frame slot
                    allowed[:] = False
                    allowed[END] = True
                    for p in range(range_lo[s], range_hi[s] + 1):
                        allowed[p] = pitch_ok[p]
                tok = sample_token(
                    logits[b], allowed, temperature[s], top_k, top_p, scratch, cand, rng, b
                )
                if tok < 0:  # nothing allowed (the rules cannot all be kept): hold or rest
                    tok = HOLD if s < 4 and sounding[b, s] >= 0 else REST
            out_tokens[b, i] = tok
            prev_tok[b] = tok
            if s < 4:
                if tok < 128:
                    sounding[b, s] = tok
                elif tok == REST:
                    sounding[b, s] = -1


@njit(types.void(F2, I1, F2, I1, F2, I1, F2, I1, F2), **_OPTS)
def conditioning_rows(T_slot, slot, T_pos, pos, T_ferm, ferm, T_key, key, out):
    """out[i] = T_slot[slot[i]] + T_pos[pos[i]] + T_ferm[ferm[i]] + T_key[key[i]], summed in
    that order: each position's conditioning, in one pass."""
    for i in range(out.shape[0]):
        a, b, c, d = T_slot[slot[i]], T_pos[pos[i]], T_ferm[ferm[i]], T_key[key[i]]
        row = out[i]
        for j in range(row.shape[0]):
            row[j] = a[j] + b[j] + c[j] + d[j]


@njit(types.void(I2, I1, i64, F2, F2, F2, F2), **_OPTS)
def backward_lookahead(fixed, pos, vocab, T_fix, T_pos, W_hh, out_h):
    """The backward LSTM over the fixed-notes channel, step by step from the end to the start.

    fixed: int64[T, 4] token or UNKNOWN per step and voice; pos: int64[T] bar position index;
    T_fix: [4 * vocab, 4L] (voice v's token t at row v * vocab + t); T_pos: [rows, 4L] with the
    biases folded in; W_hh: [4L, L]. Writes out_h[t] = the state after reading steps T-1 .. t.
    """
    steps, voices = fixed.shape
    g = W_hh.shape[0]
    lh = W_hh.shape[1]
    gates = np.empty((1, g), dtype=np.float32)
    h = np.zeros((1, lh), dtype=np.float32)
    c = np.zeros((1, lh), dtype=np.float32)
    for t in range(steps - 1, -1, -1):
        for j in range(g):
            gates[0, j] = T_pos[pos[t], j]
        for v in range(voices):
            row = v * vocab + fixed[t, v]
            for j in range(g):
                gates[0, j] += T_fix[row, j]
        matvec_add(W_hh, h, gates, 1)
        lstm_cell(gates, h, c, 1)
        out_h[t] = h[0]
