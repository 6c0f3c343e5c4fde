"""Running Numba ``prange`` kernels with a given thread count.

Numba keeps its own threading layer (not fastconv's pool): a kernel runs with
``numba.set_num_threads`` set for the call and restored after. Numba's fallback
layer, ``workqueue``, cannot run two parallel regions at once, so there calls are
serialised by one process-wide lock. Imported only by the Numba kernels, so
``import fastconv`` never imports numba.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import numba

_lock = threading.Lock()


def jit(fn: Callable) -> Callable:
    """``numba.njit`` for a parallel, GIL-free kernel, cached on disk; compiled in
    memory when no cache folder is writable (a read-only install)."""
    opts = dict(parallel=True, nogil=True, fastmath=False)   # fastmath would drop NaN/Inf rules
    try:
        return numba.njit(cache=True, **opts)(fn)
    except RuntimeError:       # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, **opts)(fn)


def _layer_is_workqueue() -> bool:
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:         # no parallel region has run yet
        return True


def run(kernel: Callable, nthreads: int, *args: Any) -> None:
    """``kernel(*args)`` on ``nthreads`` of Numba's threads (capped by its pool)."""
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(nthreads, numba.config.NUMBA_NUM_THREADS)))
    try:
        if _layer_is_workqueue():
            with _lock:
                kernel(*args)
        else:
            kernel(*args)
    finally:
        numba.set_num_threads(old)
