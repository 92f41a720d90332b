"""The study figure: per picture and region, sel against k for every seed, the null band
behind the curves, and the median seed's painting beside its moved painting."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from synens.core.reports.figures import FRAME, INK, colour_image, compose

PLOT_W, PLOT_H = 240, 150
MARGIN_L, MARGIN_B, MARGIN_T, MARGIN_R = 34, 14, 6, 6
BAND = (225, 225, 225)
#: Seed colours, cycled.
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def median_seed(rows: list[dict]) -> dict | None:
    """The row whose ensemble sel is the (lower) median across seeds."""
    ok = sorted((r for r in rows if r["ensemble_sel"] is not None),
                key=lambda r: (r["ensemble_sel"], r["seed"]))
    return ok[(len(ok) - 1) // 2] if ok else None


def null_band(rows: list[dict]) -> tuple[float, float] | None:
    """10th and 90th percentiles of the null boxes' ensemble sel, pooled over seeds."""
    vals = [v for r in rows for v in r.get("null_ensemble", []) if v is not None and v > 0]
    if not vals:
        return None
    lo, hi = np.percentile(vals, [10, 90])
    return float(lo), float(hi)


def curve_plot(rows: list[dict], band: tuple[float, float] | None) -> Image.Image:
    """Non-linear sel (log scale) against k (log scale) for every seed, over the null band."""
    img = Image.new("RGB", (PLOT_W, PLOT_H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    pts = [(k, s) for r in rows for k, s in r["curve"] if s is not None and s > 0]
    ys = [s for _, s in pts] + (list(band) if band else [])
    if not pts:
        d.text((MARGIN_L, PLOT_H // 2), "no curve", fill=INK)
        return img
    kmax = max(k for k, _ in pts)
    lo, hi = math.log10(min(ys)), math.log10(max(ys))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = MARGIN_L, PLOT_W - MARGIN_R
    y0, y1 = PLOT_H - MARGIN_B, MARGIN_T

    def px(k: float) -> float:
        return x0 + (x1 - x0) * (math.log(k) / math.log(kmax) if kmax > 1 else 0.5)

    def py(s: float) -> float:
        return y0 + (y1 - y0) * (math.log10(s) - lo) / (hi - lo)

    if band:
        d.rectangle((x0, py(band[1]), x1, py(band[0])), fill=BAND)
    d.rectangle((x0, y1, x1, y0), outline=FRAME)
    for i, r in enumerate(rows):
        line = [(px(k), py(s)) for k, s in r["curve"] if s is not None and s > 0]
        if len(line) > 1:
            d.line(line, fill=COLOURS[i % len(COLOURS)], width=1)
        k = r["k"]
        at = [(px(kk), py(s)) for kk, s in r["curve"] if kk == k and s is not None and s > 0]
        for x, y in at:
            d.ellipse((x - 2, y - 2, x + 2, y + 2), outline=COLOURS[i % len(COLOURS)])
    d.text((2, y1), f"{10 ** hi:.3g}", fill=INK)
    d.text((2, y0 - 10), f"{10 ** lo:.3g}", fill=INK)
    d.text((x0, y0 + 2), "k=1", fill=INK)
    d.text((x1 - 30, y0 + 2), f"k={kmax}", fill=INK)
    return img


def region_panels(name: str, rows: list[dict], painting: np.ndarray | None,
                  moved: np.ndarray | None, seed: int | None) -> tuple[list, list[str]]:
    """The three panels of one region row and their captions."""
    band = null_band(rows)
    panels = [curve_plot(rows, band)]
    captions = [f"{name}: sel vs k, {len(rows)} seeds (grey: null 10-90%)"]
    side = PLOT_H
    for img, what in ((painting, "painting"), (moved, "ensemble move")):
        if img is None:
            panels.append(Image.new("RGB", (side, side), (255, 255, 255)))
            captions.append(f"no {what}")
            continue
        p = colour_image(img)
        scale = side / max(p.width, p.height)
        panels.append(p.resize((max(1, round(p.width * scale)), max(1, round(p.height * scale))),
                               Image.Resampling.NEAREST))
        captions.append(f"median seed {seed}: {what}")
    return panels, captions


def study_figure(rows_of: list[tuple[str, list[dict], np.ndarray | None, np.ndarray | None,
                                     int | None]], footer: str = "") -> Image.Image:
    """All region rows, three panels each: (name, rows, painting, moved, seed) per row.

    painting/moved: uint8[H, W, 3] or float[H, W, 3] in [-1, 1], or None.
    """
    panels: list[Image.Image] = []
    captions: list[str] = []
    for name, rows, painting, moved, seed in rows_of:
        p, c = region_panels(name, rows, painting, moved, seed)
        panels += p
        captions += c
    return compose(panels, captions, cols=3, footer=footer).image
