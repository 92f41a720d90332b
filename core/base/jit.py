"""Every Numba flag of the project, and the float32 tanh that the kernels share."""

from __future__ import annotations

import math
import os

# Numba's OpenMP threads spin-wait between parallel regions by default; on a busy small machine
# a spinning thread that loses its core stalls the whole call (render p90 8 ms instead of
# 0.9 ms, measured). Passive waiting costs nothing measurable when idle. A user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.extending import overload  # noqa: E402

#: Pixels per chunk. Kernels work on activations laid out as ``a[node, sample]`` for one
#: chunk of CHUNK samples, so that the per-synapse inner loops have a constant trip count.
CHUNK = 256

#: Flags of every serial kernel. ``fastmath`` is deterministic for a given machine and build;
#: ``error_model="numpy"`` removes the division check that blocks vectorisation.
JIT = {"cache": True, "nogil": True, "fastmath": True, "error_model": "numpy"}

#: Flags of the kernels that run over chunks in parallel.
PJIT = {**JIT, "parallel": True}

# Rational approximation of tanh on [-CLAMP, CLAMP] (odd degree-13 numerator, even degree-6
# denominator); max abs error ~1e-7 against float64 tanh, far below float32's resolution.
_CLAMP = 7.90531110763549805
_A1, _A3, _A5 = 4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05
_A7, _A9 = 5.12229709037114e-08, -8.60467152213735e-11
_A11, _A13 = 2.00018790482477e-13, -2.76076847742355e-16
_B0, _B2, _B4, _B6 = 4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, \
    1.19825839466702e-06


def tanh_(x: float) -> float:
    """tanh that kernels call: a vectorisable rational form in float32, exact in float64."""
    return math.tanh(x)


@overload(tanh_, jit_options={"fastmath": True, "error_model": "numpy"})
def _tanh_overload(x):  # pragma: no cover - compiled
    if isinstance(x, types.Float) and x.bitwidth == 32:
        c = np.float32(_CLAMP)
        a1, a3, a5 = np.float32(_A1), np.float32(_A3), np.float32(_A5)
        a7, a9 = np.float32(_A7), np.float32(_A9)
        a11, a13 = np.float32(_A11), np.float32(_A13)
        b0, b2, b4, b6 = np.float32(_B0), np.float32(_B2), np.float32(_B4), np.float32(_B6)

        def impl(x):
            v = min(max(x, -c), c)
            v2 = v * v
            p = v2 * a13 + a11
            p = v2 * p + a9
            p = v2 * p + a7
            p = v2 * p + a5
            p = v2 * p + a3
            p = v2 * p + a1
            p = v * p
            q = v2 * b6 + b4
            q = v2 * q + b2
            q = v2 * q + b0
            return p / q

        return impl

    def impl_exact(x):
        return math.tanh(x)

    return impl_exact


def zero_of(a: np.ndarray) -> np.generic:
    """A zero of the element type of array ``a`` (so float32 sums stay float32 in kernels)."""
    return a.dtype.type(0)


@overload(zero_of)
def _zero_of_overload(a):  # pragma: no cover - compiled
    zero = a.dtype(0) if isinstance(a, types.Array) else 0.0

    def impl(a):
        return zero

    return impl


@njit(**JIT)
def _tanh_array(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = tanh_(x[i])
    return out


def tanh_kernel(x: np.ndarray) -> np.ndarray:
    """Apply the kernels' tanh to a 1-D float32 or float64 array (for tests and references)."""
    return _tanh_array(np.ascontiguousarray(x).ravel()).reshape(np.shape(x))
