"""The machine's limits, measured in the same run as the convolutions.

Every benchmark cell is shown as a share of what this machine can do right now:
the multiply-add rate of a tuned matrix multiply (``np.matmul``, i.e. the BLAS
numpy links), the multiply-add peak of the cores (a compiled loop of independent
FMA chains, ``fma_peak_run`` in csrc/_peak.pxi, in the kernel build the run
uses), and the bandwidth of a plain memory copy. All are measured at each thread
count the grid uses, because on a shared machine they drift from run to run just
as the convolutions do.
"""
from __future__ import annotations

import os
import platform
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Callable, Iterable

import numpy as np

from .._runtime.timing import best_time

# 2048^2 operands: large enough for BLAS to reach its plateau (tens of ms per
# product), small enough that both dtypes and thread counts take about a second.
_MATMUL_N = 2048
# 64 MiB per buffer: well past the last-level cache, so a copy streams from DRAM.
_COPY_ELEMS = 4096 * 4096


def _blas_threads(n: int):
    """Limit numpy's BLAS to ``n`` threads (threadpoolctl, an optional extra)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        return os.cpu_count() or 1


def matmul_gflops(dtype, threads: int, n: int = _MATMUL_N) -> float | None:
    """GFLOP/s of ``a @ a`` (2 n^3 flops) with ``threads`` BLAS threads.

    Returns None when the BLAS thread count cannot be set (threadpoolctl missing)
    and ``threads`` is not the BLAS default.
    """
    limit = _blas_threads(threads)
    if limit is None and threads != _usable_cores():
        return None
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    with limit or nullcontext():
        a @ a   # warm-up: BLAS spins up its threads on the first call
        t = best_time(lambda: a @ a, 3)
    return 2 * n**3 / t / 1e9


# Each timed run of the FMA loop lasts at least this long (the calibration doubles
# the iterations until it does): long enough for the clock to settle and the
# pool's start to vanish, short enough that both dtypes and thread counts take
# well under a second.
_FMA_SECONDS = 0.02


def fma_gflops(dtype, threads: int, isa: str | None = None,
               seconds: float = _FMA_SECONDS) -> float:
    """GFLOP/s of the compiled FMA loop (12 independent vector chains per thread,
    two flops per lane per FMA) on ``threads`` threads of fastconv's pool, in the
    kernel build ``isa`` (default: the one fastconv runs); the best of 5 runs."""
    import time

    from .._engine import kernels

    run = kernels.build(isa).fma_peak_run
    dbl = np.dtype(dtype) == np.float64
    iters = 1 << 12
    while True:
        t = time.perf_counter()
        run(threads, iters, dbl)
        if time.perf_counter() - t >= seconds or iters >= 1 << 40:
            break
        iters *= 2
    flops = run(threads, iters, dbl)[0]
    return flops / best_time(lambda: run(threads, iters, dbl), 5) / 1e9


def fma_peak_call(dtype, threads: int, seconds: float,
                  tasks_per_thread: int = 16) -> tuple[float, Callable[[], object]]:
    """The compiled FMA loop sized to run about ``seconds`` on ``threads`` threads,
    in ``tasks_per_thread`` tasks a thread claimed as the kernels claim their tiles:
    its flop count and a callable that runs it. Timed in turns with a benchmark
    cell, so that other jobs' load lowers the peak it is compared with as it lowers
    the cell (a peak measured once, after the cell, read 117 GFLOP/s on 2 threads
    while another job ran, and a cell 164% of it)."""
    from .._engine import kernels

    run = kernels.build().fma_peak_run
    dbl = np.dtype(dtype) == np.float64
    tasks = tasks_per_thread * threads
    # an iteration is 12 vector FMAs, about 3.7e9 of them a second on a core here
    iters = max(1 << 8, int(seconds * 3.7e9 / 12 * threads / tasks))
    return run(threads, iters, dbl, tasks)[0], lambda: run(threads, iters, dbl, tasks)


def copy_gbps(threads: int, elems: int = _COPY_ELEMS) -> float:
    """Bytes read plus bytes written per second by ``np.copyto`` split into
    ``threads`` row blocks copied concurrently (numpy releases the GIL there)."""
    x = np.ones(elems - elems % threads, dtype=np.float32).reshape(threads, -1)
    y = np.empty_like(x)
    np.copyto(y, x)     # touch the pages before timing
    if threads == 1:
        t = best_time(lambda: np.copyto(y, x), 5)
    else:
        with ThreadPoolExecutor(threads) as pool:
            def run():
                list(pool.map(lambda i: np.copyto(y[i], x[i]), range(threads)))
            t = best_time(run, 5)
    return 2 * x.nbytes / t / 1e9


def measure_limits(thread_counts: Iterable[int], scale: float = 1.0,
                   image_bytes: Iterable[int] = ()) -> dict[str, dict]:
    """The machine's limits at each thread count.

    Returns ``{str(threads): {'matmul_float32': GFLOP/s, 'matmul_float64': GFLOP/s,
    'fma_float32': GFLOP/s, 'fma_float64': GFLOP/s, 'copy_GBps': GB/s,
    'copy_GBps_at': {str(nbytes): GB/s}}}``. ``copy_GBps`` streams
    from DRAM; ``copy_GBps_at`` copies an array of each size in ``image_bytes`` (the
    grid's images), which may sit in cache as the convolution's input does, with one
    or ``threads`` threads, whichever is faster (small copies do not pay for a
    thread pool). ``scale < 1`` shrinks the operands (fast, an underestimate: tests).
    """
    mm_n = max(64, int(_MATMUL_N * scale))
    copy_n = max(1 << 16, int(_COPY_ELEMS * scale * scale))
    sizes = sorted(set(image_bytes))
    out = {}
    for n in sorted(set(thread_counts)):
        at = {str(b): max(copy_gbps(t, b // 4) for t in {1, n}) for b in sizes}
        out[str(n)] = {"matmul_float32": matmul_gflops(np.float32, n, mm_n),
                       "matmul_float64": matmul_gflops(np.float64, n, mm_n),
                       "fma_float32": fma_gflops(np.float32, n, seconds=_FMA_SECONDS * scale),
                       "fma_float64": fma_gflops(np.float64, n, seconds=_FMA_SECONDS * scale),
                       "copy_GBps": copy_gbps(n, copy_n),
                       "copy_GBps_at": at}
    return out


def best_limits(a: dict, b: dict) -> dict:
    """The higher of two limit measurements, key by key: on a shared machine the
    peak is what the machine showed it can do at its quietest."""
    if isinstance(a, dict):
        return {k: best_limits(a[k], b.get(k)) for k in a}
    if a is None or b is None:
        return a if b is None else b
    return max(a, b)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, object]:
    """What the numbers were measured on: CPU, cores, library versions, kernel build."""
    import scipy

    import fastconv
    from fastconv._engine import kernels

    kern = kernels.build()
    return {
        "cpu": _cpu_model(),
        "cores": _usable_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "fastconv": fastconv.__version__,
        "fastconv_isa": kern.__name__.rsplit("_", 1)[-1],
        "threads": fastconv.get_num_threads(),
    }
