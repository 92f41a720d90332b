"""report, atlas and basis commands: text and JSON reports, files, and every bad input refused."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from synens.core.files.model import Model, make_meta, save_model
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
    code, out, err = call(capsys, "report", path, "--region", REGION, "--null-boxes", "3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[5].startswith("ensemble: ") and "; spread over " in lines[5]
    assert any(line.startswith("picture:  16 x 12 px") for line in lines)
    assert any(line.startswith(f"region:   rectangle {REGION} (36 px") for line in lines)
    for word in ("gain over the best single synapse", "gain over the best single neuron",
                 "null: percentile among", "curve (", "opposing pairs", "rules:"):
        assert word in out
    # the library's functions give the very same text
    from synens.core.analysis.control import region_control
    from synens.core.analysis.masks import rect_mask
    from synens.core.analysis.null import region_null
    from synens.core.reports.control_text import control_text

    c = region_control(topo, w, rect_mask(PLANTED_REGION, 16, 12))
    text = control_text(c, region_null(c, 3, 0), str(path), f"rectangle {REGION}")
    assert text == out


def test_json_report_keys_and_facts(capsys, planted):
    path, topo, w, want = planted
    code, out, _ = call(capsys, "report", path, "--region", REGION, "--format", "json",
                        "--null-boxes", "3", "--seed", "5")
    assert code == 0
    rep = json.loads(out)
    assert REPORT_KEYS <= set(rep) and rep["format"] == "synens-report/2"
    assert {"ensemble", "ceiling", "curve", "baselines", "null"} <= set(rep)
    assert rep["model"] == str(path) and rep["picture"] == [16, 12]
    assert rep["region"] == list(PLANTED_REGION)
    s, e = rep["summary"], rep["ensemble"]
    assert s["synapses"] == e["k"] == len(e["synapses"]) == len(rep["members"])
    assert s["neurons"] == len(e["spread_neurons"])
    assert {m["synapse"] for m in rep["members"]} == set(e["synapses"])
    for m in rep["members"]:
        assert set(m) == MEMBER_KEYS
    assert rep["curve"][e["k"] - 1]["measured"] == e["measured"]
    assert [p["k"] for p in rep["curve"]] == list(range(1, len(rep["curve"]) + 1))
    assert rep["null"]["boxes"] == 3 and rep["null"]["seed"] == 5
    assert set(rep["null"]["percentile"]) == {"ceiling", "ensemble", "k"}
    for key in ("synapse", "neuron", "neuron_same_k"):
        b = rep["baselines"][key]
        assert b is None or set(b["measured"]) >= {"scale", "in", "out", "sel", "max_out"}


def test_masks_segments_and_their_bad_input(capsys, planted, tmp_path):
    from PIL import Image

    path = planted[0]
    m = np.zeros((24, 32), np.uint8)
    m[6:18, 8:20] = 255  # the planted region at twice the resolution
    Image.fromarray(m).save(tmp_path / "m.png")
    code, out, err = call(capsys, "report", path, "--mask", tmp_path / "m.png",
                          "--null-boxes", "0", "--format", "json")
    assert code == 0 and json.loads(out)["region"] == list(PLANTED_REGION)
    code, out, _ = call(capsys, "segments", path, "-o", tmp_path / "seg.png")
    assert code == 0 and (tmp_path / "seg.png").exists() and "segment" in out
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(tmp_path / "black.png")
    Image.fromarray(np.full((24, 32), 128, np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "text.png").write_text("not a picture")
    for argv, words in (
            (["--mask", tmp_path / "black.png"], "all black"),
            (["--mask", tmp_path / "grey.png"], "not black/white"),
            (["--mask", tmp_path / "text.png"], "not a picture"),
            (["--segment", "99"], "segment 99 does not exist")):
        code, out, err = call(capsys, "report", path, *argv)
        assert code == 2 and out == "" and words in err and len(err.splitlines()) == 1


def test_unreachable_region_is_one_line(capsys, tmp_path):
    from synens.core.base.topology import BIAS, X_IN
    from test_control import _net

    topo, w = _net([(BIAS, 0, 0.0), (X_IN, 0, 1.0), (BIAS, 1, 60.0), (0, 1, 1.0),
                    (BIAS, 2, 60.0), (BIAS, 3, -60.0)], 4, [1, 2, 3])
    from synens.core.network.render import render, to_uint8

    path = tmp_path / "sat.npz"
    save_model(Model(topo, w, to_uint8(render(topo, w, 16, 12, np.float64)),
                     make_meta(topo)), path)
    code, out, err = call(capsys, "report", path, "--region", "2,2,8,8")
    assert code == 2 and out == "" and "no move reaches" in err and len(err.splitlines()) == 1


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
