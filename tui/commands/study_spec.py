"""What a study is: its config, regions in picture coordinates, and the hash that names a task.

A study config (``STUDY_DIR/config.json``, format ``synens-study-config/1``) holds the pictures
(name and SHA-256 of their bytes), the number of seeds, the training size and rules, the
regions and the null. A task is one (picture, seed); its key is a hash of (picture bytes,
seed, task config), so the same work always gets the same name and a re-run finds it.

Regions are kept as fractions of the picture's width and height (x0, y0, x1, y1; half-open),
or as colour segments ranked by size, so that a region means the same place for every seed.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from synens.core.base.errors import SynensError

CONFIG_FORMAT = "synens-study-config/1"
CONFIG_NAME = "config.json"
TASKS_DIR = "tasks"
#: Seeded null of random boxes per region (issue 7's null; its seed is fixed per study).
NULL_SEED = 0


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex (one-line SynensError when it cannot be read)."""
    p = Path(path)
    if not p.exists():
        raise SynensError(f"picture not found: {p}")
    if not p.is_file():
        raise SynensError(f"{p} is not a file")
    return hashlib.sha256(p.read_bytes()).hexdigest()


def parse_box(text: str) -> dict:
    """A region from the command line, as a dict with ``fraction`` [x0, y0, x1, y1].

    ``x0,y0,x1,y1`` with numbers in [0, 1] is a fraction of width and height;
    ``x0,y0,x1,y1@WxH`` is in pixels of a W×H picture. Both are half-open, x0 < x1, y0 < y1.
    """
    body, _, res = text.partition("@")
    try:
        nums = [float(v) for v in body.split(",")]
    except ValueError:
        raise SynensError(f"region {text!r} must be x0,y0,x1,y1 (fractions) "
                          "or x0,y0,x1,y1@WxH (pixels)") from None
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise SynensError(f"region {text!r} needs 4 finite numbers x0,y0,x1,y1")
    if res:
        return box_from_pixels(nums, _resolution(res, text), text)
    if any(v > 1 for v in nums) and all(v.is_integer() for v in nums):
        raise SynensError(f"region {text!r}: numbers above 1 are pixels; state the resolution "
                          "as x0,y0,x1,y1@WxH")
    return box_from_fractions(nums, text)


def _resolution(res: str, text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in res.lower().split("x"))
    except ValueError:
        raise SynensError(f"region {text!r}: the resolution must be WxH, like 128x96") from None
    if not (1 <= w <= 100_000 and 1 <= h <= 100_000):
        raise SynensError(f"region {text!r}: resolution {w}x{h} out of range")
    return w, h


def box_from_fractions(nums: list[float], text: str) -> dict:
    x0, y0, x1, y1 = nums
    if min(nums) < 0 or max(nums) > 1:
        raise SynensError(f"region {text!r} lies outside the picture (fractions in 0..1)")
    if not (x0 < x1 and y0 < y1):
        raise SynensError(f"region {text!r} is empty: it needs x0 < x1 and y0 < y1")
    return {"kind": "box", "fraction": [float(v) for v in nums]}


def box_from_pixels(nums: list[float], res: tuple[int, int], text: str) -> dict:
    w, h = res
    x0, y0, x1, y1 = nums
    if min(x0, y0) < 0 or x1 > w or y1 > h:
        raise SynensError(f"region {text!r} lies outside the {w}x{h} picture")
    box = box_from_fractions([x0 / w, y0 / h, x1 / w, y1 / h], text)
    box["pixels"] = [*nums, w, h]
    return box


def load_regions(path: str) -> list[dict]:
    """Regions from a JSON file: a list of {"box": [x0,y0,x1,y1], "resolution": [W, H]?} or
    {"segment": RANK}, each with an optional "name" and an optional "picture" (the file name
    of the one picture it belongs to; without it a region applies to every picture)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SynensError(f"regions file not found: {p}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SynensError(f"regions file {p} is not readable JSON ({err})") from None
    if not isinstance(data, list) or not data:
        raise SynensError(f"regions file {p} must hold a non-empty JSON list of regions")
    regions = []
    for i, item in enumerate(data):
        where = f"regions file {p}, item {i}"
        if not isinstance(item, dict):
            raise SynensError(f"{where} must be an object")
        if "segment" in item:
            rank = item["segment"]
            if not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
                raise SynensError(f"{where}: segment must be a rank 0, 1, ... (largest first)")
            region = {"kind": "segment", "rank": rank}
        elif "box" in item:
            box = item["box"]
            if not (isinstance(box, list) and len(box) == 4
                    and all(isinstance(v, int | float) and not isinstance(v, bool)
                            for v in box)):
                raise SynensError(f"{where}: box must be [x0, y0, x1, y1]")
            text = ",".join(str(v) for v in box)
            if "resolution" in item:
                res = item["resolution"]
                if not (isinstance(res, list) and len(res) == 2
                        and all(isinstance(v, int) for v in res)):
                    raise SynensError(f"{where}: resolution must be [W, H]")
                region = box_from_pixels([float(v) for v in box], (res[0], res[1]),
                                         f"{text}@{res[0]}x{res[1]}")
            else:
                region = parse_box(text)
        else:
            raise SynensError(f"{where} needs a \"box\" or a \"segment\"")
        if "name" in item:
            region["name"] = str(item["name"])
        if "picture" in item:
            region["picture"] = str(item["picture"])
        regions.append(region)
    return regions


def name_regions(regions: list[dict]) -> list[dict]:
    """Give every region a unique name (its own, else box0.., segment0..)."""
    out, seen = [], set()
    for i, r in enumerate(regions):
        name = r.get("name") or (f"segment{r['rank']}" if r["kind"] == "segment" else f"box{i}")
        if name in seen:
            raise SynensError(f"two regions are named {name!r}")
        seen.add(name)
        out.append({**r, "name": name})
    return out


def applies(region: dict, picture: str) -> bool:
    """Whether a study region is analysed on the picture named ``picture``."""
    return region.get("picture") in (None, picture)


def box_pixels(fraction: list[float], width: int, height: int) -> tuple[int, int, int, int]:
    """A fractional box at W×H: the half-open pixel rectangle, at least 1 pixel each way."""
    x0, y0, x1, y1 = fraction
    px0 = min(width - 1, int(math.floor(x0 * width + 1e-9)))
    py0 = min(height - 1, int(math.floor(y0 * height + 1e-9)))
    px1 = max(px0 + 1, min(width, int(math.ceil(x1 * width - 1e-9))))
    py1 = max(py0 + 1, min(height, int(math.ceil(y1 * height - 1e-9))))
    return px0, py0, px1, py1


def box_mask(fraction: list[float], width: int, height: int) -> np.ndarray:
    """The box as bool[H, W] at the training resolution."""
    x0, y0, x1, y1 = box_pixels(fraction, width, height)
    m = np.zeros((height, width), bool)
    m[y0:y1, x0:x1] = True
    return m


def task_config(config: dict) -> dict:
    """What every task of a study shares: the config less its pictures and seed count."""
    return {k: v for k, v in config.items() if k not in ("pictures", "seeds")}


def task_key(picture_sha: str, seed: int, tconfig: dict) -> str:
    """The name of a task: 20 hex digits of SHA-256 over (picture bytes hash, seed, config)."""
    blob = json.dumps({"picture": picture_sha, "seed": int(seed), "config": tconfig},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def differences(a: dict, b: dict) -> list[str]:
    """Top-level keys in which two study configs differ (sorted)."""
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
