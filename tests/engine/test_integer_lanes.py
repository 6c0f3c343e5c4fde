"""Integers at their own width: results computed in the narrowest lanes that hold
their bits (16-bit lanes for 8- and 16-bit results), the image converted in the
tiles, the output written in its own type; bit-exact against scipy's wrap-around.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._engine import kernels
from fastconv._engine.direct import compute_dtype
from helpers import assert_matches, rand_full_range

INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm"]
FUNCS = {"convolve2d": (fastconv.convolve2d, ss.convolve2d),
         "correlate2d": (fastconv.correlate2d, ss.correlate2d)}


def _both(name, a, b, **kw):
    ours, ref = FUNCS[name]
    return ours(a, b, **kw), ref(a, b, **kw)


@pytest.mark.parametrize("dtype", INTS, ids=lambda d: np.dtype(d).name)
def test_lanes_are_the_narrowest_that_hold_the_result(dtype):
    bits = np.dtype(dtype).itemsize * 8
    want = {8: np.uint16, 16: np.uint16, 32: np.int32, 64: np.int64}[bits]
    assert compute_dtype(np.dtype(dtype)) == want


@pytest.mark.parametrize("ksize", [(1, 1), (3, 3), (5, 5), (4, 7), (2, 9)], ids=str)
@pytest.mark.parametrize("dtype", INTS, ids=lambda d: np.dtype(d).name)
def test_every_integer_type_mode_boundary_wraps_like_scipy(dtype, ksize):
    """Values over each type's whole range, so sums wrap at every width; rows
    wider than one chunk of 16-bit lanes (256 on AVX-512) and narrower ones."""
    rng = np.random.default_rng(sum(ksize) * 31 + np.dtype(dtype).num)
    a = rand_full_range(rng, (23, 301), dtype)
    b = rand_full_range(rng, ksize, dtype)
    fill = np.iinfo(dtype).max // 3
    for name in FUNCS:
        for mode in MODES:
            for boundary in BOUNDARIES:
                got, ref = _both(name, a, b, mode=mode, boundary=boundary, fillvalue=fill)
                assert_matches(got, ref)


# Mixed pairs: the image is converted in the tile from its own type to the lanes
# of the result type (numpy's promotion), integer or float.
MIXED = [(np.uint8, np.int8), (np.int8, np.uint8), (np.uint8, np.int16), (np.uint8, np.uint16),
         (np.int8, np.int16), (np.bool_, np.int8), (np.uint8, np.int32), (np.int16, np.int64),
         (np.uint32, np.int32), (np.uint8, np.float32), (np.int16, np.float32),
         (np.uint16, np.float64), (np.int32, np.float32), (np.int64, np.float64),
         (np.uint64, np.float64), (np.float32, np.float64), (np.uint8, np.complex64)]


@pytest.mark.parametrize("pair", MIXED, ids=lambda p: f"{np.dtype(p[0]).name}-{np.dtype(p[1]).name}")
def test_mixed_types_convert_in_the_tile(pair):
    rng = np.random.default_rng(5)
    ta, tb = pair
    a = rng.integers(0, 2, (19, 283)).astype(ta) if ta is np.bool_ else \
        rand_full_range(rng, (19, 283), ta)
    b = rand_full_range(rng, (3, 4), tb) if np.dtype(tb).kind in "iu" else \
        rng.integers(-5, 6, (3, 4)).astype(tb)
    for name in FUNCS:
        for mode in MODES:
            for boundary in BOUNDARIES:
                got, ref = _both(name, a, b, mode=mode, boundary=boundary)
                assert_matches(got, ref, a, b)
    # and with the image as the second argument (the kernel converted, not the image)
    got, ref = _both("correlate2d", b[:2, :2], a, mode="full")
    assert_matches(got, ref, b, a)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.int64])
def test_each_lane_width_on_every_build(isa, dtype):
    """Every ISA build's 16-, 32- and 64-bit lanes, straight and converting (an
    8-bit image into int32 lanes), on strided and byte-swapped images."""
    rng = np.random.default_rng(11)
    a = rand_full_range(rng, (41, 599), dtype)
    b = rand_full_range(rng, (5, 5), dtype)
    for x in (a, a[::2, ::-3], a.astype(a.dtype.newbyteorder()), a.T):
        for mode in ("same", "valid"):
            got, ref = _both("convolve2d", x, b, mode=mode, boundary="symm")
            assert_matches(got, ref)
            got, ref = _both("correlate2d", x, b.astype(np.int32), mode=mode)
            assert_matches(got, ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16])
def test_separable_and_fft_paths_are_exact_at_8_and_16_bits(dtype):
    """The fused separable kernel (converting and storing low bytes in its strips)
    and the FFT path (rounding block by block) give scipy's wrapped integers."""
    rng = np.random.default_rng(3)
    a = rand_full_range(rng, (150, 700), dtype)
    u, v = rng.integers(1, 4, 7), rng.integers(1, 4, 9)
    sep = np.outer(u, v).astype(dtype)
    for boundary in BOUNDARIES:
        got = fastconv.convolve2d(a, sep, "same", boundary, method="separable")
        assert_matches(got, ss.convolve2d(a, sep, "same", boundary))
    small = rng.integers(0, 3, (150, 700)).astype(dtype)
    big = rng.integers(0, 3, (41, 41)).astype(dtype)
    assert fastconv.choose_method(small, big, "same") == "fft"
    got = fastconv.convolve2d(small, big, "same", method="fft")
    assert_matches(got, ss.convolve2d(small, big, "same"))


