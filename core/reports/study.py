"""The study report (``synens-study/1``): distributions across seeds, verdicts, overlaps, text.

Pure functions over plain dicts: each seed's region report (``synens-report/2``, issue 7) is
read only through its documented keys, and the report is a JSON-ready dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from synens.core.reports.table import fmt, table

FORMAT = "synens-study/1"
#: Verdict thresholds: gain over the best neuron, null percentile, IQR factor of k.
GAIN_NEEDED = 1.5
NULL_PERCENTILE = 90.0
K_IQR_FACTOR = 2.0
#: The per-seed numbers whose distributions the report gives, in order.
METRICS = ("k", "spread", "ceiling_sel", "ensemble_sel", "gain_neuron", "gain_synapse",
           "null_percentile")
LABELS = {"k": "ensemble k", "spread": "spread over neurons", "ceiling_sel": "ceiling sel",
          "ensemble_sel": "ensemble sel", "gain_neuron": "gain over best neuron",
          "gain_synapse": "gain over best synapse", "null_percentile": "null percentile"}


def _sel(block: dict | None) -> float | None:
    try:
        value = block["measured"]["sel"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def seed_row(seed: int, report: dict) -> dict:
    """One seed's numbers for one region, from its synens-report/2 dict."""
    ens = report["ensemble"]
    base = report.get("baselines", {})
    ens_sel = _sel(ens)
    pct = (report.get("null") or {}).get("percentile") or {}
    return {
        "seed": int(seed),
        "k": int(ens["k"]),
        "spread": len(ens["spread_neurons"]),
        "ceiling_sel": _sel(report.get("ceiling")),
        "ensemble_sel": ens_sel,
        "gain_neuron": _ratio(ens_sel, _sel(base.get("neuron"))),
        "gain_synapse": _ratio(ens_sel, _sel(base.get("synapse"))),
        "null_percentile": _number(pct.get("ensemble")),
        "null_percentile_ceiling": _number(pct.get("ceiling")),
        "best_neuron": base.get("neuron", {}).get("neuron"),
        "curve": [[int(p["k"]), _sel(p)] for p in report.get("curve", [])],
        "null_ensemble": [_number(v.get("ensemble")) for v in
                          (report.get("null") or {}).get("values", [])],
    }


