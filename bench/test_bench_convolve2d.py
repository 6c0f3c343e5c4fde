"""fastconv.convolve2d against scipy.signal.convolve2d, measured in the same run.

Ratios, not absolute times, are the result (shared machines drift): each entry
times scipy and fastconv back to back and reports scipy_time / fastconv_time in
``extra_info['speedup_vs_scipy']``.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from conftest import best_time


@pytest.mark.parametrize("dtype", [np.float64])
@pytest.mark.parametrize("n,k", [(1024, 5)])
def test_convolve2d_vs_scipy(benchmark, n, k, dtype):
    """Issue 2 target: >= 5x scipy on 1024^2 float64 with a 5x5 kernel."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n)).astype(dtype)
    h = rng.standard_normal((k, k)).astype(dtype)
    t_scipy = best_time(lambda: ss.convolve2d(x, h, "same"), repeat=2)
    benchmark(fastconv.convolve2d, x, h, "same")
    ratio = t_scipy / benchmark.stats.stats.min
    benchmark.extra_info["speedup_vs_scipy"] = round(ratio, 1)
    print(f"\n{n}^2 {k}x{k} {np.dtype(dtype).name}: {ratio:.0f}x scipy.signal.convolve2d")
    assert ratio >= 5
