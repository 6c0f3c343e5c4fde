"""Thread-count control, thread-count invariance and concurrent calls."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import kernels


@pytest.mark.parametrize("ksize", [(7, 8), (3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.complex64,
                                   np.complex128])
def test_results_bit_identical_for_any_thread_count(dtype, ksize):
    """Tiles, and so the rows a kernel computes in groups of four, two or one,
    depend on the thread count; the results must not (complex: (7, 8) takes Gauss's
    form, (3, 4) the interleaved loop)."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((300, 257)) * 50).astype(dtype)
    if a.dtype.kind == "c":
        a = a + 1j * (rng.standard_normal(a.shape) * 50).astype(dtype)
    b = (rng.standard_normal(ksize) * 5).astype(dtype)
    if b.dtype.kind == "c":
        b = b + 1j * (rng.standard_normal(ksize) * 5).astype(dtype)
    outs = []
    for n in (1, 2, 3, 8):
        with fastconv.threads(n):
            outs.append([fastconv.convolve2d(a, b, "same", bd) for bd in ("fill", "wrap", "symm")])
    for o in outs[1:]:
        for x, y in zip(outs[0], o):
            assert x.tobytes() == y.tobytes()


def test_set_get_and_context_manager():
    old = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(3)
        assert fastconv.get_num_threads() == 3
        with fastconv.threads(1) as n:
            assert n == 1 and fastconv.get_num_threads() == 1
        assert fastconv.get_num_threads() == 3
    finally:
        fastconv.set_num_threads(old)
    for bad, exc in ((0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)):
        with pytest.raises(exc):
            fastconv.set_num_threads(bad)


def test_context_manager_is_per_python_thread():
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        with fastconv.threads(1):
            inside.set()
            release.wait(5)
            seen["worker"] = fastconv.get_num_threads()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = fastconv.get_num_threads()
    release.set()
    t.join()
    assert seen["worker"] == 1
    assert seen["main"] == fastconv.get_num_threads() != 0


def test_environment_variable_sets_default(tmp_path):
    # run outside the checkout so that the installed package is imported
    code = "import fastconv; print(fastconv.get_num_threads())"
    env = dict(os.environ, FASTCONV_NUM_THREADS="3")
    run = dict(env=env, capture_output=True, text=True, cwd=tmp_path)
    out = subprocess.run([sys.executable, "-c", code], **run)
    assert out.stdout.strip() == "3"
    env["FASTCONV_NUM_THREADS"] = "zero"
    bad = subprocess.run([sys.executable, "-c", code], **run)
    assert bad.returncode != 0 and "FASTCONV_NUM_THREADS" in bad.stderr


def test_concurrent_calls_from_python_threads():
    rng = np.random.default_rng(1)
    jobs = [(rng.standard_normal((200, 180)), rng.standard_normal((5, 5)), bd)
            for bd in ("fill", "wrap", "symm") for _ in range(4)]
    results = [None] * len(jobs)

    def run(i):
        a, b, bd = jobs[i]
        results[i] = fastconv.convolve2d(a, b, "same", bd)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (a, b, bd), r in zip(jobs, results):
        np.testing.assert_allclose(r, ss.convolve2d(a, b, "same", bd), rtol=1e-12, atol=1e-12)


def test_openmp_state_is_reported():
    mod = kernels.build()
    assert isinstance(mod.openmp_enabled(), bool)
    assert mod.omp_max_threads() >= 1


_IDLE_CPU = """
import os, sys, time, numpy as np, fastconv
from fastconv._engine import kernels
assert "GOMP_SPINCOUNT" not in os.environ or os.environ["GOMP_SPINCOUNT"] == sys.argv[1]
x = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
h = np.ones((5, 5), np.float32)
burnt = []
with fastconv.threads(2):
    for _ in range(6):
        fastconv.convolve2d(x, h, "same")
        c = time.process_time()
        time.sleep(0.05)            # the team is idle: what its threads burn now
        burnt.append(time.process_time() - c)
print(kernels.build().openmp_enabled(), sorted(burnt)[len(burnt) // 2])
"""


def test_idle_openmp_threads_hand_back_their_core_soon(tmp_path):
    """fastconv loads libgomp with a short spin (fastconv._runtime.openmp): after a call the
    team's threads burn far less CPU than with a long spin, which a user's own
    GOMP_SPINCOUNT still sets; the environment is left as it was."""
    def idle_cpu(spin: str | None) -> float:
        env = {k: v for k, v in os.environ.items()
               if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
        if spin is not None:
            env["GOMP_SPINCOUNT"] = spin
        out = subprocess.run([sys.executable, "-c", _IDLE_CPU, spin or ""], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        enabled, burnt = out.stdout.split()
        if enabled != "True" or (os.cpu_count() or 1) < 2:
            pytest.skip("needs OpenMP and two cores")
        return float(burnt)

    ours, long_spin = idle_cpu(None), idle_cpu("3000000")
    assert ours < 0.5 * long_spin, (ours, long_spin)
