"""How many threads fastconv's kernels use.

One process-wide default (``FASTCONV_NUM_THREADS``, else every core this process may
run on), and a per-Python-thread override for the ``threads()`` context manager, so
concurrent callers never change each other's count.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

_local = threading.local()


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _from_env() -> int:
    raw = os.environ.get("FASTCONV_NUM_THREADS", "").strip()
    if not raw:
        return _cores()
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"FASTCONV_NUM_THREADS must be a positive integer, got {raw!r}")
    if n < 1:
        raise ValueError(f"FASTCONV_NUM_THREADS must be a positive integer, got {raw!r}")
    return n


_default = _from_env()


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"the thread count must be an integer, got {type(n).__name__}")
    n = int(n.__index__())
    if n < 1:
        raise ValueError(f"the thread count must be >= 1, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Set the number of threads fastconv uses from now on (process-wide).

    Parameters
    ----------
    n : int
        A positive thread count. Results do not depend on it: every output element
        is computed by one thread in a fixed order.
    """
    global _default
    _default = _check(n)


def get_num_threads() -> int:
    """Return the number of threads the next fastconv call in this thread will use."""
    return getattr(_local, "override", None) or _default


def default_num_threads() -> int:
    """The process-wide count, whatever a ``threads()`` block in this thread says."""
    return _default


@contextmanager
def threads(n: int) -> Iterator[int]:
    """Use ``n`` threads inside a ``with`` block, in the calling Python thread only.

    Examples
    --------
    >>> import fastconv
    >>> with fastconv.threads(1):
    ...     fastconv.get_num_threads()
    1
    """
    n = _check(n)
    old = getattr(_local, "override", None)
    _local.override = n
    try:
        yield n
    finally:
        _local.override = old
