"""The direct path against scipy, OpenCV, the machine's limits and itself (issue 3).

Every number is a ratio measured in this run: scipy.signal.convolve2d time over
ours, cv2.filter2D time over ours (cv2 correlates, so it gets the flipped kernel,
BORDER_CONSTANT with zero fill, ddepth=-1, same output size: equal work), our
GFLOP/s as a share of np.matmul's, our bytes moved as a share of np.copyto's
bandwidth, and 2-thread over 1-thread speed.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import kernels
from fastconv.bench._grid import make_inputs
from fastconv.bench._peers import available_peers
from conftest import ROWS, best_time, shifted_and_loaded

SIZES = [1024, 4096]
KS = [3, 5, 7, 11, 15]
DTYPES = [np.float32, np.float64, np.int32, np.complex128]
TARGET_VS_SCIPY = {"float32": 50, "float64": 50, "int32": 30, "complex128": 30}
# Seconds of calls each side gets, for its best: a short call is timed many times
# (best of 3 of a 0.4 ms call swung 2x on this shared machine), a long one at least
# once (scipy) or three times (ours).
BUDGET = 0.3


def _data(n, k, dtype):
    return make_inputs(n, k, np.dtype(dtype).name)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("n", SIZES)
def test_direct_vs_peers(benchmark, limits, n, k, dtype):
    x, h = _data(n, k, dtype)
    name = np.dtype(dtype).name
    run = lambda: fastconv.convolve2d(x, h, "same", method="direct")  # noqa: E731
    rounds = int(min(50, max(3, BUDGET / best_time(run, 2))))
    benchmark.pedantic(run, rounds=rounds, iterations=1)
    t = benchmark.stats.stats.min
    row = {"image": f"{n}^2", "k": k, "dtype": name, "fastconv ms": f"{t * 1e3:.2f}"}
    t_scipy = best_time(lambda: ss.convolve2d(x, h, "same"), 1, BUDGET)
    row["vs scipy"] = f"{t_scipy / t:.0f}x (target {TARGET_VS_SCIPY[name]}x)"
    if name in ("float32", "float64"):
        cv2, skipped = available_peers(("cv2",))
        if cv2:
            t_cv = best_time(cv2[0].runner(x, h, "fill"), 3, BUDGET)
            row["vs cv2.filter2D"] = f"{t_cv / t:.2f}x"
        else:
            row["vs cv2.filter2D"] = "cv2 not installed"
        gflops = 2 * n * n * k * k / t / 1e9
        row["% matmul"] = f"{100 * gflops / limits['matmul_' + name]:.0f}%"
        row["% copy bw"] = f"{100 * 2 * x.nbytes / t / 1e9 / limits['copy_GBps']:.0f}%"
    if k >= 5:
        with fastconv.threads(1):
            t1 = best_time(run, 3, BUDGET)
        row["2thr/1thr"] = f"{t1 / t:.2f}"
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("k", [3, 7, 15])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32], ids=lambda d: np.dtype(d).name)
def test_cython_vs_numba(benchmark, dtype, k):
    """Why 'auto' picks the Cython kernels: their speed over the Numba kernels."""
    x, h = _data(2048, k, dtype)
    with kernels.direct_backend("numba"):
        fastconv.convolve2d(x, h, "same")          # JIT compile / cache load
        t_nb = best_time(lambda: fastconv.convolve2d(x, h, "same"))
    with kernels.direct_backend("cython"):
        benchmark.pedantic(lambda: fastconv.convolve2d(x, h, "same"), rounds=3, iterations=1)
    ratio = t_nb / benchmark.stats.stats.min
    ROWS.append({"image": "2048^2", "k": k, "dtype": np.dtype(dtype).name,
                 "fastconv ms": f"{benchmark.stats.stats.min * 1e3:.2f}",
                 "cython vs numba": f"{ratio:.2f}x"})


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_boundaries_cost_the_same(benchmark, boundary):
    """wrap and symm should run within 10% of fill (only border strips differ)."""
    x, h = _data(2048, 7, np.float32)
    t_fill = best_time(lambda: fastconv.convolve2d(x, h, "same", "fill"), 5)
    benchmark.pedantic(lambda: fastconv.convolve2d(x, h, "same", boundary), rounds=5, iterations=1)
    ROWS.append({"image": "2048^2", "k": 7, "dtype": "float32", "boundary": boundary,
                 "time / fill time": f"{benchmark.stats.stats.min / t_fill:.2f}"})


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("n", [512, 1024, 4096])
def test_column_taps_shifted(benchmark, n, k, dtype):
    """The pair loop's column taps shifted out of the row's vectors against loaded
    (``set_shifted_taps``; the default where ``fc_cpu_prefers_shifts``, Zen 5 and
    later), ``convolve2d(x, h, 'same')``, whole calls timed in turns. Elsewhere the
    row shows what shifting would gain or cost on this CPU; 7x7 always loads (the
    rows' control: 1.00 but for noise)."""
    x, h = _data(n, k, dtype)
    run = lambda: fastconv.convolve2d(x, h, "same", method="direct")  # noqa: E731
    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    t, default = shifted_and_loaded(run)
    row = {"image": f"{n}^2", "k": k, "dtype": np.dtype(dtype).name,
           "shifted ms": f"{t['shifted'] * 1e3:.3f}", "loaded ms": f"{t['loaded'] * 1e3:.3f}",
           "loaded / shifted": f"{t['loaded'] / t['shifted']:.2f}",
           "default": "shifted" if default else "loaded"}
    benchmark.extra_info.update(row)
    ROWS.append(row)
