"""Process settings of the ``synens-tui`` command, made before NumPy and Numba are imported.

Only the command line's entry point calls ``configure_process``; importing ``synens.core`` or
``synens.tui`` sets nothing. A setting the user made already is kept, and a setting whose
library is loaded already (``main`` called from another program) is left alone.
"""

from __future__ import annotations

import os
import sys

#: Numba's threading layer, in order of preference. OpenMP is the layer the project's speed
#: figures were measured with, and the spin-wait policy below is tuned for it; TBB is not a
#: dependency; ``workqueue`` always exists. Every layer is safe here, because all calls into
#: parallel kernels are serialised by ``synens.core.base.jit.PARALLEL_LOCK``.
THREADING_LAYER_PRIORITY = "omp tbb workqueue"

#: (variable, value, module that reads it at import).
SETTINGS: tuple[tuple[str, str, str], ...] = (
    # OpenBLAS worker threads keep spinning after the small LAPACK steps of the analysis and
    # stall Numba's parallel kernels on small machines (measured: region analysis 76 ms ->
    # 22 ms median on 2 cores).
    ("OPENBLAS_NUM_THREADS", "1", "numpy"),
    # Numba's OpenMP threads spin-wait between parallel regions by default; on a busy small
    # machine a spinning thread that loses its core stalls the whole call (render p90 8 ms
    # instead of 0.9 ms, measured). Passive waiting costs nothing measurable when idle.
    ("OMP_WAIT_POLICY", "PASSIVE", "numba"),
    ("NUMBA_THREADING_LAYER_PRIORITY", THREADING_LAYER_PRIORITY, "numba"),
)


def configure_process(environ: dict[str, str] | None = None) -> list[str]:
    """Set the SETTINGS the user has not set, before their library loads; returns the names set."""
    env = os.environ if environ is None else environ
    done = []
    for name, value, module in SETTINGS:
        if name not in env and module not in sys.modules:
            env[name] = value
            done.append(name)
    return done
