"""Process-wide settings: fast-math flags, the parallel-kernel lock, threads, import side effects.

Each test that needs other flags or another threading layer runs Python in a subprocess,
since Numba reads them at import and at the first parallel call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import reference as R
from app_fixtures import SMALL_MODEL
from synens.core.base import jit
from synens.core.base.errors import SynensError
from synens.core.base.topology import layered
from synens.core.network.render import render
from synens.core.network.train import init_weights
from synens.tui.bootstrap import SETTINGS, configure_process

#: Variables that some code of the project sets or once set at import.
WATCHED = ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "NUMBA_THREADING_LAYER_PRIORITY",
           "NUMBA_THREADING_LAYER", "NUMBA_CACHE_DIR", "SYNENS_FASTMATH")


def run_python(code: str, timeout: float = 300, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (without the WATCHED variables unless given)."""
    base = {k: v for k, v in os.environ.items() if k not in WATCHED}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**base, **env},
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_importing_the_packages_sets_no_environment_variable():
    out = run_python("""
        import json, os
        before = dict(os.environ)
        import synens.core, synens.tui, synens.tui.cli, synens.tui.app
        from synens.core import render, load_model, region_ensemble
        import synens.core.kernels.backward, synens.core.kernels.split
        after = dict(os.environ)
        print(json.dumps({k: [before.get(k), after.get(k)]
                          for k in set(before) | set(after) if before.get(k) != after.get(k)}))
    """)
    assert json.loads(out) == {}


