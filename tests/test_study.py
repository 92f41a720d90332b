"""Studies on Dask: task names, resume, embedded and external clusters, a killed worker, errors.

Tiny studies: one 32 px picture of flat shapes, 3 seeds, a (4, 4) network, 200 epochs,
2 regions (a box and a colour segment), 3 null boxes, 2 worker processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from synens.tui.cli import main
from synens.tui.commands.study_spec import box_pixels, parse_box, task_key

pytest.importorskip("distributed")

BIN = Path(sys.executable).parent
SYNENS = str(BIN / "synens-tui")
DASK = str(BIN / "dask")
ENV = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
SEEDS = 3


@pytest.fixture(scope="module")
def study_inputs(tmp_path_factory):
    """The picture and the regions file of the tiny study, and its argument list."""
    from app_fixtures import picture
    from PIL import Image

    folder = tmp_path_factory.mktemp("inputs")
    pic = folder / "shapes.png"
    Image.fromarray(picture()).save(pic)
    regions = folder / "regions.json"
    regions.write_text(json.dumps([{"name": "segment1", "segment": 1}]))
    args = [str(pic), "--seeds", str(SEEDS), "--size", "32", "--epochs", "200",
            "--hidden", "4,4", "--region", "3,3,14,12@32x24", "--regions", str(regions),
            "--null-boxes", "3", "-q"]
    return pic, args


def study(args: list[str], out: Path, *extra: str,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([SYNENS, "study", *args, "-o", str(out), *extra], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def tasks_of(out: Path) -> dict[int, dict]:
    done = {}
    for f in (out / "tasks").glob("*/task.json"):
        t = json.loads(f.read_text())
        done[t["seed"]] = t
    return done


def _drop_seconds(obj):
    if isinstance(obj, dict):
        return {k: _drop_seconds(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_drop_seconds(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def embedded(study_inputs, tmp_path_factory):
    """The tiny study, run once on an embedded LocalCluster of 2 workers."""
    _, args = study_inputs
    out = tmp_path_factory.mktemp("embedded") / "study"
    r = study(args, out, "--workers", "2")
    assert r.returncode == 0, r.stderr
    return out, r


# -- pure parts: regions and task names ------------------------------------------------------

def test_regions_in_picture_coordinates():
    assert parse_box("0.25,0,0.5,1")["fraction"] == [0.25, 0, 0.5, 1]
    px = parse_box("32,0,64,128@128x128")
    assert px["fraction"] == [0.25, 0.0, 0.5, 1.0]
    # the same box at two training sizes covers the same place
    assert box_pixels(px["fraction"], 128, 128) == (32, 0, 64, 128)
    assert box_pixels(px["fraction"], 32, 32) == (8, 0, 16, 32)
    assert box_pixels([0.0, 0.0, 0.01, 0.01], 32, 32) == (0, 0, 1, 1)  # at least one pixel


def test_task_key_is_a_hash_of_picture_seed_and_config():
    cfg = {"size": 32, "train": {"epochs": 200}}
    k = task_key("ab" * 32, 0, cfg)
    assert k == task_key("ab" * 32, 0, dict(cfg))
    assert len({k, task_key("ab" * 32, 1, cfg), task_key("cd" * 32, 0, cfg),
                task_key("ab" * 32, 0, {**cfg, "size": 64})}) == 4


# -- bad input: one line, exit 2 -----------------------------------------------------------------

def _one_line_error(capsys, argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("synens-tui: error: "), err
    assert needle in err, err


def test_bad_input_is_one_line(study_inputs, tmp_path, capsys):
    _, args = study_inputs
    base = ["study", *args, "-o", str(tmp_path / "s")]
    _one_line_error(capsys, [*base, "--seconds", "10"], "--seconds is refused")
    bad_seeds = [*base]
    bad_seeds[bad_seeds.index("--seeds") + 1] = "0"
    _one_line_error(capsys, bad_seeds, "--seeds must be at least 1")
    _one_line_error(capsys, [*base, "--region", "20,3,40,12@32x24"], "outside the 32x24 picture")
    _one_line_error(capsys, [*base, "--region", "0.5,0.5,1.2,0.9"], "outside the picture")
    _one_line_error(capsys, [*base, "--region", "3,3,14,12"], "state the resolution")
    no_stop = [a for a in base if a not in ("--epochs", "200")]
    _one_line_error(capsys, no_stop, "--epochs or --target-rmse")
    assert not (tmp_path / "s").exists()  # nothing was created for bad input


def test_unreachable_scheduler_fails_fast(study_inputs, tmp_path, capsys):
    _, args = study_inputs
    start = time.perf_counter()
    _one_line_error(capsys, ["study", *args, "-o", str(tmp_path / "s"), "--scheduler",
                             "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler")
    assert time.perf_counter() - start < 10


def test_foreign_study_folder_is_refused(embedded, study_inputs, tmp_path, capsys):
    out, _ = embedded
    _, args = study_inputs
    other = [*args]
    other[other.index("--epochs") + 1] = "150"
    before = sorted(p.name for p in (out / "tasks").iterdir())
    _one_line_error(capsys, ["study", *other, "-o", str(out)], "holds another study")
    assert sorted(p.name for p in (out / "tasks").iterdir()) == before
    (tmp_path / "mine.txt").write_text("not a study")
    _one_line_error(capsys, ["study", *args, "-o", str(tmp_path)], "not empty")


# -- the study itself ---------------------------------------------------------------------------

def test_embedded_study_writes_every_task_and_reports_their_numbers(embedded):
    out, _ = embedded
    tasks = tasks_of(out)
    assert sorted(tasks) == list(range(SEEDS))
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "synens-study/1"
    assert report["tasks"] == {"total": SEEDS, "done": SEEDS, "missing": 0}
    (pic,) = report["pictures"]
    assert [r["name"] for r in pic["regions"]] == ["box0", "segment1"]
    for reg in pic["regions"]:
        assert reg["seeds"] == list(range(SEEDS)), reg["errors"]
        ks, sels, gains, pcts = [], [], [], []
        for row in reg["per_seed"]:
            t = tasks[row["seed"]]
            assert (out / "tasks" / t["key"] / "model.npz").is_file()
            entry = next(e for e in t["regions"] if e["name"] == reg["name"])
            rep = json.loads((out / "tasks" / t["key"] / entry["file"]).read_text())
            assert rep["format"] == "synens-report/2"
            assert row["k"] == rep["ensemble"]["k"]
            assert row["spread"] == len(rep["ensemble"]["spread_neurons"])
            assert row["ensemble_sel"] == rep["ensemble"]["measured"]["sel"]
            assert row["ceiling_sel"] == rep["ceiling"]["measured"]["sel"]
            assert row["gain_neuron"] == pytest.approx(
                rep["ensemble"]["measured"]["sel"] / rep["baselines"]["neuron"]["measured"]["sel"])
            assert row["null_percentile"] == rep["null"]["percentile"]["ensemble"]
            ks.append(rep["ensemble"]["k"])
            sels.append(rep["ensemble"]["measured"]["sel"])
            gains.append(row["gain_neuron"])
            pcts.append(rep["null"]["percentile"]["ensemble"])
        stats = reg["stats"]
        assert stats["k"]["median"] == float(np.median(ks))
        assert stats["k"]["min"] == min(ks) and stats["k"]["max"] == max(ks)
        assert stats["ensemble_sel"]["median"] == pytest.approx(float(np.median(sels)))
        v = reg["verdict"]
        assert v["multi_neuron"]["seeds"] == sum(g > 1.5 for g in gains)
        assert v["specific"]["seeds"] == sum(p > 90 for p in pcts)
        assert len(reg["overlap"]["per_seed"]) == SEEDS - 1


def test_report_command_text_json_and_png(embedded, tmp_path, capsys):
    out, _ = embedded
    assert main(["study", str(out), "--report", "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert _drop_seconds(again) == _drop_seconds(json.loads((out / "report.json").read_text()))
    png = tmp_path / "study.png"
    assert main(["study", str(out), "--report", "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "multi-neuron ensemble needed" in text and "region segment1" in text
    from PIL import Image

    assert Image.open(png).size[0] > 300
    report = tmp_path / "study.txt"  # -o with --report: the report goes to that file
    assert main(["study", str(out), "--report", "-o", str(report)]) == 0
    assert capsys.readouterr().out == "" and report.read_text() == text
    assert main(["study", str(out), "--report", "-o", str(report)]) == 2  # never over it
    assert "--force" in capsys.readouterr().err and report.read_text() == text


def test_rerun_after_interrupt_runs_only_missing_tasks(embedded, study_inputs, tmp_path):
    out, _ = embedded
    _, args = study_inputs
    copy = tmp_path / "study"
    shutil.copytree(out, copy)
    for seed in (1, 2):  # as if the machine crashed while these two ran
        shutil.rmtree(copy / "tasks" / tasks_of(copy)[seed]["key"])
    run = subprocess.Popen([SYNENS, "study", *args, "-o", str(copy), "--workers", "2"],
                           env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while len(tasks_of(copy)) < 2:  # Ctrl-C once one of the two has come back
        assert time.time() < deadline and run.poll() is None, run.communicate()
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "interrupted" in err
    missing = SEEDS - len(tasks_of(copy))
    assert missing in (0, 1)  # the task in flight is lost, or it had finished too
    r = study(args, copy, "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert f"ran {missing} tasks, skipped {SEEDS - missing} already done, 0 failed" in r.stdout
    assert sorted(tasks_of(copy)) == list(range(SEEDS))


def test_failed_task_is_one_line_and_the_others_finish(study_inputs, tmp_path):
    pic, args = study_inputs
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    small = [*args]
    small[small.index("--seeds") + 1] = "1"
    out = tmp_path / "s"
    r = study([str(broken), *small], out, "--workers", "1")
    assert r.returncode == 1
    lines = [ln for ln in r.stdout.splitlines() if "failed:" in ln]
    assert len(lines) == 1 and "broken.png seed 0" in lines[0] and "\n" not in lines[0]
    assert sorted(t["picture"] for t in tasks_of(out).values()) == ["shapes.png"]


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def test_external_cluster_identical_and_survives_a_killed_worker(embedded, study_inputs,
                                                                  tmp_path):
    out, _ = embedded
    _, args = study_inputs
    sched_file = tmp_path / "scheduler.json"
    procs = [_start([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched_file)])]
    try:
        for _ in range(200):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(_start([DASK, "worker", address, "--nthreads", "1", "--host",
                                 "127.0.0.1", "--no-dashboard", "--no-nanny"]))
        ext = tmp_path / "study"
        run = subprocess.Popen([SYNENS, "study", *args, "-o", str(ext), "--scheduler", address],
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        deadline = time.time() + 60
        while not (ext / "tasks").is_dir() or not tasks_of(ext):
            assert time.time() < deadline and run.poll() is None, run.communicate()
            time.sleep(0.05)
        assert procs[1].poll() is None and len(tasks_of(ext)) < 3
        os.killpg(procs[1].pid, signal.SIGKILL)  # one worker dies mid-study
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
        assert "ran 3 tasks" in stdout
    finally:
        for p in reversed(procs):  # workers first, then the scheduler
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    from synens.core.files.model import load_model

    mine, theirs = tasks_of(ext), tasks_of(out)
    assert sorted(mine) == sorted(theirs)
    for seed, t in mine.items():
        assert t["key"] == theirs[seed]["key"]
        a = load_model(ext / "tasks" / t["key"] / "model.npz")
        b = load_model(out / "tasks" / t["key"] / "model.npz")
        assert a.weights.tobytes() == b.weights.tobytes()  # bit for bit
        for e in t["regions"]:
            ra = json.loads((ext / "tasks" / t["key"] / e["file"]).read_text())
            rb = json.loads((out / "tasks" / t["key"] / e["file"]).read_text())
            assert _drop_seconds(ra) == _drop_seconds(rb)
    sa = json.loads((ext / "report.json").read_text())
    sb = json.loads((out / "report.json").read_text())
    assert sa["pictures"] == sb["pictures"]


def test_without_dask_study_says_how_to_install(monkeypatch, tmp_path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    _one_line_error(capsys, ["study", str(tmp_path), "--report"],
                    'pip install "synens-tui[study]"')


def test_report_on_a_folder_that_is_no_study(tmp_path, capsys):
    _one_line_error(capsys, ["study", str(tmp_path), "--report"], "is not a study folder")


def test_regions_file_can_tie_a_region_to_one_picture(study_inputs, tmp_path, capsys):
    from synens.tui.commands.study_spec import applies, load_regions

    f = tmp_path / "r.json"
    f.write_text(json.dumps([{"name": "wing", "box": [0.1, 0.2, 0.3, 0.4],
                              "picture": "macaw.png"},
                             {"box": [8, 0, 16, 8], "resolution": [32, 32]}]))
    wing, other = load_regions(str(f))
    assert wing["picture"] == "macaw.png" and applies(wing, "macaw.png")
    assert not applies(wing, "bee.png") and applies(other, "bee.png")
    assert other["fraction"] == [0.25, 0.0, 0.5, 0.25]
    _, args = study_inputs
    _one_line_error(capsys, ["study", *args, "--regions", str(f), "-o", str(tmp_path / "s")],
                    "names picture 'macaw.png', which is not studied")
