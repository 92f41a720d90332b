"""Pixel grids and sample sets laid out in chunks, and the arrays a kernel needs from a network."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from synens.core.base.jit import CHUNK
from synens.core.base.topology import Topology


class Samples(NamedTuple):
    """Sample coordinates in chunks: x, y float[C, CH]; mask float[C, CH] is 0 on padding."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    n: int


class Grid(NamedTuple):
    """A W×H pixel grid in chunks, row-major: pixel (row i, column j) is sample i*W + j."""

    width: int
    height: int
    samples: Samples


class NetArrays(NamedTuple):
    """What the kernels read from a network: weights float[S] and int32 index arrays."""

    w: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    ptr: np.ndarray
    order: np.ndarray
    outs: np.ndarray


def pack(topo: Topology, weights: np.ndarray, dtype: DTypeLike = np.float32) -> NetArrays:
    """Kernel arrays for ``topo`` with a private copy of ``weights`` (float[S]) as ``dtype``."""
    w = np.asarray(weights)
    if w.shape != (topo.n_synapses,):
        raise ValueError(f"expected {topo.n_synapses} weights, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    return NetArrays(np.array(w, dtype=dtype, copy=True), topo.src, topo.dst, topo.ptr,
                     topo.order, topo.outputs)


def synapse_columns(topo: Topology, synapses: ArrayLike | None) -> np.ndarray:
    """The synapse ids a Jacobian kernel takes as its columns: int32[k] (None: all S)."""
    if synapses is None:
        return np.arange(topo.n_synapses, dtype=np.int32)
    cols = np.asarray(synapses, np.int64).ravel()
    if cols.size and (cols.min() < 0 or cols.max() >= topo.n_synapses):
        raise IndexError(f"synapse ids must lie in 0..{topo.n_synapses - 1}")
    return cols.astype(np.int32)


def chunked(values: np.ndarray, chunk: int = CHUNK, fill: float = 0.0) -> np.ndarray:
    """Pad the last axis of float[..., n] to a multiple of chunk and move chunks first.

    Returns float[C, ..., chunk].
    """
    n = values.shape[-1]
    c = max(1, -(-n // chunk))
    padded = np.full(values.shape[:-1] + (c * chunk,), fill, values.dtype)
    padded[..., :n] = values
    lead = values.ndim - 1
    out = padded.reshape(values.shape[:-1] + (c, chunk))
    return np.ascontiguousarray(np.moveaxis(out, lead, 0))


def unchunked(values: np.ndarray, n: int) -> np.ndarray:
    """Inverse of chunked: float[C, ..., CH] to float[..., n]."""
    moved = np.moveaxis(values, 0, -2)
    return moved.reshape(moved.shape[:-2] + (-1,))[..., :n]


def samples(x: np.ndarray, y: np.ndarray, dtype: DTypeLike = np.float32,
            chunk: int = CHUNK) -> Samples:
    """Chunk arbitrary sample coordinates x, y (float[n])."""
    x = np.asarray(x, dtype).ravel()
    y = np.asarray(y, dtype).ravel()
    mask = np.ones(x.size, dtype)
    return Samples(chunked(x, chunk), chunked(y, chunk), chunked(mask, chunk), x.size)


def pixel_coords(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the pixels of a W×H picture: x, y float64[H*W] in [-1, 1], y down."""
    xs = -1.0 + 2.0 * (np.arange(width) + 0.5) / width
    ys = -1.0 + 2.0 * (np.arange(height) + 0.5) / height
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def grid(width: int, height: int, dtype: DTypeLike = np.float32, chunk: int = CHUNK) -> Grid:
    """The chunked pixel grid of a W×H picture.

    Grids are cached (the last 16 sizes), so the arrays are shared: never write to them.
    """
    if width < 1 or height < 1:
        raise ValueError(f"a grid needs a positive size, got {width}×{height}")
    return _grid(int(width), int(height), np.dtype(dtype), int(chunk))


@lru_cache(maxsize=16)
def _grid(width: int, height: int, dtype: np.dtype, chunk: int) -> Grid:
    x, y = pixel_coords(width, height)
    return Grid(width, height, samples(x, y, dtype, chunk))


def image_targets(image: np.ndarray, dtype: DTypeLike = np.float32,
                  chunk: int = CHUNK) -> np.ndarray:
    """Colour targets of a uint8[H, W, 3] picture in [-1, 1], chunked: float[C, 3, CH]."""
    t = image.reshape(-1, 3).T.astype(np.float64) / 255.0 * 2.0 - 1.0
    return chunked(t.astype(dtype), chunk)
