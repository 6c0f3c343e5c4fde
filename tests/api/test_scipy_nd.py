"""convolve / correlate (scipy.signal semantics, 1-D to 4-D) and convolve1d /
correlate1d, against scipy."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._engine import oned
from helpers import close, rand

MODES = ["full", "same", "valid"]
DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int8, np.int32,
          np.uint16, np.int64]
SHAPES = [
    ((50,), (7,)), ((7,), (50,)), ((31,), (31,)), ((40,), (6,)), ((1,), (1,)),
    ((30, 41), (5, 4)), ((6, 9), (12, 10)), ((12, 5), (3, 8)),
    ((9, 8, 10), (3, 2, 4)), ((4, 5, 6), (6, 7, 8)), ((3, 4, 5, 6), (2, 3, 2, 3)),
]


def _ref(func, a, b, mode):
    """scipy's answer, computed directly (exact integers, no FFT rounding)."""
    return getattr(ss, func)(a, b, mode, method="direct")


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matches_scipy(func, mode, shapes, dtype):
    rng = np.random.default_rng(len(shapes[0]) * 7 + shapes[1][0])
    a, b = rand(rng, shapes[0], dtype), rand(rng, shapes[1], dtype)
    try:
        ref = _ref(func, a, b, mode)
    except ValueError as e:
        with pytest.raises(ValueError, match="valid"):
            getattr(fastconv, func)(a, b, mode)
        assert "valid" in str(e)
        return
    close(getattr(fastconv, func)(a, b, mode), ref, a, b)


@pytest.mark.parametrize("method", ["auto", "direct", "fft", "separable"])
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("shapes", [((300,), (40,)), ((60, 50), (9, 9)),
                                    ((12, 14, 16), (5, 5, 5))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int16],
                         ids=lambda d: np.dtype(d).name)
def test_every_method(func, shapes, method, dtype):
    rng = np.random.default_rng(3)
    a = rand(rng, shapes[0], dtype)
    b = rand(rng, shapes[1], dtype)
    if method == "separable" and b.ndim >= 2:
        # a rank-1 kernel in every 2-D slice
        u = rand(rng, shapes[1][:-1] + (1,), dtype)
        b = (u * rand(rng, (shapes[1][-1],), dtype)).astype(dtype)
    for mode in MODES:
        close(getattr(fastconv, func)(a, b, mode, method=method), _ref(func, a, b, mode), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int16, np.uint8])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("shapes", [((5, 40, 37), (1, 5, 4)), ((2, 3, 30, 21), (1, 1, 3, 3)),
                                    ((3, 8, 15), (1, 7, 12)), ((4, 50, 60), (1, 17, 17))],
                         ids=str)
def test_kernel_one_deep_is_a_batch(func, mode, shapes, dtype):
    """A kernel of length 1 on every leading axis runs each plane as the batch
    functions do: scipy's answer, and the same bits as convolve2d_batch's planes
    (a 17x17 kernel takes the FFT or separable road there as well)."""
    rng = np.random.default_rng(21)
    a, b = rand(rng, shapes[0], dtype), rand(rng, shapes[1], dtype)
    got = getattr(fastconv, func)(a, b, mode)
    close(got, _ref(func, a, b, mode), a, b)
    if func == "convolve" and shapes[0][-2] >= shapes[1][-2] and shapes[0][-1] >= shapes[1][-1]:
        batch = fastconv.convolve2d_batch(a, b.reshape(b.shape[-2:]), mode)
        assert got.tobytes() == batch.tobytes()


def test_separable_rejects_full_rank_2d():
    with pytest.raises(ValueError, match="rank-1"):
        fastconv.convolve(np.ones((20, 20)), np.eye(5), method="separable")


@pytest.mark.parametrize("n", [1, 17, 4095, 10_000, 100_003])
@pytest.mark.parametrize("L", [1, 2, 31, 200])
@pytest.mark.parametrize("mode", MODES)
def test_long_signal_fold(n, L, mode):
    """The folded 1-D path, its head/tail pieces and chunk edges."""
    rng = np.random.default_rng(n + L)
    x = rng.standard_normal(n).astype(np.float32)
    h = rng.standard_normal(L).astype(np.float32)
    close(fastconv.convolve(x, h, mode, method="direct"), _ref("convolve", x, h, mode), x, h)


