"""256-colour quality: nearest vs ordered vs error-diffusion dithering, with chafa as the anchor.

Run: python benchmarks/bench_colour.py [--json FILE] [--no-chafa]

Each picture is shown at the explorer's size (200x120 px = 200x60 half-block cells) and each
method's 256-colour pixels are compared with the true-colour pixels:
- dE00: mean CIEDE2000 per pixel (Sharma et al. 2005);
- dE00 3x3: mean CIEDE2000 of 3x3 means taken in linear light (what the eye sees of a
  pattern of pixels; dithering trades per-pixel error for this);
- banding: share of smooth-gradient 2x2 neighbourhoods (true colours differ, no channel spans
  more than 24) collapsed to one palette colour;
- kB/frame: bytes of the encoded 200x60 frame;
- spill: share of pixels outside a 50x30 px corner whose colour changes when only that corner
  gets 3 levels brighter (how far one local edit spreads, i.e. bytes per nudge);
- ms: time to map one frame (median of 20; ours only).
A second table nudges 20 random synapses of the shipped model by the explorer's default step
(0.05) and gives the median share of cells whose colours change, which is what an encoder that
skips unchanged cells has to send.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from synens.tui.ansi import compose_cells, encode_rows, xterm256_palette
from synens.tui.colourdiff import banding, mean_de
from synens.tui.dither import to_xterm256

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
W, H = 200, 120
PALETTE = xterm256_palette()
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def pictures() -> dict[str, np.ndarray]:
    """The three shipped photos and the shipped model's painting, uint8[120, 200, 3]."""
    out = {}
    for p in sorted((ROOT / "assets").glob("*.png")):
        im = Image.open(p).convert("RGB").resize((W, H), Image.Resampling.LANCZOS)
        out[p.stem] = np.asarray(im, dtype=np.uint8)
    from synens.core.files.model import load_model
    from synens.core.network.render import render, to_uint8

    model = load_model(ROOT / "assets" / "default.npz")
    out["painting (default.npz)"] = to_uint8(render(model.topo, model.weights, W, H))
    return out


def parse_chafa(text: str) -> np.ndarray:
    """chafa's half-block ANSI output back to xterm indices int[2 * rows, cols]."""
    rows = []
    for line in text.split("\n"):
        fg, bg, inverse, cells = 7, 0, False, []
        pos = 0
        for m in [*SGR.finditer(line), None]:
            chunk = line[pos : m.start() if m else len(line)]
            for ch in chunk:
                f, b = (bg, fg) if inverse else (fg, bg)
                top, low = {"▀": (f, b), "▄": (b, f), "█": (f, f), " ": (b, b)}[ch]
                cells.append((top, low))
            if m is None:
                break
            pos = m.end()
            params = [int(v) if v else 0 for v in m.group(1).split(";")]
            i = 0
            while i < len(params):
                v = params[i]
                if v == 0:
                    fg, bg, inverse = 7, 0, False
                elif v == 7:
                    inverse = True
                elif v == 27:
                    inverse = False
                elif v in (38, 48) and params[i + 1] == 5:
                    fg, bg = (params[i + 2], bg) if v == 38 else (fg, params[i + 2])
                    i += 2
                i += 1
        if cells:
            rows.append(cells)
    a = np.array(rows, dtype=np.int32)  # [rows, cols, 2]
    return a.transpose(0, 2, 1).reshape(-1, a.shape[1])


