"""Canvas pictures for the six views (NumPy only): colour scales, padding and the atlas overlay."""

from __future__ import annotations

import numpy as np
from PIL import Image
from synens.core.network.render import to_uint8

from .state import Layout

#: Distinct colours for atlas parts (uint8[12, 3]).
PART_COLOURS = np.array(
    [
        (230, 25, 75),
        (60, 180, 75),
        (255, 225, 25),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (210, 245, 60),
        (250, 190, 212),
        (0, 128, 128),
        (170, 110, 40),
    ],
    np.uint8,
)


def place(layout: Layout, picture: np.ndarray) -> np.ndarray:
    """Put a uint8[rh, rw, 3] picture into a black uint8[ch, cw, 3] canvas at (ox, oy)."""
    out = np.zeros((layout.ch, layout.cw, 3), np.uint8)
    h, w = min(picture.shape[0], layout.rh), min(picture.shape[1], layout.rw)
    out[layout.oy : layout.oy + h, layout.ox : layout.ox + w] = picture[:h, :w]
    return out


def resample(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a uint8[H, W, 3] picture to (width, height) with LANCZOS: uint8[height, width, 3]."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def grey(values: np.ndarray) -> np.ndarray:
    """Map float[H, W] in [-1, 1] to a uint8[H, W, 3] grey picture."""
    return np.repeat(to_uint8(values)[..., None], 3, axis=-1)


def diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """Map float[H, W] signed values to blue (−scale) / white (0) / red (+scale): uint8[H, W, 3]."""
    t = np.clip(np.asarray(values, np.float64) / max(scale, 1e-12), -1.0, 1.0)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    r = 255 * (1 - neg * 0.8)
    g = 255 * (1 - 0.8 * np.abs(t))
    b = 255 * (1 - pos * 0.8)
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def robust_scale(values: np.ndarray, floor: float) -> float:
    """The 99th percentile of |values| (at least ``floor``): a few extreme pixels saturate."""
    v = np.abs(np.asarray(values, np.float64))
    return max(float(np.percentile(v, 99)) if v.size else 0.0, floor)


def difference(current: np.ndarray, trained: np.ndarray) -> tuple[np.ndarray, float]:
    """Signed change of the painting, mean over channels, as a diverging map, and its scale.

    current, trained: float[H, W, 3] in [-1, 1]. The scale is robust_scale (at least 0.01).
    """
    d = (np.asarray(current, np.float64) - trained).mean(axis=-1)
    scale = robust_scale(d, 0.01)
    return diverging(d, scale), scale


def change_map(jac: np.ndarray) -> tuple[np.ndarray, float]:
    """A linear change map float[H, W, 3] shown as colour shifts around mid grey, and its scale.

    Each channel is 128 + 127 · J / scale (clipped), scale = robust_scale of J: the colour a
    positive nudge adds, exaggerated to be visible.
    """
    scale = robust_scale(jac, 1e-9)
    return to_uint8(np.clip(np.asarray(jac, np.float64) / scale, -1, 1)), scale


def atlas_overlay(painting: np.ndarray, parts: np.ndarray, dim: float = 0.35,
                  opacity: float = 0.7) -> np.ndarray:
    """Colour each pixel by its strongest atlas part over a dimmed painting.

    painting uint8[H, W, 3]; parts float[K, H, W] non-negative part maps at the same size.
    Each map is scaled to unit maximum; a pixel takes its strongest part's colour with
    opacity × that part's value, over the painting dimmed to ``dim``.
    """
    base = painting.astype(np.float64) * dim
    if parts.size == 0:
        return base.round().astype(np.uint8)
    peak = parts.reshape(parts.shape[0], -1).max(axis=1)
    norm = parts / np.maximum(peak, 1e-12)[:, None, None]
    best = norm.argmax(axis=0)
    alpha = opacity * np.clip(norm.max(axis=0), 0, 1)[..., None]
    colour = PART_COLOURS[best % len(PART_COLOURS)].astype(np.float64)
    return (base * (1 - alpha) + colour * alpha).round().astype(np.uint8)


def resize_maps(maps: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float[K, H, W] maps to float32[K, height, width] (bilinear)."""
    out = [
        np.asarray(
            Image.fromarray(m.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR)
        )
        for m in maps
    ]
    return np.stack(out) if out else np.zeros((0, height, width), np.float32)
