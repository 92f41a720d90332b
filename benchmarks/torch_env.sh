#!/usr/bin/env bash
# Create the benchmark-only environment: a venv that sees the system's numpy/numba/synens
# (--system-site-packages) plus PyTorch (CPU). Torch is never a dependency of synens-tui.
# Usage: bash benchmarks/torch_env.sh   (from the repository root; idempotent)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SYNENS_BENCH_VENV:-$root/.venv-bench}"
torch_version="2.13.0"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" \
        2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet "torch==$torch_version"
fi
"$venv/bin/python" -c "import torch, numpy, numba; print('torch', torch.__version__, \
'numpy', numpy.__version__, 'numba', numba.__version__, 'threads', torch.get_num_threads())"
echo "benchmark venv ready: $venv"
