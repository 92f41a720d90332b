"""Map thresholding (Otsu), IoU and a seeded k-means colour segmentation, in NumPy."""

from __future__ import annotations

import numpy as np

#: Histogram bins of Otsu's threshold.
OTSU_BINS = 256


def otsu(values: np.ndarray, bins: int = OTSU_BINS) -> float:
    """Otsu's threshold of float[...]: the cut that maximises the between-class variance.

    A pixel is "on" when its value is >= the threshold. A constant map returns its value.
    """
    v = np.asarray(values, np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        return lo
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    p = hist.astype(np.float64) / v.size
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(p)[:-1]
    m0 = np.cumsum(p * centres)[:-1]
    mt = float(np.sum(p * centres))
    w1 = 1.0 - w0
    ok = (w0 > 0) & (w1 > 0)
    between = np.zeros_like(w0)
    between[ok] = (mt * w0[ok] - m0[ok]) ** 2 / (w0[ok] * w1[ok])
    return float(edges[1 + int(np.argmax(between))])


def binarise(m: np.ndarray) -> np.ndarray:
    """The thresholded map: bool[...] of the pixels >= Otsu's threshold of m."""
    m = np.asarray(m, np.float64)
    return m >= otsu(m)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every mask in a (bool[n, P]) with every mask in b (bool[m, P]): float64[n, m]."""
    a = np.asarray(a, bool).reshape(len(a), -1).astype(np.float64)
    b = np.asarray(b, bool).reshape(len(b), -1).astype(np.float64)
    inter = np.einsum("ip,jp->ij", a, b)
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def best_iou(masks: np.ndarray, refs: np.ndarray, both_sides: bool = True) -> np.ndarray:
    """Best IoU of each mask (bool[n, ...]) against any reference (bool[m, ...]): float64[n].

    With ``both_sides`` each mask's complement is tried too (a signed map marks a region
    by its high or by its low values).
    """
    masks = np.asarray(masks, bool).reshape(len(masks), -1)
    if len(refs) == 0:
        return np.zeros(len(masks))
    score = iou(masks, refs).max(axis=1)
    if both_sides:
        score = np.maximum(score, iou(~masks, refs).max(axis=1))
    return score


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Seeded k-means (k-means++ start, Lloyd steps) of x float[n, d].

    Returns labels int64[n] and centres float64[k, d]; stops when no label changes.
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    k = int(min(k, n))
    rng = np.random.default_rng(seed)
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    d2 = np.sum((x - centres[0]) ** 2, axis=1)
    for j in range(1, k):
        total = d2.sum()
        idx = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centres[j] = x[idx]
        d2 = np.minimum(d2, np.sum((x - centres[j]) ** 2, axis=1))
    labels = np.full(n, -1, np.int64)
    for _ in range(iters):
        dist = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            sel = labels == j
            if sel.any():
                centres[j] = x[sel].mean(axis=0)
    return labels, centres


def colour_segments(image: np.ndarray, k: int = 6, seed: int = 0) -> np.ndarray:
    """k-means segmentation of a uint8[H, W, 3] picture in RGB: bool[k', H, W] (non-empty)."""
    h, w = image.shape[:2]
    labels, _ = kmeans(image.reshape(-1, 3).astype(np.float64) / 255.0, k, seed)
    segs = np.stack([labels == j for j in range(int(labels.max()) + 1)])
    return segs[segs.any(axis=1)].reshape(-1, h, w)
