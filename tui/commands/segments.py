"""``synens-tui segments``: the picture's seeded colour segments, their sizes, a labelled PNG."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = "list the picture's colour segments (for 'report --segment K') and draw them"


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``segments`` to the subparsers and return its parser."""
    p = subparsers.add_parser("segments", help=HELP, description=HELP + ": seeded k-means "
                              "(k = 6, seed 0) of the training picture's RGB colours; segment "
                              "0 is the largest.")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("-o", "--output", metavar="OUT.png", default=None,
                   help="write the picture beside its segments, each labelled with its id")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return p


def run(args: argparse.Namespace) -> int:
    """Print one line per segment (id, pixels, share, mean colour, bounding box)."""
    from synens.core.analysis.masks import bounding_box, segment_labels
    from synens.core.files.model import load_model
    from synens.tui.commands.common import check_output

    model = load_model(args.model)
    out = check_output(args.output, args.force) if args.output is not None else None
    labels = segment_labels(model.image)
    n = int(labels.max()) + 1
    w, h = model.size
    print(f"colour segments of {model.path} ({w} x {h} px; k-means k = 6, seed 0)")
    print("  segment   pixels   share   mean RGB       bounding box")
    for j in range(n):
        m = labels == j
        rgb = model.image[m].mean(axis=0)
        box = ",".join(str(v) for v in bounding_box(m))
        print(f"  {j:7d} {int(m.sum()):8d} {100 * m.mean():6.1f} %  "
              f"{int(rgb[0]):3d},{int(rgb[1]):3d},{int(rgb[2]):3d}    {box}")
    if out is not None:
        from synens.core.reports.figures import save_png

        save_png(segments_figure(model.image, labels), out)
        print(f"wrote {out}")
    return 0


def segments_figure(image: np.ndarray, labels: np.ndarray) -> object:
    """The picture beside its segments (each in its mean colour, its id at its centre), ×4."""
    from PIL import Image, ImageDraw

    n = int(labels.max()) + 1
    means = np.stack([image[labels == j].mean(axis=0) for j in range(n)]).astype(np.uint8)
    seg = means[labels]
    both = np.concatenate([image, np.full((image.shape[0], 4, 3), 255, np.uint8), seg], axis=1)
    scale = 4
    im = Image.fromarray(both).resize((both.shape[1] * scale, both.shape[0] * scale),
                                      Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(im)
    off = (image.shape[1] + 4) * scale
    for j in range(n):
        ys, xs = np.nonzero(labels == j)
        i = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
        x, y = off + xs[i] * scale, ys[i] * scale
        draw.rectangle((x - 2, y - 2, x + 12, y + 12), fill=(0, 0, 0))
        draw.text((x + 1, y), str(j), fill=(255, 255, 255))
    return im
