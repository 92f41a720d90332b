"""Region reports of the control instrument: JSON (format synens-report/2) and text.

``measured`` always means non-linear: a real float32 re-render at the training resolution of
w + scale·v, the move scaled so that the RMS change inside R is ``level`` (0.075 unless
stated); components are in weight units (the step actually applied). See README for keys.
"""

from __future__ import annotations

import numpy as np
from synens.core.analysis import baselines as BL
from synens.core.analysis import control as CT
from synens.core.analysis import measure as ME
from synens.core.analysis.control import Control, Move
from synens.core.analysis.masks import bounding_box
from synens.core.analysis.null import NullResult
from synens.core.base.topology import Topology
from synens.core.reports.table import plain

FORMAT = "synens-report/2"
SPARK = "▁▂▃▄▅▆▇█"


def green_bias(topo: Topology) -> int | None:
    """The synapse id of the green output's bias (418 in the default topology), or None."""
    if len(topo.outputs) < 2:
        return None
    hit = np.flatnonzero((topo.dst == topo.outputs[1]) & (topo.src == -1))
    return int(hit[0]) if hit.size else None


def rule(c: Control) -> dict:
    """Every rule and constant the report used (strings state the definitions)."""
    return {
        "level": ME.LEVEL, "levels": list(ME.LEVELS), "max_step": ME.MAX_STEP, "tol": ME.TOL,
        "border_px": ME.BORDER_PX, "eps": ME.EPS, "floor": ME.FLOOR,
        "lam_grid": list(CT.LAM_GRID), "lam_step": CT.LAM_STEP,
        "lam_limits": list(CT.LAM_LIMITS), "lam0": c.ctx.lam0, "lam_rel": c.ctx.lam_rel,
        "lam": c.ctx.lam, "k_max": len(c.curve),
        "ensemble_share": CT.ENSEMBLE_SHARE, "k_shares": list(CT.K_SHARES),
        "spread_share": CT.SPREAD_SHARE, "path": c.path,
        "measured": "RMS over R/O of render(w + scale v) - render(w), float32, training "
                    "resolution, scale found so that in = level; sign: the better sel at the "
                    f"linear first guess; sel = in / (out + floor), floor = {ME.FLOOR:g} RMS "
                    "colour units on [-1, 1] (1/78 of an 8-bit level, 100x float32 render "
                    "noise; sel <= level / floor)",
        "lam_rule": "lam = lam_rel * lam0, lam0 = (floor / level)^2 * trace(A)/S (the ridge "
                    "that adds floor of RMS outside-change to a move of average in-gain at "
                    "the stated inside change); lam_rel from lam_grid, extended by lam_step "
                    "while the best is at its edge (within lam_limits): the ceiling with the "
                    "highest measured sel",
        "ceiling": "top eigenvector of A v = mu (B + lam I) v over all synapses",
        "curve": "greedy forward selection maximising mu of the best move over the chosen "
                 "set; two paths (from nothing; through the best neuron's fan-in first), kept: "
                 "of those ending at or above that neuron's mu, the first to reach "
                 "ensemble_share^2 x the ceiling's mu, then the higher mean log mu",
        "ensemble": "smallest k whose measured sel >= ensemble_share x the ceiling's",
        "spread": "target neurons holding >= spread_share of |v|^2 of the ensemble move",
        "baselines": f"synapse: best measured of the {BL.N_SYNAPSES} highest mu_s; neuron: "
                     f"best measured fan-in move of the {BL.N_NEURONS} neurons with the highest"
                     " fan-in mu; neuron_same_k: greedy inside those fan-ins to k synapses",
        "pairs": f"two members whose best 2-synapse move keeps <= {BL.PAIR_OUT_KEEP:g} of "
                 f"their separate O energy and >= {BL.PAIR_IN_OVER_OUT:g} x that share of "
                 f"their R energy (signs free); {BL.N_PAIRS} by linear gain measured; gain = "
                 "measured sel / measured sel of the better member",
        "null": "random boxes of the bounding box's size, same pipeline; percentile = "
                "100 x (#below + #equal / 2) / #boxes",
        "green_bias": f"synapse {green_bias(c.ctx.topo)} is the green output's bias: a "
                      "colour balance by construction",
    }


def _m(m: ME.Measured | None) -> dict | None:
    return m.as_dict() if m is not None else None


def move_json(mv: Move | None, **extra: object) -> dict | None:
    if mv is None:
        return None
    d = {**extra, "components": {str(s): v for s, v in mv.components().items()},
         "k": int(mv.synapses.size), "sel_linear": mv.sel_linear, "measured": _m(mv.measured)}
    if mv.levels is not None:
        d["levels"] = mv.levels
    return d


