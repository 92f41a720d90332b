"""PNG figures of a model (Pillow only): painting, activation maps, change maps and weight sweeps.

Every ``*_figure`` function returns a ``Figure``: the PIL image and the box (x, y, w, h) of
each panel in it, in order, so callers and tests can find the panels again.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from synens.core.analysis.changemap import check_synapse
from synens.core.files.atomic import write_atomic
from synens.core.files.model import Model
from synens.core.network.render import activations, render, rmse, to_uint8

PAD = 4  # pixels between panels and around the figure
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
FRAME = (160, 160, 160)  # 1-pixel outline around each panel, in the gutter


class Figure(NamedTuple):
    """A composed figure: ``image`` (PIL RGB), ``boxes``, one (x, y, w, h) per panel, and
    ``frames``, one dict of facts per panel where a figure has them (a sweep's Δ, weight, RMSE)."""

    image: Image.Image
    boxes: list[tuple[int, int, int, int]]
    frames: list[dict] | None = None


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def _text_size(text: str) -> tuple[int, int]:
    x0, y0, x1, y1 = _font().getbbox(text)
    return int(math.ceil(x1)), int(math.ceil(y1))


def colour_image(image: np.ndarray) -> Image.Image:
    """A painting float[H, W, 3] in [-1, 1] (or uint8[H, W, 3]) as a PIL RGB image."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = to_uint8(a)
    return Image.fromarray(np.ascontiguousarray(a), "RGB")


def grey_image(act: np.ndarray) -> Image.Image:
    """An activation map float[H, W] in [-1, 1] as grey (-1 black, +1 white), PIL RGB."""
    g = to_uint8(np.asarray(act))
    return Image.fromarray(np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2)), "RGB")


def diverging_image(values: np.ndarray, scale: float) -> Image.Image:
    """float[H, W] on a diverging scale: -scale blue, 0 white, +scale red (PIL RGB)."""
    t = (
        np.clip(np.asarray(values, np.float64) / scale, -1.0, 1.0)
        if scale > 0
        else np.zeros(np.shape(values))
    )
    pos, neg = np.maximum(t, 0.0), np.maximum(-t, 0.0)
    rgb = np.stack([1.0 - neg, 1.0 - pos - neg, 1.0 - pos], axis=-1)
    return Image.fromarray(np.rint(rgb * 255.0).astype(np.uint8), "RGB")


def stamp(panel: Image.Image, text: str) -> Image.Image:
    """Write ``text`` in white on a black box in the panel's lower-left corner (in place)."""
    tw, th = _text_size(text)
    draw = ImageDraw.Draw(panel)
    y = panel.height - th - 3
    draw.rectangle((0, y - 1, tw + 3, panel.height), fill=INK)
    draw.text((2, y), text, fill=(255, 255, 255), font=_font())
    return panel


def compose(
    panels: list[Image.Image], captions: list[str], cols: int | None = None, footer: str = ""
) -> Figure:
    """Panels in a grid, each under its caption and framed, with an optional footer line."""
    cols = max(1, min(cols or len(panels), len(panels)))
    rows = -(-len(panels) // cols)
    text_h = max(_text_size(c or "Ag")[1] for c in [*captions, "Ag"]) + 2
    cell_w = max(max(p.width for p in panels), *(_text_size(c)[0] for c in captions))
    cell_h = text_h + max(p.height for p in panels)
    foot_w, foot_h = _text_size(footer) if footer else (0, 0)
    width = max(cols * cell_w + (cols + 1) * PAD, foot_w + 2 * PAD)
    height = rows * cell_h + (rows + 1) * PAD + (foot_h + PAD if footer else 0)
    fig = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(fig)
    boxes = []
    for i, (panel, caption) in enumerate(zip(panels, captions, strict=True)):
        r, c = divmod(i, cols)
        x0 = PAD + c * (cell_w + PAD)
        y0 = PAD + r * (cell_h + PAD)
        draw.text((x0, y0), caption, fill=INK, font=_font())
        x = x0 + (cell_w - panel.width) // 2
        fig.paste(panel, (x, y0 + text_h))
        draw.rectangle(
            (x - 1, y0 + text_h - 1, x + panel.width, y0 + text_h + panel.height), outline=FRAME
        )
        boxes.append((x, y0 + text_h, panel.width, panel.height))
    if footer:
        draw.text((PAD, height - foot_h - PAD), footer, fill=INK, font=_font())
    return Figure(fig, boxes)


def _size(model: Model, width: int | None, height: int | None) -> tuple[int, int]:
    w, h = model.size
    return width or w, height or h


def painting_figure(model: Model, width: int | None = None, height: int | None = None) -> Figure:
    """The painting alone, W×H pixels."""
    w, h = _size(model, width, height)
    im = colour_image(model.render(w, h))
    return Figure(im, [(0, 0, w, h)])


def neuron_figure(
    model: Model, neuron: int, width: int | None = None, height: int | None = None
) -> Figure:
    """One neuron's activation map in grey, W×H pixels."""
    w, h = _size(model, width, height)
    im = grey_image(activations(model.topo, model.weights, w, h)[neuron])
    return Figure(im, [(0, 0, w, h)])


def neurons_figure(
    model: Model, width: int | None = None, height: int | None = None, cols: int | None = None
) -> Figure:
    """Every neuron's activation map in a grid, each labelled with its number and role."""
    w, h = _size(model, width, height)
    acts = activations(model.topo, model.weights, w, h)
    topo = model.topo
    panels = [grey_image(a) for a in acts]
    captions = [f"{n}: {topo.neuron_role(n)}" for n in range(topo.n_neurons)]
    cols = cols or math.ceil(math.sqrt(topo.n_neurons))
    return compose(panels, captions, cols, footer="activation: black -1, white +1")


def change_map(
    model: Model, synapse: int, delta: float, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Painting with weight s moved by delta, and its exact change (both float64[H, W, 3]).

    The change is ``exact_change_map``'s: render(moved) - render(weights), in float64.
    """
    check_synapse(model.topo, synapse)
    moved = np.array(model.weights, np.float64)
    moved[synapse] += delta
    after = render(model.topo, moved, width, height, np.float64)
    return after, after - render(model.topo, model.weights, width, height, np.float64)


def synapse_label(model: Model, synapse: int) -> str:
    """'synapse 418 (bias -> 35)' (the default font has no arrow glyph)."""
    topo = model.topo
    return f"synapse {synapse} ({topo.source_name(synapse)} -> {int(topo.dst[synapse])})"


def synapse_figure(
    model: Model, synapse: int, delta: float, width: int | None = None, height: int | None = None
) -> Figure:
    """The painting with one weight changed, beside its change map per channel.

    The change is exact: render(w + delta e_s) - render(w) in float64, shown with a diverging
    scale (blue negative, white zero, red positive) whose range the footer states.
    """
    w, h = _size(model, width, height)
    after, change = change_map(model, synapse, delta, w, h)
    scale = float(np.abs(change).max())
    old = float(model.weights[synapse])
    panels = [colour_image(after)] + [diverging_image(change[..., c], scale) for c in range(3)]
    captions = [f"w: {old:+.4g} -> {old + delta:+.4g}", "change R", "change G", "change B"]
    if scale > 0:
        footer = (
            f"{synapse_label(model, synapse)}; change scale: blue -{scale:.3g}, "
            f"white 0, red +{scale:.3g} (colours in [-1, 1])"
        )
    else:
        footer = f"{synapse_label(model, synapse)}: the painting does not change"
    return compose(panels, captions, footer=footer)


def sweep_values(start: float, stop: float, steps: int) -> np.ndarray:
    """The weight values of an absolute sweep: float64[steps], evenly spaced from start to stop."""
    return np.linspace(start, stop, steps)


def sweep_deltas(lo: float, hi: float, frames: int) -> np.ndarray:
    """The Δ of a relative sweep's frames: float64[n], from lo to hi, with Δ = 0 always one of
    them (the frame nearest 0 becomes 0 when 0 lies inside [lo, hi]; else 0 is added in order)."""
    d = np.linspace(lo, hi, max(2, int(frames)))
    if min(lo, hi) <= 0.0 <= max(lo, hi):
        d[np.argmin(np.abs(d))] = 0.0
        return d
    return np.sort(np.append(d, 0.0)) if lo < hi else np.sort(np.append(d, 0.0))[::-1]


def sweep_figure(
    model: Model,
    synapse: int,
    values: np.ndarray,
    width: int | None = None,
    height: int | None = None,
) -> Figure:
    """A strip of paintings while weight s takes each value (absolute, float64[n]).

    Each frame is captioned with its Δ from the trained weight and the weight, and stamped with
    its RMSE, measured against the model's picture at its training resolution. ``frames`` holds
    the same facts: one {"delta", "weight", "rmse"} per frame.
    """
    w, h = _size(model, width, height)
    same = (w, h) == model.size
    panels, captions, frames = [], [], []
    trained = float(model.weights[synapse])
    weights = np.array(model.weights, np.float64)
    for v in values:
        weights[synapse] = v
        img = render(model.topo, weights, w, h)
        err = rmse(img, model.image) if same else model.rmse(weights)
        delta = float(v) - trained
        panels.append(stamp(colour_image(img), f"RMSE {err:.3f}"))
        captions.append(f"d {delta:+.3f}  w {float(v):+.3f}")
        frames.append({"delta": delta, "weight": float(v), "rmse": float(err)})
    footer = f"{synapse_label(model, synapse)}, trained {trained:+.4f}; d = w - trained"
    fig = compose(panels, captions, footer=footer)
    return Figure(fig.image, fig.boxes, frames)


def save_png(image: Image.Image, path: str | os.PathLike, *, replace: bool = True,
             unique: bool = False) -> Path:
    """Write a PNG atomically; returns the path written (replace/unique: see write_atomic)."""
    return write_atomic(path, lambda fh: image.save(fh, format="PNG"), replace=replace,
                        unique=unique)
