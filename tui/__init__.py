"""synens.tui: the Textual explorer and the headless command line."""

import os

# OpenBLAS worker threads keep spinning after the small LAPACK steps of the analysis and stall
# Numba's parallel kernels on small machines (measured: region analysis 76 ms -> 22 ms median
# on 2 cores). Only takes effect if numpy is not imported yet; a user's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
