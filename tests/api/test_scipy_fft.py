"""fftconvolve / oaconvolve (with axes and broadcasting) against scipy."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from helpers import close, rand

MODES = ["full", "same", "valid"]
CASES = [  # (shape1, shape2, axes)
    ((1000,), (31,), None), ((31,), (1000,), None), ((50, 40), (7, 5), None),
    ((4, 300), (1, 25), 1), ((4, 300), (4, 25), -1), ((1, 300), (3, 25), 1),
    ((6, 30, 20), (1, 5, 4), (1, 2)), ((6, 30, 20), (6, 5, 4), [2, 1]),
    ((5, 6, 7), (3, 4, 2), None), ((8, 9, 10), (2, 1, 3), (0, 2)),
    ((3, 500, 2), (1, 40, 1), 1), ((300, 3), (20, 1), 0), ((12, 12), (12, 12), None),
    ((1, 5), (1, 3), 0),
]


def _check(func, a, b, mode, axes):
    """Our result matches scipy's, or both refuse the arguments with ValueError."""
    try:
        ref = getattr(ss, func)(a, b, mode, axes)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fastconv, func)(a, b, mode, axes)
        return
    close(getattr(fastconv, func)(a, b, mode, axes), ref, a, b)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.int32],
                         ids=lambda d: np.dtype(d).name)
def test_matches_scipy(func, mode, case, dtype):
    s1, s2, axes = case
    rng = np.random.default_rng(len(s1) + s2[0])
    a, b = rand(rng, s1, dtype), rand(rng, s2, dtype)
    _check(func, a, b, mode, axes)


def test_mixed_dtypes_promote_like_scipy():
    rng = np.random.default_rng(0)
    for d1, d2 in [(np.int32, np.float32), (np.float32, np.float64), (np.complex64, np.float32),
                   (np.int8, np.uint8), (np.float32, np.complex128)]:
        a, b = rand(rng, (200,), d1), rand(rng, (9,), d2)
        for func in ("fftconvolve", "oaconvolve"):
            close(getattr(fastconv, func)(a, b), getattr(ss, func)(a, b), a, b)


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("args", [
    (np.array(2.0), np.array(3.0)), (np.ones(0), np.ones(3)), (np.ones(4, bool), np.ones(2, bool)),
    (np.ones(6, np.float16), np.ones(3, np.float16)), (np.ones(6, np.longdouble), np.ones(3)),
], ids=["0d", "empty", "bool", "float16", "longdouble"])
def test_degenerate_like_scipy(func, args):
    ref = getattr(ss, func)(*args)
    got = getattr(fastconv, func)(*args)
    assert np.asarray(got).dtype == np.asarray(ref).dtype
    np.testing.assert_allclose(got, ref)


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("kw", [
    dict(axes=5), dict(axes=[0, 0]), dict(axes=[]), dict(axes=1.5), dict(axes="x"),
    dict(mode="bad"), dict(axes=0),
], ids=str)
def test_errors_like_scipy(func, kw):
    a, b = np.ones((4, 5)), np.ones((2, 3))
    with pytest.raises(ValueError) as ref:
        getattr(ss, func)(a, b, **kw)
    with pytest.raises(ValueError, match=str(ref.value)[:20].replace("(", r"\(")):
        getattr(fastconv, func)(a, b, **kw)
    with pytest.raises(ValueError, match="dimensionality"):
        getattr(fastconv, func)(np.ones(3), np.ones((2, 2)))


@settings(max_examples=50, deadline=None)
@given(data=st.data(), func=st.sampled_from(["fftconvolve", "oaconvolve"]),
       mode=st.sampled_from(MODES))
def test_property_axes_and_broadcasting(data, func, mode):
    ndim = data.draw(st.integers(1, 3))
    s1 = data.draw(st.tuples(*[st.integers(1, 12)] * ndim))
    s2 = tuple(data.draw(st.sampled_from(sorted({1, n, max(1, n // 2), n + 3}))) for n in s1)
    axes = data.draw(st.one_of(st.none(), st.lists(st.integers(-ndim, ndim - 1), min_size=1,
                                                   max_size=ndim, unique_by=lambda v: v % ndim)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    a, b = rand(rng, s1, np.float64), rand(rng, s2, np.float64)
    _check(func, a, b, mode, axes)
