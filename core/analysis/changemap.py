"""Change maps of single synapses (linear and exact), regions of pixels and influence over them."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.network.grad import jac_sumsq, jacobian
from synens.core.network.render import render


class RegionError(SynensError):
    """A region that is malformed, empty, inverted or not inside the picture."""


def parse_region(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """Read ``"x0,y0,x1,y1"`` (half-open pixel rectangle) and check it against a W×H picture."""
    parts = str(text).strip().split(",")
    if len(parts) != 4 or not all(re.fullmatch(r"\s*[+-]?\d+\s*", p) for p in parts):
        raise RegionError(f"region must be four integers x0,y0,x1,y1, got {text!r}")
    x0, y0, x1, y1 = (int(p) for p in parts)
    return check_region((x0, y0, x1, y1), width, height)


def check_region(region: Sequence[int], width: int, height: int) -> tuple[int, int, int, int]:
    """Validate a half-open rectangle (x0, y0, x1, y1) in a W×H picture; return it as ints.

    Refused: not 4 integers, inverted (x1 < x0 or y1 < y0), empty, reaching outside the
    picture, or covering all of it (then nothing is left outside to compare with).
    """
    try:
        vals = [int(v) for v in region]
        ok = len(vals) == 4 and all(float(v) == float(r) for v, r in zip(vals, region,
                                                                         strict=True))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise RegionError(f"region must be four integers x0,y0,x1,y1, got {region!r}")
    x0, y0, x1, y1 = vals
    name = f"{x0},{y0},{x1},{y1}"
    if x1 < x0 or y1 < y0:
        raise RegionError(f"region {name} is inverted: it needs x0 <= x1 and y0 <= y1")
    if x1 == x0 or y1 == y0:
        raise RegionError(f"region {name} is empty")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise RegionError(f"region {name} reaches outside the {width}x{height} picture "
                          f"(it must lie in 0,0,{width},{height})")
    if (x0, y0, x1, y1) == (0, 0, width, height):
        raise RegionError(f"region {name} covers the whole picture: nothing is left outside it")
    return x0, y0, x1, y1


def region_masks(width: int, height: int, region: Sequence[int]) -> np.ndarray:
    """Masks of R (the rectangle) and O (the rest): bool[2, H, W]."""
    x0, y0, x1, y1 = check_region(region, width, height)
    m = np.zeros((2, height, width), bool)
    m[0, y0:y1, x0:x1] = True
    m[1] = ~m[0]
    return m


def check_synapse(topo: Topology, s: int) -> None:
    """Refuse (SynensError) a synapse id outside 0..S-1."""
    if not 0 <= int(s) < topo.n_synapses:
        raise SynensError(f"synapse {s} does not exist (0..{topo.n_synapses - 1})")


def linear_change_map(topo: Topology, weights: np.ndarray, s: int, width: int, height: int,
                      dtype: DTypeLike = np.float64) -> np.ndarray:
    """d(painting)/d(weight[s]) at W×H: float[H, W, 3] (colour units per unit of weight)."""
    check_synapse(topo, s)
    return jacobian(topo, weights, width, height, [int(s)], dtype)[..., 0]


def exact_change_map(topo: Topology, weights: np.ndarray, s: int, new_value: float,
                     width: int, height: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """render(w with weight[s] = new_value) − render(w): float[H, W, 3] (the article's moves)."""
    check_synapse(topo, s)
    moved = np.array(weights, np.float64)
    moved[int(s)] = float(new_value)
    return render(topo, moved, width, height, dtype) - render(topo, weights, width, height, dtype)


def magnitude(change: np.ndarray) -> np.ndarray:
    """Per-pixel magnitude sqrt(sum over channels of change²) of float[..., 3]: float[...]."""
    c = np.asarray(change, np.float64)
    return np.sqrt(np.sum(c * c, axis=-1))


def influence(topo: Topology, weights: np.ndarray, masks: np.ndarray,
              synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """RMS of each synapse's linear change map over each mask's pixels and the 3 channels.

    masks bool[G, H, W]; returns float64[G, k] (0 for an empty mask). One streaming pass
    (``jac_sumsq``): the Jacobian is never held.
    """
    m = np.asarray(masks, bool)
    counts = m.reshape(m.shape[0], -1).sum(axis=1).astype(np.float64)
    ss = jac_sumsq(topo, weights, m.astype(np.float32), synapses, dtype)
    return np.sqrt(np.maximum(ss, 0.0) / np.maximum(3.0 * counts, 1.0)[:, None])
