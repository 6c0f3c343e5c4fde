"""The FFT paths at machine speed (issue 21), as ratios measured in one run, the two
sides timed in turn (A, B, A, B, ...; the best of each):

* 2-D FFT cells, 1024^2 and 4096^2, k = 31 and 63, float32 and float64, mode 'same':
  fastconv 'auto' and forced 'fft' (on each FFT library installed) against
  cv2.filter2D (flipped kernel, BORDER_CONSTANT) at its better of 1 and 2 threads;
  target >= 1.0x;
* 3-D volumes 64^3 and 32x64x64 with 9^3 kernels: fastconv.convolve against
  scipy.signal.convolve (which picks its FFT there); target >= 2x.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import fftlib
from fastconv.bench._grid import make_inputs
from conftest import ROWS, best_time

cv2 = pytest.importorskip("cv2")


# Seconds of calls each side gets a turn (at least ``repeat`` calls): the short
# cells (1-4 ms) then get as many chances at a quiet moment as the long ones get time.
TURN_BUDGET_S = 0.05


def _alternating(fns: dict, rounds: int, repeat: int) -> dict:
    """Best time of each callable, the callables timed in turn ``rounds`` times, so
    that a busy spell on the shared machine slows every side alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], best_time(fn, repeat, TURN_BUDGET_S))
    return best


def _cv2(x, h, nthreads):
    hf = np.ascontiguousarray(h[::-1, ::-1])

    def run():
        cv2.setNumThreads(nthreads)
        return cv2.filter2D(x, -1, hf, borderType=cv2.BORDER_CONSTANT)
    return run


def _fastconv(x, h, method, lib):
    def run():
        with fftlib.use(lib):
            return fastconv.convolve2d(x, h, "same", method=method)
    return run


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("k", [31, 63])
@pytest.mark.parametrize("n", [1024, 4096])
def test_fft_cells_vs_cv2(benchmark, n, k, dtype):
    x, h = make_inputs(n, k, np.dtype(dtype).name, seed=0)
    fns = {"auto": _fastconv(x, h, "auto", "auto")}
    fns.update({f"fft {lib}": _fastconv(x, h, "fft", lib) for lib in fftlib.available()})
    fns.update({"cv2 1 thr": _cv2(x, h, 1), "cv2 2 thr": _cv2(x, h, 2)})
    old = cv2.getNumThreads()
    try:
        t = _alternating(fns, 6 if n == 1024 else 4, 3 if n == 1024 else 1)
    finally:
        cv2.setNumThreads(old)
    t["cv2"] = min(t["cv2 1 thr"], t["cv2 2 thr"])
    _record(benchmark, fns["auto"], t, "cv2", "1.0x",
            {"image": f"{n}^2", "k": k, "dtype": np.dtype(dtype).name,
             "path": fastconv.choose_method(x, h, "same")})


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(64, 64, 64), (32, 64, 64)], ids=str)
def test_volumes_vs_scipy(benchmark, shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    h = rng.standard_normal((9, 9, 9)).astype(dtype)
    fns = {"auto": lambda: fastconv.convolve(x, h, "same"),
           "scipy": lambda: ss.convolve(x, h, "same")}
    fns.update({f"fft {lib}": (lambda lib=lib: _volume_fft(x, h, lib))
                for lib in fftlib.available()})
    t = _alternating(fns, 5, 5)
    _record(benchmark, fns["auto"], t, "scipy", "2x",
            {"image": "x".join(map(str, shape)), "k": "9^3", "dtype": np.dtype(dtype).name,
             "scipy picks": ss.choose_conv_method(x, h, "same")})


def _record(benchmark, auto, t: dict, peer: str, target: str, row: dict) -> None:
    """One bench row: our times and the peer's, 'auto' and each forced FFT library
    as the peer's time over ours."""
    benchmark.pedantic(auto, rounds=1, iterations=1)
    row.update({"fft library": fftlib.name(), "fastconv ms": f"{t['auto'] * 1e3:.2f}",
                f"{peer} ms": f"{t[peer] * 1e3:.2f}",
                f"auto vs {peer}": f"{t[peer] / t['auto']:.2f}x (target {target})"})
    row.update({f"{name} vs {peer}": f"{t[peer] / t[name]:.2f}x" for name in t
                if name.startswith("fft")})
    benchmark.extra_info.update(row)
    ROWS.append(row)


def _volume_fft(x, h, lib):
    with fftlib.use(lib):
        return fastconv.convolve(x, h, "same", method="fft")
