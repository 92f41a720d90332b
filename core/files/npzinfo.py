"""What an ``.npz`` archive holds, read from the members' ``.npy`` headers without the data.

Lets the model loader refuse a huge picture, an object array or a damaged member before
decompressing anything large.
"""

from __future__ import annotations

import os
import stat
import zipfile
from typing import NamedTuple

import numpy as np
from numpy.lib import format as npy_format
from synens.core.base.errors import ModelFileError, one_line
from synens.core.base.memory import check_memory, network_bytes
from synens.core.files.atomic import file_kind


class Member(NamedTuple):
    """One ``NAME.npy`` member: its shape, dtype and Fortran order (from the header)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool


def check_regular(path: str | os.PathLike, what: str) -> None:
    """Raise ModelFileError unless path is a regular file (following symlinks)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path} is {file_kind(mode)}, not a {what} (not a regular file)")


def npz_members(path: str | os.PathLike, name: str) -> dict[str, Member | None]:
    """Headers of every member of the archive, keyed by name without ``.npy``.

    A member that is not an ``.npy`` array but is not named ``*.npy`` either (say, raw bytes
    named plainly ``format``, which NumPy returns as bytes) maps to None. A damaged ``.npy``
    member or archive raises ModelFileError with one line.
    """
    members: dict[str, Member | None] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                key = info.filename.removesuffix(".npy")
                with zf.open(info) as fh:
                    is_npy = fh.read(6) == b"\x93NUMPY"
                if not is_npy and info.filename.endswith(".npy"):
                    raise ModelFileError(f"model file {name} is damaged: member "
                                         f"{info.filename[:40]!r} is not an .npy array")
                if not is_npy:
                    members[key] = None  # NumPy would hand out its raw bytes
                    continue
                with zf.open(info) as fh:
                    members[key] = _header(fh)
    except ModelFileError:
        raise
    except Exception as err:  # zipfile, zlib and header parsing raise many kinds
        raise ModelFileError(
            f"model file {name} is damaged or truncated ({one_line(err)})") from None
    return members


def check_members(members: dict[str, Member | None], name: str, max_side: int,
                  bytes_per_pixel: int) -> None:
    """Refuse from the headers alone: no format, object arrays, a picture too large.

    The picture's memory estimate is ``bytes_per_pixel`` per pixel plus the network's.
    """
    if members.get("format") is None:
        if "format" in members:
            raise ModelFileError(f"model file {name} is damaged: its 'format' member is not an "
                                 ".npy array")
        raise ModelFileError(f"{name} is not a synens model file (no 'format' entry)")
    for key, member in members.items():
        if member is None:
            continue
        if member.dtype.hasobject:
            raise ModelFileError(f"model file {name}: '{key}' holds Python objects (pickled "
                                 "data), which are never loaded")
    image, weights = members.get("image"), members.get("weights")
    if image is not None and len(image.shape) == 3:
        h, w, c = image.shape
        if c != 3 or not (1 <= h <= max_side and 1 <= w <= max_side):
            raise ModelFileError(
                f"model file {name}: 'image' must be uint8[H, W, 3] with sides in "
                f"1..{max_side}, got shape {list(image.shape)}")
        n_syn = int(np.prod(weights.shape)) if weights is not None else 0
        n_syn = min(n_syn, 2**40)
        check_memory(f"model file {name} with a {w}×{h} picture",
                     h * w * bytes_per_pixel + network_bytes(n_syn, 0, 0))


def _header(fh) -> Member:
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):  # 3.0 differs only in the header's text encoding
        shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    return Member(tuple(int(n) for n in shape), np.dtype(dtype), bool(fortran))