@settings(max_examples=60, deadline=None)
@given(dt1=st.sampled_from(INTS + [np.bool_]), dt2=st.sampled_from(INTS),
       h=st.integers(1, 30), w=st.integers(1, 300), k=st.integers(1, 6), l_=st.integers(1, 6),
       mode=st.sampled_from(MODES), boundary=st.sampled_from(BOUNDARIES),
       seed=st.integers(0, 2**32 - 1))
def test_property_integer_pairs_match_scipy(dt1, dt2, h, w, k, l_, mode, boundary, seed):
    if np.result_type(dt1, dt2).kind == "f":
        dt2 = dt1 if dt1 is not np.bool_ else np.int8    # int64 with uint64 gives float64
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, (h, w)).astype(dt1) if dt1 is np.bool_ else \
        rand_full_range(rng, (h, w), dt1)
    b = rand_full_range(rng, (k, l_), dt2)
    if mode == "valid" and (k > h or l_ > w) and not (k >= h and l_ >= w):
        return      # scipy's error case, covered in tests/api
    got, ref = _both("convolve2d", a, b, mode=mode, boundary=boundary)
    assert_matches(got, ref)


def test_inputs_are_not_modified_and_outputs_are_fresh():
    rng = np.random.default_rng(2)
    a = rand_full_range(rng, (64, 300), np.uint8)
    b = rand_full_range(rng, (5, 5), np.int8)
    a0, b0 = a.copy(), b.copy()
    out1 = fastconv.convolve2d(a, b, "same")
    out2 = fastconv.convolve2d(a, b, "same")
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    assert not np.shares_memory(out1, out2) and not np.shares_memory(out1, a)


_MEMORY_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, fastconv
    def hwm():
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM'):
                return int(line.split()[1]) * 1024
    def rss():
        for line in open('/proc/self/status'):
            if line.startswith('VmRSS'):
                return int(line.split()[1]) * 1024
    n = 4096
    rng = np.random.default_rng(0)
    ints = lambda dt, s: rng.integers(0, 100, s).astype(dt)
    cases = {'uint8': (ints(np.uint8, (n, n)), ints(np.uint8, (5, 5))),
             'int16': (ints(np.int16, (n, n)), ints(np.int16, (5, 5))),
             'uint8-float32': (ints(np.uint8, (n, n)), ints(np.float32, (5, 5))),
             'float32': (ints(np.float32, (n, n)), ints(np.float32, (5, 5))),
             'nd-uint8': (ints(np.uint8, (256, 256, 256)), ints(np.uint8, (3, 3, 3)))}
    x, w = cases[sys.argv[1]]
    f = fastconv.convolve if x.ndim == 3 else fastconv.convolve2d
    f(x[(slice(0, 1024 if x.ndim == 2 else 64),) * x.ndim], w, 'same')   # imports, pool threads
    open('/proc/self/clear_refs', 'w').write('5')
    base = rss()
    out = f(x, w, 'same')
    print((hwm() - base) / out.nbytes)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
@pytest.mark.parametrize("case", ["uint8", "int16", "uint8-float32", "float32", "nd-uint8"])
def test_extra_memory_is_the_output_plus_tile_buffers(case):
    """One 4096^2 5x5 call's (and a 256^3 uint8 volume's) peak extra memory (VmHWM
    in a fresh process) is at most 1.25x its output: no converted copy of the
    image, no wider result."""
    try:
        open("/proc/self/clear_refs", "w").write("5")
    except OSError:
        pytest.skip("cannot reset VmHWM here")
    res = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, case], capture_output=True,
                         text=True, cwd=tempfile.gettempdir(), check=True)
    ratio = float(res.stdout.split()[-1])
    assert ratio <= 1.25, f"{case}: extra peak memory {ratio:.2f}x the output"


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.skipif(os.environ.get("FASTCONV_HUGE_TESTS") == "0" or _available_bytes() < 8 << 30,
                    reason="needs 8 GB free (FASTCONV_HUGE_TESTS=0 skips it)")
