"""The shared report helpers: ordinals, JSON-ready values, aligned tables."""

from __future__ import annotations

import math

import numpy as np
from synens.core.reports.table import dumps, ordinal, plain, table


def test_ordinal():
    got = [ordinal(p) for p in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 95, 100, 2.4, None)]
    assert got == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                   "95th", "100th", "2nd", "n/a"]


def test_plain_and_dumps():
    data = {"a": np.float32(0.5), "b": np.arange(3), 4: (math.inf, np.int64(2))}
    assert plain(data) == {"a": 0.5, "b": [0, 1, 2], "4": [None, 2]}
    assert dumps({"x": np.nan}).endswith("\n") and '"x": null' in dumps({"x": np.nan})


def test_table_aligns_right():
    lines = table(["k", "sel"], [["1", "4.1"], ["12", "385"]], indent="")
    assert lines == [" k  sel", " 1  4.1", "12  385"]
