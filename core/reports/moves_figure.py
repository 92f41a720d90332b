"""The moves figure: the painting and region, then the ensemble's, best neuron's and best synapse's
moves, each as the moved painting beside its |change| map (``render --moves``)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from synens.core.analysis.control import Control, Move
from synens.core.files.model import Model
from synens.core.network.render import render
from synens.core.reports.figures import Figure, colour_image, compose, grey_image


def _step(move: Move, n_synapses: int) -> np.ndarray:
    """The applied weight change of a measured move: float64[S] (components in weight units)."""
    step = np.zeros(n_synapses)
    for s, v in move.components().items():
        step[s] = v
    return step


def moved_images(model: Model, move: Move, width: int, height: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The painting after the move and |change| (RMS over channels): float64[H, W, 3], [H, W]."""
    base = render(model.topo, model.weights, width, height, np.float64)
    after = render(model.topo, model.weights + _step(move, model.topo.n_synapses), width, height,
                   np.float64)
    return after, np.sqrt(np.mean((after - base) ** 2, axis=-1))


def _outline(panel: Image.Image, mask: np.ndarray) -> Image.Image:
    """Draw the region's bounding box (mask bool[h, w] at training resolution) on the panel."""
    ys, xs = np.nonzero(mask)
    sx, sy = panel.width / mask.shape[1], panel.height / mask.shape[0]
    box = (xs.min() * sx, ys.min() * sy, (xs.max() + 1) * sx - 1, (ys.max() + 1) * sy - 1)
    ImageDraw.Draw(panel).rectangle(box, outline=(255, 255, 0))
    return panel


def moves_figure(model: Model, control: Control, width: int, height: int) -> Figure:
    """Painting and region mask, then (moved painting, |change|) for the ensemble, the best neuron
    and the best synapse, each labelled with k and its measured sel. |change| maps share one
    square-root scale (black 0, white the largest RMS change of the three), stated in the footer."""
    base = render(model.topo, model.weights, width, height, np.float64)
    mask_img = Image.fromarray(np.where(control.mask, 255, 0).astype(np.uint8), "L")
    panels = [_outline(colour_image(base), control.mask),
              mask_img.resize((width, height), Image.NEAREST).convert("RGB")]
    captions = ["painting (region boxed)", f"region: {int(control.mask.sum())} px"]
    rows: list[tuple[str, Move]] = [(f"ensemble: k={control.ensemble.synapses.size}",
                                     control.ensemble)]
    neuron, synapse = control.baselines.get("neuron"), control.baselines.get("synapse")
    if neuron is not None:
        rows.append((f"best neuron {neuron[0]}: k={neuron[1].synapses.size}", neuron[1]))
    if synapse is not None:
        rows.append((f"best synapse {synapse[0]}: k=1", synapse[1]))
    shown = [(label, mv, *moved_images(model, mv, width, height)) for label, mv in rows
             if mv.measured is not None]
    scale = max((float(c.max()) for *_, c in shown), default=0.0)
    for label, mv, after, change in shown:
        panels.append(colour_image(after))
        captions.append(f"{label}, sel {mv.sel:.3g}")
        grey = 2.0 * np.sqrt(change / scale) - 1.0 if scale > 0 else -np.ones_like(change)
        panels.append(grey_image(grey))
        captions.append("|change|")
    level = shown[0][1].measured.level if shown else 0.0
    footer = (f"moves scaled to RMS change {level:g} inside the region; "
              f"|change| on a square-root scale: black 0, white {scale:.3g} (colours in [-1, 1])"
              if shown else "no move reaches the stated change")
    return compose(panels, captions, cols=2, footer=footer)
