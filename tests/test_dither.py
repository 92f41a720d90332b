"""Tests for the 256-colour mapping: nearest, ordered and diffusion dithering vs NumPy references,
CIEDE2000 on the published pairs, and dithering's lower error against true colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import reference as ref
from PIL import Image
from synens.tui.ansi import compose_cells, rgb_to_xterm256, xterm256_palette
from synens.tui.colourdiff import banding, ciede2000, mean_de, srgb_to_lab
from synens.tui.dither import BAYER8, bayer, to_xterm256

DATA = Path(__file__).parent / "data"
ASSETS = Path(__file__).parents[1] / "assets"
PALETTE = xterm256_palette()


def pictures(size=(200, 120)):
    for path in sorted(ASSETS.glob("*.png")):
        im = Image.open(path).convert("RGB").resize(size, Image.Resampling.LANCZOS)
        yield path.stem, np.asarray(im, dtype=np.uint8)


def random_picture(seed, shape=(23, 31)):
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (*shape, 3))
    ramp = np.linspace(0, 255, shape[1])[None, :, None] * np.ones((shape[0], 1, 3))
    gray = rng.integers(0, 256, shape)[..., None] + rng.integers(-6, 7, (*shape, 3))
    return [np.clip(a, 0, 255).astype(np.uint8) for a in (noise, ramp, gray)]


def test_sharma_ciede2000_pairs():
    d = np.loadtxt(DATA / "ciede2000_sharma.csv", delimiter=",", comments="#")
    assert d.shape == (34, 7)
    np.testing.assert_allclose(ciede2000(d[:, :3], d[:, 3:6]), d[:, 6], atol=1e-4)
    np.testing.assert_allclose(ciede2000(d[:, 3:6], d[:, :3]), d[:, 6], atol=1e-4)


def test_lab_of_white_black_red():
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], dtype=np.uint8))
    np.testing.assert_allclose(lab, [[100, 0, 0], [0, 0, 0], [53.24, 80.09, 67.20]], atol=0.01)


def test_bayer_matrix():
    m = bayer(8)
    assert sorted(m.ravel().tolist()) == list(range(64))
    assert (bayer(2) == [[0, 2], [3, 1]]).all() and (BAYER8 == m).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_nearest_matches_reference(seed):
    for px in random_picture(seed):
        assert (to_xterm256(px, "none") == ref.xterm_nearest(px)).all()
        assert (rgb_to_xterm256(px) == ref.xterm_nearest(px)).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_ordered_matches_reference(seed):
    for px in random_picture(seed):
        assert (to_xterm256(px, "ordered") == ref.dither_ordered(px, bayer(8))).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_diffusion_matches_reference(seed):
    for px in random_picture(seed):
        assert (to_xterm256(px, "diffusion") == ref.dither_diffusion(px)).all()


@pytest.mark.parametrize("dither", ["none", "ordered", "diffusion"])
def test_palette_colours_map_to_themselves(dither):
    px = PALETTE[16:].reshape(12, 20, 3)
    assert (to_xterm256(px, dither) == np.arange(16, 256).reshape(12, 20)).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="dither"):
        to_xterm256(np.zeros((2, 2, 3), np.uint8), "bayer")
    with pytest.raises(ValueError, match="uint8"):
        to_xterm256(np.zeros((2, 2, 3)), "ordered")


def test_dithering_lowers_the_error_against_true_colour_on_the_shipped_photos():
    """Seen as the eye does (3x3 means in linear light), both ditherings are clearly nearer to
    true colour than nearest-colour mapping on every shipped photo, and band less."""
    pics = list(pictures())
    assert len(pics) == 3
    for name, rgb in pics:
        plain = to_xterm256(rgb, "none")
        base, base_band = mean_de(rgb, PALETTE[plain], blur=3), banding(rgb, plain)
        for dither in ("ordered", "diffusion"):
            idx = to_xterm256(rgb, dither)
            err = mean_de(rgb, PALETTE[idx], blur=3)
            assert err < 0.9 * base, (name, dither, err, base)
            assert banding(rgb, idx) < 0.5 * base_band, (name, dither)


def test_ordered_dither_is_local():
    """A local edit changes no pixel outside it (so a nudge re-sends only what changed)."""
    rgb = next(pictures())[1]
    edited = rgb.copy()
    edited[:30, :50] = np.minimum(edited[:30, :50].astype(int) + 3, 255)
    changed = to_xterm256(rgb, "ordered") != to_xterm256(edited, "ordered")
    changed[:30, :50] = False
    assert not changed.any()


def test_compose_cells_256_dithers_but_keeps_marks_exact():
    rgb = np.full((8, 10, 3), 120, dtype=np.uint8)
    rgb[..., 0] = np.linspace(0, 255, 10).astype(np.uint8)
    fg, bg, chars, indexed = compose_cells(rgb, "256", cursor=(5, 4), dither="ordered")
    assert indexed and fg.shape == (4, 10, 1)
    px = np.empty((8, 10), dtype=np.uint8)
    px[0::2], px[1::2] = fg[..., 0], bg[..., 0]
    want = to_xterm256(rgb, "ordered")
    mark = np.zeros((8, 10), dtype=bool)
    mark[2:7, 5] = mark[4, 3:8] = True
    assert (px[~mark] == want[~mark]).all()
    assert set(px[mark].tolist()) <= {16, 231}  # black or white, exact
