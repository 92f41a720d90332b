"""Basis-test reports: text for people, JSON (synens-basis/1) for tools.

Basis JSON: {"format", "model", "picture", "grid", "layer", "layer_neurons", "rule",
"scores": {kind: {reference: [...]}}, "medians": {kind: {reference: m}},
"tests": [{"a", "b", "reference", "median_a", "median_b", "diff", "p"}], "conclusion"}.
"""

from __future__ import annotations

import numpy as np
from synens.core.analysis.basis import KINDS, REFERENCES, BasisResult
from synens.core.reports.table import plain, table


def basis_report_json(res: BasisResult, picture: tuple[int, int],
                      model_path: str | None = None) -> dict:
    """The basis test as a dict (format synens-basis/1)."""
    return plain({
        "format": "synens-basis/1", "model": model_path, "picture": list(picture),
        "grid": list(res.grid), "layer": res.layer, "layer_neurons": res.layer_neurons,
        "rule": res.rule, "scores": res.scores,
        "medians": {k: {ref: float(np.median(res.scores[k][ref])) for ref in REFERENCES}
                    for k in KINDS},
        "tests": res.tests, "conclusion": res.conclusion})


def _dist(v: np.ndarray) -> str:
    if v.size == 0:
        return "-"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{med:.3f} [{q1:.3f}, {q3:.3f}]"


def basis_report_text(res: BasisResult, picture: tuple[int, int],
                      model_path: str | None = None) -> str:
    """The basis test for people: score distributions, permutation tests, the conclusion."""
    w, h = picture
    r = res.rule
    neurons = " ".join(str(n) for n in res.layer_neurons)
    lines = [
        "synens-tui basis test",
        f"model:    {model_path or '(in memory)'}; picture {w} x {h} px; maps on the "
        f"{res.grid[0]} x {res.grid[1]} atlas grid",
        f"layer:    {res.layer} of hidden layers 1..{res.n_layers} ({r['layer_rule']}); "
        f"neurons {neurons}",
        "maps:     single neurons' activations; "
        f"{r['n_random']} random unit directions in the layer's activation space (seed "
        f"{r['seed']}); the atlas ensembles' change maps ({r['ensemble_map']})",
        f"score:    {r['score']} after thresholding ({r['threshold']}); references: colour = "
        f"{r['references']['colour']}, atlas = {r['references']['atlas']}, both = either",
        "", "scores: median [quartiles]"]
    rows = [[k, str(res.scores[k]["both"].size)] + [_dist(res.scores[k][ref])
                                                     for ref in REFERENCES] for k in KINDS]
    lines += table(["kind", "n", "vs colour", "vs atlas", "vs both"], rows)
    lines += ["", f"permutation tests ({r['test']}; {r['n_perm']} permutations, seeded)"]
    rows = [[f"{t['a']} vs {t['b']}", t["reference"], f"{t['median_a']:.3f}",
             f"{t['median_b']:.3f}", f"{t['diff']:+.3f}", f"{t['p']:.4f}"] for t in res.tests]
    lines += table(["comparison", "reference", "median a", "median b", "diff", "p"], rows)
    lines += ["", "conclusion: " + res.conclusion]
    return "\n".join(lines) + "\n"
