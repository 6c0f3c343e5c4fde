"""The N-d direct kernel (csrc/_nd_direct.pxi, _engine.nd.correlate_direct_nd)
against scipy.signal's direct sums: every mode, odd and even kernels, kernels
larger than the input, 3-D to 5-D, integer wrap-around, non-finite values, thread
counts and instruction-set builds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._engine import kernels, nd, plan
from helpers import assert_matches, close, rand, rand_full_range

MODES = ["full", "same", "valid"]
SHAPES = [
    ((9, 8, 10), (3, 3, 3)), ((9, 8, 10), (2, 4, 2)),       # odd and even kernels
    ((4, 5, 6), (6, 7, 8)),                                  # kernel larger than x
    ((3, 40, 70), (5, 1, 9)), ((17, 3, 2), (4, 2, 3)),       # wide rows, narrow rows
    ((1, 1, 33), (1, 1, 5)), ((6, 7, 1), (3, 3, 1)),         # degenerate axes
    ((3, 4, 5, 6), (2, 3, 2, 3)), ((2, 5, 3, 9), (3, 2, 4, 2)),
    ((3, 2, 3, 4, 5), (2, 2, 1, 3, 2)),
]
DTYPES = [np.float32, np.float64, np.longdouble, np.int8, np.uint16, np.int32, np.int64]


def _ref(func, a, b, mode):
    return getattr(ss, func)(a, b, mode, method="direct")


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matches_scipy(func, mode, shapes, dtype):
    rng = np.random.default_rng(sum(shapes[0]) + 3 * sum(shapes[1]))
    a, b = rand(rng, shapes[0], dtype), rand(rng, shapes[1], dtype)
    try:
        ref = _ref(func, a, b, mode)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fastconv, func)(a, b, mode, method="direct")
        return
    close(getattr(fastconv, func)(a, b, mode, method="direct"), ref, a, b)


def test_the_nd_kernel_runs(monkeypatch):
    """The N-d road reaches the one-call kernel (not the per-plane sum) for real
    types and the slice sum for complex ones."""
    seen = []
    real = nd._direct_nd
    monkeypatch.setattr(nd, "_direct_nd", lambda *a: seen.append(a[4]) or real(*a))
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.int16, np.complex64):
        fastconv.convolve(rand(rng, (5, 6, 7, 8), dt), rand(rng, (2, 3, 2, 3), dt))
    assert seen == [np.dtype(np.float32), np.dtype(np.int16)]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32,
                                   np.int64, np.uint64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", MODES)
def test_integer_wraparound_is_exact(dtype, mode):
    rng = np.random.default_rng(5)
    a = rand_full_range(rng, (6, 9, 20), dtype)
    b = rand_full_range(rng, (3, 4, 5), dtype)
    for func in ("convolve", "correlate"):
        got = getattr(fastconv, func)(a, b, mode)
        np.testing.assert_array_equal(got, _ref(func, a, b, mode))
        assert got.dtype == np.dtype(dtype)


@pytest.mark.parametrize("shapes", [((7, 8, 20), (3, 4, 3)), ((3, 4, 5, 6), (2, 3, 2, 3))],
                         ids=str)
@pytest.mark.parametrize("where", ["kernel", "input"])
@pytest.mark.parametrize("mode", MODES)
def test_nonfinite_values_as_the_padded_sum(where, mode, shapes):
    """A non-finite kernel times padding gives NaN as in scipy's padded sum (so
    planes of padding are summed, not skipped); a non-finite input stays local."""
    rng = np.random.default_rng(6)
    a, b = rand(rng, shapes[0], np.float64), rand(rng, shapes[1], np.float64)
    if where == "kernel":
        b.flat[5], b.flat[b.size - 2] = np.inf, np.nan
    else:
        a.flat[a.size // 2], a.flat[0] = -np.inf, np.nan
    for func in ("convolve", "correlate"):
        got = getattr(fastconv, func)(a, b, mode, method="direct")
        assert_matches(got, _ref(func, a, b, mode), a, b)


def test_strided_and_reversed_inputs():
    rng = np.random.default_rng(7)
    a = rand(rng, (8, 12, 14, 30), np.float32)[::-1, ::2, :, ::-3]
    b = rand(rng, (3, 6, 3, 4), np.float32).transpose(0, 2, 1, 3)[:, :, ::-1]
    for mode in MODES:
        for func in ("convolve", "correlate"):
            close(getattr(fastconv, func)(a, b, mode, method="direct"),
                  _ref(func, a, b, mode), a, b)


def test_inputs_not_modified():
    rng = np.random.default_rng(8)
    a, b = rand(rng, (5, 6, 7), np.int16), rand(rng, (2, 3, 4), np.int16)
    a0, b0 = a.copy(), b.copy()
    fastconv.convolve(a, b, "same", method="direct")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


# Shapes whose tiles split differently with 1, 2 and 3 threads: odd plane and row
# counts (single-plane and single-row blocks), rows narrower than one vector,
# more than one group of planes (4-D).
THREAD_CASES = [((33, 37, 70), (3, 3, 3)), ((7, 65, 5), (4, 5, 2)),
                ((3, 9, 11, 40), (2, 3, 3, 5)), ((64, 64, 64), (5, 5, 5))]


@pytest.mark.parametrize("case", THREAD_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32],
                         ids=lambda d: np.dtype(d).name)
def test_thread_count_does_not_change_results(isa, case, dtype):
    rng = np.random.default_rng(9)
    a, b = rand(rng, case[0], dtype), rand(rng, case[1], dtype)
    results = []
    for nt in (1, 2, 3):
        with fastconv.threads(nt):
            results.append(fastconv.convolve(a, b, "same", method="direct"))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    close(results[0], _ref("convolve", a, b, "same"), a, b)


@pytest.mark.parametrize("nthreads", [1, 2, 4])
def test_tiles_fit_the_cache_and_share_out(nthreads):
    mod = kernels.build()
    for (U, G, Az, K, L, Oz, Ho, Wo) in [(1, 1, 3, 3, 3, 64, 64, 64), (1, 1, 9, 9, 9, 32, 64, 64),
                                         (1, 1, 5, 5, 5, 128, 128, 128), (4, 3, 3, 3, 3, 8, 40, 40),
                                         (1, 1, 3, 3, 3, 1, 2, 1000)]:
        Tz, T = mod.nd_tiling(4, U, G, Az, K, L, Oz, Ho, Wo, nthreads)
        assert 1 <= Tz <= Oz and 1 <= T <= Ho
        tasks = U * math.ceil(Oz / Tz) * math.ceil(Ho / T)
        assert tasks >= min(nthreads, U * Oz * Ho)
        # the tile's ring, Az + 1 planes (one pair of output planes' inputs), fits
        # (where none can: test_wide_planes_with_no_ring_that_fits)
        rows = G * min(Tz + Az - 1, Az + 1) * (T + K - 1)
        assert rows * (Wo + L - 1) * 4 <= 512 * 1024


@pytest.mark.parametrize("nthreads", [1, 2])
def test_wide_planes_with_no_ring_that_fits(isa, nthreads):
    """Planes so wide that no ring of a tile fits the L2 budget take tiles of the
    whole depth and 2 (K - 1) rows (tiles of one plane and one row copied Az x K rows
    per output row); the results are scipy's, the same bits on 1 and 2 threads."""
    mod = kernels.build()
    assert mod.nd_tiling(4, 1, 1, 3, 3, 3, 5, 10, 20000, 1) == (5, 4)
    Tz, T = mod.nd_tiling(4, 1, 1, 9, 9, 9, 8, 2048, 2048, 2)
    assert T >= 8 and Tz * T > 1
    rng = np.random.default_rng(15)
    a, b = rand(rng, (5, 10, 20000), np.float32), rand(rng, (3, 3, 3), np.float32)
    with fastconv.threads(nthreads):
        got = fastconv.convolve(a, b, "same", method="direct")
    with fastconv.threads(1):
        one = fastconv.convolve(a, b, "same", method="direct")
    np.testing.assert_array_equal(got, one)
    close(got, _ref("convolve", a, b, "same"), a, b)