def chafa(rgb: np.ndarray, dither: str) -> tuple[np.ndarray, int]:
    """(xterm indices int[H, W], bytes) of chafa --colors 256 with half blocks only."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pic.png"
        Image.fromarray(rgb).save(path)
        cmd = ["chafa", "--colors", "256", "--symbols", "vhalf", "--size", f"{W}x{H // 2}",
               "--stretch", "--dither", dither, "--animate", "off", str(path)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, check=True).stdout
    text = re.sub(r"\x1b\[\?25[lh]", "", out.decode())
    idx = parse_chafa(text)
    if idx.shape != (H, W):
        raise RuntimeError(f"chafa gave {idx.shape}, expected {(H, W)}")
    return idx, len(out)


def frame_bytes(rgb: np.ndarray, mode: str, dither: str) -> int:
    return sum(len(r.encode()) for r in encode_rows(*compose_cells(rgb, mode, dither=dither)))


def spill(rgb: np.ndarray, dither: str) -> float:
    edited = rgb.copy()
    edited[:30, :50] = np.minimum(edited[:30, :50].astype(np.int32) + 3, 255)
    a, b = to_xterm256(rgb, dither), to_xterm256(edited, dither)
    outside = np.ones(a.shape, dtype=bool)
    outside[:30, :50] = False
    return float((a != b)[outside].mean())


def nudges(count: int = 20, step: float = 0.05) -> list[list[str]]:
    """Median share of 200x60 cells (and rows) that change when one weight is nudged."""
    from synens.core.files.model import load_model
    from synens.core.network.render import render, to_uint8

    model = load_model(ROOT / "assets" / "default.npz")
    base = to_uint8(render(model.topo, model.weights, W, H))
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(model.weights), count, replace=False)
    edited = []
    for s in chosen:
        w = model.weights.copy()
        w[s] += step
        edited.append(to_uint8(render(model.topo, w, W, H)))
    rows = []
    for method in ("true colour", "none", "ordered", "diffusion"):
        share = []
        for img in edited:
            if method == "true colour":
                changed = (img != base).any(axis=-1)
            else:
                changed = to_xterm256(img, method) != to_xterm256(base, method)
            cells = changed[0::2] | changed[1::2]
            share.append((cells.mean(), cells.any(axis=1).mean()))
        cells_med, rows_med = np.median(np.array(share), axis=0)
        label = method if method == "true colour" else f"ours, {method}"
        rows.append([label, f"{cells_med:.3f}", f"{rows_med:.3f}"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--no-chafa", action="store_true")
    args = parser.parse_args()
    use_chafa = not args.no_chafa and shutil.which("chafa") is not None
    header = ["picture", "method", "dE00", "dE00 3x3", "banding", "kB/frame", "spill", "ms"]
    rows, data = [], []
    for name, rgb in pictures().items():
        kb = frame_bytes(rgb, "truecolor", "none") / 1e3
        rows.append([name, "true colour", "0", "0", "-", f"{kb:.1f}", "0", "-"])
        for dither in ("none", "ordered", "diffusion"):
            to_xterm256(rgb, dither)
            ts = []
            for _ in range(20):
                t0 = time.perf_counter()
                idx = to_xterm256(rgb, dither)
                ts.append(time.perf_counter() - t0)
            d = {"picture": name, "method": f"ours, {dither}", "de": mean_de(rgb, PALETTE[idx]),
                 "de_blur": mean_de(rgb, PALETTE[idx], blur=3), "banding": banding(rgb, idx),
                 "kb": frame_bytes(rgb, "256", dither) / 1e3, "spill": spill(rgb, dither),
                 "ms": 1e3 * float(np.median(ts))}  # fmt: skip
            data.append(d)
        if use_chafa:
            for dither in ("none", "ordered", "diffusion"):
                idx, n = chafa(rgb, dither)
                data.append({"picture": name, "method": f"chafa, {dither}",
                             "de": mean_de(rgb, PALETTE[idx]),
                             "de_blur": mean_de(rgb, PALETTE[idx], blur=3),
                             "banding": banding(rgb, idx), "kb": n / 1e3, "spill": None,
                             "ms": None})  # fmt: skip
        for d in data:
            if d["picture"] == name:
                rows.append([name, d["method"], f"{d['de']:.2f}", f"{d['de_blur']:.2f}",
                             f"{d['banding']:.2f}", f"{d['kb']:.1f}",
                             "-" if d["spill"] is None else f"{d['spill']:.3f}",
                             "-" if d["ms"] is None else f"{d['ms']:.2f}"])  # fmt: skip
    print(f"256-colour mapping at {W}x{H} px ({W}x{H // 2} cells) against true colour")
    if use_chafa:
        version = subprocess.run(["chafa", "--version"], capture_output=True, text=True)
        print(f"anchor: {version.stdout.splitlines()[0]} --colors 256 --symbols vhalf --dither X")
    print(table(rows, header))
    nudge_rows = nudges()
    print("\nOne nudge (step 0.05) of the shipped model's painting: median over 20 synapses")
    print(table(nudge_rows, ["method", "cells changed", "rows changed"]))
    if args.json:
        write_json(args.json, {"size": [W, H], "results": data, "nudge": nudge_rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
