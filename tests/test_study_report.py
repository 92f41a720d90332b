"""The study report's arithmetic: per-seed rows from synens-report/2 dicts, distributions,
verdicts and their thresholds, and the text."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.reports.study import (
    distribution,
    overlap_summary,
    region_summary,
    seed_row,
    study_json,
    study_text,
    verdict,
)
from synens.core.reports.study_figure import median_seed, null_band, study_figure


def fake_report(k: int, ens: float, neuron: float, synapse: float, pct: float) -> dict:
    """The keys of synens-report/2 that the study reads, with chosen values."""
    return {"format": "synens-report/2",
            "ensemble": {"k": k, "spread_neurons": list(range(k % 3 + 1)),
                         "synapses": list(range(k)), "measured": {"sel": ens}},
            "ceiling": {"measured": {"sel": ens * 1.2}},
            "baselines": {"neuron": {"neuron": 7, "measured": {"sel": neuron}},
                          "synapse": {"synapse": 3, "measured": {"sel": synapse}}},
            "null": {"percentile": {"ensemble": pct, "ceiling": pct},
                     "values": [{"ceiling": 2.0, "ensemble": v, "k": 5} for v in (1, 2, 3)]},
            "curve": [{"k": i + 1, "measured": {"sel": 1.0 + i}} for i in range(k)]}


def test_seed_row_reads_the_documented_keys():
    row = seed_row(4, fake_report(6, 30.0, 10.0, 3.0, 95.0))
    assert row["seed"] == 4 and row["k"] == 6 and row["spread"] == 1
    assert row["gain_neuron"] == pytest.approx(3.0)
    assert row["gain_synapse"] == pytest.approx(10.0)
    assert row["ceiling_sel"] == pytest.approx(36.0)
    assert row["null_percentile"] == 95.0 and row["null_ensemble"] == [1, 2, 3]
    assert row["curve"][-1] == [6, 6.0]
    unreached = fake_report(6, 30.0, 10.0, 3.0, 95.0)
    unreached["baselines"]["neuron"]["measured"] = None  # a baseline that did not reach
    assert seed_row(0, unreached)["gain_neuron"] is None


def test_distribution_matches_numpy():
    v = [3.0, 1.0, 4.0, 1.0, 5.0, None]
    d = distribution(v)
    q1, med, q3 = np.percentile([3, 1, 4, 1, 5], [25, 50, 75])
    assert d == {"n": 5, "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1, "min": 1.0,
                 "max": 5.0}
    assert distribution([None])["median"] is None


@pytest.mark.parametrize(("gains", "needed"), [((2, 2, 1), True), ((2, 1, 1), False),
                                               ((1.5, 1.6, 1.6), True), ((1.5, 1.5, 9), False)])
def test_multi_neuron_verdict_needs_most_seeds_above_the_threshold(gains, needed):
    rows = [seed_row(i, fake_report(8, 10.0 * g, 10.0, 1.0, 50.0)) for i, g in enumerate(gains)]
    v = verdict(rows)
    assert v["multi_neuron"]["holds"] is needed
    assert v["specific"]["holds"] is False and v["specific"]["seeds"] == 0


def test_specific_and_stable_size_verdicts():
    rows = [seed_row(i, fake_report(k, 10.0, 1.0, 1.0, p))
            for i, (k, p) in enumerate([(4, 95), (6, 91), (8, 90), (10, 99)])]
    v = verdict(rows)
    assert v["specific"]["seeds"] == 3 and v["specific"]["holds"]  # 90 is not above 90
    assert v["stable_size"]["ratio"] == pytest.approx(8.5 / 5.5)
    assert v["stable_size"]["holds"]
    wide = [seed_row(i, fake_report(k, 10.0, 1.0, 1.0, 50)) for i, k in enumerate([2, 2, 30, 30])]
    assert not verdict(wide)["stable_size"]["holds"]


def test_text_figure_and_overlap():
    rows = [seed_row(i, fake_report(k, 10.0 + k, 4.0, 1.0, 95.0)) for i, k in enumerate([3, 5, 7])]
    ov = overlap_summary([{"seed": 1, "match_score": 0.9, "neurons": 0.5, "neurons_random": 0.1,
                           "synapses": 0.2, "synapses_random": 0.05}])
    reg = region_summary("wing", {"kind": "box", "fraction": [0, 0, 0.5, 0.5]}, rows, [], ov)
    report = study_json({"seeds": 3}, [{"name": "p.png", "sha256": "0", "reference_seed": 0,
                                        "tasks": {}, "regions": [reg]}],
                        {"total": 3, "done": 3, "missing": 0})
    text = study_text(report)
    assert "multi-neuron ensemble needed: yes (gain over best neuron > 1.5 in 3 of 3 seeds)" in text
    assert "spread neurons 0.5 (random 0.1)" in text
    assert median_seed(rows)["seed"] == 1
    assert null_band(rows) == pytest.approx(tuple(np.percentile([1, 2, 3] * 3, [10, 90])))
    img = study_figure([("p.png wing", rows, None, None, None)])
    assert img.width > 300 and img.height > 100
