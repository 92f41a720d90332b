"""Pictures: every mode Pillow reads becomes RGB uint8 at the asked size; bad files are refused."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from synens.core.base.errors import PictureError
from synens.core.files.picture import MAX_PIXELS, fit_size, load_picture


def _load(im: Image.Image, path, size: int = 16, **save) -> np.ndarray:
    im.save(path, **save)
    out = load_picture(path, size)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.flags.c_contiguous
    return out


def _refused(path, *words: str, size: int = 16) -> None:
    with pytest.raises(PictureError) as info:
        load_picture(path, size)
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_rgb_at_its_own_size_is_unchanged(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_load(Image.fromarray(a), tmp_path / "a.png"), a)


def test_palette(tmp_path):
    im = Image.new("P", (16, 8))
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (8, 0, 16, 8))
    out = _load(im, tmp_path / "p.png")
    assert out.shape == (8, 16, 3)
    assert tuple(out[4, 2]) == (255, 0, 0) and tuple(out[4, 13]) == (0, 0, 255)


def test_greyscale(tmp_path):
    out = _load(Image.new("L", (16, 16), 77), tmp_path / "g.png")
    assert np.all(out == 77)


def test_sixteen_bit_greyscale_uses_the_full_range(tmp_path):
    im = Image.fromarray(np.full((16, 16), 40000, np.uint16))
    assert im.mode.startswith("I;16")
    out = _load(im, tmp_path / "g16.png")
    assert np.all(out == round(40000 / 257))


def test_float_greyscale(tmp_path):
    im = Image.fromarray(np.full((16, 16), 0.5, np.float32))
    out = _load(im, tmp_path / "f.tif")
    assert np.all(out == 128)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_onto_white(tmp_path, mode):
    colour = (10, 20, 30, 0) if mode == "RGBA" else (40, 0)
    half = (10, 20, 30, 128) if mode == "RGBA" else (40, 128)
    im = Image.new(mode, (16, 16), colour)
    im.paste(Image.new(mode, (8, 16), half), (8, 0))
    out = _load(im, tmp_path / "a.png")
    assert np.all(out[:, :4] == 255)  # transparent -> white
    grey = 40 if mode == "LA" else None
    expect = [round((c * 128 + 255 * 127) / 255) for c in ((grey,) * 3 if grey else (10, 20, 30))]
    np.testing.assert_allclose(out[:, 12:].reshape(-1, 3), np.tile(expect, (64, 1)), atol=1)


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (16, 16), 0)
    im.putpalette([0, 0, 0, 0, 128, 0] + [0] * 762)
    im.paste(1, (8, 0, 16, 16))
    im.info["transparency"] = 0
    out = _load(im, tmp_path / "t.png", transparency=0)
    assert np.all(out[:, :6] == 255)
    assert np.all(out[:, 10:] == (0, 128, 0))


def test_exif_rotated_jpeg_swaps_sides(tmp_path):
    a = np.zeros((16, 32, 3), np.uint8)  # landscape 32 wide, 16 high
    a[:, :16] = (255, 0, 0)  # left half red
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    out = _load(im, tmp_path / "r.jpg", size=32, exif=exif, quality=95)
    assert out.shape == (32, 16, 3)
    # the left half becomes the top half after a clockwise turn
    assert out[4, 8, 0] > 200 and out[4, 8, 2] < 60
    assert out[28, 8, 0] < 60


def test_other_modes(tmp_path):
    for mode, value in (("1", 1), ("CMYK", (0, 0, 0, 0)), ("I", 200)):
        out = _load(Image.new(mode, (16, 16), value), tmp_path / f"m{mode}.tif")
        assert out.shape == (16, 16, 3)
    assert np.all(load_picture(tmp_path / "m1.tif", 16) == 255)
    assert np.all(load_picture(tmp_path / "mI.tif", 16) == 200)


@pytest.mark.parametrize(
    "w, h, size, expect",
    [
        (200, 100, 64, (64, 32)),
        (100, 200, 64, (32, 64)),
        (30, 30, 128, (128, 128)),
        (1000, 3, 64, (64, 1)),
        (3, 1000, 8, (1, 8)),
        (333, 222, 100, (100, 67)),
    ],
)
def test_resize_keeps_aspect(tmp_path, w, h, size, expect):
    assert fit_size(w, h, size) == expect
    out = _load(Image.new("RGB", (w, h), (1, 2, 3)), tmp_path / "s.png", size=size)
    assert (out.shape[1], out.shape[0]) == expect
    assert np.all(out == (1, 2, 3))


def test_downscale_is_lanczos(tmp_path):
    a = np.zeros((64, 48, 3), np.uint8)
    a[::2] = 255  # stripes: nearest or bilinear would not give LANCZOS's greys
    out = _load(Image.fromarray(a), tmp_path / "stripes.png", size=8)
    want = np.asarray(Image.fromarray(a).resize((6, 8), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(out, want)
    assert np.all(np.abs(out.astype(int) - 128) <= 8)


def test_missing_folder_and_empty(tmp_path):
    _refused(tmp_path / "nope.png", "not found")
    _refused(tmp_path, "folder")
    (tmp_path / "empty.png").write_bytes(b"")
    _refused(tmp_path / "empty.png", "empty")


def test_not_an_image(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(np.random.default_rng(1).bytes(300))
    _refused(p, "not a picture")
    p.write_text("hello, I am text\n")
    _refused(p, "not a picture")


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif")])
def test_truncated(tmp_path, fmt, suffix):
    a = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    p = tmp_path / f"t.{suffix}"
    Image.fromarray(a).save(p, format=fmt)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _refused(p, "damaged or truncated")


def _png_header_only(path, width: int, height: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_zero_size_image(tmp_path):
    p = tmp_path / "zero.png"
    _png_header_only(p, 0, 5)
    with pytest.raises(PictureError):
        load_picture(p)


@pytest.mark.parametrize("side", [9000, 12000, 20000, 60000])
def test_decompression_bomb(tmp_path, side):
    assert side * side > MAX_PIXELS
    p = tmp_path / "bomb.png"
    _png_header_only(p, side, side)
    _refused(p, "too large")


@pytest.mark.parametrize("size", [0, 7, 1025, -3, 2.5, True])
def test_size_out_of_range(tmp_path, size):
    p = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(p)
    _refused(p, "8..1024", size=size)


def test_size_bounds_accepted(tmp_path):
    p = tmp_path / "ok.png"
    Image.new("RGB", (4, 2)).save(p)
    assert load_picture(p, 8).shape == (4, 8, 3)
    assert load_picture(p, 1024).shape == (512, 1024, 3)
