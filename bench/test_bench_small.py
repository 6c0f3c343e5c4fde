"""A small call's fixed cost against scipy (issue 18): thousands of 32^2 calls are
what simulations (cellular automata, reaction-diffusion, learned filters) make.

The ratio is scipy's time per call over ours, from loops of CALLS calls timed
alternately in one run (best of ROUNDS each), so a neighbour's load hits both.
"""
from __future__ import annotations

import timeit

import numpy as np
import scipy.signal as ss

import fastconv
from conftest import ROWS

CALLS = 2000
ROUNDS = 9
TARGET_VS_SCIPY = 4.0


def test_small_call_vs_scipy(benchmark):
    """Issue 18 target: 32^2 float64 3x3 'same' 'symm' >= 4x scipy per call."""
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((32, 32)), rng.standard_normal((3, 3))
    ours = lambda: fastconv.convolve2d(x, h, "same", "symm")  # noqa: E731
    theirs = lambda: ss.convolve2d(x, h, "same", "symm")      # noqa: E731
    t_ours, t_scipy = [], []
    for _ in range(ROUNDS):
        t_ours.append(timeit.timeit(ours, number=CALLS) / CALLS)
        t_scipy.append(timeit.timeit(theirs, number=CALLS) / CALLS)
    ratio = min(t_scipy) / min(t_ours)
    benchmark.pedantic(ours, iterations=CALLS, rounds=ROUNDS)
    benchmark.extra_info["speedup_vs_scipy"] = round(ratio, 2)
    ROWS.append({"image": "32^2", "k": 3, "dtype": "float64", "call": "same symm",
                 "fastconv us": round(min(t_ours) * 1e6, 2),
                 "scipy us": round(min(t_scipy) * 1e6, 2),
                 "x scipy": f"{ratio:.2f} (target >= {TARGET_VS_SCIPY:g})"})
    print(f"\n32^2 3x3 float64 same symm: {min(t_ours) * 1e6:.2f} us a call, "
          f"{ratio:.2f}x scipy.signal.convolve2d ({min(t_scipy) * 1e6:.2f} us)")