def test_the_command_line_sets_them_before_numpy_loads():
    out = run_python("""
        import json, os, sys
        from synens.tui.cli import main
        assert "numpy" not in sys.modules and "numba" not in sys.modules
        main(["--version"])
        print(json.dumps({k: os.environ.get(k) for k in
                          ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS",
                           "NUMBA_THREADING_LAYER_PRIORITY")}))
    """, OMP_WAIT_POLICY="ACTIVE")
    got = json.loads(out.strip().splitlines()[-1])  # after the version line
    assert got["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's setting wins
    assert got["OPENBLAS_NUM_THREADS"] == "1"
    assert got["NUMBA_THREADING_LAYER_PRIORITY"] == "omp tbb workqueue"


def test_configure_process_keeps_user_settings_and_skips_loaded_libraries():
    env = {"OPENBLAS_NUM_THREADS": "4"}
    done = configure_process(env)
    assert env["OPENBLAS_NUM_THREADS"] == "4"
    # numpy and numba are loaded in this process already: nothing they read is set late
    assert done == [] and set(env) == {"OPENBLAS_NUM_THREADS"}
    assert {name for name, _, _ in SETTINGS} >= {"OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS"}


@pytest.mark.parametrize(("value", "flags"), [
    ("", jit.FASTMATH_DEFAULT), ("1", jit.FASTMATH_DEFAULT), ("0", frozenset()),
    ("off", frozenset()), ("contract, afn", frozenset({"contract", "afn"})),
])
def test_fastmath_switch(value, flags):
    assert jit.fastmath_flags(value) == flags


def test_fastmath_switch_refuses_unknown_flags():
    with pytest.raises(SynensError, match="unknown fast-math flags"):
        jit.fastmath_flags("contract,turbo")


def test_default_flags_never_assume_finite_values():
    assert not jit.FASTMATH_DEFAULT & {"nnan", "ninf", "fast"}


def test_each_flag_set_has_its_own_kernel_cache_name():
    """Numba keys its disk cache on qualname, not on flags; the qualname carries the flags."""
    code = """
        import json
        from synens.core.base import jit
        from synens.core.kernels import forward as K
        print(json.dumps([jit.FLAGS_TAG, K._render.dispatcher.py_func.__qualname__,
                          repr(K._render.dispatcher.targetoptions["fastmath"]),
                          K._chunk_forward.py_func.__qualname__]))
    """
    off = json.loads(run_python(code, SYNENS_FASTMATH="0"))
    assert off == ["nofm", "_render__nofm", "False", "_chunk_forward__nofm"]
    tag, qual, fastmath, serial = json.loads(run_python(code, SYNENS_FASTMATH="contract"))
    assert tag.startswith("fm") and tag != "nofm"
    assert qual == f"_render__{tag}" and serial == f"_chunk_forward__{tag}"
    assert fastmath == "{'contract'}"


def test_fastmath_off_renders_like_the_reference_and_like_the_default():
    """SYNENS_FASTMATH=0 gives the same painting within float32 tolerance, never bit-exact."""
    out = run_python("""
        import json
        from synens.core.base.topology import layered
        from synens.core.network.render import render
        from synens.core.network.train import init_weights
        topo = layered()
        print(json.dumps(render(topo, init_weights(topo, 3), 24, 16).tolist()))
    """, SYNENS_FASTMATH="0")
    off = np.array(json.loads(out), np.float32)
    topo = layered()
    w = init_weights(topo, 3)
    np.testing.assert_allclose(off, render(topo, w, 24, 16), atol=2e-5)
    np.testing.assert_allclose(off, R.render(topo, w, 24, 16), atol=2e-5)


def test_parallel_kernels_hold_the_lock():
    from synens.core.kernels import backward as KG
    from synens.core.kernels import forward as K
    from synens.core.kernels import split as KS
    parallel = [K._render, K._forward_cache, K._nudge, KG._loss_grad, KG._jacobian,
                KG._jac_sumsq, KG._jac_gram, KS._gram_chunks, KS._jvp]
    for k in parallel:
        assert isinstance(k, jit.ParallelKernel), k
        assert k.dispatcher.targetoptions.get("parallel"), k
    with jit.PARALLEL_LOCK:  # a caller holding the lock blocks a kernel call in another thread
        import threading
        done = threading.Event()
        topo = layered()
        t = threading.Thread(target=lambda: (render(topo, init_weights(topo, 0), 8, 8),
                                             done.set()))
        t.start()
        assert not done.wait(0.5)
    assert done.wait(60)
    t.join()


CONCURRENT = """
    import json, threading
    import numba
    import numpy as np
    from synens.core.base.grid import grid, image_targets
    from synens.core.network.grad import jac_gram
    from synens.core.network.render import IncrementalRenderer, render
    from synens.core.network.train import TrainConfig, init_weights, train
    from synens.core.base.topology import layered

    topo = layered()
    w0 = init_weights(topo, 0)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    start = threading.Barrier(2)
    errors, results = [], {}

    def trainer():
        try:
            start.wait()
            res = train(topo, image, TrainConfig(seed=1, epochs=40, adam_share=0.0))
            results["train"] = res.weights
            masks = np.ones((1, 32, 32), np.float32)
            results["gram"] = jac_gram(topo, res.weights, masks, np.arange(40))
        except BaseException as err:
            errors.append(repr(err))

    def ui():
        try:
            r = IncrementalRenderer(topo, w0, 48, 32, refresh_every=50)
            start.wait()
            for i in range(300):
                s = int(rng.integers(topo.n_synapses))
                r.set_weight(s, float(r.weights[s] + 0.01 * rng.standard_normal()))
                if i % 25 == 0:
                    render(topo, r.weights, 48, 32)
            full = render(topo, r.weights, 48, 32)
            results["nudge_err"] = float(np.abs(r.image() - full).max())
        except BaseException as err:
            errors.append(repr(err))

    threads = [threading.Thread(target=trainer), threading.Thread(target=ui)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alone = train(topo, image, TrainConfig(seed=1, epochs=40, adam_share=0.0)).weights
    print(json.dumps({"layer": numba.threading_layer(), "errors": errors,
                      "nudge_err": results.get("nudge_err"),
                      "train_same": bool(np.array_equal(results.get("train"), alone)),
                      "gram_finite": bool(np.isfinite(results["gram"]).all())}))
"""


def test_training_and_nudging_at_once_under_workqueue():
    """workqueue aborts the process on concurrent parallel launches; the lock prevents them."""
    out = run_python(CONCURRENT, NUMBA_THREADING_LAYER="workqueue")
    got = json.loads(out.strip().splitlines()[-1])
    assert got["layer"] == "workqueue"
    assert got["errors"] == []
    assert got["nudge_err"] is not None and got["nudge_err"] < 1e-4
    assert got["train_same"]  # training in a thread beside the UI is bit-identical
    assert got["gram_finite"]


def test_a_bad_fastmath_switch_is_a_one_line_error(tmp_path):
    args = ["render", str(SMALL_MODEL), "-o", str(tmp_path / "x.png")]
    code = f"import sys\nfrom synens.tui.cli import main\nsys.exit(main({args!r}))"
    base = {k: v for k, v in os.environ.items() if k not in WATCHED}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**base, "SYNENS_FASTMATH": "contract,turbo"})
    assert proc.returncode == 2 and not (tmp_path / "x.png").exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "SYNENS_FASTMATH: unknown fast-math flags ['turbo']" in lines[0]
