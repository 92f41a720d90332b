"""The region report of the control instrument for people: the answer first, then the evidence."""

from __future__ import annotations

from synens.core.analysis.control import Control, Move
from synens.core.analysis.masks import bounding_box
from synens.core.analysis.null import NullResult
from synens.core.reports.control import _gain, _sel, green_bias, rule, sparkline, summary_line
from synens.core.reports.table import fmt, ordinal, table

#: k values shown in the curve's table (plus the ensemble's and the last).
CURVE_KS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


def _mrow(name: str, mv: Move | None, who: str) -> list[str]:
    if mv is None or mv.measured is None:
        return [name, who, "-", "not reached", "", "", "", "", ""]
    m = mv.measured
    return [name, who, str(mv.synapses.size), f"{m.sel:.3g}", fmt(m.in_), fmt(m.out),
            fmt(m.max_out), f"{100 * m.border:.0f} %", f"{m.scale:+.3g}"]


def control_text(c: Control, null: NullResult | None = None, model_path: str | None = None,
                 region_name: str | None = None, weights_note: str | None = None) -> str:
    """The text report (what ``synens-tui report`` prints); ends with a newline."""
    ctx, topo = c.ctx, c.ctx.topo
    r = rule(c)
    w, h = ctx.renderer.width, ctx.renderer.height
    ens = c.ensemble
    bl = c.baselines
    n_px = int(c.mask.sum())
    x0, y0, x1, y1 = bounding_box(c.mask)
    lines = [
        "synens-tui region report (control instrument, synens-report/2)",
        f"model:    {model_path or '(in memory)'} ({topo.n_synapses} synapses, "
        f"{topo.n_neurons} neurons)",
        *([f"weights:  {weights_note}"] if weights_note else []),
        f"picture:  {w} x {h} px (training resolution; colours on the [-1, 1] scale)",
        f"region:   {region_name or f'{x0},{y0},{x1},{y1}'} ({n_px} px, "
        f"{100.0 * n_px / (w * h):.1f} % of the picture; bounding box {x0},{y0},{x1},{y1})",
        "",
        summary_line(c),
        f"  ensemble sel {_sel(ens)} (measured: RMS change {r['level']:g} inside, re-rendered)"
        f"; ceiling sel {_sel(c.ceiling)} over all {topo.n_synapses} synapses; "
        + (f"{r['ensemble_share']:.0%} of the ceiling reached at k = {c.k}" if c.reached else
           f"{r['ensemble_share']:.0%} of the ceiling NOT reached: k = {c.k} is the best k"),
        "  spread: " + (", ".join(f"neuron {n} {100 * c.neuron_share[n]:.0f} %"
                                   for n in c.spread) or "none"),
    ]
    if bl:
        s, n, q = bl["synapse"], bl["neuron"], bl["neuron_same_k"]
        lines += [
            f"  gain over the best single synapse"
            f"{f' {s[0]} (sel {_sel(s[1])})' if s else ' (none reaches the level)'}: "
            f"{_gain(bl['gain']['synapse'])}",
            f"  gain over the best single neuron"
            f"{f' {n[0]} (its fan-in, sel {_sel(n[1])})' if n else ' (none reaches)'}: "
            f"{_gain(bl['gain']['neuron'])}"
            + ("; the best neuron matches the ensemble" if bl["neuron_matches"] else
               "; the ensemble beats every single neuron"),
            f"  gain over the best one-neuron move of k = {c.k}"
            f"{f' (neuron {q[0]}, sel {_sel(q[1])})' if q else ' (none reaches)'}: "
            f"{_gain(bl['gain']['neuron_same_k'])}",
        ]
    if null is None:
        lines.append("  null: not run (--null-boxes 0, or the region's bounding box is the "
                     "whole picture)")
    else:
        p = null.percentile
        lines.append(
            f"  null: percentile among {len(null.boxes) - null.unreachable} random boxes of "
            f"the same size (seed {null.seed}): ceiling sel {ordinal(p['ceiling'])}, ensemble sel "
            f"{ordinal(p['ensemble'])}, k {ordinal(p['k'])}"
            + (f"; {null.unreachable} boxes unreachable" if null.unreachable else ""))
    lines += ["", "members (in the order the curve added them; component = the applied step)"]
    comps = ens.components()
    rows = [[str(m["synapse"]), f"{topo.source_name(m['synapse'])} -> {m['target']}",
             f"{m['weight']:+.4f}", f"{comps.get(m['synapse'], 0.0):+.4g}", fmt(m["in"]),
             fmt(m["out"]), f"{m['sel']:.3g}"] for m in _members(c)]
    lines += table(["synapse", "source -> target", "weight", "component", "in", "out", "sel"],
                   rows)
    lines += ["", "neurons (share of |v|^2 of the ensemble move, by target): "
              + ", ".join(f"{n} {100 * sh:.1f} %" for n, sh in c.neuron_share.items()),
              f"touched neurons: {' '.join(str(n) for n in c.touched)}", "",
              f"measured moves at RMS change {r['level']:g} inside (border = share of the "
              f"outside change within {r['border_px']} px of the region)"]
    rows = [_mrow("ensemble", ens, f"k={c.k}"), _mrow("ceiling", c.ceiling, "all")]
    if bl:
        for key, label in (("synapse", "synapse"), ("neuron", "neuron"),
                           ("neuron_same_k", "neuron k")):
            e = bl[key]
            rows.append(_mrow(label, e[1] if e else None, str(e[0]) if e else "-"))
    lines += table(["move", "which", "k", "sel", "in", "out", "max_out", "border", "scale"],
                   rows)
    lines += ["", "other levels (sel at RMS change inside 0.05 / 0.1 / 0.2):"]
    for name, mv in (("ensemble", ens), ("ceiling", c.ceiling)):
        lv = mv.levels or {}
        lines.append(f"  {name}: " + " / ".join(
            f"{lv[key]['sel']:.3g}" if lv.get(key) else "not reached" for key in
            ("0.05", "0.1", "0.2")))
    lines += _curve(c)
    lines += _pairs(c)
    lines += ["", "rules:"] + [f"  {k}: {r[k]}" for k in (
        "measured", "lam_rule", "ceiling", "curve", "ensemble", "spread", "baselines", "pairs",
        "null")]
    lines.append(f"  lam = {r['lam_rel']:g} x lam0 = {r['lam']:.3g} (lam0 = {r['lam0']:.3g}); "
                 "grid sels: "
                 + ", ".join(f"{lr:g}: {'-' if s is None else f'{s:.3g}'}"
                             for lr, s in c.lam_grid))
    gb = green_bias(topo)
    if gb is not None:
        lines.append(f"  note: synapse {gb} is the green output's bias; a colour balance there "
                     "is guaranteed by construction, not discovered")
    return "\n".join(lines) + "\n"




