"""The study's PNG: loads the median seed's model of each region and paints its move."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def moved_painting(study_dir: Path, key: str, report: dict) -> tuple[np.ndarray, np.ndarray]:
    """The model's painting and the painting after its region's ensemble move (weights plus
    the report's components, in weight units): two float[H, W, 3] in [-1, 1]."""
    from synens.core.files.model import load_model

    model = load_model(study_dir / "tasks" / key / "model.npz")
    w = model.weights.copy()
    for s, v in report["ensemble"]["components"].items():
        w[int(s)] += float(v)
    width, height = model.size
    from synens.core.network.render import render

    return model.render(), render(model.topo, w, width, height)


def write_figure(study_dir: Path, report: dict, png: str) -> None:
    """Compose the figure of a synens-study/1 report and write it atomically to ``png``."""
    from synens.core.reports.figures import save_png
    from synens.core.reports.study_figure import median_seed, study_figure
    from synens.tui.commands.study_collect import read_region, read_task

    rows_of = []
    for pic in report["pictures"]:
        for reg in pic["regions"]:
            med = median_seed(reg["per_seed"])
            painting = moved = None
            if med is not None:
                key = pic["tasks"][med["seed"]]
                task = read_task(study_dir, key)
                entry = next(e for e in task["regions"] if e["name"] == reg["name"])
                painting, moved = moved_painting(study_dir, key,
                                                 read_region(study_dir, key, entry["file"]))
            rows_of.append((f"{pic['name']} {reg['name']}", reg["per_seed"], painting, moved,
                            None if med is None else med["seed"]))
    t = report["tasks"]
    image = study_figure(rows_of, footer=f"synens-study/1: {t['done']} of {t['total']} tasks")
    save_png(image, png)
