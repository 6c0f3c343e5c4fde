"""Wall-clock helper shared by the demo (``fastconv-demo``) and bench/."""
from __future__ import annotations

import time
from typing import Callable

# Most calls a timing with a budget makes (a 0.4 ms call would otherwise make hundreds).
_MAX_REPEAT = 50


def best_time(fn: Callable[[], object], repeat: int = 3, budget: float = 0.0) -> float:
    """Best wall time of at least ``repeat`` calls, and more (up to 50) while their
    total is under ``budget`` seconds: the call least disturbed by a noisy machine.

    A budget gives a short call as many chances as a long one gets time: on a shared
    machine the best of 3 calls of 0.4 ms is mostly a measure of the neighbours.
    """
    best, spent, n = float("inf"), 0.0, 0
    while n < repeat or (spent < budget and n < _MAX_REPEAT):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best
