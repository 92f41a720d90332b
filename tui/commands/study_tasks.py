"""One study task, as a Dask worker runs it: decode the picture, train, analyse every region.

``run_task`` is a plain function of plain data, so any worker can run it. It writes
nothing: it returns the task's files (the model's bytes and one ``synens-report/2`` JSON per
region) and the client writes them into ``STUDY_DIR``. Workers therefore need no shared file
system, and a killed worker leaves no half-written file.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from synens.core.base.errors import SynensError, one_line


def single_thread() -> None:
    """Numba (and BLAS through the env) on one thread in this process: one task per core,
    and the same float results whatever the worker's core count."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def picture_bytes(data: bytes) -> bytes:
    """A picture's bytes as a task's result, so that the tasks needing it can get them again
    from any worker (study_run.run_tasks)."""
    return data


def decode_picture(data: bytes, name: str, size: int) -> np.ndarray:
    """The picture's bytes at training size: uint8[H, W, 3] (PictureError in one line)."""
    from synens.core.files.picture import load_picture

    suffix = Path(name).suffix[:16]
    with tempfile.TemporaryDirectory(prefix="synens-study-") as tmp:
        path = Path(tmp) / f"picture{suffix}"
        path.write_bytes(data)
        try:
            return load_picture(path, size)
        except SynensError as err:
            raise SynensError(str(err).replace(str(path), name)) from None


def region_mask(region: dict, image: np.ndarray) -> np.ndarray:
    """A study region at the picture's training resolution: bool[H, W].

    A segment is issue 7's colour segment of that rank (``synens-tui segments`` lists them,
    largest first).
    """
    from synens.core.analysis.masks import check_mask, segment_mask
    from synens.tui.commands.study_spec import box_mask

    h, w = image.shape[:2]
    if region["kind"] == "box":
        return check_mask(box_mask(region["fraction"], w, h), w, h, f"region {region['name']}")
    try:
        return segment_mask(image, region["rank"])
    except SynensError as err:
        raise SynensError(f"region {region['name']}: {err}") from None


def analyse_region(topo, weights: np.ndarray, mask: np.ndarray, null_boxes: int,
                   null_seed: int) -> dict:
    """Issue 7's region analysis of one mask with its null, as its synens-report/2 dict."""
    from synens.core.analysis.control import region_control
    from synens.core.analysis.null import region_null
    from synens.core.reports.control import control_json

    c = region_control(topo, weights, mask)
    null = region_null(c, boxes=null_boxes, seed=null_seed)
    return control_json(c, null)


def _model_bytes(topo, weights: np.ndarray, image: np.ndarray, meta: dict) -> bytes:
    from synens.core.files.model import Model, save_model

    with tempfile.TemporaryDirectory(prefix="synens-study-") as tmp:
        path = Path(tmp) / "model.npz"
        save_model(Model(topo, weights, image, meta), path)
        return path.read_bytes()


def run_task(spec: dict, picture: bytes) -> dict:
    """Train one (picture, seed) and analyse every region of the study.

    spec: {"key", "picture" (name), "seed", "config" (the task config)}; picture: its bytes.
    Returns {"key", "picture", "seed", "rmse", "epochs", "seconds": {"train", "analyse"}
    (wall), "cpu_seconds" (this process's CPU time), "regions":
    [{"name", "file" | "error"}], "files": {name: bytes}}. A region whose analysis is refused
    (say, no move reaches the stated change) is recorded with its one-line reason.
    """
    from synens.core.base.topology import layered
    from synens.core.files.model import make_meta
    from synens.core.network.train import TrainConfig, train
    from synens.core.reports.table import dumps
    from synens.tui.commands.study_spec import applies

    single_thread()
    cfg = spec["config"]
    t0, c0 = time.perf_counter(), time.process_time()
    image = decode_picture(picture, spec["picture"], cfg["size"])
    tc = cfg["train"]
    topo = layered(tuple(tc["hidden"]), tc["skip"])
    config = TrainConfig(seed=spec["seed"], epochs=tc["epochs"], target_rmse=tc["target_rmse"],
                         batch=tc["batch"], lr=tc["lr"], l2=tc["l2"])
    config.validate()
    result = train(topo, image, config)
    t1 = time.perf_counter()
    meta = make_meta(topo, seed=spec["seed"], epochs=result.epochs, rmse=result.rmse,
                     picture=spec["picture"], study_task=spec["key"],
                     optimiser={"batch": tc["batch"], "lr": tc["lr"], "l2": tc["l2"]})
    files = {"model.npz": _model_bytes(topo, result.weights, image, meta)}
    regions = []
    for i, region in enumerate(cfg["regions"]):
        if not applies(region, spec["picture"]):
            continue
        entry = {"name": region["name"]}
        try:
            mask = region_mask(region, image)
            report = analyse_region(topo, result.weights, mask, cfg["null_boxes"],
                                    cfg["null_seed"])
        except SynensError as err:
            entry["error"] = one_line(err)
        else:
            name = f"region-{i}.json"
            report["study_region"] = {**region, "pixels_at_training_size": int(mask.sum())}
            files[name] = dumps(report).encode()
            entry["file"] = name
        regions.append(entry)
    t2 = time.perf_counter()
    return {"key": spec["key"], "picture": spec["picture"], "seed": spec["seed"],
            "rmse": result.rmse, "epochs": result.epochs,
            "seconds": {"train": t1 - t0, "analyse": t2 - t1},
            "cpu_seconds": time.process_time() - c0, "regions": regions,
            "files": files}
