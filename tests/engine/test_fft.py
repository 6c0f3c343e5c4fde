"""The FFT paths on every FFT library installed (``fftlib``: scipy.fft, and ducc0
when present): the N-d overlap-save (``fft_nd``), the 2-D one (``fft``) and the
broadcasting transform behind fftconvolve (``fft_axes``), against scipy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._engine import fft, fft_nd, fftlib, nd, plan
from helpers import close, rand


@pytest.fixture(params=fftlib.available())
def backend(request):
    """Run a test once per FFT library installed here."""
    with fftlib.use(request.param):
        yield request.param


MODES = ["full", "same", "valid"]
# 2-D to 4-D; odd and even kernels; kernels larger than the input on some axes
SHAPES = [
    ((40, 33), (9, 8)), ((12, 10), (25, 21)),
    ((20, 17, 15), (5, 4, 6)), ((9, 8, 10), (3, 2, 4)), ((4, 5, 6), (6, 7, 8)),
    ((30, 6, 22), (7, 9, 3)),
    ((6, 7, 5, 8), (3, 4, 2, 3)), ((3, 4, 5, 6), (4, 5, 6, 2)),
]


def _ref(func, a, b, mode):
    return getattr(ss, func)(a, b, mode, method="direct")


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int16],
                         ids=lambda d: np.dtype(d).name)
def test_fft_method_matches_scipy(backend, func, mode, shapes, dtype):
    rng = np.random.default_rng(sum(shapes[0]) + len(shapes[1]))
    a, b = rand(rng, shapes[0], dtype), rand(rng, shapes[1], dtype)
    if mode == "valid" and not (all(p >= q for p, q in zip(a.shape, b.shape))
                                or all(p <= q for p, q in zip(a.shape, b.shape))):
        with pytest.raises(ValueError):
            getattr(fastconv, func)(a, b, mode, method="fft")
        return
    close(getattr(fastconv, func)(a, b, mode, method="fft"), _ref(func, a, b, mode), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("nthreads", [1, 2])
def test_nd_many_blocks_and_batches(backend, monkeypatch, dtype, nthreads):
    """Small blocks and one-block batches: tiling in every axis, blocks past the
    volume's end, batches on the worker pool."""
    monkeypatch.setattr(fft, "_BATCH_BYTES", 1)
    monkeypatch.setattr(fft_nd, "block_shape", lambda o, k, real: (12, 16, 10))
    rng = np.random.default_rng(5)
    a, b = rand(rng, (29, 23, 31), dtype), rand(rng, (5, 8, 3), dtype)
    with fastconv.threads(nthreads):
        got = fastconv.convolve(a, b, "same", method="fft")
    close(got, _ref("convolve", a, b, "same"), a, b)


def test_backends_agree_to_rounding():
    """ducc0 and scipy.fft give the same convolution to rounding (not bit for bit)."""
    if "ducc0" not in fftlib.available():
        pytest.skip("ducc0 is not installed")
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((40, 50, 30)), rng.standard_normal((9, 9, 9))
    res = {}
    for name in ("scipy", "ducc0"):
        with fftlib.use(name):
            res[name] = fastconv.convolve(a, b, "same", method="fft")
    bound = np.abs(a).max() * np.abs(b).sum()
    assert np.abs(res["scipy"] - res["ducc0"]).max() <= 1e-13 * bound