def test_fold_reads_strided_input_without_copy():
    rng = np.random.default_rng(1)
    base = rng.integers(-100, 100, 3 * 50_000).astype(np.int32)
    x = base[::3]
    h = np.array([1, -2, 3, 5], np.int32)
    assert oned.chunk_length(x.size, h.size) * 2 < x.size    # really folded
    np.testing.assert_array_equal(fastconv.convolve(x, h), np.convolve(x, h))


def test_integer_wraparound_and_fft_method_stays_exact():
    a = np.full(5000, 120, np.int8)
    b = np.full(50, 3, np.int8)
    ref = ss.convolve(a, b, method="direct")
    np.testing.assert_array_equal(fastconv.convolve(a, b, method="fft"), ref)
    big = np.full(3000, 2**40, np.int64)
    np.testing.assert_array_equal(fastconv.convolve(big, big[:300], method="fft"),
                                  ss.convolve(big, big[:300], method="direct"))


def test_nonfinite_stays_local_with_fft():
    x = np.zeros(2000)
    x[1000] = np.inf
    out = fastconv.convolve(x, np.ones(100), "same", method="fft")
    ref = ss.convolve(x, np.ones(100), "same", method="direct")
    np.testing.assert_array_equal(out, ref)
    assert np.isinf(out).sum() == 100 and (out[:900] == 0).all()


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("args", [
    (np.array(2.0), np.array(3.0)), (np.array(2j), np.array(3 + 1j)),
    (np.ones(0), np.ones(3)), (np.ones(3), np.ones(0)), (np.ones((0, 3)), np.ones((2, 2))),
    (np.ones(4, bool), np.ones(2, bool)), (np.ones(6, np.float16), np.ones(3, np.float16)),
], ids=["0d", "0d-complex", "empty1", "empty2", "empty2d", "bool", "float16"])
@pytest.mark.parametrize("mode", ["same", "full"])
def test_degenerate_inputs_follow_scipy(func, args, mode):
    a, b = args
    try:
        ref = getattr(ss, func)(a, b, mode)
    except Exception as e:  # noqa: BLE001 - scipy's own error is the reference
        with pytest.raises(type(e)):
            getattr(fastconv, func)(a, b, mode)
        return
    got = getattr(fastconv, func)(a, b, mode)
    assert np.asarray(got).dtype == np.asarray(ref).dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_bad_arguments(func):
    f = getattr(fastconv, func)
    with pytest.raises(ValueError, match="dimensionality"):
        f(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="mode"):
        f(np.ones(3), np.ones(2), "middle")
    with pytest.raises(ValueError, match="method"):
        f(np.ones(3), np.ones(2), method="winograd")
    with pytest.raises(ValueError, match="valid"):
        f(np.ones((3, 5)), np.ones((5, 3)), "valid")
    with pytest.raises(ValueError):
        f(np.array(["a", "b"]), np.ones(2))


def test_inputs_not_modified():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 20)), rng.standard_normal((5, 5))
    a0, b0 = a.copy(), b.copy()
    fastconv.correlate(a, b, "valid")
    fastconv.convolve(b, a, "valid")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), ndim=st.integers(1, 3), mode=st.sampled_from(MODES),
       func=st.sampled_from(["convolve", "correlate"]),
       dtype=st.sampled_from([np.float64, np.complex128, np.int32]))
