"""Every Numba flag of the project, the lock around parallel kernels, and the shared tanh.

Importing this module sets no environment variable and changes no Numba setting: the command
line's entry point (``synens.tui.cli.main``) chooses the threading layer and the OpenMP wait
policy before Numba is imported; a library user keeps their own.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload
from synens.core.base.errors import SynensError

#: Pixels per chunk. Kernels work on activations laid out as ``a[node, sample]`` for one
#: chunk of CHUNK samples, so that the per-synapse inner loops have a constant trip count.
CHUNK = 256

#: The environment switch: unset or "1" gives FASTMATH_DEFAULT, "0" turns fastmath off,
#: a comma-separated list of LLVM fast-math flags (e.g. "contract,afn") gives that set.
FASTMATH_ENV = "SYNENS_FASTMATH"

#: LLVM fast-math flags of every kernel, chosen by measurement (benchmarks/bench_fastmath.py,
#: 1 thread, 128×128, default net): ``reassoc`` lets the backward pass's sums vectorise
#: (loss+grad 1.2 ms with it, 7.6 ms without); ``contract`` (FMA) gains another ~15%;
#: ``nsz`` only concerns the sign of zero. ``arcp``/``afn`` and the old ``fastmath=True``
#: measured no faster, and are left out: ``arcp`` may use the CPU's approximate reciprocal,
#: which differs between vendors. No ``nnan``/``ninf``: weights and pictures can hold NaN or
#: Inf, and those flags let LLVM assume they never occur. ``contract`` and ``reassoc`` still
#: make the last bits depend on the instruction set (FMA or not, vector width).
FASTMATH_DEFAULT: frozenset[str] = frozenset({"contract", "reassoc", "nsz"})

_LLVM_FLAGS = frozenset({"nnan", "ninf", "nsz", "arcp", "contract", "afn", "reassoc", "fast"})


def fastmath_flags(value: str | None = None) -> frozenset[str]:
    """The fast-math flag set that ``value`` (default: $SYNENS_FASTMATH) asks for; empty = off."""
    raw = os.environ.get(FASTMATH_ENV, "") if value is None else value
    raw = raw.strip().lower()
    if raw in ("", "1", "on", "true", "yes"):
        return FASTMATH_DEFAULT
    if raw in ("0", "off", "false", "no"):
        return frozenset()
    flags = frozenset(f.strip() for f in raw.split(",") if f.strip())
    unknown = sorted(flags - _LLVM_FLAGS)
    if unknown:
        raise SynensError(f"{FASTMATH_ENV}: unknown fast-math flags {unknown}; "
                         f"use 0, 1 or a comma-separated subset of {sorted(_LLVM_FLAGS)}")
    return flags


#: The flag set of this process (read once, at import).
FASTMATH: frozenset[str] = fastmath_flags()

#: Short tag of the flag set. Numba's on-disk cache does not key on compiler flags (only on
#: signature, CPU and bytecode), so each kernel's cache name carries this tag: code compiled
#: with another flag set is never loaded.
FLAGS_TAG = "fm" + hashlib.sha256(",".join(sorted(FASTMATH)).encode()).hexdigest()[:8] \
    if FASTMATH else "nofm"

_FASTMATH_OPTION: set[str] | bool = set(FASTMATH) if FASTMATH else False

#: Flags of every serial kernel. ``error_model="numpy"`` removes the division check that blocks
#: vectorisation; ``nogil`` lets worker threads run kernels beside the UI thread.
JIT: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": _FASTMATH_OPTION,
                       "error_model": "numpy"}

#: Flags of the kernels that run over chunks in parallel.
PJIT: dict[str, Any] = {**JIT, "parallel": True}

#: Held during every call into a parallel kernel. Numba's ``workqueue`` threading layer (the
#: only one that always exists) aborts the process when two threads launch parallel regions
#: at once; with the lock, any layer is safe. On the small machines this project targets, two
#: parallel kernels at once would only share the same cores, so the lock costs little.
PARALLEL_LOCK = threading.Lock()


def worker_threads() -> int:
    """Threads a parallel job of the core may use: Numba's thread count (1 in a study's
    single-threaded workers)."""
    import numba

    return int(numba.get_num_threads())


def _tagged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``fn`` a cache name that carries the flag set (Numba names cache files by qualname)."""
    fn.__qualname__ = f"{fn.__qualname__}__{FLAGS_TAG}"
    return fn


def kernel(fn: Callable[..., Any]) -> Any:
    """Compile ``fn`` as a serial kernel with the project's flags (JIT)."""
    return njit(**JIT)(_tagged(fn))


class ParallelKernel:
    """A ``parallel=True`` kernel that runs under PARALLEL_LOCK; call it like the function.

    ``dispatcher`` is the Numba dispatcher (for inspection); parallel kernels are called from
    Python only, never from other kernels.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        name = fn.__qualname__
        self.dispatcher = njit(**PJIT)(_tagged(fn))
        functools.update_wrapper(self, fn)
        self.__qualname__ = name

    def __call__(self, *args: Any) -> Any:
        with PARALLEL_LOCK:
            return self.dispatcher(*args)


def parallel_kernel(fn: Callable[..., Any]) -> ParallelKernel:
    """Compile ``fn`` as a parallel kernel (PJIT) whose calls are serialised by PARALLEL_LOCK."""
    return ParallelKernel(fn)


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


@overload(tanh_, jit_options={"fastmath": _FASTMATH_OPTION, "error_model": "numpy"})
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


@kernel
def _tanh_array(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = tanh_(x[i])
    return out


def tanh_kernel(x: np.ndarray) -> np.ndarray:
    """Apply the kernels' tanh to a 1-D float32 or float64 array (for tests and references)."""
    return _tanh_array(np.ascontiguousarray(x).ravel()).reshape(np.shape(x))