@pytest.mark.parametrize("axes", [None, 0, -1, (0, 2), (1, 2), (0, 1, 2)], ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
def test_fftconvolve_axes(backend, func, mode, axes):
    """Broadcasting over the axes not convolved: one kernel for every slice (the
    engine's paths) and kernels that differ per slice (one batched transform)."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((7, 12, 10)).astype(np.float32)
    for b in (rng.standard_normal((1, 5, 4)), rng.standard_normal((7, 4, 6)),
              rng.standard_normal((3, 4, 1)) + 1j * rng.standard_normal((3, 4, 1))):
        try:
            ref = getattr(ss, func)(a, b, mode, axes=axes)
        except ValueError:
            with pytest.raises(ValueError):
                getattr(fastconv, func)(a, b, mode, axes=axes)
            continue
        close(getattr(fastconv, func)(a, b, mode, axes=axes), ref, a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ndim=st.integers(3, 4), mode=st.sampled_from(MODES),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_property_fft_equals_direct(data, ndim, mode, dtype):
    """Any volume, any kernel (also larger than the volume), either library: the FFT
    path gives scipy's direct answer to rounding."""
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    kshape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    if mode == "valid" and not (all(p >= q for p, q in zip(shape, kshape))
                                or all(p <= q for p, q in zip(shape, kshape))):
        mode = "full"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(kshape).astype(dtype)
    with fftlib.use(data.draw(st.sampled_from(fftlib.available()))):
        got = fastconv.convolve(a, b, mode, method="fft")
    close(got, _ref("convolve", a, b, mode), a, b)


@pytest.mark.parametrize("out_shape, k_shape", [
    ((64, 64, 64), (9, 9, 9)), ((32, 64, 64), (9, 9, 9)), ((128, 128, 128), (9, 9, 9)),
    ((10, 200, 7), (3, 31, 2)), ((16, 32, 32, 32), (5, 5, 5, 5)), ((5, 5, 5), (9, 9, 9))])
def test_nd_block_shape_is_valid(out_shape, k_shape):
    """Each block holds the kernel plus at least one output, has a fast length, and
    is no longer than the whole padded axis."""
    block = fft_nd.block_shape(out_shape, k_shape, True)
    for o, k, b in zip(out_shape, k_shape, block):
        assert k < b <= fftlib.good_size(o + k - 1, True)
        assert fftlib.good_size(b, True) == b
    # the chosen block's count is never beaten by the whole volume as one block
    whole = tuple(fftlib.good_size(o + k - 1, True) for o, k in zip(out_shape, k_shape))
    assert fft_nd._cost(block, out_shape, k_shape) <= fft_nd._cost(whole, out_shape, k_shape)


def test_plan_chooses_fft_for_large_nd_kernels_and_direct_for_small(backend):
    # 9^3 on 64^3 is the crossover here (direct 1.7-2.2 ms, ducc0's FFT 1.8-2.5 ms,
    # scipy.fft's slower): the default constants pick the FFT with ducc0 and the
    # direct kernel with scipy.fft alone, so 13^3 stands for "large" with either
    f4 = np.dtype(np.float32)
    x = np.zeros((64, 64, 64), f4)
    cost = plan.fft_nd_cost((64, 64, 64), (13, 13, 13), f4)
    assert cost > 0 and math.isfinite(cost)
    assert nd._choose_nd(x, np.ones((13, 13, 13), f4), (64, 64, 64), f4) == "fft"
    assert nd._choose_nd(x, np.ones((3, 3, 3), f4), (64, 64, 64), f4) == "direct"


def test_fftlib_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        with fftlib.use("fftw"):
            pass
    assert fftlib.name() in fftlib.available()


def test_inputs_are_not_modified(backend):
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((20, 21, 22)), rng.standard_normal((6, 5, 7))
    a0, b0 = a.copy(), b.copy()
    fastconv.convolve(a, b, "same", method="fft")
    fastconv.fftconvolve(a, b, "full")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_fftlib_choice_without_ducc0(monkeypatch):
    """Without ducc0, 'auto' is scipy.fft, and asking for ducc0 says how to install it."""
    monkeypatch.setattr(fftlib, "_ducc_fft", lambda: None)
    monkeypatch.setattr(fftlib._choice, "value", "auto")
    assert fftlib.available() == ["scipy"] and fftlib.name() == "scipy"
    with pytest.raises(ImportError, match=r"fastconv\[fft\]"):
        with fftlib.use("ducc0"):
            pass
    monkeypatch.setattr(fftlib._choice, "value", "ducc0")   # as FASTCONV_FFT=ducc0 sets it
    with pytest.raises(ImportError, match=r"fastconv\[fft\]"):
        fftlib.name()