@pytest.mark.parametrize("nthreads", [2, 3])
def test_small_volumes_get_several_tiles_a_thread(nthreads):
    """A multi-threaded call is cut into at least two tiles a thread where the
    volume allows (32 x 64 x 64 with a 3^3 kernel was one tile a thread), along the
    axis that copies fewer halo rows; one thread keeps the cache-sized tiles."""
    mod = kernels.build()
    for (Oz, Ho) in [(32, 64), (64, 64), (16, 16), (2, 40), (1, 3)]:
        Tz, T = mod.nd_tiling(4, 1, 1, 3, 3, 3, Oz, Ho, 64, nthreads)
        tasks = math.ceil(Oz / Tz) * math.ceil(Ho / T)
        assert tasks >= min(2 * nthreads, Oz * Ho), (Oz, Ho)
    # one thread: the whole volume is one tile (its ring of 4 planes fits L2), at
    # any depth (tiles of 47 planes were once picked for 48, making two of 24)
    for Oz in (32, 48, 63, 64, 65, 100):
        assert mod.nd_tiling(4, 1, 1, 3, 3, 3, Oz, 64, 64, 1) == (Oz, 64)
    # planes of 3 taps along a long axis, rows of 9: the planes are cut
    Tz, T = mod.nd_tiling(4, 1, 1, 3, 9, 9, 64, 12, 64, nthreads)
    assert T == 12 and Tz < 64
    # tiles of whole planes where cutting the planes copies about as much halo as
    # cutting the rows (1.06-1.24x faster); 8 planes of 128^2 still cut rows
    for Oz in (32, 64):
        assert mod.nd_tiling(4, 1, 1, 3, 3, 3, Oz, 64, 64, nthreads)[1] == 64
    assert mod.nd_tiling(4, 1, 1, 3, 3, 3, 8, 128, 128, nthreads)[0] == 8


