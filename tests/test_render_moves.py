"""``render --moves``: the painting, then each move's moved painting beside its |change| map."""

from __future__ import annotations

import numpy as np
import pytest
from app_fixtures import small_model
from synens.core.analysis.control import region_control
from synens.core.analysis.masks import rect_mask
from synens.core.files.model import load_model
from synens.core.network.render import render, to_uint8
from synens.core.reports.moves_figure import moves_figure
from test_cli import assert_error, call, png

REGION = (7, 11, 10, 20)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("moves") / "small.npz"
    small_model(path)
    return path


def test_moves_figure_panels_are_real_renders(capsys, model_path, tmp_path):
    out = tmp_path / "moves.png"
    code, text, _ = call(capsys, "render", model_path, "-o", out, "--moves",
                         "--region", ",".join(map(str, REGION)))
    assert code == 0 and "moves of rectangle 7,11,10,20" in text
    m = load_model(model_path)
    w, h = m.size
    control = region_control(m.topo, m.weights, rect_mask(REGION, w, h))
    fig = moves_figure(m, control, w, h)
    a = png(out)
    assert (a.shape[1], a.shape[0]) == fig.image.size
    assert len(fig.boxes) >= 4  # painting + mask, then at least the ensemble's two panels
    # the ensemble's moved painting is render(w + its applied step), measured inside and out
    step = np.zeros(m.topo.n_synapses)
    for s, v in control.ensemble.components().items():
        step[s] = v
    x, y, pw, ph = fig.boxes[2]
    want = to_uint8(render(m.topo, m.weights + step, w, h, np.float64))
    got = a[y:y + ph, x:x + pw]
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # and it really moves the region more than the rest
    base = render(m.topo, m.weights, w, h, np.float64)
    after = render(m.topo, m.weights + step, w, h, np.float64)
    inside = rect_mask(REGION, w, h)
    d = np.sqrt(np.mean((after - base) ** 2, axis=-1))
    assert np.sqrt(np.mean(d[inside] ** 2)) > 3 * np.sqrt(np.mean(d[~inside] ** 2))


@pytest.mark.parametrize("extra, word", [
    (["--moves"], "region"),
    (["--region", "1,1,4,4"], "--moves"),
    (["--moves", "--region", "1,1,99,4"], "region"),
])
def test_moves_bad_arguments(capsys, model_path, tmp_path, extra, word):
    code, _, err = call(capsys, "render", model_path, "-o", tmp_path / "x.png", *extra)
    assert_error(code, err, word)
    assert not (tmp_path / "x.png").exists()