def test_property_matches_scipy(data, ndim, mode, func, dtype):
    s1 = data.draw(st.tuples(*[st.integers(1, 9)] * ndim))
    s2 = data.draw(st.tuples(*[st.integers(1, 9)] * ndim))
    if mode == "valid":  # scipy needs one input to contain the other
        s2 = tuple(min(p, q) for p, q in zip(s1, s2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    a, b = rand(rng, s1, dtype), rand(rng, s2, dtype)
    if data.draw(st.booleans()):
        a, b = b, a
    close(getattr(fastconv, func)(a, b, mode), _ref(func, a, b, mode), a, b)


# ---- convolve1d / correlate1d ------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1, 2])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("L", [1, 4, 9])
def test_axis_filter_matches_slicewise_scipy(func, mode, axis, L):
    rng = np.random.default_rng(L)
    x = rand(rng, (6, 7, 8), np.complex128)
    h = rand(rng, (L,), np.complex128)
    got = getattr(fastconv, func + "1d")(x, h, axis=axis, mode=mode)
    ref = np.apply_along_axis(lambda s: getattr(ss, func)(s, h, mode, method="direct"), axis, x)
    close(got, ref, x, h)


@pytest.mark.parametrize("func", ["convolve1d", "correlate1d"])
def test_axis_filter_long_rows_and_short_signal_valid(func):
    rng = np.random.default_rng(5)
    x = rand(rng, (2, 70_000), np.int32)
    h = rand(rng, (13,), np.int32)
    ref_f = ss.convolve if func == "convolve1d" else ss.correlate
    for mode in MODES:
        ref = np.stack([ref_f(r, h, mode, method="direct") for r in x])
        np.testing.assert_array_equal(getattr(fastconv, func)(x, h, mode=mode), ref)
    short = rand(rng, (3, 5), np.float64)   # shorter than h: scipy swaps in 'valid'
    ref = np.stack([ref_f(r, h.astype(float), "valid", method="direct") for r in short])
    close(getattr(fastconv, func)(short, h.astype(float), mode="valid"), ref, short, h)


def test_axis_filter_errors():
    with pytest.raises(ValueError, match="1-D"):
        fastconv.convolve1d(np.ones((3, 4)), np.ones((2, 2)))
    with pytest.raises(np.exceptions.AxisError):
        fastconv.convolve1d(np.ones((3, 4)), np.ones(2), axis=2)
    with pytest.raises(ValueError, match="empty"):
        fastconv.convolve1d(np.ones((3, 0)), np.ones(2))
    with pytest.raises(ValueError, match="mode"):
        fastconv.correlate1d(np.ones((3, 4)), np.ones(2), mode="x")


def test_docstring_examples_run():
    """The numpydoc Examples of every family function are executed and hold."""
    import doctest

    from fastconv._api import batch, numpy1d, scipy_fft, scipy_nd
    failed = attempted = 0
    for mod in (scipy_nd, scipy_fft, numpy1d, batch):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.attempted > 0, mod.__name__
        failed, attempted = failed + res.failed, attempted + res.attempted
    assert failed == 0 and attempted >= 10


def test_fold_thread_count_does_not_change_results():
    rng = np.random.default_rng(8)
    x, h = rng.standard_normal(300_000), rng.standard_normal(45)
    with fastconv.threads(1):
        one = fastconv.correlate(x, h, "same")
    with fastconv.threads(3):
        three = fastconv.correlate(x, h, "same")
    np.testing.assert_array_equal(one, three)


def test_non_contiguous_nd_inputs():
    rng = np.random.default_rng(9)
    a = rand(rng, (10, 12, 14), np.float32)[::2, :, ::-1]
    b = rand(rng, (6, 3, 4), np.float32).transpose(1, 0, 2)
    for mode in MODES:
        close(fastconv.convolve(a, b, mode), _ref("convolve", a, b, mode), a, b)


def test_pool_works_in_a_forked_child():
    """The worker pool is rebuilt after fork (inherited pools have no threads)."""
    import multiprocessing as mp
    import os
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    x, h = np.arange(300_000.0), np.ones(5)
    with fastconv.threads(2):
        ref = fastconv.convolve(x, h)             # creates the pool in this process
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_convolve_two_threads, (x, h)).get(timeout=60)
    np.testing.assert_array_equal(got, ref)


def _convolve_two_threads(x, h):
    with fastconv.threads(2):
        return fastconv.convolve(x, h)
