"""report, atlas and basis commands: text and JSON reports, files, and every bad input refused."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from synens.core.analysis.region import region_ensemble
from synens.core.files.model import Model, make_meta, save_model
from synens.core.reports.region import region_report_text
from test_basis import stripes_net
from test_cli import assert_error, call, png
from test_ensemble import PLANTED_REGION, planted_picture, planted_region_net

REGION = ",".join(str(v) for v in PLANTED_REGION)
REPORT_KEYS = {"format", "model", "picture", "region", "rule", "summary", "members", "pairs",
               "moves"}
MEMBER_KEYS = {"synapse", "source", "target", "weight", "in", "out", "sel", "group"}


@pytest.fixture
def planted(tmp_path):
    topo, w, want = planted_region_net()
    path = tmp_path / "planted.npz"
    save_model(Model(topo, w, planted_picture(topo, w), make_meta(topo, seed=0)), path)
    return path, topo, w, want


@pytest.fixture
def stripes(tmp_path):
    from synens.core.network.render import render, to_uint8

    topo, w = stripes_net(4)
    path = tmp_path / "stripes.npz"
    save_model(Model(topo, w, to_uint8(render(topo, w, 32, 8, np.float64)),
                     make_meta(topo)), path)
    return path


def test_text_report_of_the_planted_network(capsys, planted):
    path, topo, w, want = planted
    code, out, err = call(capsys, "report", path, "--region", REGION)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "ensemble: 10 of 31 synapses, 4 of 11 neurons" in lines
    assert any(line.startswith("picture:  16 x 12 px") for line in lines)
    assert any(line.startswith(f"region:   x0,y0,x1,y1 = {REGION} (36 px") for line in lines)
    assert any("member if in >= 0.2 x max in" in line for line in lines)
    assert "groups:   7 core, 3 shared; neurons: 4 5 6 8" in lines
    rows = {int(line.split()[0]): line.split() for line in lines
            if len(line.split()) == 9 and line.split()[2] == "->" and line.split()[0] != "synapse"}
    assert set(rows) == want["core"] | want["shared"]
    for s, row in rows.items():
        assert row[-1] == ("core" if s in want["core"] else "shared")
        assert row[1] == topo.source_name(s) and row[3] == str(topo.dst[s])
    for word in ("opposing pairs", "coordinated moves", "move 1: selectivity", "non-linear check"):
        assert word in out
    # the TUI's function gives the very same text
    m_img = planted_picture(topo, w)
    ens = region_ensemble(topo, w, m_img, PLANTED_REGION)
    assert region_report_text(ens, str(path)) == out


def test_json_report_keys_and_facts(capsys, planted):
    path, topo, w, want = planted
    code, out, _ = call(capsys, "report", path, "--region", REGION, "--format", "json")
    assert code == 0
    rep = json.loads(out)
    assert set(rep) == REPORT_KEYS and rep["format"] == "synens-report/1"
    assert rep["model"] == str(path) and rep["picture"] == [16, 12]
    assert rep["region"] == list(PLANTED_REGION)
    assert rep["rule"]["share"] == 0.2 and rep["rule"]["core_sel"] == 1.0
    s = rep["summary"]
    assert (s["synapses"], s["total_synapses"], s["neurons"], s["total_neurons"]) == \
        (10, 31, 4, 11)
    assert {m["synapse"] for m in rep["members"]} == want["core"] | want["shared"]
    for m in rep["members"]:
        assert set(m) == MEMBER_KEYS
        assert m["source"] == int(topo.src[m["synapse"]])
        assert m["target"] == int(topo.dst[m["synapse"]])
        assert m["weight"] == w[m["synapse"]]
        assert m["group"] == ("core" if m["synapse"] in want["core"] else "shared")
        assert m["sel"] == pytest.approx(m["in"] / (m["out"] + 1e-9))
    ins = [m["in"] for m in rep["members"]]
    assert ins == sorted(ins, reverse=True)
    for p in rep["pairs"]:
        assert {"a", "b"} <= set(p)
    assert len(rep["moves"]) == 3
    for mv in rep["moves"]:
        assert {"selectivity", "components", "measured"} <= set(mv)
        assert set(mv["measured"]) == {"in", "out"}
        assert {int(k) for k in mv["components"]} == want["core"] | want["shared"]


def test_output_file_force_and_top(capsys, planted, tmp_path):
    path = planted[0]
    out = tmp_path / "r.txt"
    code, text, _ = call(capsys, "report", path, "--region", REGION, "-o", out)
    assert code == 0 and text == ""
    _, shown, _ = call(capsys, "report", path, "--region", REGION)
    assert out.read_text() == shown
    code, _, err = call(capsys, "report", path, "--region", REGION, "-o", out)
    assert_error(code, err, "already exists")
    code, _, _ = call(capsys, "report", path, "--region", REGION, "-o", out, "--force",
                      "--format", "json", "--top", "1")
    assert code == 0 and len(json.loads(out.read_text())["pairs"]) <= 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_atlas_command(capsys, planted, tmp_path):
    path = planted[0]
    code, out, _ = call(capsys, "atlas", path)
    assert code == 0 and "K = 2" in out and "neuron participation" in out
    pic = tmp_path / "atlas.png"
    code, out, _ = call(capsys, "atlas", path, "-k", 3, "--format", "json", "--png", pic)
    assert code == 0
    rep = json.loads(out)
    assert rep["format"] == "synens-atlas/1" and rep["k"] == 3 and len(rep["parts"]) == 3
    assert len(rep["participation"]) == 11 and rep["grid"] == [16, 12]
    assert png(pic).shape == (12, 4 * 16 + 3 * 2, 3)


def test_basis_command(capsys, stripes, tmp_path):
    out = tmp_path / "b.json"
    code, _, _ = call(capsys, "basis", stripes, "--layer", 2, "--format", "json", "-o", out,
                      "--random", 40)
    assert code == 0
    rep = json.loads(out.read_text())
    assert rep["format"] == "synens-basis/1" and rep["layer"] == 2
    assert rep["layer_neurons"] == [3, 4, 5, 6]
    assert set(rep["scores"]) == {"neurons", "random", "ensembles"}
    assert len(rep["scores"]["random"]["colour"]) == 40 and len(rep["tests"]) == 9
    code, text, _ = call(capsys, "basis", stripes, "--random", 20)
    assert code == 0 and "conclusion: " in text and "layer:    2 of hidden layers 1..2" in text


@pytest.mark.parametrize("region, words", [
    ("1,2,3", "four integers"), ("a,b,c,d", "four integers"), ("4,3,4,9", "empty"),
    ("10,3,4,9", "inverted"), ("4,3,17,9", "outside"), ("-1,0,3,3", "outside"),
    ("0,0,16,12", "whole picture"),
])
def test_bad_regions(capsys, planted, region, words):
    code, out, err = call(capsys, "report", planted[0], f"--region={region}")
    assert_error(code, err, words)
    assert out == ""


def test_other_bad_inputs(capsys, planted, stripes, tmp_path):
    path = planted[0]
    for k in (0, 32, -1):
        code, _, err = call(capsys, "atlas", path, "-k", k)
        assert_error(code, err, "K must lie in 1..31")
    for layer in (0, 3):
        code, _, err = call(capsys, "basis", stripes, "--layer", layer)
        assert_error(code, err, f"layer {layer} does not exist", "1..2")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    for bad, word in ((text, "not a synens model file"), (foreign, "not a synens model file"),
                      (tmp_path / "missing.npz", "not found")):
        for argv in (["report", bad, "--region", "0,0,1,1"], ["atlas", bad], ["basis", bad]):
            code, _, err = call(capsys, *argv)
            assert_error(code, err, word)
    for argv in (["report", path, "--region", REGION, "--top", 0],
                 ["report", path, "--region", REGION, "--format", "xml"],
                 ["report", path], ["atlas", path, "-k", "two"],
                 ["basis", stripes, "--random", 0],
                 ["report", path, "--region", REGION, "-o", tmp_path / "no" / "r.txt"]):
        code, _, err = call(capsys, *argv)
        assert_error(code, err)


def test_help_of_the_analysis_commands_does_not_import_numba():
    code = ("import sys; from synens.tui.cli import main; "
            "[main([c, '--help']) for c in ('report', 'atlas', 'basis')]; "
            "print('numba' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.strip().splitlines()[-1] == "False"