def _members(c: Control) -> list[dict]:
    import numpy as np

    ctx, topo = c.ctx, c.ctx.topo
    out = []
    for s in c.members:
        i, o = float(np.sqrt(max(ctx.a[s, s], 0))), float(np.sqrt(max(ctx.b[s, s], 0)))
        out.append({"synapse": int(s), "target": int(topo.dst[s]),
                    "weight": float(ctx.renderer.weights[s]), "in": i, "out": o,
                    "sel": i / (o + 1e-9)})
    return out


def _curve(c: Control) -> list[str]:
    sels = [p.move.sel for p in c.curve]
    lines = ["", f"curve ({c.path}; measured sel at each k, log scale): {sparkline(sels)}"]
    ks = sorted({k for k in (*CURVE_KS, c.k, len(c.curve)) if k <= len(c.curve)})
    rows = [[str(k), str(c.curve[k - 1].added), f"{c.curve[k - 1].move.sel_linear:.3g}",
             _sel(c.curve[k - 1].move), "<- ensemble" if k == c.k else ""] for k in ks]
    lines += table(["k", "added", "sel linear", "sel measured", ""], rows)
    lines.append("  k at 50 % / 95 % of the ceiling: " + " / ".join(
        str(v) if v is not None else "not reached" for v in c.k_at.values()))
    return lines


def _pairs(c: Control) -> list[str]:
    topo = c.ctx.topo
    lines = ["", "opposing pairs among the members (sign-invariant; by measured gain)"]
    if not c.pairs:
        return lines + ["  none"]
    rows = []
    for p in c.pairs:
        comp = p["move"].components()
        rows.append([str(p["a"]), str(p["b"]), f"{comp[p['a']]:+.3g}", f"{comp[p['b']]:+.3g}",
                     f"{p['rho_in']:+.2f}", f"{p['rho_out']:+.2f}", _sel(p["move"]),
                     _gain(p["gain"]), "yes" if p["same_target"] else
                     f"no ({topo.dst[p['a']]}, {topo.dst[p['b']]})"])
    return lines + table(["a", "b", "step a", "step b", "rho_in", "rho_out", "sel", "gain",
                          "same target"], rows)