def control_json(c: Control, null: NullResult | None = None, model_path: str | None = None,
                 region_name: str | None = None) -> dict:
    """The synens-report/2 dict of a region (see the README for every key)."""
    ctx, topo = c.ctx, c.ctx.topo
    ens = c.ensemble
    a, b = np.diag(ctx.a), np.diag(ctx.b)
    s_in, s_out = np.sqrt(np.maximum(a, 0)), np.sqrt(np.maximum(b, 0))
    members = c.members
    w = ctx.renderer.weights
    mem = [{"synapse": int(s), "source": int(topo.src[s]), "target": int(topo.dst[s]),
            "weight": float(w[s]), "in": float(s_in[s]), "out": float(s_out[s]),
            "sel": float(s_in[s] / (s_out[s] + ME.EPS)),
            "group": "core" if s_in[s] / (s_out[s] + ME.EPS) > 1 else "shared"}
           for s in members]
    core = sum(m["group"] == "core" for m in mem)
    bl = c.baselines
    base = {}
    for key, idname in (("synapse", "synapse"), ("neuron", "neuron"),
                        ("neuron_same_k", "neuron")):
        entry = bl.get(key)
        base[key] = None if entry is None else move_json(entry[1], **{idname: entry[0]},
                                                         gain=bl["gain"][key])
    base["neuron_matches"] = bl.get("neuron_matches")
    moves = []
    for name, mv in (("ensemble", ens), ("ceiling", c.ceiling)):
        m = mv.measured
        moves.append({"name": name, "selectivity": mv.sel_linear,
                      "components": {str(s): float(mv.vector[s]) for s in mv.synapses},
                      "measured": None if m is None else {"in": m.in_, "out": m.out},
                      "predicted": None if m is None else {"in": abs(m.scale) * mv.lin_in},
                      "step": None if m is None else m.scale})
    return plain({
        "format": FORMAT, "model": model_path, "picture": [ctx.renderer.width,
                                                           ctx.renderer.height],
        "region": list(bounding_box(c.mask)), "region_name": region_name,
        "region_pixels": int(c.mask.sum()), "rule": rule(c),
        "summary": {"synapses": c.k, "total_synapses": topo.n_synapses,
                    "neurons": len(c.spread), "total_neurons": topo.n_neurons,
                    "core": core, "shared": c.k - core, "neuron_ids": c.spread,
                    "targets": len(c.targets), "touched": len(c.touched),
                    "reached": c.reached, "seconds": c.seconds},
        "members": mem,
        "ensemble": {"synapses": members, "k": c.k, "rule": rule(c)["ensemble"],
                     "reached": c.reached, "k_at": c.k_at,
                     "components": {str(s): v for s, v in ens.components().items()},
                     "spread_neurons": c.spread, "target_neurons": c.targets,
                     "touched_neurons": c.touched,
                     "neuron_share": {str(n): v for n, v in c.neuron_share.items()},
                     "sel_linear": ens.sel_linear, "measured": _m(ens.measured),
                     "levels": ens.levels},
        "ceiling": {"components": {str(s): v for s, v in c.ceiling.components().items()},
                    "sel_linear": c.ceiling.sel_linear, "measured": _m(c.ceiling.measured),
                    "levels": c.ceiling.levels, "lam": ctx.lam, "lam_rel": ctx.lam_rel,
                    "lam_grid": [{"lam_rel": lr, "sel": s} for lr, s in c.lam_grid]},
        "curve": [{"k": p.k, "added": p.added, "sel_linear": p.move.sel_linear,
                   "measured": _m(p.move.measured)} for p in c.curve],
        "baselines": base,
        "null": None if null is None else {
            "boxes": len(null.boxes), "seed": null.seed, "percentile": null.percentile,
            "unreachable": null.unreachable, "box_list": null.boxes,
            "values": [{"ceiling": v[0], "ensemble": v[1], "k": v[2]} for v in null.values]},
        "pairs": [{"a": p["a"], "b": p["b"],
                   "components": {str(s): v for s, v in p["move"].components().items()},
                   "measured": _m(p["move"].measured), "gain": p["gain"],
                   "same_target": p["same_target"], "rho_in": p["rho_in"],
                   "rho_out": p["rho_out"], "keep_in": p["keep_in"],
                   "keep_out": p["keep_out"], "gain_linear": p["gain_linear"]}
                  for p in c.pairs],
        "moves": moves,
    })


def summary_line(c: Control) -> str:
    """'ensemble: 9 of 460 synapses; spread over 3 neurons (targets 5, touched 14 of 37)'."""
    topo = c.ctx.topo
    return (f"ensemble: {c.k} of {topo.n_synapses} synapses; spread over {len(c.spread)} "
            f"neuron{'s' if len(c.spread) != 1 else ''} (targets {len(c.targets)}, touched "
            f"{len(c.touched)} of {topo.n_neurons})")


def sparkline(values: list[float]) -> str:
    """One character per value on a log scale between the smallest and largest positive."""
    v = np.array([x if x > 0 else np.nan for x in values], np.float64)
    if not np.isfinite(v).any():
        return " " * len(values)
    lv = np.log(v)
    lo, hi = np.nanmin(lv), np.nanmax(lv)
    span = hi - lo if hi > lo else 1.0
    return "".join(" " if not np.isfinite(x) else SPARK[int(round((x - lo) / span * 7))]
                   for x in lv)


def _sel(m: Move | None) -> str:
    return "not reached" if m is None or m.measured is None else f"{m.sel:.3g}"


def _gain(g: float | None) -> str:
    return "n/a" if g is None else f"x{g:.3g}"