def test_uint8_image_of_more_than_2_31_pixels():
    """A uint8 image past 2**31 elements (~30 s on 2 cores, 4.3 GB): rows and
    columns at the far end agree with scipy on slabs (offsets past 2**31 must not
    wrap inside the kernel)."""
    n = 46341                                        # n * n > 2**31
    x = np.empty((n, n), np.uint8)
    cols = np.arange(n, dtype=np.uint8) * np.uint8(13)
    for r0 in range(0, n, 4096):                     # a pattern, filled in slabs
        rows = np.arange(r0, min(n, r0 + 4096)).astype(np.uint8) * np.uint8(7)
        np.add(rows[:, None], cols[None, :], out=x[r0:r0 + 4096])
    w = np.arange(1, 26, dtype=np.uint8).reshape(5, 5)
    out = fastconv.convolve2d(x, w, "same")
    for rows, cols in (((n - 40, n), (0, 500)), ((n - 40, n), (n - 500, n)),
                       ((0, 40), (n - 500, n))):
        (r0, r1), (c0, c1) = rows, cols
        y0, x0 = max(0, r0 - 2), max(0, c0 - 2)
        ref = ss.convolve2d(x[y0:r1 + 2, x0:c1 + 2], w, "same")
        np.testing.assert_array_equal(out[r0:r1, c0:c1],
                                      ref[r0 - y0:r1 - y0, c0 - x0:c1 - x0])


@pytest.mark.parametrize("pair", [(np.float32, np.complex64), (np.float64, np.complex128),
                                  (np.float32, np.complex128), (np.int16, np.complex64),
                                  (np.float64, np.clongdouble)],
                         ids=lambda p: f"{np.dtype(p[0]).name}-{np.dtype(p[1]).name}")
@pytest.mark.parametrize("ksize", [(3, 3), (9, 9)], ids=["interleaved", "gauss"])
def test_real_image_with_complex_kernel(pair, ksize):
    """A real image reaches the complex loops as its own plane and a shared zero
    imaginary plane (no complex copy); with a NaN it takes C99's products."""
    rng = np.random.default_rng(8)
    a = rng.integers(-50, 50, (40, 300)).astype(pair[0])
    b = (rng.standard_normal(ksize) + 1j * rng.standard_normal(ksize)).astype(pair[1])
    for boundary in BOUNDARIES:
        got, ref = _both("convolve2d", a, b, mode="same", boundary=boundary, fillvalue=2)
        assert_matches(got, ref, a, b, 2)
    if a.dtype.kind == "f":
        a[5, 7] = np.nan
        got, ref = _both("correlate2d", a, b, mode="same")
        assert_matches(got, ref, a, b)


ND_PAIRS = [(np.uint8, np.uint8), (np.int8, np.int16), (np.uint8, np.float32),
            (np.int16, np.float64), (np.uint16, np.int32), (np.float32, np.float64),
            (np.bool_, np.int8)]


@pytest.mark.parametrize("pair", ND_PAIRS, ids=lambda p: f"{np.dtype(p[0]).name}-{np.dtype(p[1]).name}")
@pytest.mark.parametrize("shapes", [((9, 10, 70), (3, 3, 3)), ((3, 5, 6, 40), (2, 3, 2, 4))],
                         ids=["3-d", "4-d"])
def test_nd_volumes_convert_in_the_tiles(pair, shapes):
    """N-d volumes in their own type (the N-d kernel converts rows as its tiles copy
    them), straight, strided and byte-swapped, against scipy.signal."""
    rng = np.random.default_rng(6)
    ta, tb = pair
    a = rng.integers(0, 2, shapes[0]).astype(ta) if ta is np.bool_ else \
        rand_full_range(rng, shapes[0], ta)
    b = rand_full_range(rng, shapes[1], tb) if np.dtype(tb).kind in "iu" else \
        rng.integers(-4, 5, shapes[1]).astype(tb)
    for x in (a, a[..., ::-2], a.astype(a.dtype.newbyteorder())):
        for mode in MODES:
            got = fastconv.convolve(x, b, mode, method="direct")
            assert_matches(got, ss.convolve(x, b, mode, method="direct"), x, b)
        got = fastconv.correlate(x, b, "same")
        assert_matches(got, ss.correlate(x, b, "same", method="direct"), x, b)
