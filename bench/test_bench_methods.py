"""The FFT and separable paths and the 'auto' chooser (issue 4), as ratios in one run.

* large kernels (k = 31, 63): fastconv 'auto' against scipy.signal.oaconvolve and
  cv2.filter2D (flipped kernel, BORDER_CONSTANT: equal work), all mode='same';
* 'auto' against the best of our own forced paths for k = 3 .. 63;
* a separable 15x15 Gaussian against our own non-separable direct path.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv.bench._grid import make_inputs
from fastconv.bench._peers import available_peers
from conftest import ROWS, best_time


def _data(n, k, dtype, seed=0):
    return make_inputs(n, k, np.dtype(dtype).name, seed=seed)


def _cv2_time(x, h):
    cv2, _ = available_peers(("cv2",))
    return best_time(cv2[0].runner(x, h, "fill")) if cv2 else None


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("k", [31, 63])
@pytest.mark.parametrize("n", [1024, 4096])
def test_large_kernels_vs_peers(benchmark, n, k, dtype):
    x, h = _data(n, k, dtype)
    benchmark.pedantic(lambda: fastconv.convolve2d(x, h, "same"), rounds=3, iterations=1,
                       warmup_rounds=1)
    t = benchmark.stats.stats.min
    t_oa = best_time(lambda: ss.oaconvolve(x, h, "same"), 2)
    t_cv = _cv2_time(x, h)
    row = {"image": f"{n}^2", "k": k, "dtype": np.dtype(dtype).name,
           "path": fastconv.choose_method(x, h, "same"), "fastconv ms": f"{t * 1e3:.1f}",
           "vs oaconvolve": f"{t_oa / t:.2f}x (target 2x)",
           "vs cv2.filter2D": "cv2 not installed" if t_cv is None else f"{t_cv / t:.2f}x"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1024])
def test_auto_within_15_percent_of_best(benchmark, n, dtype):
    """For each k, 'auto' time over the best forced path's time (target <= 1.15)."""
    worst = 0.0
    for k in (3, 5, 7, 9, 11, 13, 15, 19, 23, 31, 41, 63):
        x, h = _data(n, k, dtype)
        times = {m: best_time(lambda: fastconv.convolve2d(x, h, "same", method=m), 3)
                 for m in ("direct", "fft")}
        t_auto = best_time(lambda: fastconv.convolve2d(x, h, "same"), 3)
        best = min(times, key=times.get)
        ratio = t_auto / times[best]
        worst = max(worst, ratio)
        ROWS.append({"image": f"{n}^2", "k": k, "dtype": np.dtype(dtype).name,
                     "path": fastconv.choose_method(x, h, "same"), "best forced": best,
                     "direct ms": f"{times['direct'] * 1e3:.2f}",
                     "fft ms": f"{times['fft'] * 1e3:.2f}",
                     "auto / best": f"{ratio:.2f} (target <= 1.15)"})
    benchmark.extra_info["worst auto/best"] = round(worst, 2)
    x, h = _data(n, 31, dtype)
    benchmark.pedantic(lambda: fastconv.convolve2d(x, h, "same"), rounds=1, iterations=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_separable_gaussian(benchmark, dtype):
    n, k = 2048, 15
    g = np.exp(-np.linspace(-2.5, 2.5, k) ** 2)
    h = np.outer(g, g).astype(dtype)
    x = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    sep = lambda: fastconv.convolve2d(x, h, "same")   # noqa: E731
    direct = lambda: fastconv.convolve2d(x, h, "same", method="direct")  # noqa: E731
    # Calls of 3-10 ms: the best of 3 was at the mercy of one busy moment, so take
    # the best of 12, the two paths in turn, so that a busy spell slows both.
    t, t_direct = float("inf"), float("inf")
    for _ in range(12):
        t = min(t, best_time(sep, 1))
        t_direct = min(t_direct, best_time(direct, 1))
    benchmark.pedantic(sep, rounds=3, iterations=1)
    row = {"image": f"{n}^2", "k": k, "dtype": np.dtype(dtype).name,
           "path": fastconv.choose_method(x, h, "same"), "fastconv ms": f"{t * 1e3:.2f}",
           "vs own direct": f"{t_direct / t:.1f}x (target 3x)"}
    benchmark.extra_info.update(row)
    ROWS.append(row)
