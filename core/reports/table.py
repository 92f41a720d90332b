"""Shared helpers of every report: JSON-ready values, JSON text, aligned text tables."""

from __future__ import annotations

import json
import math

import numpy as np


def plain(value: object) -> object:
    """JSON-ready copy: NumPy scalars/arrays to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(data: dict) -> str:
    """The JSON text of a report (indented, ends with a newline)."""
    return json.dumps(plain(data), indent=1) + "\n"


def fmt(v: float) -> str:
    """A float in 4 significant digits."""
    return f"{v:.4g}"


def table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Right-aligned text columns under a header, one string per line."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    fmt = [lambda t, w=w: t.rjust(w) for w in widths]
    lines = [indent + "  ".join(f(h) for f, h in zip(fmt, header, strict=True))]
    lines += [indent + "  ".join(f(c) for f, c in zip(fmt, r, strict=True)) for r in rows]
    return lines


def ordinal(p: float | None) -> str:
    """A percentile as an ordinal: '1st', '2nd', '3rd', '11th', '95th'; 'n/a' for None."""
    if p is None:
        return "n/a"
    n = int(round(p))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
