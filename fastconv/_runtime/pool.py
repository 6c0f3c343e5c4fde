"""Independent pieces of work spread over Python threads, one core each.

For work that splits into independent parts (rows of a folded signal, images of
a stack), a pool of Python threads that each run the GIL-free kernels on one
core balances the load dynamically: a piece waits only for a free worker. Pieces
too small to share out inside one kernel call (a small image, a short row band)
go here; the kernels' own threads come from the C pool (``_fcpool``).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from .threads import get_num_threads, threads

# Pieces per worker: enough for balancing, few enough that the ~20 us cost of a
# task stays small next to the piece.
PIECES_PER_THREAD = 4

_executors: dict[int, ThreadPoolExecutor] = {}
_owner_pid = os.getpid()
_lock = threading.Lock()


def executor(n: int) -> ThreadPoolExecutor:
    """The process's pool of ``n`` workers (one per ``n``, made on first use, made
    anew in a forked child); callers submit GIL-free work that runs one thread
    each."""
    global _owner_pid
    with _lock:
        if os.getpid() != _owner_pid:
            # a forked child inherits the pools but not their threads: tasks
            # submitted there would wait forever, so start afresh
            _executors.clear()
            _owner_pid = os.getpid()
        ex = _executors.get(n)
        if ex is None:
            ex = _executors[n] = ThreadPoolExecutor(n, thread_name_prefix="fastconv")
        return ex


def run_split(task: Callable[[int, int], None], n_items: int) -> None:
    """Call ``task(lo, hi)`` over consecutive ranges covering ``0 .. n_items-1``.

    With one thread (or inside a pool worker, where the count is 1) the whole
    range runs here; otherwise ranges go to a pool of ``get_num_threads()``
    workers, each running its kernels single-threaded. The first exception a
    task raises is raised here.
    """
    nt = get_num_threads()
    if nt == 1 or n_items < 2:
        task(0, n_items)
        return
    pieces = min(n_items, nt * PIECES_PER_THREAD)
    edges = np.linspace(0, n_items, pieces + 1).astype(int)

    def one(lo: int, hi: int) -> None:
        with threads(1):
            task(lo, hi)

    ex = executor(nt)
    futures = [ex.submit(one, int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:])]
    for f in futures:
        f.result()
