"""Streaming Jacobian products split by region: samples of R and of O in separate chunks.

A region analysis needs sums over R and over O. Instead of masking every chunk twice, the
pixels of R and of O go into separate chunks (R's first), so each pixel is processed once and
the per-chunk results are summed per group. ``_gram_chunks`` is a register-blocked JᵀJ
(4×4 tiles) over each chunk's valid samples; the Jacobian columns come from the kernels of
``synens.core.kernels``. The Jacobian is never held: one chunk of k columns at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from synens.core.base.grid import grid, pack, pixel_coords, samples, synapse_columns, unchunked
from synens.core.base.topology import Topology
from synens.core.kernels import backward as KG
from synens.core.kernels.split import _gram_chunks, _jvp


class SplitSamples(NamedTuple):
    """Chunked samples, R's chunks first: x, y, mask float[C, CH]; R has chunks [0, c_in)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    c_in: int
    n_in: int
    n_out: int


def split_samples(width: int, height: int, region: Sequence[int] | np.ndarray,
                  dtype: DTypeLike = np.float32) -> SplitSamples:
    """The pixels of a region and of the rest, chunked apart.

    ``region`` is a rectangle (x0, y0, x1, y1) or a bool[H, W] mask (True inside).
    Coordinates and mask are of ``dtype``, the kernels' dtype (float32 or float64).
    """
    x, y = pixel_coords(width, height)
    if isinstance(region, np.ndarray) and region.dtype == bool:
        if region.shape != (height, width):
            raise ValueError(f"a region mask must be bool[{height}, {width}]")
        inside = region.ravel()
    else:
        x0, y0, x1, y1 = region
        inside = np.zeros((height, width), bool)
        inside[y0:y1, x0:x1] = True
        inside = inside.ravel()
    r = samples(x[inside], y[inside], dtype)
    o = samples(x[~inside], y[~inside], dtype)
    return SplitSamples(np.concatenate([r.x, o.x]), np.concatenate([r.y, o.y]),
                        np.concatenate([r.mask, o.mask]), r.x.shape[0], r.n, o.n)


def jvp(topo: Topology, weights: np.ndarray, directions: np.ndarray, width: int, height: int,
        dtype: DTypeLike = np.float32) -> np.ndarray:
    """J v at W×H for each row v of directions (float[D, S]): float[D, H, W, 3], exact."""
    g = grid(width, height, dtype)
    net = pack(topo, weights, dtype)
    v = np.ascontiguousarray(np.atleast_2d(directions), dtype=dtype)
    if v.shape[1] != topo.n_synapses:
        raise ValueError(f"directions must have {topo.n_synapses} columns")
    s = g.samples
    out = np.empty((s.x.shape[0], v.shape[0], 3, s.x.shape[1]), dtype)
    _jvp(net.w, net.src, net.ptr, net.order, net.outs, s.x, s.y, v, out)
    flat = unchunked(out, s.n)  # [D, 3, P]
    return np.ascontiguousarray(flat.transpose(0, 2, 1)).reshape(v.shape[0], height, width, 3)


def split_sumsq(topo: Topology, weights: np.ndarray, split: SplitSamples,
                synapses: ArrayLike | None = None) -> np.ndarray:
    """Sum over R's (row 0) and O's (row 1) pixels and the 3 channels of J²: float64[2, k]."""
    net = pack(topo, weights, split.x.dtype)
    cols = synapse_columns(topo, synapses)
    out = np.empty((split.x.shape[0], 1, cols.size), np.float64)
    KG._jac_sumsq(net.w, net.src, net.dst, net.ptr, net.order, net.outs, split.x, split.y,
                 np.ascontiguousarray(split.mask[:, None, :]), cols, out)
    return np.stack([out[:split.c_in, 0].sum(axis=0), out[split.c_in:, 0].sum(axis=0)])


def split_gram(topo: Topology, weights: np.ndarray, split: SplitSamples,
               synapses: ArrayLike | None) -> np.ndarray:
    """JᵀJ over R's (0) and O's (1) pixels and the 3 channels: float64[2, k, k], symmetric."""
    net = pack(topo, weights, split.x.dtype)
    cols = synapse_columns(topo, synapses)
    k = cols.size
    k4 = max(4, -(-k // 4) * 4)
    out = np.empty((split.x.shape[0], k4, k4), np.float64)
    _gram_chunks(net.w, net.src, net.dst, net.ptr, net.order, net.outs, split.x, split.y,
                 split.mask, cols, out)
    low = np.stack([out[:split.c_in].sum(axis=0), out[split.c_in:].sum(axis=0)])
    low = np.tril(low[:, :k, :k])
    return low + np.tril(low, -1).transpose(0, 2, 1)
