"""Region reports: the text for people and the JSON (format synens-report/1) for tools.

JSON keys (fixed; extra keys may be added inside objects, never removed or renamed)::

    {"format": "synens-report/1", "model": PATH, "picture": [W, H], "region": [x0, y0, x1, y1],
     "rule": {...every threshold used...},
     "summary": {"synapses": k, "total_synapses": S, "neurons": m, "total_neurons": N,
                 "core": c, "shared": k - c, "neuron_ids": [...]},
     "members": [{"synapse": s, "source": int, "target": int, "weight": w, "in": float,
                  "out": float, "sel": float, "group": "core" | "shared"}, ...],
     "pairs": [{"a": s1, "b": s2, "rho_in", "rho_out", "out_energy", "sel", "gain"}, ...],
     "moves": [{"selectivity": float, "components": {"s": v, ...}, "measured": {"in", "out"},
                "predicted": {"in", "out"}, "step", "cos_in", "cos_out", "ratio_in",
                "agrees", "ratio"}, ...]}

Synapse ids and source ids are those of the model file (source -1 bias, -2 x, -3 y).
Members are listed by ``in`` (largest first), move components by |v_s| (largest first).
"""

from __future__ import annotations

from synens.core.analysis.ensemble import RegionEnsemble
from synens.core.reports.table import fmt, plain, table

FORMAT = "synens-report/1"


def region_report_json(ens: RegionEnsemble, model_path: str | None = None,
                       top: int = 10) -> dict:
    """The region report as a dict with the synens-report/1 keys (``top`` pairs at most)."""
    topo, s = ens.topo, ens.scores
    members = [{"synapse": int(m), "source": int(topo.src[m]), "target": int(topo.dst[m]),
                "weight": float(ens.weights[m]), "in": float(s.in_[m]), "out": float(s.out[m]),
                "sel": float(s.sel[m]), "group": "core" if c else "shared"}
               for m, c in zip(ens.members, ens.core, strict=True)]
    pairs = [{k: v for k, v in p.items() if k != "direction"} for p in ens.pairs[:top]]
    moves = []
    for mv in ens.moves:
        d = {"selectivity": mv["selectivity"],
             "components": {str(sy): v for sy, v in mv["components"]},
             "measured": mv.get("measured"), "predicted": mv.get("predicted")}
        for key in ("step", "cos_in", "cos_out", "ratio_in", "agrees", "ratio"):
            d[key] = mv.get(key)
        moves.append(d)
    rule = ens.rule.as_dict()
    rule.update({"threshold_in": ens.threshold, "max_in": float(s.in_.max()),
                 "lam_abs": ens.moves[0]["lam"] if ens.moves else None, "top": top,
                 "resolution": list(s.size), "dtype": "float32"})
    k, c = int(ens.members.size), int(ens.core.sum())
    return plain({
        "format": FORMAT, "model": model_path, "picture": list(s.size),
        "region": list(s.region), "rule": rule,
        "summary": {"synapses": k, "total_synapses": topo.n_synapses,
                    "neurons": int(ens.neurons.size), "total_neurons": topo.n_neurons,
                    "core": c, "shared": k - c, "neuron_ids": ens.neurons},
        "members": members, "pairs": pairs, "moves": moves})


def summary_line(ens: RegionEnsemble) -> str:
    """'ensemble: 46 of 460 synapses, 9 of 37 neurons' (the article's form)."""
    return (f"ensemble: {ens.members.size} of {ens.topo.n_synapses} synapses, "
            f"{ens.neurons.size} of {ens.topo.n_neurons} neurons")


