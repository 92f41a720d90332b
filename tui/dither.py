"""RGB pixels to xterm-256 indices: nearest, ordered (Bayer 8x8) or error-diffusion dithering.

Integer arithmetic throughout, so every CPU gives the same indices. Only the 6x6x6 cube
(16-231) and the gray ramp (232-255) are used; terminal themes redefine 0-15.
"""

from __future__ import annotations

import numpy as np
from synens.core.base.jit import kernel

DITHERS = ("none", "ordered", "diffusion")
LEVELS = np.array([0, 95, 135, 175, 215, 255], dtype=np.int32)


def bayer(n: int = 8) -> np.ndarray:
    """The n x n Bayer threshold matrix (n a power of 2), int32 values 0 .. n*n - 1."""
    m = np.zeros((1, 1), dtype=np.int32)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]]).astype(np.int32)
    return m


BAYER8 = bayer(8)
#: Gray ladder for ordered dithering of near-gray pixels: black, the 24 grays, white.
GRAY_VALUES = np.array([0, *range(8, 239, 10), 255], dtype=np.int32)
GRAY_INDEX = np.array([16, *range(232, 256), 231], dtype=np.int32)


@kernel
def _nearest(r, g, b, levels):  # pragma: no cover - compiled
    """Nearest xterm index (cube or gray, Euclidean RGB) of ints r, g, b in 0..255."""
    ci = np.empty(3, dtype=np.int32)
    d_cube = 0
    for c in range(3):
        v = (r, g, b)[c]
        best = 0
        for k in range(1, 6):
            if abs(v - levels[k]) < abs(v - levels[best]):
                best = k
        ci[c] = best
        d_cube += (v - levels[best]) ** 2
    k = min(max((r + g + b - 24 + 15) // 30, 0), 23)
    gray = 8 + 10 * k
    d_gray = (r - gray) ** 2 + (g - gray) ** 2 + (b - gray) ** 2
    if d_gray < d_cube:
        return 232 + k
    return 16 + 36 * ci[0] + 6 * ci[1] + ci[2]


@kernel
def _palette_rgb(index, levels):  # pragma: no cover - compiled
    """(r, g, b) of an xterm index 16..255."""
    if index >= 232:
        v = 8 + 10 * (index - 232)
        return v, v, v
    i = index - 16
    return levels[i // 36], levels[i // 6 % 6], levels[i % 6]


@kernel
def _step(v, ladder, t, n2):  # pragma: no cover - compiled
    """Index into ``ladder`` for value v: the lower or upper neighbour by threshold t/n2."""
    k = 0
    while k + 2 < ladder.shape[0] and ladder[k + 1] <= v:
        k += 1
    lo, hi = ladder[k], ladder[k + 1]
    return k + 1 if 2 * (v - lo) * n2 > (2 * t + 1) * (hi - lo) else k


@kernel
def _dither_ordered(px, out, levels, matrix, gvals, gidx):  # pragma: no cover - compiled
    height, width = out.shape
    n = matrix.shape[0]
    n2 = n * n
    for y in range(height):
        for x in range(width):
            r, g, b = np.int32(px[y, x, 0]), np.int32(px[y, x, 1]), np.int32(px[y, x, 2])
            t = matrix[y % n, x % n]
            if _nearest(r, g, b, levels) >= 232:  # near-gray: dither along the gray ladder
                s = r + g + b
                k = 0
                while k + 2 < gvals.shape[0] and 3 * gvals[k + 1] <= s:
                    k += 1
                lo, hi = 3 * gvals[k], 3 * gvals[k + 1]
                out[y, x] = gidx[k + 1] if 2 * (s - lo) * n2 > (2 * t + 1) * (hi - lo) else gidx[k]
            else:
                i0 = _step(r, levels, t, n2)
                i1 = _step(g, levels, t, n2)
                i2 = _step(b, levels, t, n2)
                out[y, x] = 16 + 36 * i0 + 6 * i1 + i2


@kernel
def _dither_diffusion(px, out, levels, err):  # pragma: no cover - compiled
    """Serpentine Floyd-Steinberg; err: int32[2, W + 2, 3] holds 16 x the carried error."""
    height, width = out.shape
    err[:] = 0
    for y in range(height):
        cur, nxt = y % 2, 1 - y % 2
        err[nxt] = 0
        forward = y % 2 == 0
        for i in range(width):
            x = i if forward else width - 1 - i
            d = 1 if forward else -1
            v = np.empty(3, dtype=np.int32)
            for c in range(3):
                v[c] = min(max(np.int32(px[y, x, c]) + ((err[cur, x + 1, c] + 8) >> 4), 0), 255)
            q = _nearest(v[0], v[1], v[2], levels)
            out[y, x] = q
            p = _palette_rgb(q, levels)
            for c in range(3):
                e = v[c] - p[c]
                err[cur, x + 1 + d, c] += 7 * e
                err[nxt, x + 1 - d, c] += 3 * e
                err[nxt, x + 1, c] += 5 * e
                err[nxt, x + 1 + d, c] += e


def to_xterm256(rgb: np.ndarray, dither: str = "ordered") -> np.ndarray:
    """Map uint8[H, W, 3] RGB to xterm-256 indices uint8[H, W] (16-255).

    dither: "none" (nearest colour, Euclidean RGB), "ordered" (8x8 Bayer: each channel
    picks the cube level below or above by the threshold; near-gray pixels step along the
    gray ramp) or "diffusion" (serpentine Floyd-Steinberg in integers).
    """
    if dither not in DITHERS:
        raise ValueError(f"dither must be one of {DITHERS}, not {dither!r}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8[H, W, 3], got {rgb.dtype}{list(rgb.shape)}")
    px = np.ascontiguousarray(rgb)
    out = np.empty(px.shape[:2], dtype=np.uint8)
    if dither == "diffusion":
        _dither_diffusion(px, out, LEVELS, np.zeros((2, px.shape[1] + 2, 3), dtype=np.int32))
    elif dither == "ordered":
        _dither_ordered(px, out, LEVELS, BAYER8, GRAY_VALUES, GRAY_INDEX)
    else:
        _nearest_all(px, out, LEVELS)
    return out


@kernel
def _nearest_all(px, out, levels):  # pragma: no cover - compiled
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = _nearest(np.int32(px[y, x, 0]), np.int32(px[y, x, 1]),
                                 np.int32(px[y, x, 2]), levels)  # fmt: skip
