"""Shared bench fixtures: the machine's limits measured in the same run, and a
Markdown table of every entry's ratios printed at the end of the session.

Run with ``pip install ".[bench]"; pytest bench -s`` (never part of the test suite).
The peers, limits and inputs are those of the report (``fastconv-bench``,
package ``fastconv.bench``): one implementation for both.
"""
from __future__ import annotations

import pytest

import fastconv
from fastconv._runtime.timing import best_time  # noqa: F401  (re-exported to the bench modules)
from fastconv.bench._limits import measure_limits

ROWS: list[dict] = []


@pytest.fixture(scope="session")
def limits() -> dict:
    """Matrix-multiply GFLOP/s (np.matmul) and copy bandwidth at fastconv's thread count."""
    n = fastconv.get_num_threads()
    return measure_limits([n])[str(n)]


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
