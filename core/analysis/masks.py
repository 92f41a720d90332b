"""Regions as masks: rectangles, black/white PNG masks and colour segments, at training resolution.

Every region is a bool[H, W] mask R (True inside) at the picture's training resolution; O is
the rest. A mask must be neither empty nor the whole picture.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from synens.core.analysis.changemap import RegionError, check_region
from synens.core.analysis.segment import kmeans
from synens.core.base.errors import SynensError

#: Colour segments of ``--segment``: seeded k-means in RGB with this k and seed.
SEGMENT_K, SEGMENT_SEED = 6, 0
#: A PNG mask pixel is inside when its grey level (0..255) after resampling is >= this.
MASK_LEVEL = 128
#: Grey levels strictly between these make a pixel "grey"; a mask with > 5 % grey pixels is refused.
GREY_LO, GREY_HI, GREY_SHARE = 32, 224, 0.05


def rect_mask(region: Sequence[int], width: int, height: int) -> np.ndarray:
    """The half-open rectangle (x0, y0, x1, y1) as bool[H, W] (checked with check_region)."""
    x0, y0, x1, y1 = check_region(region, width, height)
    m = np.zeros((height, width), bool)
    m[y0:y1, x0:x1] = True
    return m


def check_mask(mask: np.ndarray, width: int, height: int, name: str = "mask") -> np.ndarray:
    """Refuse (RegionError) a mask of the wrong shape, empty or covering the whole picture."""
    m = np.asarray(mask)
    if m.shape != (height, width) or m.dtype != bool:
        raise RegionError(f"{name} must be bool[{height}, {width}], got {m.dtype}{list(m.shape)}")
    if not m.any():
        raise RegionError(f"{name} is empty (all black): it selects no pixel")
    if m.all():
        raise RegionError(f"{name} covers the whole picture: nothing is left outside it")
    return m


def load_mask(path: str | os.PathLike, width: int, height: int) -> np.ndarray:
    """A black/white picture of any size as bool[H, W] at the training resolution.

    The file is read as grey levels (transparency composited onto black), resampled to W×H
    with a box filter, and a pixel is inside when its level is >= MASK_LEVEL. Refused with
    one line: not a picture, more than GREY_SHARE of its own pixels grey (not black/white),
    all black, or all white.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise RegionError(f"mask {p} not found" if not p.exists() else f"mask {p} is not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                im.load()
                if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                    rgba = im.convert("RGBA")
                    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                    im = Image.alpha_composite(black, rgba)
                grey = im.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RegionError(f"mask {p} is not a picture that can be read") from None
    g = np.asarray(grey)
    if np.mean((g > GREY_LO) & (g < GREY_HI)) > GREY_SHARE:
        raise RegionError(f"mask {p} is not black/white: over {GREY_SHARE:.0%} of its pixels "
                          "are grey")
    small = np.asarray(grey.resize((width, height), Image.Resampling.BOX))
    return check_mask(small >= MASK_LEVEL, width, height, f"mask {p}")


def segment_labels(image: np.ndarray, k: int = SEGMENT_K, seed: int = SEGMENT_SEED) -> np.ndarray:
    """Seeded k-means colour segments of uint8[H, W, 3]: int64[H, W] labels 0..n-1.

    Labels are renumbered by size, largest first (ties by the k-means label), and empty
    clusters are dropped, so segment 0 is the largest.
    """
    h, w = image.shape[:2]
    labels, _ = kmeans(image.reshape(-1, 3).astype(np.float64) / 255.0, k, seed)
    sizes = np.bincount(labels, minlength=int(labels.max()) + 1)
    order = [j for j in np.lexsort((np.arange(sizes.size), -sizes)) if sizes[j] > 0]
    remap = np.full(sizes.size, -1, np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels].reshape(h, w)


def segment_mask(image: np.ndarray, segment: int, k: int = SEGMENT_K,
                 seed: int = SEGMENT_SEED) -> np.ndarray:
    """Colour segment ``segment`` of ``segment_labels(image)`` as bool[H, W]."""
    labels = segment_labels(image, k, seed)
    n = int(labels.max()) + 1
    if isinstance(segment, bool) or not 0 <= int(segment) < n:
        raise RegionError(f"segment {segment} does not exist (0..{n - 1})")
    h, w = labels.shape
    return check_mask(labels == int(segment), w, h, f"segment {segment}")


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The smallest half-open rectangle (x0, y0, x1, y1) holding every True of bool[H, W]."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise SynensError("an empty mask has no bounding box")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def border_band(mask: np.ndarray, px: int = 3) -> np.ndarray:
    """Pixels outside the mask within ``px`` pixels of it (Chebyshev distance): bool[H, W]."""
    m = np.asarray(mask, bool)
    h, w = m.shape
    pad = np.pad(m, px)
    grown = np.zeros_like(m)
    for dy in range(2 * px + 1):
        for dx in range(2 * px + 1):
            grown |= pad[dy:dy + h, dx:dx + w]
    return grown & ~m


def describe(mask: np.ndarray) -> str:
    """'rectangle x0,y0,x1,y1' when the mask is one, else 'mask of N px in box x0,y0,x1,y1'."""
    x0, y0, x1, y1 = bounding_box(mask)
    if mask.sum() == (x1 - x0) * (y1 - y0):
        return f"rectangle {x0},{y0},{x1},{y1}"
    return f"mask of {int(mask.sum())} px in box {x0},{y0},{x1},{y1}"