def region_report_text(ens: RegionEnsemble, model_path: str | None = None,
                       top: int = 10, weights_note: str | None = None) -> str:
    """The region report for people (what ``synens-tui report`` prints); ends with a newline.

    ``weights_note``, when given, adds a ``weights:`` header line (the explorer says there that
    its weights were edited and differ from the model file's).
    """
    topo, s, rule = ens.topo, ens.scores, ens.rule
    (w, h), (x0, y0, x1, y1) = s.size, s.region
    n_px = w * h
    lines = [
        "synens-tui region report",
        f"model:    {model_path or '(in memory)'} ({topo.n_synapses} synapses, "
        f"{topo.n_neurons} neurons)",
        *([f"weights:  {weights_note}"] if weights_note else []),
        f"picture:  {w} x {h} px (training resolution; colours on the [-1, 1] scale)",
        f"region:   x0,y0,x1,y1 = {x0},{y0},{x1},{y1} ({s.n_in} px, "
        f"{100.0 * s.n_in / n_px:.1f} % of the picture); O = the other {s.n_out} px",
        "rule:     in(s), out(s) = RMS of d(painting)/d(weight s) over R, O and the 3 channels;",
        f"          sel = in / (out + {rule.eps:g}); member if in >= {rule.share:g} x max in "
        f"(= {fmt(ens.threshold)});",
        f"          core if sel > {rule.core_sel:g}, otherwise shared",
        summary_line(ens),
        f"groups:   {int(ens.core.sum())} core, {int((~ens.core).sum())} shared; neurons: "
        + (" ".join(str(n) for n in ens.neurons) or "none"),
        "",
        f"members (largest in first, {ens.members.size} of them)",
    ]
    rows = [[str(m), f"{topo.source_name(m)} -> {int(topo.dst[m])}", f"{ens.weights[m]:+.4f}",
             fmt(s.in_[m]), fmt(s.out[m]), f"{s.sel[m]:.3g}", "core" if c else "shared"]
            for m, c in zip(ens.members, ens.core, strict=True)]
    lines += table(["synapse", "source -> target", "weight", "in", "out", "sel", "group"],
                    rows)
    lines += ["", f"opposing pairs: over R rho_in > {rule.pair_min_rho_in:g}; over O the joint "
              "move e_a/out_a + e_b/out_b has out_energy = 2 (1 + rho_out) <= "
              f"{rule.pair_max_out_energy:g} of each member's own O energy"]
    if ens.pairs:
        rows = [[str(p["a"]), str(p["b"]), f"{p['rho_in']:+.3f}", f"{p['rho_out']:+.3f}",
                 f"{p['out_energy']:.3f}", f"{p['sel']:.3g}", f"{p['gain']:.2f}"]
                for p in ens.pairs[:top]]
        lines += table(["a", "b", "rho_in", "rho_out", "out_energy", "sel", "gain"], rows)
        if len(ens.pairs) > top:
            lines.append(f"  ... {len(ens.pairs) - top} more (raise --top)")
    else:
        lines.append("  none")
    lines += _moves_text(ens, top)
    return "\n".join(lines) + "\n"


def _moves_text(ens: RegionEnsemble, top: int) -> list[str]:
    rule = ens.rule
    if not ens.moves:
        return ["", "coordinated moves: none (no members)"]
    best = float(ens.scores.sel[ens.members].max())
    lines = ["", f"coordinated moves: top {len(ens.moves)} of A v = mu (B + lam I) v over the "
             f"members (A, B = pixel-mean Gram matrices over R, O; lam = {rule.lam:g} x out^2 of "
             f"the most selective member = {ens.moves[0]['lam']:.3g}); best single member "
             f"sel = {best:.3g}"]
    for i, mv in enumerate(ens.moves, 1):
        comps = ", ".join(f"{sy} {v:+.3f}" for sy, v in mv["components"][:top])
        lines.append(f"  move {i}: selectivity {mv['selectivity']:.3g}; largest components "
                     f"(synapse, unit-vector component): {comps}")
    if "measured" not in ens.moves[0]:
        return lines
    lines += ["", f"non-linear check: step t*v with t set so that the linear RMS change over R "
              f"is {rule.step_in:g}; re-rendered, RMS change measured over R and O;",
              "  agrees = cos_in > 0.5 and measured/predicted in R within 1/3..3"]
    rows = [[str(i), f"{mv['step']:.3g}", fmt(mv["predicted"]["in"]), fmt(mv["predicted"]["out"]),
             fmt(mv["measured"]["in"]), fmt(mv["measured"]["out"]), f"{mv['cos_in']:+.3f}",
             f"{mv['ratio_in']:.3g}", "yes" if mv["agrees"] else "no"]
            for i, mv in enumerate(ens.moves, 1)]
    lines += table(["move", "step", "pred in", "pred out", "meas in", "meas out", "cos_in",
                     "ratio_in", "agrees"], rows)
    return lines
