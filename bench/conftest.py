"""Shared bench fixtures: the machine's limits measured in the same run, and a
Markdown table of every entry's ratios printed at the end of the session.

Run with ``pip install ".[bench]"; pytest bench -s`` (never part of the test suite).
"""
from __future__ import annotations

import numpy as np
import pytest

from fastconv._timing import best_time  # noqa: F401  (re-exported to the bench modules)

ROWS: list[dict] = []


@pytest.fixture(scope="session")
def limits() -> dict:
    """Matrix-multiply GFLOP/s (np.matmul, all threads) and np.copyto bandwidth."""
    rng = np.random.default_rng(0)
    out = {}
    for dt in (np.float32, np.float64):
        a = rng.standard_normal((2048, 2048)).astype(dt)
        a @ a
        out[f"matmul_{np.dtype(dt).name}"] = 2 * 2048**3 / best_time(lambda: a @ a) / 1e9
    x = rng.standard_normal((4096, 4096)).astype(np.float32)
    y = np.empty_like(x)
    out["copy_GBps"] = 2 * x.nbytes / best_time(lambda: np.copyto(y, x), 5) / 1e9
    return out


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    keys = list(dict.fromkeys(k for r in ROWS for k in r))
    tr = terminalreporter
    tr.write_line("")
    tr.write_line("| " + " | ".join(keys) + " |")
    tr.write_line("|" + "---|" * len(keys))
    for r in ROWS:
        tr.write_line("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