@pytest.mark.parametrize("per_thread", [1, 3, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.int32], ids=lambda d: np.dtype(d).name)
def test_tiling_does_not_change_results(isa, per_thread, dtype):
    """Any number of tiles a thread gives the same bits (each output's sum runs in
    one order whatever tile computes it), and scipy's result (exact for integers)."""
    mod = kernels.build()
    rng = np.random.default_rng(12)
    a, b = rand(rng, (21, 45, 40), dtype), rand(rng, (3, 3, 3), dtype)
    with fastconv.threads(2):
        ref = fastconv.convolve(a, b, "same", method="direct")
        old = mod.set_nd_tasks_per_thread(per_thread)
        try:
            got = fastconv.convolve(a, b, "same", method="direct")
        finally:
            mod.set_nd_tasks_per_thread(old)
    np.testing.assert_array_equal(got, ref)
    close(got, _ref("convolve", a, b, "same"), a, b)
    with pytest.raises(ValueError):
        mod.set_nd_tasks_per_thread(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint16,
                                   np.uint8, np.longdouble], ids=lambda d: np.dtype(d).name)
def test_streamed_results_are_the_same_bits(isa, dtype):
    """Results stored past the caches (set_nd_stream_bytes(0): every call) hold the
    same bits as cached stores, at any thread count, into an aligned result and
    into one a sample off alignment (the streamed stores fall back to plain ones),
    rows a whole number of vectors or not; and scipy's result."""
    mod = kernels.build()
    ct = np.dtype(dtype)
    lanes = nd.compute_dtype(ct)    # uint8: 16-bit lanes, each result's low byte stored
    fn = nd._nd_kernel(mod, lanes, cast=lanes != ct)
    rng = np.random.default_rng(14)
    for shape in [(9, 33, 64), (7, 20, 131), (3, 5, 9)]:
        x, w = rand(rng, shape, dtype), rand(rng, (3, 3, 3), dtype)
        ref = _ref("correlate", x, w, "same")
        wl = np.ascontiguousarray(w[None], dtype=lanes)
        runs = []
        for stream in (False, True):
            old = mod.set_nd_stream_bytes(0 if stream else 1 << 62)
            try:
                for nt in (1, 2, 3):
                    for skew in (0, 1):
                        # a 64-byte aligned block, the result `skew` samples into it
                        raw = np.empty(math.prod(shape) * ct.itemsize + 128, np.uint8)
                        at = -raw.ctypes.data % 64 + skew * ct.itemsize
                        out = raw[at:at + math.prod(shape) * ct.itemsize].view(ct)
                        out = out.reshape((1,) + shape)
                        fn(x, nd._ONE_VOLUME, wl, out, -1, -1, -1, 1, nt)
                        runs.append(out[0].copy())
            finally:
                mod.set_nd_stream_bytes(old)
        for r in runs:
            np.testing.assert_array_equal(r, runs[0])
        close(runs[0], ref, x, w)
    with pytest.raises(ValueError):
        mod.set_nd_stream_bytes(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8],
                         ids=lambda d: np.dtype(d).name)
