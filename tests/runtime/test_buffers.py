"""The buffer cache (csrc/_recycle.pyx): recycled blocks give the same results,
never alias live arrays, and the cap is honoured."""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from scipy import signal

import fastconv
from fastconv._runtime import _recycle

MB = 1 << 20


@pytest.fixture
def small_cache():
    """A clean cache of 64 MiB for the test; the previous cap afterwards."""
    prev = fastconv.set_buffer_cache(0)
    fastconv.set_buffer_cache(64)
    yield
    fastconv.set_buffer_cache(0)
    fastconv.set_buffer_cache(prev)


@pytest.fixture
def rng():
    return np.random.default_rng(12)


def test_freed_block_is_reused(small_cache):
    a = _recycle.empty((512, 1024), np.float32)          # 2 MiB
    addr = a.ctypes.data
    del a
    assert fastconv.buffer_cache_info()["held"] == 2 * MB
    before = fastconv.buffer_cache_info()["hits"]
    b = _recycle.empty((1024, 512), np.float32)          # same size, other shape
    assert b.ctypes.data == addr
    assert fastconv.buffer_cache_info()["hits"] == before + 1
    assert fastconv.buffer_cache_info()["held"] == 0


def test_small_arrays_bypass_the_cache(small_cache):
    a = _recycle.empty((100, 100), np.float64)
    del a
    assert fastconv.buffer_cache_info()["held"] == 0


def test_live_arrays_never_share_a_block(small_cache):
    arrays = []
    for i in range(6):
        a = _recycle.empty((256, 1024), np.float64)
        a.fill(i)
        arrays.append(a)
        if i % 2:
            arrays.pop(0)              # free one, keep others alive
    addrs = [a.ctypes.data for a in arrays]
    assert len(set(addrs)) == len(addrs)
    for a in arrays:
        assert np.all(a == a.flat[0])


def test_cap_is_honoured_and_zero_releases(small_cache):
    blocks = [_recycle.empty((n, MB), np.uint8) for n in (8, 16, 24, 32)]
    del blocks                         # 80 MiB freed into a 64 MiB cap
    info = fastconv.buffer_cache_info()
    assert 0 < info["held"] <= 64 * MB
    fastconv.set_buffer_cache(0)
    assert fastconv.buffer_cache_info()["held"] == 0
    a = _recycle.empty((2, MB), np.uint8)
    del a
    assert fastconv.buffer_cache_info()["held"] == 0


def test_results_identical_with_and_without_cache(small_cache, rng):
    x = rng.standard_normal((700, 900)).astype(np.float32)
    w = rng.standard_normal((5, 5)).astype(np.float32)
    ref = signal.convolve2d(x, w, "same")
    fastconv.set_buffer_cache(0)
    off = fastconv.convolve2d(x, w, "same")
    fastconv.set_buffer_cache(64)
    on = [fastconv.convolve2d(x, w, "same") for _ in range(3)]   # recycled from the 2nd
    del on[0]
    on.append(fastconv.convolve2d(x, w, "same"))
    for r in on:
        np.testing.assert_array_equal(r, off)
    np.testing.assert_allclose(off, ref, rtol=1e-5, atol=1e-4)
    assert fastconv.buffer_cache_info()["hits"] > 0


def test_fft_path_results_from_recycled_memory(small_cache, rng):
    x = rng.standard_normal((600, 640))
    w = rng.standard_normal((41, 41))
    ref = signal.fftconvolve(x, w, "same")
    for _ in range(3):
        got = fastconv.convolve2d(x, w, "same", method="fft")
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_inputs_untouched_and_resize_works(small_cache, rng):
    x = rng.integers(-100, 100, (800, 800)).astype(np.int32)
    keep = x.copy()
    out = fastconv.convolve2d(x, np.ones((3, 3), np.int32), "same")
    np.testing.assert_array_equal(x, keep)
    a = _recycle.empty((1024, 512), np.float32)
    a.resize((2048, 512), refcheck=False)    # numpy reallocs through the policy
    a[-1] = 1.0
    assert a.shape == (2048, 512) and out.dtype == np.int32


def test_threads_allocate_and_free_concurrently(small_cache):
    errors = []

    def work(tid: int) -> None:
        try:
            for i in range(40):
                a = _recycle.empty((1 + (i % 3)) * MB, np.uint8)
                a.fill(tid)
                if not np.all(a == tid):
                    errors.append((tid, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_caps_raise(bad):
    with pytest.raises(ValueError):
        fastconv.set_buffer_cache(bad)


@pytest.mark.parametrize("bad", ["64", None, True])
def test_bad_cap_types_raise(bad):
    with pytest.raises(TypeError):
        fastconv.set_buffer_cache(bad)


@pytest.mark.parametrize("env, cap", [("0", 0), ("1.5", 3 * MB // 2), ("", 512 * MB)])
def test_cap_from_environment(env, cap, tmp_path):
    # run outside the checkout, whose uncompiled source folder would shadow the install
    code = "import fastconv; print(fastconv.buffer_cache_info()['cap'])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"FASTCONV_BUFFER_CACHE_MB": env, "PATH": ""}, check=True,
                       cwd=tmp_path)
    assert int(r.stdout) == cap


def test_bad_environment_value_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import fastconv"], capture_output=True,
                       text=True, env={"FASTCONV_BUFFER_CACHE_MB": "lots", "PATH": ""},
                       cwd=tmp_path)
    assert r.returncode != 0 and "FASTCONV_BUFFER_CACHE_MB" in r.stderr
