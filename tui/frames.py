"""What the canvas shows for each view, from a Session (NumPy only, no Textual)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from synens.core.analysis.changemap import linear_change_map
from synens.core.network.render import render, to_uint8

from . import views
from .session import Session
from .state import Layout

F32 = np.float32


def cached(cache: dict, key: object, make: Callable[[], np.ndarray]) -> np.ndarray:
    """``cache[key]``, made by ``make()`` the first time."""
    if key not in cache:
        cache[key] = make()
    return cache[key]


def picture(session: Session, lay: Layout, cache: dict, atlas_busy: bool = False
            ) -> tuple[np.ndarray, str]:
    """The current view at the layout's render size: uint8[rh, rw, 3] and a caption label.

    Starts nothing: the atlas view shows the atlas the session holds, marked when it was
    made for other weights (``cache`` keeps resampled pictures; clear it on a new layout).
    """
    st, r = session.state, session.renderer
    model = session.model
    view = st.view
    if view == 2:
        pic = cached(cache, "original", lambda: views.resample(model.image, lay.rw, lay.rh))
        return pic, "original"
    if view == 3 and not session.kernels_ready("views"):
        return to_uint8(r.image()), "diff: compiling kernels, first run only…"
    if view == 3:
        trained = cached(cache, "trained",
                         lambda: render(model.topo, st.trained, lay.rw, lay.rh))
        pic, scale = views.difference(r.image(), trained)
        return pic, f"diff ±{scale:.3g} (blue −, red +)"
    if view == 4:
        return views.grey(r.activation(st.neuron)), f"neuron {st.neuron}"
    if view == 5 and not session.kernels_ready("changemap"):
        return to_uint8(r.image()), "change map: compiling kernels, first run only…"
    if view == 5:
        jac = linear_change_map(model.topo, r.weights, st.selected, lay.rw, lay.rh, F32)
        pic, scale = views.change_map(jac)
        return pic, f"d paint/d w[{st.selected}], ±{scale:.3g} = full colour"
    painting = to_uint8(r.image())
    if view == 6:
        tag = session.get("atlas")
        if tag is None:
            label = "atlas: computing…" if atlas_busy else "atlas: press 6 to compute"
            return views.atlas_overlay(painting, np.zeros((0, 1, 1))), label
        maps = cached(cache, ("atlas", tag.version),
                      lambda: views.resize_maps(tag.value, lay.rw, lay.rh))
        if atlas_busy:
            note = " (updating…)"
        elif not session.is_current(tag):
            note = " (weights changed: 6 re-runs)"
        else:
            note = ""
        return views.atlas_overlay(painting, maps), f"atlas: {len(maps)} parts{note}"
    return painting, ""