def test_shifted_column_taps_are_the_same_bits(isa, dtype):
    """3-tap rows with their column taps shifted out of aligned vectors (the default
    on Zen 5) hold the same bits as with the taps loaded, on every ISA build: rows
    narrower than a vector, whole vectors, a chunk and a remainder, several chunks;
    kernels 3 wide with other depths and heights, a 4-D input (several kernel
    groups), every mode, 1-3 threads; and scipy's result."""
    mod = kernels.build()
    rng = np.random.default_rng(15)
    cases = [((5, 9, 3), (3, 3, 3)), ((6, 17, 64), (3, 3, 3)), ((4, 11, 100), (2, 5, 3)),
             ((3, 7, 150), (3, 1, 3)), ((2, 6, 20, 37), (2, 3, 3, 3)), ((4, 9, 70), (3, 3, 5))]
    for shape, kshape in cases:
        x, w = rand(rng, shape, dtype), rand(rng, kshape, dtype)
        for mode in ("full", "same", "valid"):
            runs = []
            for shifted in (False, True):
                old = mod.set_shifted_taps(shifted)
                try:
                    for nt in (1, 2, 3):
                        with fastconv.threads(nt):
                            runs.append(fastconv.convolve(x, w, mode, method="direct"))
                finally:
                    mod.set_shifted_taps(old)
            for r in runs:
                np.testing.assert_array_equal(r, runs[0])
            close(runs[0], _ref("convolve", x, w, mode), x, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.longdouble],
                         ids=lambda d: np.dtype(d).name)
def test_kernel_checks_the_weights_for_skipping(dtype):
    """skip_zero_planes=-1: the kernel skips planes of padding only for a finite
    kernel (it checks the weights itself): the same bits as the caller's 1 for a
    finite kernel and its 0 for one with an inf, whose product with padding is NaN."""
    mod = kernels.build()
    ct = np.dtype(dtype)
    fn = nd._nd_kernel(mod, ct)
    rng = np.random.default_rng(13)
    x = rand(rng, (4, 5, 19), dtype)
    w = rand(rng, (1, 3, 3, 3), dtype)

    def run(wk, skip):
        out = np.empty((1, 4, 5, 19), ct)
        fn(x, nd._ONE_VOLUME, wk, out, -1, -1, -1, skip, 1)
        return out

    np.testing.assert_array_equal(run(w, -1), run(w, 1))
    wi = w.copy()
    wi[0, 2, 1, 1] = np.inf     # meets the padding plane after the last one
    got = run(wi, -1)
    np.testing.assert_array_equal(got, run(wi, 0))
    assert np.isnan(got[0, -1]).any() and not np.isnan(run(wi, 1)[0, -1]).any()


