"""Pixels to half-block cells to raw ANSI rows, and the xterm-256 mapping (numpy + numba only)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np
from numba import njit
from rich.cells import cell_len

from .dither import to_xterm256

Label = tuple[int, int, str]  # (column, row, text) in cells
Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1) in picture pixels, half-open
COLOR_MODES = ("truecolor", "256")
HALF_BLOCK = 0x2580  # "▀": foreground paints the upper pixel, background the lower one
RESET = "\x1b[0m"
#: How the 256-colour mode maps the painting; chosen by benchmarks/bench_colour.py.
DITHER = "ordered"

_LEVELS = np.array([0, 95, 135, 175, 215, 255], dtype=np.int32)
_CUBE_INDEX = np.abs(np.arange(256)[:, None] - _LEVELS[None, :]).argmin(axis=1).astype(np.int32)


def xterm256_palette() -> np.ndarray:
    """Return the xterm-256 palette as uint8[256, 3] (0-15: xterm defaults, 16-231 cube, grays)."""
    system = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ]
    cube = [(_LEVELS[i // 36], _LEVELS[i // 6 % 6], _LEVELS[i % 6]) for i in range(216)]
    grays = [(8 + 10 * k,) * 3 for k in range(24)]
    return np.array(system + cube + grays, dtype=np.uint8)


def rgb_to_xterm256(rgb: np.ndarray) -> np.ndarray:
    """Map uint8[..., 3] RGB to the nearest xterm-256 index (16-255), uint8[...].

    Exact nearest colour (Euclidean RGB) among the 6x6x6 cube and the 24-step gray ramp;
    the 16 system colours are never used because terminal themes redefine them.
    """
    c = rgb.astype(np.int32)
    ci = _CUBE_INDEX[c]  # per-channel nearest cube level: separable, hence the exact cube nearest
    d_cube = ((c - _LEVELS[ci]) ** 2).sum(axis=-1)
    k = np.clip((c.sum(axis=-1) - 24 + 15) // 30, 0, 23)  # gray nearest to the mean, 8 + 10k
    d_gray = ((c - (8 + 10 * k)[..., None]) ** 2).sum(axis=-1)
    cube_index = 16 + 36 * ci[..., 0] + 6 * ci[..., 1] + ci[..., 2]
    return np.where(d_gray < d_cube, 232 + k, cube_index).astype(np.uint8)


def preferred_color_mode(environ: Mapping[str, str] = os.environ) -> str:
    """Return "truecolor" when COLORTERM advertises 24-bit colour, else "256"."""
    return "truecolor" if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit") else "256"


def check_color_mode(mode: str) -> str:
    """Return ``mode`` if it is one of COLOR_MODES; ValueError otherwise."""
    if mode not in COLOR_MODES:
        raise ValueError(f"color mode must be one of {COLOR_MODES}, not {mode!r}")
    return mode


def _contrast(px: np.ndarray) -> np.ndarray:
    """Black or white, whichever contrasts with each uint8[N, 3] pixel."""
    lum = px.astype(np.int32) @ np.array([77, 150, 29], dtype=np.int32)
    return np.where((lum >= 128 * 256)[:, None], 0, 255).astype(np.uint8)


def compose_cells(
    rgb: np.ndarray,
    mode: str = "truecolor",
    *,
    size: tuple[int, int] | None = None,
    labels: Iterable[Label] = (),
    outline: Rect | None = None,
    cursor: tuple[int, int] | None = None,
    dither: str = DITHER,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Lay an RGB picture out as half-block cells: returns (fg, bg, chars, indexed).

    rgb: uint8[H, W, 3]. Returns fg, bg: uint8[R, C, 3] upper / lower pixel of each cell
    (uint8[R, C, 1] xterm indices when indexed, i.e. mode "256"); chars: uint32[R, C].
    size: (columns C, rows R), default (W, ceil(H / 2)); the picture sits top-left, cropped
    or padded with black (so an odd H gets a black lower half on its last row). outline:
    pixel rectangle (x0, y0, x1, y1), half-open; cursor: pixel (x, y) drawn as a small
    cross; both in a contrasting colour. labels: (column, row, text), white on black.
    mode: "truecolor" (exact 24-bit) or "256"; dither: how "256" maps the picture
    (see ``dither.DITHERS``: "none", "ordered", "diffusion"); outline, cursor and labels stay exact.
    """
    check_color_mode(mode)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8[H, W, 3], got {rgb.dtype}{list(rgb.shape)}")
    cols, rows = size if size is not None else (rgb.shape[1], (rgb.shape[0] + 1) // 2)
    px = np.zeros((2 * rows, cols, 3), dtype=np.uint8)
    h, w = min(rgb.shape[0], 2 * rows), min(rgb.shape[1], cols)
    px[:h, :w] = rgb[:h, :w]
    mask = None
    if outline is not None or cursor is not None:
        mask = np.zeros(px.shape[:2], dtype=bool)
        if outline is not None:
            x0, y0, x1, y1 = (max(0, v) for v in outline)
            if x1 > x0 and y1 > y0:
                mask[y0:y1, x0:x1] = True
                mask[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] = False
        if cursor is not None:
            cx, cy = cursor
            if 0 <= cx < cols and 0 <= cy < 2 * rows:
                mask[max(0, cy - 2) : cy + 3, cx] = True
                mask[cy, max(0, cx - 2) : cx + 3] = True
    indexed = mode == "256"
    if indexed:
        idx = to_xterm256(px, dither)
        if mask is not None:
            idx[mask] = np.where(_contrast(px[mask])[:, 0] == 0, 16, 231)  # black, white
        px = idx[..., None]
    elif mask is not None:
        px[mask] = _contrast(px[mask])
    fg, bg = px[0::2].copy(), px[1::2].copy()
    chars = np.full((rows, cols), HALF_BLOCK, dtype=np.uint32)
    text_fg, text_bg = ((231,), (16,)) if indexed else ((255, 255, 255), (0, 0, 0))
    for col, row, text in labels:
        if not 0 <= row < rows:
            continue
        for x, ch in enumerate(text, start=col):
            if 0 <= x < cols:
                ok = ch.isprintable() and ord(ch) < 0x10000 and cell_len(ch) == 1
                chars[row, x] = ord(ch) if ok else ord("?")
                fg[row, x], bg[row, x] = text_fg, text_bg
    return fg, bg, chars, indexed


@njit(cache=True, nogil=True)
def _put_int(buf, p, v):  # pragma: no cover - compiled
    if v >= 100:
        buf[p] = 48 + v // 100
        p += 1
    if v >= 10:
        buf[p] = 48 + v // 10 % 10
        p += 1
    buf[p] = 48 + v % 10
    return p + 1


@njit(cache=True, nogil=True)
def _put_colour(buf, p, col, base, indexed):  # pragma: no cover - compiled
    buf[p] = base  # "3" (foreground) or "4" (background)
    buf[p + 1] = 56  # "8"
    buf[p + 2] = 59  # ";"
    if indexed:
        buf[p + 3] = 53  # "5"
        buf[p + 4] = 59
        return _put_int(buf, p + 5, np.int64(col[0]))
    buf[p + 3] = 50  # "2"
    buf[p + 4] = 59
    p = _put_int(buf, p + 5, np.int64(col[0]))
    buf[p] = 59
    p = _put_int(buf, p + 1, np.int64(col[1]))
    buf[p] = 59
    return _put_int(buf, p + 1, np.int64(col[2]))


@njit(cache=True, nogil=True)
def _encode_rows(fg, bg, chars, indexed, out, lengths):  # pragma: no cover - compiled
    rows, width = chars.shape
    for r in range(rows):
        buf = out[r]
        p = 0
        prev_f = np.int64(-1)
        prev_b = np.int64(-1)
        for x in range(width):
            f = fg[r, x]
            b = bg[r, x]
            if indexed:
                kf = np.int64(f[0])
                kb = np.int64(b[0])
            else:
                kf = (np.int64(f[0]) << 16) | (np.int64(f[1]) << 8) | np.int64(f[2])
                kb = (np.int64(b[0]) << 16) | (np.int64(b[1]) << 8) | np.int64(b[2])
            if kf != prev_f or kb != prev_b:  # only emit the colours that changed
                buf[p] = 27
                buf[p + 1] = 91  # "\x1b["
                p += 2
                if kf != prev_f:
                    p = _put_colour(buf, p, f, 51, indexed)
                if kb != prev_b:
                    if kf != prev_f:
                        buf[p] = 59
                        p += 1
                    p = _put_colour(buf, p, b, 52, indexed)
                buf[p] = 109  # "m"
                p += 1
                prev_f = kf
                prev_b = kb
            ch = np.int64(chars[r, x])  # UTF-8, at most 3 bytes (BMP only)
            if ch < 0x80:
                buf[p] = ch
                p += 1
            elif ch < 0x800:
                buf[p] = 0xC0 | (ch >> 6)
                buf[p + 1] = 0x80 | (ch & 0x3F)
                p += 2
            else:
                buf[p] = 0xE0 | (ch >> 12)
                buf[p + 1] = 0x80 | ((ch >> 6) & 0x3F)
                buf[p + 2] = 0x80 | (ch & 0x3F)
                p += 3
        for i in range(4):  # "\x1b[0m"
            buf[p + i] = (27, 91, 48, 109)[i]
        lengths[r] = p + 4


def encode_rows(fg: np.ndarray, bg: np.ndarray, chars: np.ndarray, indexed: bool) -> list[str]:
    """Encode cell rows to raw ANSI strings, one per row, each ending with a reset.

    fg, bg: uint8[R, W, 3] RGB, or uint8[R, W, 1] xterm-256 indices when ``indexed``;
    chars: uint32[R, W] code points (single-cell, BMP). Returns R strings of W cells each.
    """
    rows, width = chars.shape
    out = np.empty((rows, width * 40 + 8), dtype=np.uint8)  # 39 bytes/cell worst case
    lengths = np.empty(rows, dtype=np.int64)
    _encode_rows(
        np.ascontiguousarray(fg),
        np.ascontiguousarray(bg),
        np.ascontiguousarray(chars),
        indexed,
        out,
        lengths,
    )
    return [out[r, : lengths[r]].tobytes().decode() for r in range(rows)]
