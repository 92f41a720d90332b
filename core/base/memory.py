"""The memory budget: refuse up front what would need more memory than a stated limit.

The budget is one number of bytes for the process (default 2 GiB). The command line sets it
from ``--memory-budget`` or ``SYNENS_MEMORY_BUDGET``; a library user may call
``set_memory_budget``. Estimates are rough upper bounds of the large arrays a step allocates.
"""

from __future__ import annotations

from synens.core.base.errors import MemoryBudgetError, SynensError

#: The default budget: 2 GiB.
DEFAULT_BUDGET = 2 * 1024**3
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_budget = DEFAULT_BUDGET


def memory_budget() -> int:
    """The current budget in bytes."""
    return _budget


def set_memory_budget(nbytes: int) -> int:
    """Set the budget (bytes, at least 1 MiB); returns the previous one."""
    global _budget
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 1024**2:
        raise SynensError(f"the memory budget must be at least 1M bytes, got {nbytes!r}")
    old, _budget = _budget, int(nbytes)
    return old


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5G', '3000000' -> bytes (binary units K, M, G, T; an optional B/iB)."""
    t = str(text).strip().upper()
    for suffix in ("IB", "B"):
        t = t.removesuffix(suffix)
    unit = t[-1:] if t[-1:] in ("K", "M", "G", "T") else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise SynensError(
            f"memory budget must be a size such as 2G, 512M or 3000000000, got {text!r}"
        ) from None
    if not value == value or value in (float("inf"), float("-inf")) or value < 0:
        raise SynensError(f"memory budget must be a positive size, got {text!r}")
    return int(value * _UNITS[unit])


def format_bytes(nbytes: float) -> str:
    """1.5 GiB -> '1.5 GB' (binary units, short names)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(nbytes) < 1024 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PB"  # pragma: no cover


def check_memory(what: str, nbytes: float) -> None:
    """Raise MemoryBudgetError (one line, naming the limit) when ``nbytes`` exceeds the budget."""
    if nbytes > _budget:
        raise MemoryBudgetError(
            f"{what} would need about {format_bytes(nbytes)}, more than the memory budget of "
            f"{format_bytes(_budget)} (raise it with --memory-budget or SYNENS_MEMORY_BUDGET)"
        )


def network_bytes(n_synapses: int, n_neurons: int, samples: int) -> int:
    """Rough peak of training or analysing a network: per-synapse vectors and the activations.

    About 40 float64 vectors of S (weights, gradients, Adam moments, L-BFGS history) plus
    index arrays, and float32 activations and deltas of every neuron over the samples.
    """
    return int(n_synapses) * (40 * 8 + 3 * 8) + int(n_neurons) * int(samples) * 4 * 3
