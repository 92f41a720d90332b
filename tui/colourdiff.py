"""Colour difference (CIEDE2000, Sharma et al. 2005) and the banding measure, in NumPy.

Used by ``benchmarks/bench_colour.py`` and the dithering tests to compare a 256-colour
rendering with true colour.
"""

from __future__ import annotations

import numpy as np

_M = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]]
)  # fmt: skip
_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or 0..255 float) sRGB [..., 3] to CIELAB (D65) float64 [..., 3]."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _M.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 difference of CIELAB float[..., 3] pairs (kL = kC = kH = 1), float64[...]."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    dLp, dCp = L2 - L1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    Lbp, Cbp = (L1 + L2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    hbp = np.where(
        np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
    )
    hbp = np.where(c1p * c2p == 0, hsum, hbp)
    t = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    d_theta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cbp**7 / (Cbp**7 + 25.0**7))
    sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    sc = 1 + 0.045 * Cbp
    sh = 1 + 0.015 * Cbp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt(
        (dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh)
    )


def box_blur(rgb: np.ndarray, k: int = 3) -> np.ndarray:
    """k x k mean (edges replicated) of float/uint8 [H, W, 3] in linear light, returned as sRGB
    0..255 float64: what the eye sees of a pattern of k x k pixels from a normal distance."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    p = k // 2
    padded = np.pad(lin, ((p, p), (p, p), (0, 0)), mode="edge")
    h, w = lin.shape[:2]
    acc = sum(padded[dy : dy + h, dx : dx + w] for dy in range(k) for dx in range(k)) / (k * k)
    s = np.where(acc <= 0.0031308, 12.92 * acc, 1.055 * acc ** (1 / 2.4) - 0.055)
    return 255.0 * s


def mean_de(ref: np.ndarray, test: np.ndarray, blur: int = 1) -> float:
    """Mean CIEDE2000 between two RGB pictures [H, W, 3]; blur > 1 compares k x k means."""
    if blur > 1:
        ref, test = box_blur(ref, blur), box_blur(test, blur)
    return float(ciede2000(srgb_to_lab(ref), srgb_to_lab(test)).mean())


def banding(ref: np.ndarray, index: np.ndarray, spread: int = 24) -> float:
    """Share of smooth-gradient 2x2 neighbourhoods collapsed to a single palette colour.

    ref: uint8[H, W, 3] true colour; index: int[H, W] palette indices of the same pixels.
    A 2x2 block is a smooth gradient when its true colours differ (some channel range >= 1)
    but no channel spans more than ``spread``; it is collapsed when all four indices agree.
    """
    r = ref.astype(np.int32)
    blocks = np.stack([r[:-1, :-1], r[1:, :-1], r[:-1, 1:], r[1:, 1:]])
    span = (blocks.max(axis=0) - blocks.min(axis=0)).max(axis=-1)
    smooth = (span >= 1) & (span <= spread)
    i = np.asarray(index)
    same = (i[:-1, :-1] == i[1:, :-1]) & (i[:-1, :-1] == i[:-1, 1:]) & (i[:-1, :-1] == i[1:, 1:])
    return float(same[smooth].mean()) if smooth.any() else 0.0