def test_plan_prefers_direct_for_small_kernels_and_fft_for_large():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((64, 64, 64)).astype(np.float32)
    # 9^3 is the crossover once the N-d FFT is overlap-save (both ~3.5 ms on 64^3)
    for k, expect in [(3, "direct"), (5, "direct"), (7, "direct"), (25, "fft")]:
        w = np.ones((k, k, k), np.float32)
        out_shape = x.shape
        assert nd._choose_nd(x, w, out_shape, x.dtype) == expect, k
    a = plan.direct_nd_cost((64, 64, 64), (5, 5, 5), np.dtype(np.float32))
    b = plan.direct_nd_cost((64, 64, 64), (7, 7, 7), np.dtype(np.float32))
    assert 0 < a < b


@settings(max_examples=40, deadline=None)
@given(data=st.data(), ndim=st.integers(3, 4), mode=st.sampled_from(MODES),
       func=st.sampled_from(["convolve", "correlate"]),
       dtype=st.sampled_from([np.float64, np.int32, np.uint8]))
def test_property_matches_scipy(data, ndim, mode, func, dtype):
    xs = data.draw(st.tuples(*[st.integers(1, 7)] * ndim))
    ks = data.draw(st.tuples(*[st.integers(1, 5)] * ndim))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a, b = rand(rng, xs, dtype), rand(rng, ks, dtype)
    try:
        ref = _ref(func, a, b, mode)
    except ValueError:
        return
    close(getattr(fastconv, func)(a, b, mode, method="direct"), ref, a, b)


# ---- the folded 1-D loop (oned: a long signal as overlapping rows) ----

@pytest.mark.parametrize("L", [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_folded_1d_matches_numpy_and_threads(isa, L, dtype):
    rng = np.random.default_rng(L)
    x = rng.standard_normal(70_001).astype(dtype)
    h = rng.standard_normal(L).astype(dtype)
    results = []
    for nt in (1, 2, 3):
        with fastconv.threads(nt):
            results.append(fastconv.convolve(x, h, "same"))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    close(results[0], ss.convolve(x.astype(np.float64), h.astype(np.float64), "same",
                                  method="direct").astype(dtype), x, h)


def test_folded_1d_declines_what_it_does_not_compute():
    mod = kernels.build()
    x = np.arange(10_000, dtype=np.float32)
    xv = np.lib.stride_tricks.as_strided(x, (9, 1030), (4096, 4))
    out = np.zeros((9, 1000), np.float32)
    assert not mod.correlate_folded(xv, np.ones(300, np.float32), out, 1)   # long kernel
    assert not mod.correlate_folded(xv[:, ::2], np.ones(3, np.float32), out[:, :400], 1)
    assert not (out != 0).any()                   # declined: nothing written
    assert mod.correlate_folded(xv, np.ones(3, np.float32), out, 2)
    np.testing.assert_array_equal(out[:, 0], x[:9 * 1024:1024] * 3 + 3)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("func", ["convolve1d", "correlate1d"])
def test_folded_rows_along_an_axis(func, axis):
    """convolve1d / correlate1d fold each of a few long rows (the 1-D loop) along
    either axis: scipy's result on every slice, whatever the thread count."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 40_000)).astype(np.float32)
    x = x if axis == 1 else np.ascontiguousarray(x.T)
    h = rng.standard_normal(21).astype(np.float32)
    ref = np.moveaxis(np.stack([getattr(ss, func[:-2])(s, h, "same", method="direct")
                                for s in np.moveaxis(x, axis, -1)]), -1, axis)
    outs = []
    for nt in (1, 2):
        with fastconv.threads(nt):
            outs.append(getattr(fastconv, func)(x, h, axis, "same"))
    np.testing.assert_array_equal(outs[0], outs[1])
    close(outs[0], ref, x, h)
