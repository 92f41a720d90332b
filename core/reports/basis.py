"""Basis-test reports: text for people, JSON (synens-basis/2) for tools.

Basis JSON: {"format", "model", "picture": [W, H], "layer", "layer_neurons", "rule": {...},
"regions": [{"name", "kind": "semantic"|"random", "pixels", "sel": {arm: float}}],
"medians": {arm: {"semantic", "random", "all"}}, "tests": [{"a", "b", "regions", "median_a",
"median_b", "ratio"?, "p"}], "verdict": [str, ...]}. Every sel is measured: a re-render of the
move scaled to the stated RMS change inside the region.
"""

from __future__ import annotations

from synens.core.analysis.basis import ARMS, BasisResult
from synens.core.reports.table import plain, table

FORMAT = "synens-basis/2"


def basis_report_json(res: BasisResult, picture: tuple[int, int],
                      model_path: str | None = None) -> dict:
    """The basis test as a dict with the synens-basis/2 keys."""
    medians = {arm: {("all" if k is None else k): v for k, v in m.items()}
               for arm, m in res.medians.items()}
    return plain({"format": FORMAT, "model": model_path, "picture": list(picture),
                  "layer": res.layer, "layer_neurons": res.layer_neurons, "rule": res.rule,
                  "regions": res.regions, "medians": medians, "tests": res.tests,
                  "verdict": res.verdict})


def basis_report_text(res: BasisResult, picture: tuple[int, int],
                      model_path: str | None = None) -> str:
    """The basis test for people: the verdict first, then medians, then every region."""
    lines = ["synens-tui basis test", f"model:   {model_path or '(in memory)'}",
             f"picture: {picture[0]}×{picture[1]}; hidden layer {res.layer} of {res.n_layers} "
             f"(neurons {', '.join(str(int(n)) for n in res.layer_neurons)})", "", "verdict:"]
    lines += [f"  {v}" for v in res.verdict]
    lines += ["", "median measured sel (RMS change inside / outside, moves scaled to "
              f"{res.rule['level']:g} inside):"]
    rows = [[arm, _g(res.medians[arm]["semantic"]), _g(res.medians[arm]["random"]),
             _g(res.medians[arm][None])] for arm in ARMS]
    lines += table(["arm", "semantic", "random boxes", "all"], rows)
    lines += ["", "regions:"]
    rows = [[r["name"], r["kind"], str(r["pixels"]), *(_g(r["sel"][a]) for a in ARMS)]
            for r in res.regions]
    lines += table(["region", "kind", "px", *ARMS], rows)
    lines += ["", "arms: neuron_gain = best single-neuron gain move of the layer (its outgoing "
              "weights scaled);", "  random_direction = best of as many seeded random "
              "directions of the layer's activation space;", "  neuron_inputs = best single "
              "neuron's input-synapse move; ensemble_same_k = the region's greedy", "  curve at "
              "the k of neuron_inputs. Semantic regions: colour segments holding "
              f"{res.rule['semantic_share'][0]:.0%}..{res.rule['semantic_share'][1]:.0%} of the "
              "pixels, plus user regions;", f"  random boxes: {res.rule['boxes_per_mask']} "
              "seeded boxes with each semantic mask's pixel count. Tests: "
              f"{res.rule['test']}, {res.rule['n_perm']} permutations."]
    return "\n".join(lines) + "\n"


def _g(v: float | None) -> str:
    return "–" if v is None or v != v else f"{v:.3g}"
