"""The N-d direct kernel, stacks and long 1-D signals (issue 21), as ratios measured
in one run, each peer timed alternately with fastconv.

* 3-D float32 volumes (64^3, 128^3, 32 x 64 x 64), kernels 3^3 to 9^3, mode 'same',
  method='direct': against scipy.ndimage.convolve (mode 'constant', the same sums;
  target >= 10x) and scipy.signal.convolve (its own method choice); the rate in
  GFLOP/s (two per multiply-add) against np.matmul's and the FMA peak's (a compiled
  loop of independent FMA chains, target >= 40%) in the same run, and the time as a
  multiple of copying the volume (the memory floor, also timed in turns);
* a stack through the N-d entry point, ``convolve(stack, k[None], 'same')``, against
  ``convolve2d_batch(stack, k, 'same')`` (target >= 0.9x), and that against a loop
  of cv2.filter2D at cv2's better thread count, 1 or 2 (target >= 2x);
* a 10**6-sample float32 signal, 31 taps, against numpy.convolve (target >= 20x);
* two A/Bs of the kernel's own choices, 3^3: results streamed past the caches or not
  (with the result then read), and 3-tap rows' column taps shifted or loaded.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss

import fastconv
from conftest import ROWS, alternate as _alternate, best_time, shifted_and_loaded
from fastconv.bench._limits import fma_peak_call

VOLUMES = [(64, 64, 64), (128, 128, 128), (32, 64, 64)]


def _copy_call(x: np.ndarray, pool: ThreadPoolExecutor, threads: int):
    """``np.copyto`` of ``x`` into another array, in ``threads`` slabs at once: the
    memory traffic of a call that reads x once and writes its result once. Timed in
    turns with the cell, as the FMA loop is: other jobs' memory traffic, which the
    FMA loop does not feel, slows both. (The pool's dispatch, ~10-30 us, weighs on
    the copy of a 1 MB volume: there the floor reads high.)"""
    src = np.array_split(x, threads)
    dst = np.array_split(np.empty_like(x), threads)
    return lambda: list(pool.map(np.copyto, dst, src))


@pytest.mark.parametrize("k", [3, 5, 7, 9])
@pytest.mark.parametrize("shape", VOLUMES, ids=lambda s: "x".join(map(str, s)))
def test_volume_direct(benchmark, limits, shape, k):
    rng = np.random.default_rng(k)
    x = rng.standard_normal(shape).astype(np.float32)
    h = rng.standard_normal((k, k, k)).astype(np.float32)
    ours = lambda: fastconv.convolve(x, h, "same", method="direct")  # noqa: E731
    benchmark.pedantic(ours, rounds=3, iterations=1, warmup_rounds=1)
    nt = fastconv.get_num_threads()
    peak_flops, peak = fma_peak_call(np.float32, nt, best_time(ours, 1))
    with ThreadPoolExecutor(nt) as pool:
        t = _alternate({"ours": ours, "ndimage": lambda: ndi.convolve(x, h, mode="constant"),
                        "signal": lambda: ss.convolve(x, h, "same"), "FMA peak": peak,
                        "copy": _copy_call(x, pool, nt)},
                       rounds=3, calls=1 if x.size * h.size > 1e9 else 2)
    gflops = 2 * x.size * h.size / t["ours"] / 1e9
    peak_gflops = peak_flops / t["FMA peak"] / 1e9
    row = {"case": f"3-D {shape}, {k}^3 direct", "dtype": "float32",
           "fastconv ms": f"{t['ours'] * 1e3:.3f}",
           "GFLOP/s (% of matmul)": f"{gflops:.0f} ({100 * gflops / limits['matmul_float32']:.0f}%)",
           "% of FMA peak": f"{100 * gflops / peak_gflops:.0f}% (target 40%)",
           # a floor no kernel passes: read the volume once, write the result once
           "x a copy of the volume": f"{t['ours'] / t['copy']:.1f}",
           "vs ndimage.convolve": f"{t['ndimage'] / t['ours']:.1f}x (target 10x)",
           "vs signal.convolve": f"{t['signal'] / t['ours']:.2f}x"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("n,k", [(64, 5), (64, 3)], ids=["64x256^2-5x5", "64x256^2-3x3"])
def test_stack_through_nd(benchmark, n, k):
    rng = np.random.default_rng(11)
    stack = rng.standard_normal((n, 256, 256)).astype(np.float32)
    h = rng.standard_normal((k, k)).astype(np.float32)
    ours = lambda: fastconv.convolve(stack, h[None], "same")  # noqa: E731
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    fns = {"nd": ours, "batch": lambda: fastconv.convolve2d_batch(stack, h, "same")}
    row = {"case": f"stack {n} x 256^2, {k}x{k}", "dtype": "float32"}
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        hf = np.ascontiguousarray(h[::-1, ::-1])
        out = np.empty_like(stack)
        before = cv2.getNumThreads()

        def loop(nt):
            def run():
                cv2.setNumThreads(nt)
                for i in range(stack.shape[0]):
                    cv2.filter2D(stack[i], -1, hf, dst=out[i], borderType=cv2.BORDER_CONSTANT)
            return run
        fns["cv2 1 thread"], fns["cv2 2 threads"] = loop(1), loop(2)
    try:
        # "nd" and "batch" run the same compiled call (bit-identical results), so
        # their ratio is the run's noise around 1.0: six turns each narrow it
        t = _alternate(fns, rounds=6)
    finally:
        if cv2 is not None:
            cv2.setNumThreads(before)
    row["convolve(stack, k[None]) ms"] = f"{t['nd'] * 1e3:.2f}"
    row["vs convolve2d_batch"] = f"{t['batch'] / t['nd']:.2f}x (target 0.9x)"
    if cv2 is not None:
        t_cv = min(t["cv2 1 thread"], t["cv2 2 threads"])
        row["batch vs cv2.filter2D loop"] = f"{t_cv / t['batch']:.2f}x (target 2x)"
    benchmark.extra_info.update(row)
    ROWS.append(row)


def test_signal_1d_31_taps(benchmark):
    rng = np.random.default_rng(12)
    x = rng.standard_normal(10**6).astype(np.float32)
    h = rng.standard_normal(31).astype(np.float32)
    ours = lambda: fastconv.convolve(x, h)  # noqa: E731
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    t = _alternate({"ours": ours, "numpy": lambda: np.convolve(x, h)}, rounds=3)
    row = {"case": "1-D 10^6, 31 taps", "dtype": "float32",
           "fastconv ms": f"{t['ours'] * 1e3:.3f}",
           "vs numpy.convolve": f"{t['numpy'] / t['ours']:.1f}x (target 20x)"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("shape", [(128, 128, 128), (80, 128, 128), (64, 64, 64)],
                         ids=lambda s: "x".join(map(str, s)))
def test_results_stored_past_the_caches(benchmark, shape):
    """The N-d kernel's streamed stores (results of 4 MiB and more,
    ``set_nd_stream_bytes``) against cached ones, 3^3 float32 'same', alone and with
    the result then read once (``np.sum``: a streamed result is read from DRAM), all
    four timed in turns. Below the threshold (64^3) the row shows what streaming
    would cost."""
    from fastconv._engine import kernels

    mod = kernels.build()
    rng = np.random.default_rng(15)
    x = rng.standard_normal(shape).astype(np.float32)
    h = rng.standard_normal((3, 3, 3)).astype(np.float32)

    def call(stream: bool, read: bool):
        def run():
            old = mod.set_nd_stream_bytes(0 if stream else 1 << 62)
            try:
                r = fastconv.convolve(x, h, "same", method="direct")
            finally:
                mod.set_nd_stream_bytes(old)
            if read:
                r.sum()
        return run

    benchmark.pedantic(lambda: fastconv.convolve(x, h, "same", method="direct"), rounds=3,
                       iterations=1, warmup_rounds=1)
    t = _alternate({"streamed": call(True, False), "cached": call(False, False),
                    "streamed, read": call(True, True), "cached, read": call(False, True)},
                   rounds=6)
    row = {"case": f"3-D {shape}, 3^3, result {x.nbytes >> 20} MiB", "dtype": "float32",
           "streamed ms": f"{t['streamed'] * 1e3:.3f}",
           "cached ms": f"{t['cached'] * 1e3:.3f}",
           "cached / streamed": f"{t['cached'] / t['streamed']:.2f}",
           "the same, result read": f"{t['cached, read'] / t['streamed, read']:.2f}",
           "default": "streamed" if x.nbytes >= 4 << 20 else "cached"}
    benchmark.extra_info.update(row)
    ROWS.append(row)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", VOLUMES, ids=lambda s: "x".join(map(str, s)))
def test_column_taps_shifted(benchmark, shape, dtype):
    """3-tap rows' column taps shifted out of aligned vectors against loaded
    (``set_shifted_taps``; the default where ``fc_cpu_prefers_shifts``, Zen 5 and
    later), 3^3 'same', whole calls timed in turns. Elsewhere the row shows what
    shifting would gain or cost on this CPU."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal(shape).astype(dtype)
    h = rng.standard_normal((3, 3, 3)).astype(dtype)
    run = lambda: fastconv.convolve(x, h, "same", method="direct")  # noqa: E731
    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    t, default = shifted_and_loaded(run)
    row = {"case": f"3-D {shape}, 3^3, column taps", "dtype": np.dtype(dtype).name,
           "shifted ms": f"{t['shifted'] * 1e3:.3f}",
           "loaded ms": f"{t['loaded'] * 1e3:.3f}",
           "loaded / shifted": f"{t['loaded'] / t['shifted']:.2f}",
           "default": "shifted" if default else "loaded"}
    benchmark.extra_info.update(row)
    ROWS.append(row)
