"""Reading a study folder back: its config, the finished tasks, the report and its alignments.

The client holds at most two models at a time (the reference seed's and one other): a study
of any size is aggregated one task at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from synens.core.base.errors import SynensError
from synens.tui.commands.study_spec import (
    CONFIG_FORMAT,
    CONFIG_NAME,
    applies,
    task_config,
    task_key,
)


def read_config(study_dir: Path) -> dict:
    """The study's config.json (one-line SynensError when absent or not a study config)."""
    path = study_dir / CONFIG_NAME
    if not study_dir.is_dir():
        raise SynensError(f"study folder {study_dir} not found")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SynensError(f"{study_dir} is not a study folder (no {CONFIG_NAME})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SynensError(f"{path} is not readable JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise SynensError(f"{path} is not a {CONFIG_FORMAT} config")
    return config


def task_specs(config: dict) -> list[dict]:
    """Every task of the study, picture by picture, seed by seed."""
    tconfig = task_config(config)
    return [{"key": task_key(p["sha256"], seed, tconfig), "picture": p["name"], "seed": seed,
             "config": tconfig}
            for p in config["pictures"] for seed in range(config["seeds"])]


def read_task(study_dir: Path, key: str) -> dict | None:
    """A finished task's task.json, or None while it is missing."""
    try:
        data = json.loads((study_dir / "tasks" / key / "task.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def read_region(study_dir: Path, key: str, file: str) -> dict:
    return json.loads((study_dir / "tasks" / key / file).read_text())


def _aligned_sets(topo, match: np.ndarray, report: dict) -> tuple[set, set]:
    from synens.core.analysis.align import synapse_match

    smap = synapse_match(topo, match)
    ens = report["ensemble"]
    return ({int(match[int(n)]) for n in ens["spread_neurons"]},
            {int(smap[int(s)]) for s in ens["synapses"]})


def _overlaps(study_dir: Path, tasks: list[dict], names: list[str]) -> dict[str, list[dict]]:
    """Per region name, one overlap entry per seed other than the reference (tasks[0])."""
    from synens.core.analysis.align import activation_maps, align, jaccard, random_jaccard
    from synens.core.files.model import load_model

    out: dict[str, list[dict]] = {n: [] for n in names}
    if len(tasks) < 2:
        return out
    ref_model = load_model(study_dir / "tasks" / tasks[0]["key"] / "model.npz")
    topo = ref_model.topo
    ref_maps = activation_maps(topo, ref_model.weights)
    ref_reports = {e["name"]: read_region(study_dir, tasks[0]["key"], e["file"])
                   for e in tasks[0]["regions"] if "file" in e}
    ref_sets = {n: (set(r["ensemble"]["spread_neurons"]), set(r["ensemble"]["synapses"]))
                for n, r in ref_reports.items()}
    del ref_model
    for t in tasks[1:]:
        model = load_model(study_dir / "tasks" / t["key"] / "model.npz")
        match, score = align(topo, ref_maps, activation_maps(topo, model.weights))
        for e in t["regions"]:
            if "file" not in e or e["name"] not in ref_sets:
                continue
            neurons, synapses = _aligned_sets(topo, match, read_region(study_dir, t["key"],
                                                                       e["file"]))
            rn, rs = ref_sets[e["name"]]
            out[e["name"]].append({
                "seed": t["seed"], "match_score": float(np.mean(score)),
                "neurons": jaccard(neurons, rn),
                "neurons_random": random_jaccard(topo.n_neurons, len(neurons), len(rn),
                                                 seed=t["seed"]),
                "synapses": jaccard(synapses, rs),
                "synapses_random": random_jaccard(topo.n_synapses, len(synapses), len(rs),
                                                  seed=t["seed"]),
            })
    return out


def build_report(study_dir: Path) -> dict:
    """The synens-study/1 report of a study folder, from the tasks finished so far."""
    from synens.core.reports.study import overlap_summary, region_summary, seed_row, study_json

    config = read_config(study_dir)
    specs = task_specs(config)
    done = 0
    pictures = []
    names = [r["name"] for r in config["regions"]]
    for pic in config["pictures"]:
        tasks = [t for s in specs if s["picture"] == pic["name"]
                 if (t := read_task(study_dir, s["key"])) is not None]
        tasks.sort(key=lambda t: t["seed"])
        done += len(tasks)
        overlaps = _overlaps(study_dir, tasks, names)
        regions = []
        for region in config["regions"]:
            if not applies(region, pic["name"]):
                continue
            rows, errors = [], []
            for t in tasks:
                entry = next(e for e in t["regions"] if e["name"] == region["name"])
                if "file" in entry:
                    rows.append(seed_row(t["seed"],
                                         read_region(study_dir, t["key"], entry["file"])))
                else:
                    errors.append({"seed": t["seed"], "error": entry["error"]})
            ov = overlap_summary(overlaps[region["name"]]) if tasks else None
            regions.append(region_summary(region["name"], region, rows, errors, ov))
        pictures.append({"name": pic["name"], "sha256": pic["sha256"],
                         "reference_seed": tasks[0]["seed"] if tasks else None,
                         "tasks": {t["seed"]: t["key"] for t in tasks},
                         "regions": regions})
    state = {"total": len(specs), "done": done, "missing": len(specs) - done}
    return study_json(config, pictures, state)
