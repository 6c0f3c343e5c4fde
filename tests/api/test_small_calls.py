"""Small calls take a short road (issue 18): the planner's early 'direct', cached
dtype promotion, the default fill without np.array, the kernel's specialisation
picked by type. Each shortcut must give what the long road gives: the same bits,
the same exceptions, the caller's arrays untouched."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._api import rules
from fastconv._engine import dispatch, kernels
from fastconv._engine.direct import MIN_WORK_PER_THREAD, threads_for
from fastconv._runtime.threads import threads
from helpers import close, rand

DTYPES = ["f8", "f4", "i4", "i8", "u1", "i2", "c16", ">f8", "e", "?", "g", "O"]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm", "pad", "circular", "symmetric"]


def _run(f, *args, **kw):
    """``(result, None)`` or ``(None, exception)``."""
    try:
        return f(*args, **kw), None
    except Exception as e:  # noqa: BLE001  (any exception is compared)
        return None, e


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 9), n=st.integers(1, 9), k=st.integers(0, 4), l=st.integers(0, 4),
       d1=st.sampled_from(DTYPES), d2=st.sampled_from(DTYPES),
       mode=st.sampled_from(MODES + ["bad"]), boundary=st.sampled_from(BOUNDARIES + ["reflect"]),
       fillvalue=st.sampled_from([0, 2, 2.5, -1, 1j, np.float64(3)]),
       func=st.sampled_from(["convolve2d", "correlate2d"]), seed=st.integers(0, 2**16))
def test_small_calls_are_scipy(m, n, k, l, d1, d2, mode, boundary, fillvalue, func, seed):
    """Results (type, shape, values) and exceptions (type; message where scipy's is
    clear) of small problems, every dtype pair, mode and boundary, as scipy's. (in1
    is never empty: scipy crashes on wrap/symm of an empty in1.)"""
    rng = np.random.default_rng(seed)
    a = rand(rng, (m, n), d1 if d1 not in ("?", "O") else "i2").astype(d1)
    b = rand(rng, (k, l), d2 if d2 not in ("?", "O") else "i2").astype(d2)
    a0, b0 = a.copy(), b.copy()
    ref, ref_err = _run(getattr(ss, func), a, b, mode, boundary, fillvalue)
    got, err = _run(getattr(fastconv, func), a, b, mode, boundary, fillvalue)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    if ref_err is not None:
        assert type(err) is type(ref_err), (err, ref_err)
        if "fillvalue" in str(ref_err) or "flags" in str(ref_err):
            assert str(err) == str(ref_err)
        return
    assert err is None, err
    close(got, ref, a, b)


@settings(max_examples=200, deadline=None)
@given(m=st.integers(3, 40), n=st.integers(3, 40), k=st.integers(0, 3), l=st.integers(0, 3),
       dtype=st.sampled_from(["f8", "f4", "i4", "i8", "u1", "c16", "c8", "g"]),
       mode=st.integers(0, 2), flip=st.booleans(),
       boundary=st.sampled_from([0, 1, 2]), fill=st.sampled_from([0, 3]),
       nt=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_early_direct_is_the_planned_road(m, n, k, l, dtype, mode, flip, boundary, fill, nt,
                                          seed):
    """The early 'direct' of correlate_plane_method gives the bits the planner's
    road (_correlate_plane_method, gates and all) gives."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    x, w = rand(rng, (m, n), dt), rand(rng, (k, l), dt)
    out_shape, origin = rules.out_shape_and_origin(mode, flip, x.shape, w.shape)
    f = dt.type(fill)
    with threads(nt):
        got = dispatch.correlate_plane_method(x, w, out_shape, origin, boundary, f, dt)
        ref = dispatch._correlate_plane_method(x, w, out_shape, origin, boundary, f, dt,
                                               "auto", None)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


def test_result_dtype_cache_is_numpys_promotion():
    """The cached promotion, asked twice, is np.result_type's (native order), for
    numpy's own dtypes (int64 spelled 'l' and 'q' too) and for ones it skips."""
    names = ["?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d", "g",
             "F", "D", "G", "O", ">f8", ">i4", "<u2"]
    meta = np.dtype(np.float64, metadata={"unit": "m"})
    dts = [np.dtype(c) for c in names] + [meta]
    for d1 in dts:
        for d2 in dts:
            want = np.result_type(d1, d2)
            if want.kind in "iufc":
                want = want.newbyteorder("=")
            for _ in range(2):
                got = rules.result_dtype(np.empty(0, d1), np.empty(0, d2))
                assert got == want and got.char == want.char, (d1, d2, got, want)
                assert got.metadata == want.metadata


@pytest.mark.parametrize("dt", list(np.typecodes["All"]))
def test_default_fill_is_the_cast(dt):
    """fill_scalar(0, dt) (the shortcut for iufc) equals the np.array road."""
    dt = np.dtype(dt)
    try:
        want = np.array(0, dtype=dt).reshape(())[()]
    except Exception:   # noqa: BLE001  (those dtypes take the long road)
        assert dt.kind not in "iufc"
        return
    got = rules.fill_scalar(0, dt)
    assert type(got) is type(want) and got == want


