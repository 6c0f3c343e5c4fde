"""The rest of the family (issue 6): 1-D signals, batches of images, N-d, as ratios
measured in one run.

* a 10**6-sample float32 signal with a 31-tap filter: fastconv.convolve against
  numpy.convolve (target >= 10x) and scipy.signal.oaconvolve (target >= 1x);
* 64 float32 images of 256^2 with a 5x5 kernel: fastconv.convolve2d_batch against
  cv2.filter2D applied image by image (flipped kernel, BORDER_CONSTANT: equal
  work; target >= 1x) and against a Python loop of fastconv.convolve2d;
* a 3-D volume and an fftconvolve over two axes of a stack, against scipy.

Each peer is timed back to back with fastconv, so the ratio survives a loaded
machine better than either time alone.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from conftest import ROWS, best_time


def _interleaved(ours, peer, rounds: int = 5) -> tuple[float, float]:
    """Best times of two callables measured alternately (drifts hit both alike)."""
    t_ours, t_peer = [], []
    for _ in range(rounds):
        t_ours.append(best_time(ours, 2))
        t_peer.append(best_time(peer, 2))
    return min(t_ours), min(t_peer)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_signal_1d(benchmark, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10**6).astype(dtype)
    h = rng.standard_normal(31).astype(dtype)
    ours = lambda: fastconv.convolve(x, h)  # noqa: E731
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    t, t_oa = _interleaved(ours, lambda: ss.oaconvolve(x, h))
    t_np = best_time(lambda: np.convolve(x, h), 2)
    with fastconv.threads(1):   # numpy and scipy use one core: compare like with like
        t1 = best_time(ours, 5)
    row = {"case": "1-D 10^6, 31 taps", "dtype": np.dtype(dtype).name,
           "fastconv ms": f"{t * 1e3:.2f}",
           "vs numpy.convolve": f"{t_np / t:.1f}x (target 10x)",
           "vs scipy.oaconvolve": f"{t_oa / t:.2f}x (target 1x)"}
    row["1 thread vs numpy / oaconvolve"] = f"{t_np / t1:.1f}x / {t_oa / t1:.2f}x"
    row["2thr/1thr"] = f"{t1 / t:.2f}"
    benchmark.extra_info.update(row)
    ROWS.append(row)


def test_batch_of_images(benchmark):
    rng = np.random.default_rng(1)
    stack = rng.standard_normal((64, 256, 256)).astype(np.float32)
    k = rng.standard_normal((5, 5)).astype(np.float32)
    ours = lambda: fastconv.convolve2d_batch(stack, k, "same")  # noqa: E731
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    row = {"case": "64 x 256^2, 5x5", "dtype": "float32"}
    try:
        import cv2
        kf = np.ascontiguousarray(k[::-1, ::-1])
        t, t_cv = _interleaved(ours, lambda: [cv2.filter2D(im, -1, kf,
                                                            borderType=cv2.BORDER_CONSTANT)
                                              for im in stack])
        row["vs cv2.filter2D per image"] = f"{t_cv / t:.2f}x (target 1x)"
        # one core each: the kernels' own speed, without either side's threading
        threads_before = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with fastconv.threads(1):
                t1, t1_cv = _interleaved(ours, lambda: [cv2.filter2D(
                    im, -1, kf, borderType=cv2.BORDER_CONSTANT) for im in stack], 3)
        finally:
            cv2.setNumThreads(threads_before)
        row["1 thread each vs cv2"] = f"{t1_cv / t1:.2f}x"
    except ImportError:
        t = benchmark.stats.stats.min
        row["vs cv2.filter2D per image"] = "cv2 not installed"
    row["fastconv ms"] = f"{t * 1e3:.2f}"
    t_loop = best_time(lambda: [fastconv.convolve2d(im, k, "same") for im in stack], 2)
    row["vs loop of convolve2d"] = f"{t_loop / t:.2f}x"
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("shape,kshape", [((64, 64, 64), (5, 5, 5)), ((32, 64, 64), (9, 9, 9))],
                         ids=["64^3-5^3", "32x64^2-9^3"])
def test_volume_3d(benchmark, shape, kshape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    h = rng.standard_normal(kshape).astype(np.float32)
    ours = lambda: fastconv.convolve(x, h, "same")  # noqa: E731
    benchmark.pedantic(ours, rounds=3, iterations=1, warmup_rounds=1)
    t, t_sc = _interleaved(ours, lambda: ss.convolve(x, h, "same"), 2)
    row = {"case": f"3-D {shape}, {kshape}", "dtype": "float32", "fastconv ms": f"{t * 1e3:.2f}",
           "vs scipy.convolve (auto)": f"{t_sc / t:.2f}x"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


def test_fftconvolve_axes(benchmark):
    rng = np.random.default_rng(3)
    stack = rng.standard_normal((16, 512, 512)).astype(np.float32)
    k = rng.standard_normal((1, 31, 31)).astype(np.float32)
    ours = lambda: fastconv.fftconvolve(stack, k, "same", axes=(1, 2))  # noqa: E731
    benchmark.pedantic(ours, rounds=3, iterations=1, warmup_rounds=1)
    t, t_sc = _interleaved(ours, lambda: ss.fftconvolve(stack, k, "same", axes=(1, 2)), 2)
    row = {"case": "fftconvolve 16 x 512^2, 31x31, axes=(1, 2)", "dtype": "float32",
           "fastconv ms": f"{t * 1e3:.2f}", "vs scipy.fftconvolve": f"{t_sc / t:.2f}x"}
    benchmark.extra_info.update(row)
    ROWS.append(row)
