"""Load any picture Pillow reads as an RGB uint8[H, W, 3] array at training resolution."""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from synens.core.base.errors import PictureError, one_line
from synens.core.files.atomic import file_kind

#: Allowed values of the longer side after resizing.
MIN_SIZE, MAX_SIZE = 8, 1024
#: Pictures with more pixels than this are refused before decoding (decompression bombs).
MAX_PIXELS = 64_000_000

_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    MemoryError,
)


def fit_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(W, H) scaled so that the longer side is ``size``, aspect kept, each side at least 1."""
    if width >= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def load_picture(path: str | os.PathLike, size: int = 128) -> np.ndarray:
    """Read a picture, composite transparency onto white, undo EXIF rotation and resize.

    The longer side becomes ``size`` (MIN_SIZE..MAX_SIZE) with LANCZOS; the aspect ratio is
    kept. Returns uint8[H, W, 3]. Every problem raises PictureError with a one-line message.
    """
    if (
        isinstance(size, bool)
        or not isinstance(size, int | np.integer)
        or not MIN_SIZE <= size <= MAX_SIZE
    ):
        raise PictureError(f"picture size must be an integer in {MIN_SIZE}..{MAX_SIZE}, got {size}")
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise PictureError(f"picture not found: {name}")
    if path.is_dir():
        raise PictureError(f"{name} is a folder, not a picture")
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise PictureError(f"picture {name} is {file_kind(mode)}, not a regular file")
        if path.stat().st_size == 0:
            raise PictureError(f"picture {name} is an empty file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w < 1 or h < 1:
                    raise PictureError(f"picture {name} has no pixels ({w}×{h})")
                if w * h > MAX_PIXELS:
                    raise PictureError(
                        f"picture {name} is too large ({w}×{h} pixels; the "
                        f"limit is {MAX_PIXELS:,} pixels)"
                    )
                im.load()
                rgb = _to_rgb(ImageOps.exif_transpose(im))
    except PictureError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureError(
            f"picture {name} is too large to decode safely (decompression bomb check)"
        ) from None
    except UnidentifiedImageError:
        raise PictureError(f"{name} is not a picture Pillow can read") from None
    except PermissionError as err:
        raise PictureError(f"cannot read picture {name}: {err.strerror}") from None
    except _DECODE_ERRORS as err:
        raise PictureError(f"picture {name} is damaged or truncated ({one_line(err)})") from None
    out = rgb.resize(fit_size(rgb.width, rgb.height, int(size)), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(out, np.uint8))


def _to_rgb(im: Image.Image) -> Image.Image:
    """An 8-bit RGB image; transparency is composited onto white, 16-bit and float are scaled."""
    if im.mode.startswith("I") or im.mode == "F":
        im = Image.fromarray(_scale_to_8bit(np.asarray(im), im.mode), "L")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _scale_to_8bit(a: np.ndarray, mode: str) -> np.ndarray:
    """Greyscale pixels of mode I;16*, I or F to uint8[H, W].

    16-bit modes use the full 0..65535 range; 32-bit integers are taken as 8-bit if they fit,
    else 16-bit if they fit, else scaled by their maximum; floats are taken as 0..1 if they fit.
    """
    a = np.nan_to_num(a.astype(np.float64))
    top = float(a.max()) if a.size else 0.0
    if mode.startswith("I;16"):
        scale = 255.0 / 65535.0
    elif mode == "F":
        scale = 255.0 if top <= 1.0 else 1.0
    elif top <= 255.0:
        scale = 1.0
    elif top <= 65535.0:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / top
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
