"""The two kernels bench/sampler.py measures its floor and ceiling with; not used by the runtime.

- ``read_all``: the memory floor, every weight a token needs read once per token.
- ``repeat_matvec``: the compute ceiling, the runtime's own product (kernels.layer_product) over
  and over on weights small enough to stay in cache.

Compiled when this module is imported (explicit signatures), so no timing includes a compile.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numba import njit, types

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from composer.runtime.kernels import _OPTS, F2, F3, i64, layer_product  # noqa: E402


@njit(types.float64(F2, i64), **_OPTS)
def read_all(W, repeats):
    """The memory floor: read every weight of W [rows, K] once per repeat (a sum, so nothing is
    skipped); returns the sum as float64."""
    acc = 0.0
    rows, k = W.shape
    for _ in range(repeats):
        s = np.float32(0.0)
        for j in range(rows):
            w = W[j]
            for i in range(k):
                s += w[i]
        acc += s
    return acc


@njit(types.void(F2, F3, F2, F2, i64), **_OPTS)
def repeat_matvec(W, P, X, out, repeats):
    """The compute ceiling: ``repeats`` products out += W @ X (all of X's rows) as a step makes
    them (kernels.layer_product; P: W packed into panels), for weights small enough to stay in
    cache, so only the arithmetic is timed."""
    for _ in range(repeats):
        layer_product(W, P, X, out, X.shape[0])
