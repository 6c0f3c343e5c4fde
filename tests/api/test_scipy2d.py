"""fastconv.convolve2d / correlate2d against scipy.signal, on a grid and by hypothesis."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fastconv
from helpers import assert_matches, rand_full_range as _rand

FUNCS = ["convolve2d", "correlate2d"]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm"]
DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
          np.float32, np.float64, np.longdouble, np.complex64, np.complex128, np.clongdouble]
# (in1 shape, in2 shape): rows/columns, kernels larger than the image (several
# times, so wrap/symm repeat), chunk-sized and wider rows, odd and even kernels.
SHAPES = [((7, 9), (3, 3)), ((8, 10), (2, 4)), ((1, 17), (1, 4)), ((19, 1), (5, 1)),
          ((1, 1), (3, 2)), ((4, 5), (9, 12)), ((3, 300), (2, 5)), ((70, 3), (4, 2)),
          ((6, 6), (6, 6)), ((2, 3), (7, 11))]


def _both(func, *args, **kw):
    return getattr(fastconv, func)(*args, **kw), getattr(ss, func)(*args, **kw)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_grid_against_scipy(mode, boundary, shapes, dtype):
    rng = np.random.default_rng(abs(hash((mode, boundary, shapes, str(dtype)))) % 2**32)
    s1, s2 = shapes
    a, b = _rand(rng, s1, dtype), _rand(rng, s2, dtype)
    fill = 3 if np.dtype(dtype).kind in "iu" else -1.5
    for func in FUNCS:
        if mode == "valid" and not (all(p >= q for p, q in zip(s1, s2))
                                    or all(q >= p for p, q in zip(s1, s2))):
            with pytest.raises(ValueError):
                getattr(fastconv, func)(a, b, mode, boundary)
            continue
        got, ref = _both(func, a, b, mode=mode, boundary=boundary, fillvalue=fill)
        assert_matches(got, ref, a, b, fill)


@pytest.mark.parametrize("pair", [(np.bool_, np.int8), (np.int16, np.float32),
                                  (np.int32, np.float32), (np.uint8, np.int8),
                                  (np.float16, np.float32), (np.int64, np.uint64),
                                  (np.float32, np.complex64), (np.int8, np.complex128),
                                  (np.uint16, np.float64)], ids=str)
@pytest.mark.parametrize("func", FUNCS)
def test_mixed_dtypes_promote_like_scipy(func, pair):
    rng = np.random.default_rng(5)
    a = (rng.integers(0, 2, (9, 11)) if pair[0] is np.bool_ else rng.integers(-5, 90, (9, 11))).astype(pair[0])
    b = rng.integers(-3, 4, (3, 4)).astype(pair[1])
    for mode in MODES:
        got, ref = _both(func, a, b, mode=mode)
        assert_matches(got, ref, a, b)


@pytest.mark.parametrize("fill", [0, 2.5, -2.5, 7, True, np.float32(2.7), "3", [4], np.array(2),
                                  2**31 - 1, -2**31])
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float64, np.complex128, np.float32])
def test_fillvalue_cast_like_scipy(dtype, fill):
    a = np.arange(20).reshape(4, 5).astype(dtype)
    b = np.arange(6).reshape(2, 3).astype(dtype)
    try:
        ref = ss.convolve2d(a, b, fillvalue=fill)
    except ValueError:
        with pytest.raises(ValueError):
            fastconv.convolve2d(a, b, fillvalue=fill)
        return
    assert_matches(fastconv.convolve2d(a, b, fillvalue=fill), ref, a, b)


def test_nan_inf_stay_local_like_scipy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((12, 13))
    a[2, 3], a[8, 0], a[11, 12] = np.nan, np.inf, -np.inf
    h = rng.standard_normal((3, 4))
    h0 = h.copy()
    h0[1, 1] = 0.0                       # 0 * inf must become NaN, as in scipy
    for kern in (h, h0):
        for func in FUNCS:
            for mode in MODES:
                for boundary in BOUNDARIES:
                    got, ref = _both(func, a, kern, mode=mode, boundary=boundary)
                    assert_matches(got, ref, a, kern)
    hinf = h.copy()
    hinf[0, 0] = np.inf                  # inf in the kernel times the zero fill
    got, ref = _both("convolve2d", rng.standard_normal((6, 7)), hinf, mode="same")
    assert_matches(got, ref)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_non_finite_follows_c99_products(dtype):
    a = (np.arange(30).reshape(5, 6) * (1 + 0.5j)).astype(dtype)
    a[1, 1] = complex(np.inf, np.inf)
    a[3, 4] = complex(np.nan, 1)
    b = np.array([[1, 0.5j], [2 - 1j, 0]], dtype=dtype)
    for func in FUNCS:
        for boundary in BOUNDARIES:
            got, ref = _both(func, a, b, mode="full", boundary=boundary)
            assert_matches(got, ref, a, b)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("where", [(0, 0), (20, 150), (39, 199)])
@pytest.mark.parametrize("bad", [complex(np.inf, 0), complex(0, -np.inf), complex(np.nan, 1)])
@pytest.mark.parametrize("ksize", [(3, 4), (6, 9)], ids=["interleaved", "gauss"])
def test_wide_complex_non_finite_found_by_the_kernel(dtype, where, bad, ksize):
    """Rows wide enough for the fast complex loops (few taps: the interleaved one,
    more: Gauss's form): the kernel checks x's parts as it copies or splits them and
    hands Inf/NaN inputs back to the C99 path, anywhere in the image."""
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((40, 200)) + 1j * rng.standard_normal((40, 200))).astype(dtype)
    a[where] = bad
    b = (rng.standard_normal(ksize) + 1j * rng.standard_normal(ksize)).astype(dtype)
    for boundary in BOUNDARIES:
        got, ref = _both("convolve2d", a, b, mode="same", boundary=boundary)
        assert_matches(got, ref, a, b)


def test_integer_overflow_wraps_like_scipy():
    a = np.full((6, 7), 2**30, dtype=np.int32)
    b = np.full((3, 3), 7, dtype=np.int32)
    for func in FUNCS:
        got, ref = _both(func, a, b)
        np.testing.assert_array_equal(got, ref)
    a64 = np.full((5, 5), 2**62 + 12345, dtype=np.int64)
    got, ref = _both("convolve2d", a64, a64[:3, :3], mode="same", boundary="wrap")
    np.testing.assert_array_equal(got, ref)
    u8 = np.full((5, 5), 250, np.uint8)
    got, ref = _both("correlate2d", u8, u8[:2, :2], fillvalue=200)
    np.testing.assert_array_equal(got, ref)


LAYOUTS = {
    "fortran": lambda x: np.asfortranarray(x),
    "transposed": lambda x: np.ascontiguousarray(x.T).T,
    "negative": lambda x: np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1],
    "strided": lambda x: np.repeat(np.repeat(x, 2, 0), 3, 1)[::2, ::3],
    "readonly": lambda x: np.frombuffer(x.tobytes(), x.dtype).reshape(x.shape),
    "bigendian": lambda x: x.astype(x.dtype.newbyteorder(">")),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.complex128])
def test_any_memory_layout(layout, dtype):
    rng = np.random.default_rng(11)
    a = _rand(rng, (13, 140), dtype)
    b = _rand(rng, (3, 4), dtype)
    la, lb = LAYOUTS[layout](a), LAYOUTS[layout](b)
    for func in FUNCS:
        for boundary in BOUNDARIES:
            got = getattr(fastconv, func)(la, lb, "same", boundary)
            assert_matches(got, getattr(ss, func)(a, b, "same", boundary), a, b)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((20, 30)) + 1j * rng.standard_normal((20, 30))
    b = rng.standard_normal((4, 5)) + 0j
    a0, b0 = a.copy(), b.copy()
    for func in FUNCS:
        for mode in MODES:
            getattr(fastconv, func)(a, b, mode, "symm")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_lists_and_swapped_valid_mode():
    a = [[1, 2, 3], [4, 5, 6]]
    b = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    for func in FUNCS:
        got, ref = _both(func, a, b, mode="valid")
        assert_matches(got, ref)
    c = np.arange(12).reshape(3, 4) * (1 + 1j)
    got, ref = _both("correlate2d", c[:2, :2], c, mode="valid")
    assert_matches(got, ref)


EMPTY = [((0, 3), (2, 2)), ((3, 3), (0, 2)), ((0, 0), (0, 0)), ((3, 0), (2, 2)),
         ((2, 2), (0, 0)), ((3, 3), (0, 3)), ((2, 2), (3, 0))]


@pytest.mark.parametrize("shapes", EMPTY, ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_empty_inputs(shapes, mode):
    a, b = np.ones(shapes[0]), np.ones(shapes[1])
    for func in FUNCS:
        for boundary in ["fill"] + (["wrap", "symm"] if 0 not in shapes[0] else []):
            try:
                ref = getattr(ss, func)(a, b, mode, boundary, fillvalue=2)
            except ValueError:
                with pytest.raises(ValueError):
                    getattr(fastconv, func)(a, b, mode, boundary, fillvalue=2)
                continue
            assert_matches(getattr(fastconv, func)(a, b, mode, boundary, fillvalue=2), ref)


def test_empty_image_with_wrap_raises_where_scipy_crashes():
    # scipy dies with SIGFPE here (modulo by zero); fastconv refuses clearly.
    for boundary in ("wrap", "symm"):
        with pytest.raises(ValueError, match="non-empty in1"):
            fastconv.convolve2d(np.ones((0, 3)), np.ones((2, 2)), "full", boundary)
    assert fastconv.convolve2d(np.ones((0, 3)), np.ones((2, 2)), "same", "wrap").shape == (0, 3)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.complex64])
def test_each_kernel_build(isa, dtype):
    """Every compiled ISA build gives scipy's result on every mode and boundary."""
    rng = np.random.default_rng(7)
    a = _rand(rng, (37, 301), dtype)
    b = _rand(rng, (5, 4), dtype)
    for func in FUNCS:
        for mode in MODES:
            for boundary in BOUNDARIES:
                got, ref = _both(func, a, b, mode=mode, boundary=boundary, fillvalue=1)
                assert_matches(got, ref, a, b, 1)


_dtypes = st.sampled_from(["int8", "uint8", "int16", "int32", "uint32", "int64", "float32",
                           "float64", "complex64", "complex128"])


@st.composite
def _case(draw):
    dt = np.dtype(draw(_dtypes))
    s1 = (draw(st.integers(0, 14)), draw(st.integers(0, 40)))
    s2 = (draw(st.integers(0, 7)), draw(st.integers(0, 7)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, s1, dt), _rand(rng, s2, dt)
    layout = draw(st.sampled_from(["c", "fortran", "transposed", "negative", "strided"]))
    if layout != "c":
        a = LAYOUTS[layout](a)
    mode = draw(st.sampled_from(MODES))
    boundary = draw(st.sampled_from(BOUNDARIES + ["pad", "circular", "symmetric"]))
    fill = draw(st.integers(-5, 5)) if dt.kind in "iu" else draw(st.floats(-4, 4, width=16))
    func = draw(st.sampled_from(FUNCS))
    return func, a, b, mode, boundary, fill


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_property_matches_scipy(case):
    func, a, b, mode, boundary, fill = case
    full_out = all(p + q - 1 > 0 for p, q in zip(a.shape, b.shape))
    # scipy crashes on an empty image with wrap/symm and a non-empty output
    assume(not (0 in a.shape and boundary not in ("fill", "pad") and mode == "full" and full_out))
    try:
        ref = getattr(ss, func)(a, b, mode, boundary, fill)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fastconv, func)(a, b, mode, boundary, fill)
        return
    assert_matches(getattr(fastconv, func)(a, b, mode, boundary, fill), ref, a, b, fill)
