"""Atlas reports: text for people, JSON (synens-atlas/1) for tools.

Atlas JSON: {"format", "model", "picture": [W, H], "grid": [w, h], "rule": {...}, "k",
"rel_error", "parts": [{"part", "share", "synapses", "neurons", "members": [s, ...],
"neuron_ids": [...], "loadings": {"s": h, ...}}], "participation": [{"neuron", "role",
"parts"}, ...], "summary": {"neurons", "serve_none", "serve_one", "serve_several"}}.
"""

from __future__ import annotations

import numpy as np
from synens.core.analysis.atlas import Atlas
from synens.core.base.topology import Topology
from synens.core.reports.table import plain, table


def participation_counts(part: np.ndarray) -> dict:
    """How many neurons serve no, one and several ensembles (part: int64[N] parts per neuron)."""
    return {"neurons": int(part.size), "serve_none": int(np.sum(part == 0)),
            "serve_one": int(np.sum(part == 1)), "serve_several": int(np.sum(part >= 2))}


def atlas_report_json(atlas: Atlas, topo: Topology, picture: tuple[int, int],
                      model_path: str | None = None) -> dict:
    """The atlas report as a dict (format synens-atlas/1)."""
    parts = []
    for i in range(atlas.k):
        mem = atlas.members[i]
        parts.append({"part": i + 1, "share": float(atlas.share[i]), "synapses": int(mem.size),
                      "neurons": int(atlas.neurons[i].size), "members": mem,
                      "neuron_ids": atlas.neurons[i],
                      "loadings": {str(s): float(atlas.loadings[i, s]) for s in mem}})
    part = atlas.participation
    return plain({
        "format": "synens-atlas/1", "model": model_path, "picture": list(picture),
        "grid": list(atlas.size), "rule": atlas.rule, "k": atlas.k,
        "rel_error": atlas.rel_error, "parts": parts,
        "participation": [{"neuron": n, "role": topo.neuron_role(n), "parts": int(part[n])}
                          for n in range(topo.n_neurons)],
        "summary": participation_counts(part)})


def atlas_report_text(atlas: Atlas, topo: Topology, picture: tuple[int, int],
                      model_path: str | None = None, top: int = 12) -> str:
    """The atlas for people: parts with members, neurons and picture share; participation."""
    w, h = picture
    aw, ah = atlas.size
    r = atlas.rule
    lines = [
        "synens-tui ensemble atlas",
        f"model:    {model_path or '(in memory)'} ({topo.n_synapses} synapses, "
        f"{topo.n_neurons} neurons)",
        f"picture:  {w} x {h} px; atlas grid {aw} x {ah} px ({r['grid_rule']})",
        "rule:     M[p, s] = sqrt(sum over channels of J[p, c, s]^2); NMF M ~ W H (HALS, "
        f"seed {atlas.seed}), K = {atlas.k} ({atlas.k_rule});",
        f"          members of part k: H[k, s] >= {atlas.member_share:g} x max_s H[k, s]; "
        "region: map >= its Otsu threshold",
        f"fit:      |M - WH| / |M| = {atlas.rel_error:.3f} after {atlas.iterations} sweeps",
        "", "parts (largest picture share first)"]
    rows = []
    for i in range(atlas.k):
        mem = atlas.members[i]
        shown = " ".join(str(s) for s in mem[:top]) + (" ..." if mem.size > top else "")
        rows.append([str(i + 1), f"{100 * atlas.share[i]:.1f} %", str(mem.size),
                     str(atlas.neurons[i].size), shown])
    lines += table(["part", "share", "synapses", "neurons", "members (largest loading first)"],
                    rows)
    c = participation_counts(atlas.participation)
    lines += ["", "neuron participation (how many parts' ensembles touch each neuron)"]
    rows = [[str(n), topo.neuron_role(n), str(int(atlas.participation[n])),
             " ".join(str(i + 1) for i in range(atlas.k) if n in atlas.neurons[i]) or "-"]
            for n in range(topo.n_neurons)]
    lines += table(["neuron", "role", "parts", "which"], rows)
    lines.append(f"summary: {c['serve_several']} of {c['neurons']} neurons serve several "
                 f"ensembles, {c['serve_one']} serve one, {c['serve_none']} serve none")
    return "\n".join(lines) + "\n"