def test_threads_for_is_its_formula():
    """One thread per MIN_WORK_PER_THREAD float64 multiply-adds (a 4-byte one counts
    half), at most the caller's count, at least one."""
    for n in (1, 2, 3, 8):
        with threads(n):
            for itemsize in (4, 8, 16):
                for work in [0, 1, MIN_WORK_PER_THREAD - 1, MIN_WORK_PER_THREAD,
                             2 * MIN_WORK_PER_THREAD - 1, 2 * MIN_WORK_PER_THREAD,
                             4 * MIN_WORK_PER_THREAD, 5 * MIN_WORK_PER_THREAD + 7, 1 << 30]:
                    eff = work * itemsize // 8
                    assert threads_for(work, itemsize) == max(
                        1, min(n, eff // MIN_WORK_PER_THREAD))


@pytest.mark.parametrize("ct", ["f4", "f8", "g", "i4", "i8"])
def test_specialisation_is_the_fused_choice(ct):
    """The specialisation direct_fn picks by type computes what the fused function
    picks from its arguments."""
    ct = np.dtype(ct)
    rng = np.random.default_rng(1)
    x, w = rand(rng, (7, 9), ct), np.ascontiguousarray(rand(rng, (3, 2), ct))
    got, ref = np.empty((7, 9), ct), np.empty((7, 9), ct)
    kernels.direct_fn(ct)(x, w, got, -1, -1, 2, ct.type(0), 1)
    kernels.build().correlate_valid(x, w, ref, -1, -1, 2, ct.type(0), 1)
    np.testing.assert_array_equal(got, ref)


ND_DTYPES = ["f4", "f8", "g", ">f8", "i2", "c8", "e"]
ND_METHODS = ["direct", "auto", "fft", "separable", "bad"]


def _view(a: np.ndarray, layout: str) -> np.ndarray:
    """``a``'s values in another memory layout: a copy, reversed strides, or a
    transposed copy seen back through a transpose (Fortran order)."""
    if layout == "reversed":
        return np.ascontiguousarray(a[::-1, ::-1, ::-1])[::-1, ::-1, ::-1]
    if layout == "fortran":
        return np.asfortranarray(a)
    return a.copy()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.tuples(*[st.integers(1, 9)] * 3), kshape=st.tuples(*[st.integers(1, 4)] * 3),
       d1=st.sampled_from(ND_DTYPES), d2=st.sampled_from(ND_DTYPES),
       mode=st.sampled_from(MODES + ["bad"]), method=st.sampled_from(ND_METHODS),
       func=st.sampled_from(["convolve", "correlate"]), swap=st.booleans(),
       layout=st.sampled_from(["copy", "reversed", "fortran"]), seed=st.integers(0, 2**16))
def test_planned_nd_calls_are_the_first_call(shape, kshape, d1, d2, mode, method, func, swap,
                                             layout, seed):
    """A repeated N-d call (same types, shapes, mode and method) may skip the checks
    and routing (``scipy_nd._plans``): the repeat, and a call with the same values in
    another memory layout, give the first call's bits, type and exception, and
    scipy's result; the caller's arrays are untouched."""
    from fastconv._api import scipy_nd

    rng = np.random.default_rng(seed)
    a, b = rand(rng, shape, d1), rand(rng, kshape, d2)
    if swap:
        a, b = b, a
    f = getattr(fastconv, func)
    scipy_nd._plans.clear()
    first, err = _run(f, a, b, mode, method)
    keep = (a.copy(), b.copy())
    for x, y in ((a, b), (_view(a, layout), _view(b, layout))):
        got, err2 = _run(f, x, y, mode, method)
        assert type(err2) is type(err)
        if err is None:
            assert got.dtype == first.dtype and got.shape == first.shape
            np.testing.assert_array_equal(got, first)
    np.testing.assert_array_equal(a, keep[0])
    np.testing.assert_array_equal(b, keep[1])
    if err is None and d1 != "e" and d2 != "e":
        sm = "direct" if method == "separable" else method
        close(first, getattr(ss, func)(a, b, mode, sm), a, b)


@pytest.mark.parametrize("swap", [False, True], ids=["volume-first", "kernel-first"])
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
def test_a_repeated_nd_call_takes_its_plan(monkeypatch, func, mode, swap):
    """The second float32 3-D 'direct' call with the same types and shapes runs from
    its plan: the routing (correlate_nd) is not called again, and the result holds
    the first call's bits, also where scipy swaps the inputs ('full' and 'valid' with
    the kernel first). A correlation that swaps (its result reversed) is not
    planned."""
    from fastconv._api import scipy_nd

    rng = np.random.default_rng(3)
    a, b = rand(rng, (6, 9, 20), "f4"), rand(rng, (3, 3, 4), "f4")
    if swap:
        a, b = b, a
    f = getattr(fastconv, func)
    scipy_nd._plans.clear()
    first = f(a, b, mode, method="direct")
    close(first, getattr(ss, func)(a, b, mode, "direct"), a, b)
    planned = not (swap and mode != "same" and func == "correlate")
    assert len(scipy_nd._plans) == planned

    def routed(*args):
        raise AssertionError("a planned call was routed again")
    monkeypatch.setattr(scipy_nd, "correlate_nd", routed)
    if planned:
        np.testing.assert_array_equal(f(a, b, mode, method="direct"), first)
    with pytest.raises(AssertionError):     # another shape: no plan yet
        f(*((a, b[:, :-1]) if swap else (a[:, :-1], b)), mode, method="direct")