def _number(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def distribution(values: Sequence[float | None]) -> dict:
    """median, quartiles, IQR, min, max and n of the values that are not None."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], np.float64)
    if not v.size:
        return {"n": 0, "median": None, "q1": None, "q3": None, "iqr": None, "min": None,
                "max": None}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": int(v.size), "median": float(med), "q1": float(q1), "q3": float(q3),
            "iqr": float(q3 - q1), "min": float(v.min()), "max": float(v.max())}


def verdict(rows: list[dict]) -> dict:
    """The three verdicts of a region, each with its numbers.

    * multi_neuron: the gain over the best single neuron exceeds GAIN_NEEDED in most seeds
      (more than half of the seeds measured);
    * specific: the ensemble's null percentile exceeds NULL_PERCENTILE in most seeds;
    * stable_size: q3/q1 of k is at most K_IQR_FACTOR.
    """
    def most(key: str, limit: float) -> dict:
        vals = [r[key] for r in rows if r[key] is not None]
        hits = sum(1 for v in vals if v > limit)
        return {"holds": bool(vals) and hits > len(vals) / 2, "seeds": hits, "of": len(vals),
                "threshold": limit}

    ks = distribution([r["k"] for r in rows])
    ratio = ks["q3"] / ks["q1"] if ks["n"] and ks["q1"] > 0 else None
    return {
        "multi_neuron": most("gain_neuron", GAIN_NEEDED),
        "specific": most("null_percentile", NULL_PERCENTILE),
        "stable_size": {"holds": ratio is not None and ratio <= K_IQR_FACTOR,
                        "q1": ks["q1"], "q3": ks["q3"], "ratio": ratio,
                        "threshold": K_IQR_FACTOR},
    }


def overlap_summary(pairs: list[dict]) -> dict:
    """Overlap of aligned ensembles with the reference seed's, against random ensembles.

    pairs: one per non-reference seed, {"seed", "neurons": J, "neurons_random": J,
    "synapses": J, "synapses_random": J, "match_score": mean |corr|}.
    """
    def med(key: str) -> float | None:
        return distribution([p[key] for p in pairs])["median"]

    return {"seeds": [p["seed"] for p in pairs], "per_seed": pairs,
            "neurons": {"jaccard_median": med("neurons"), "random_median": med("neurons_random")},
            "synapses": {"jaccard_median": med("synapses"),
                         "random_median": med("synapses_random")},
            "match_score_median": med("match_score")}


def region_summary(name: str, region: dict, rows: list[dict], errors: list[dict],
                   overlap: dict | None) -> dict:
    """A region's block of the study report."""
    return {"name": name, "region": region, "seeds": [r["seed"] for r in rows],
            "errors": errors,
            "stats": {m: distribution([r[m] for r in rows]) for m in METRICS},
            "verdict": verdict(rows), "overlap": overlap, "per_seed": rows}


def study_json(config: dict, pictures: list[dict], tasks: dict) -> dict:
    """The whole report: {"format", "config", "tasks", "pictures": [{"name", "sha256",
    "reference_seed", "regions": [region_summary, ...]}]}."""
    return {"format": FORMAT, "config": config, "tasks": tasks, "pictures": pictures,
            "rules": {"gain_needed": GAIN_NEEDED, "null_percentile": NULL_PERCENTILE,
                      "k_iqr_factor": K_IQR_FACTOR, "most": "more than half of the seeds",
                      "alignment": "per layer, optimal assignment on |correlation| of "
                                   "activation maps, to the reference seed"}}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _span(d: dict) -> str:
    if not d["n"]:
        return "-"
    return f"{fmt(d['median'])} [{fmt(d['q1'])}–{fmt(d['q3'])}] ({fmt(d['min'])}–{fmt(d['max'])})"


def verdict_lines(v: dict) -> list[str]:
    m, s, k = v["multi_neuron"], v["specific"], v["stable_size"]
    ratio = "-" if k["ratio"] is None else f"{k['ratio']:.2f}"
    return [
        f"multi-neuron ensemble needed: {_yes(m['holds'])} (gain over best neuron > "
        f"{m['threshold']:g} in {m['seeds']} of {m['of']} seeds)",
        f"specific to the region: {_yes(s['holds'])} (above the null's "
        f"{s['threshold']:g}th percentile in {s['seeds']} of {s['of']} seeds)",
        f"ensemble size stable: {_yes(k['holds'])} (k q3/q1 = {ratio}, limit "
        f"{k['threshold']:g})",
    ]


def study_text(report: dict) -> str:
    """The report for people: per picture and region, the verdicts first, then the table."""
    t = report["tasks"]
    lines = [f"study: {t['done']} of {t['total']} tasks done"
             + (f", {t['missing']} missing" if t["missing"] else "")
             + f"; {report['config']['seeds']} seeds"]
    for pic in report["pictures"]:
        lines.append("")
        lines.append(f"picture {pic['name']} (reference seed {pic['reference_seed']})")
        for reg in pic["regions"]:
            lines.append(f"  region {reg['name']}: {len(reg['seeds'])} seeds measured"
                         + (f", {len(reg['errors'])} refused" if reg["errors"] else ""))
            lines += ["    " + line for line in verdict_lines(reg["verdict"])]
            rows = [[LABELS[m], _span(reg["stats"][m])] for m in METRICS]
            lines += table(["across seeds", "median [q1–q3] (min–max)"], rows, indent="    ")
            ov = reg["overlap"]
            if ov and ov["seeds"]:
                n, s = ov["neurons"], ov["synapses"]
                lines.append(f"    overlap with the reference seed after alignment (median "
                             f"Jaccard): spread neurons {fmt(n['jaccard_median'])} (random "
                             f"{fmt(n['random_median'])}), synapses {fmt(s['jaccard_median'])} "
                             f"(random {fmt(s['random_median'])})")
            for e in reg["errors"]:
                lines.append(f"    seed {e['seed']}: {e['error']}")
    return "\n".join(lines) + "\n"
