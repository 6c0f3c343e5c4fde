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

# Seconds of calls each callable gets a turn (at least ``calls`` of them): on the
# shared 2-core hosts a 0.1-0.2 ms call took 1x-2x its best time from one call to
# the next (neighbours' memory traffic, a worker woken late), so the best of six
# calls said more about the neighbours than about the kernel. Every side, the FMA
# loop and the copy included, gets the same budget and the same statistic.
TURN_BUDGET_S = 0.03


def alternate(fns: dict, rounds: int = 3, calls: int = 2) -> dict:
    """Best time of each callable, measured in turns (drifts hit all alike), the
    order reversed every other round: the first calls after another library's work
    run slower here (caches and the idle worker), so no side always follows the same
    one (A B C, C B A, ...)."""
    best = {name: float("inf") for name in fns}
    order = list(fns)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            best[name] = min(best[name], best_time(fns[name], calls, TURN_BUDGET_S))
    return best


def shifted_and_loaded(run) -> tuple[dict, bool]:
    """``run`` timed in turns with the row loops' column taps shifted and loaded
    (``set_shifted_taps``), and whether this build shifts by default here."""
    from fastconv._engine import kernels

    mod = kernels.build()

    def side(shifted: bool):
        def go():
            old = mod.set_shifted_taps(shifted)
            try:
                run()
            finally:
                mod.set_shifted_taps(old)
        return go

    default = mod.set_shifted_taps(False)
    mod.set_shifted_taps(default)
    return alternate({"shifted": side(True), "loaded": side(False)}, rounds=6), default


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
