"""Every direct kernel path (Cython per ISA build, Numba) on every boundary x dtype."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv._engine import complex as complex_path
from fastconv._engine import dispatch, kernels
from helpers import assert_matches

DTYPES = [np.int8, np.uint16, np.int32, np.uint32, np.int64, np.float32, np.float64,
          np.complex64, np.complex128]


def _data(dtype, s1=(23, 70), s2=(4, 5), seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return (rng.integers(info.min, info.max, s1, dtype=dt, endpoint=True),
                rng.integers(info.min, info.max, s2, dtype=dt, endpoint=True))
    mk = (lambda s: rng.standard_normal(s) + 1j * rng.standard_normal(s)) if dt.kind == "c" \
        else rng.standard_normal
    return mk(s1).astype(dt), mk(s2).astype(dt)


def _check_all(dtype):
    a, b = _data(dtype)
    a_t = np.asfortranarray(a)[::-1, :]   # strided and negative-stride input
    for func in ("convolve2d", "correlate2d"):
        for mode in ("full", "same", "valid"):
            for boundary in ("fill", "wrap", "symm"):
                got = getattr(fastconv, func)(a_t, b, mode, boundary, 2)
                ref = getattr(ss, func)(a_t, b, mode, boundary, 2)
                assert_matches(got, ref, a, b, 2)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cython_each_isa(isa, dtype):
    with kernels.direct_backend("cython"):
        _check_all(dtype)


# Output widths around every chunk width a row is cut into (1 to 2 full chunks of
# the widest build, 128 float32 / 64 float64): each literal width, the last chunk
# shifted back over the row's end, and rows narrower than one vector that read
# into the tile buffer's slack.
ROW_WIDTHS = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 128, 129, 200,
              255, 257]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64,
                                   np.complex64, np.complex128, np.longdouble],
                         ids=lambda d: np.dtype(d).name)
def test_every_row_width_each_isa(isa, dtype):
    rng = np.random.default_rng(1)
    dt = np.dtype(dtype)
    k = (rng.integers(-9, 9, (3, 4)) if dt.kind in "iu" else rng.standard_normal((3, 4))
         ).astype(dt)
    with kernels.direct_backend("cython"):
        for wo in ROW_WIDTHS:
            shape = (5, wo + 3)
            x = (rng.integers(-99, 99, shape) if dt.kind in "iu"
                 else rng.standard_normal(shape)).astype(dt)
            if dt.kind == "c":
                x = x + 1j * rng.standard_normal(shape).astype(dt)
            for mode in ("valid", "same"):
                assert_matches(fastconv.correlate2d(x, k, mode, "symm"),
                               ss.correlate2d(x, k, mode, "symm"), x, k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_tall_narrow_outputs(isa, dtype, boundary):
    """Outputs narrower than a vector and taller than twice their width run
    transposed: every mode and boundary, with a strided input."""
    a, b = _data(dtype, (300, 9), (5, 3))
    a_t = np.asfortranarray(a)[::-1, :]
    with kernels.direct_backend("cython"):
        for func in ("convolve2d", "correlate2d"):
            for mode in ("full", "same", "valid"):
                got = getattr(fastconv, func)(a_t, b, mode, boundary, 3)
                assert_matches(got, getattr(ss, func)(a_t, b, mode, boundary, 3), a, b, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int64, np.complex64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
def test_primitive_writes_into_a_block(dtype, method):
    """``out=`` (the Dask tasks' in-place path) fills exactly the block it is given
    with the result the primitive returns, and touches nothing around it."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(2)
    x = rng.integers(-50, 50, (40, 37)).astype(dt)
    w = np.outer(rng.integers(1, 4, 5), rng.integers(1, 4, 6)).astype(dt)
    big = np.full((50, 60), 7, dt)
    block = big[4:44, 9:46]
    want = dispatch.correlate_plane_method(x, w, block.shape, (-2, -3), 2, 0, dt, method)
    got = dispatch.correlate_plane_method(x, w, block.shape, (-2, -3), 2, 0, dt, method,
                                             out=block)
    assert got is block
    np.testing.assert_array_equal(block, want)
    big[4:44, 9:46] = 7
    assert (big == 7).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numba_path(dtype):
    with kernels.direct_backend("numba"):
        _check_all(dtype)


def test_numba_path_is_the_one_running(monkeypatch):
    from fastconv._engine import numba_kernels
    calls = []
    real = numba_kernels.correlate_valid
    monkeypatch.setattr(numba_kernels, "correlate_valid",
                        lambda *a: (calls.append(1), real(*a))[1])
    with kernels.direct_backend("numba"):
        fastconv.convolve2d(np.ones((8, 8)), np.ones((3, 3)))
    assert calls
    with pytest.raises(ValueError):
        with kernels.direct_backend("fortran"):
            pass


def test_numba_thread_count_invariance():
    a, b = _data(np.float64, (200, 130), (6, 5))
    with kernels.direct_backend("numba"):
        outs = []
        for n in (1, 2):
            with fastconv.threads(n):
                outs.append(fastconv.convolve2d(a, b, "same", "symm"))
    assert outs[0].tobytes() == outs[1].tobytes()


def test_isa_selection():
    avail = kernels.available_isas()
    assert avail[0] == "base"
    assert kernels.build().__name__.endswith(avail[-1])
    with pytest.raises(ValueError):
        kernels.build("sse9")


def _installed_package() -> Path:
    return Path(fastconv.__file__).resolve().parent


def test_works_from_read_only_install(tmp_path):
    """Copy the installed package to a read-only folder; the Numba path must still
    run (its cache falls back to numba's per-user folder, or to memory)."""
    site = tmp_path / "site"
    shutil.copytree(_installed_package(), site / "fastconv",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    code = ("import numpy as np, scipy.signal as ss, fastconv, fastconv._engine.kernels as c\n"
            "assert fastconv.__file__.startswith(%r), fastconv.__file__\n"
            "a = np.arange(30.).reshape(5, 6); b = np.ones((2, 3))\n"
            "with c.direct_backend('numba'):\n"
            "    r = fastconv.convolve2d(a, b, 'same', 'wrap')\n"
            "assert np.allclose(r, ss.convolve2d(a, b, 'same', 'wrap'))\n"
            "print('ok')\n") % str(site)
    env = dict(os.environ, PYTHONPATH=str(site), HOME=str(tmp_path / "home"))
    env.pop("NUMBA_CACHE_DIR", None)
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    finally:
        for p in [site, *site.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_import_is_light(tmp_path):
    """``import fastconv`` must not import numba or scipy (JIT and scipy load lazily)."""
    code = ("import sys, fastconv\n"
            "print(sorted(m for m in ('numba', 'scipy', 'llvmlite') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_all_finite_each_isa(isa, dtype):
    """The compiled finiteness check that gates the FFT and separable paths: every
    kind of non-finite value at the first, a middle and the last place, through
    contiguous, strided and reversed views, on 1 and 2 threads."""
    x = np.random.default_rng(3).standard_normal((37, 45)).astype(dtype)
    views = [lambda a: a, lambda a: a[::2, ::3], lambda a: a[::-1, ::-1],
             lambda a: np.asfortranarray(a)]
    for nt in (1, 2):
        for view in views:
            assert kernels.build().all_finite(view(x), nt)
            for bad in (np.inf, -np.inf, np.nan):
                for where in ((0, 0), (18, 21), (36, 44)):
                    y = x.copy()
                    y[where] = bad
                    v = view(y)
                    assert kernels.build().all_finite(v, nt) == bool(np.isfinite(v).all())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_row_pairs_bit_identical_to_single_rows(isa, dtype):
    """Rows computed two at a time (csrc/_rows2.h, sharing input loads) equal, bit for
    bit, rows computed one at a time: a one-row 'valid' output always takes the
    one-row loop. Widths span one pair chunk (16 float64 on AVX2, where the two
    loops once fused the first products differently), several, and a shifted last
    chunk; the thread count decides which rows are a tile's odd last one."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(4)
    cases = [((2, 3), 64), ((5, 7), 129), ((3, 3), 300), ((7, 2), 17), ((4, 9), 1000)]
    cases += [((5, 7), wo) for wo in range(8, 72, 3)]
    for (K, L), wo in cases:
        x = rng.standard_normal((12 + K - 1, wo + L - 1)).astype(dtype)
        w = rng.standard_normal((K, L)).astype(dtype)
        whole = np.empty((12, wo), dtype)
        mod.correlate_valid(x, w, whole, 0, 0, 0, dtype(0), 1)
        for i in range(12):
            row = np.empty((1, wo), dtype)
            mod.correlate_valid(x[i:i + K], w, row, 0, 0, 0, dtype(0), 1)
            assert row.tobytes() == whole[i:i + 1].tobytes(), (K, L, wo, i)
        assert_matches(whole, ss.correlate2d(x, w, "valid"), x, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_shifted_column_taps_are_the_same_bits(isa, dtype):
    """The 2-D pair and one-row loops with their column taps shifted out of the row's
    vectors (3x3 and 5x5 kernels, the default on Zen 5) hold the same bits as with the
    taps loaded, on every ISA build: those kernels and others that always load (3, 4,
    5 and 7 wide, of other heights), rows of under a chunk, one chunk, a chunk and a
    remainder, and long rows read in place; every boundary, a misaligned input, 1-3
    threads, streamed stores, a batch; and scipy's result."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(21)
    cases = [((3, 3), (40, 70)), ((5, 5), (33, 129)), ((2, 3), (9, 300)), ((7, 5), (20, 64)),
             ((3, 4), (11, 90)), ((3, 3), (6, 5000)), ((5, 5), (5, 17)), ((7, 7), (30, 150)),
             ((2, 7), (9, 2500))]
    for (K, L), shape in cases:
        raw = rng.standard_normal(shape[0] * shape[1] + 1).astype(dtype)
        x = raw[1:].reshape(shape)              # a sample off the allocation's alignment
        w = rng.standard_normal((K, L)).astype(dtype)
        for boundary in ("fill", "wrap", "symm"):
            runs = []
            for shifted in (False, True):
                old = mod.set_shifted_taps(shifted)
                old_stream = mod.set_stream_bytes(0 if shifted else 1 << 62)
                try:
                    for nt in (1, 2, 3):
                        with fastconv.threads(nt):
                            runs.append(fastconv.convolve2d(x, w, "same", boundary))
                    runs.append(fastconv.correlate2d_batch(np.stack([x, x[::-1]]), w, "valid"))
                finally:
                    mod.set_shifted_taps(old)
                    mod.set_stream_bytes(old_stream)
            n = len(runs) // 2
            for a, b in zip(runs[:n], runs[n:]):
                assert a.tobytes() == b.tobytes(), (K, L, shape, boundary)
            assert_matches(runs[0], ss.convolve2d(x, w, "same", boundary), x, w)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_complex_row_pairs_bit_identical_to_single_rows(isa, dtype):
    """The complex kernels' groups of rows (Gauss's three multiplications in fours
    and pairs; the interleaved loop's pairs, csrc/_rows2.h) equal their single rows
    bit for bit, and all match scipy; widths below one chunk take the split-plane
    four-multiplication loop. 15 rows: three fours, a pair and a single row."""
    assert 6 * 6 <= complex_path._ZINT_MAX_TAPS < 9 * 6     # both loops are covered
    rng = np.random.default_rng(5)
    with kernels.direct_backend("cython"):
        for (K, L), wo in [((2, 3), 16), ((5, 7), 129), ((3, 3), 300), ((7, 2), 5),
                           ((4, 9), 1000), ((1, 4), 40), ((6, 6), 37), ((2, 2), 3),
                           ((7, 8), 129), ((9, 6), 37)]:
            shape = (15 + K - 1, wo + L - 1)
            x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
            w = (rng.standard_normal((K, L)) + 1j * rng.standard_normal((K, L))).astype(dtype)
            whole = fastconv.correlate2d(x, w, "valid", method="direct")
            for i in range(15):
                row = fastconv.correlate2d(x[i:i + K], w, "valid", method="direct")
                assert row.tobytes() == whole[i:i + 1].tobytes(), (K, L, wo, i)
            assert_matches(whole, ss.correlate2d(x, w, "valid"), x, w)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_complex_near_overflow_matches_scipy(isa, dtype):
    """Gauss's form sums re + im, which overflows for parts near the largest float
    where scipy's four products do not, and any order of sums may overflow where
    scipy's does not: the fast loops check the parts against a bound, such inputs
    take the exact loops, and the result matches scipy, with no spurious inf or nan."""
    rt = np.dtype(dtype).type(0).real.dtype
    big = float(np.finfo(rt).max) * 0.6
    rng = np.random.default_rng(6)
    x = (rng.uniform(0.9, 1, (20, 150)) + 1j * rng.uniform(0.9, 1, (20, 150))) * big
    x = x.astype(dtype)
    w = np.full((2, 3), 0.1 + 0.1j, dtype)
    ref = ss.correlate2d(x, w, "valid")
    assert np.isfinite(ref).all()
    mod = kernels.build()
    if not mod.build_info()["vector_ext"]:
        # a plain-C build (MSVC's, AArch64's baseline) has only the exact loops
        with kernels.direct_backend("cython"):
            got = fastconv.correlate2d(x, w, "valid", method="direct")
        np.testing.assert_allclose(got, ref, rtol=1e-5 if rt == np.float32 else 1e-12)
        return
    # the guard is needed: forced, the three-multiplication loop overflows here
    forced = np.empty(ref.shape, dtype)
    wr, wi = np.ascontiguousarray(w.real), np.ascontiguousarray(w.imag)
    mod.correlate_valid_complex(x.real, x.imag, wr, wi, forced.view(rt), 0, 0, 0, rt.type(0),
                                rt.type(0), 1, True)
    assert not np.isfinite(forced).all()
    # the interleaved loop (which these 6 taps take) reports the parts over the bound
    s = np.sqrt(float(np.finfo(rt).max) / 8)
    assert mod.correlate_valid_zcomplex(x.real, x.imag, wr, wi, forced.view(rt), 0, 0, 0,
                                        rt.type(0), rt.type(0), 1, s) == 0
    # and refuses outputs narrower than its vectors (every build's width is >= 2)
    width = mod.zcomplex_width(np.dtype(dtype).itemsize)
    narrow = x[:, :width + 1]
    with pytest.raises(ValueError, match="too narrow"):
        mod.correlate_valid_zcomplex(narrow.real, narrow.imag, wr, wi,
                                     np.empty((19, width - 1), dtype).view(rt), 0, 0, 0,
                                     rt.type(0), rt.type(0), 1, s)
    with kernels.direct_backend("cython"):
        got = fastconv.correlate2d(x, w, "valid", method="direct")
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, rtol=1e-5 if rt == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("separable", [False, True], ids=["direct", "separable"])
def test_streaming_stores_bit_identical(isa, dtype, separable):
    """Outputs written with non-temporal stores (the kernels do so above a size,
    here forced for every size) equal normally stored ones bit for bit, on aligned
    and unaligned rows, on one thread and two."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(7)
    u, v = rng.standard_normal(5).astype(dtype), rng.standard_normal(7).astype(dtype)
    w = np.outer(u, v)
    for shape in [(64, 256), (37, 1000), (129, 64), (50, 17)]:
        x = rng.standard_normal((shape[0] + 4, shape[1] + 6)).astype(dtype)
        outs = []
        for nbytes, nt in [(1 << 62, 1), (0, 1), (0, 2)]:
            prev = mod.set_stream_bytes(nbytes)
            try:
                # an offset row start: the kernels stream only aligned vectors
                o = np.empty((shape[0], shape[1] + 1), dtype)[:, 1:]
                if separable:
                    mod.correlate_valid_separable(x, u, v, o, 0, 0, 0, dtype(0), nt)
                else:
                    mod.correlate_valid(x, w, o, 0, 0, 0, dtype(0), nt)
                outs.append(o.copy())
                o2 = np.empty(shape, dtype)
                (mod.correlate_valid_separable(x, u, v, o2, 0, 0, 0, dtype(0), nt) if separable
                 else mod.correlate_valid(x, w, o2, 0, 0, 0, dtype(0), nt))
                outs.append(o2)
            finally:
                mod.set_stream_bytes(prev)
        for o in outs[1:]:
            assert o.tobytes() == outs[0].tobytes(), shape
        assert_matches(outs[1], ss.correlate2d(x, w, "valid"), x, w)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_complex_streaming_stores_bit_identical(isa, dtype):
    """The complex kernels' streamed stores equal their normal ones bit for bit
    (widths whose rows alternate in alignment, one thread and two)."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(8)
    rt = np.dtype(dtype).type(0).real.dtype
    w = (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(dtype)
    wr, wi = np.ascontiguousarray(w.real), np.ascontiguousarray(w.imag)
    for shape in [(40, 256), (33, 301), (20, 40)]:
        x = (rng.standard_normal((shape[0] + 2, shape[1] + 4))
             + 1j * rng.standard_normal((shape[0] + 2, shape[1] + 4))).astype(dtype)
        # a plain-C build has no interleaved loop (zcomplex_width -1)
        for interleaved in (False, True)[:1 + (mod.zcomplex_width(rt.itemsize) > 0)]:
            outs = []
            for nbytes, nt in [(1 << 62, 1), (0, 1), (0, 2)]:
                prev = mod.set_stream_bytes(nbytes)
                try:
                    o = np.empty(shape, dtype)
                    if interleaved:
                        assert mod.correlate_valid_zcomplex(x.real, x.imag, wr, wi,
                                                            o.view(rt), 0, 0, 0, rt.type(0),
                                                            rt.type(0), nt) == 1
                    else:
                        mod.correlate_valid_complex(x.real, x.imag, wr, wi, o.view(rt), 0,
                                                    0, 0, rt.type(0), rt.type(0), nt, True)
                    outs.append(o)
                finally:
                    mod.set_stream_bytes(prev)
            for o in outs[1:]:
                assert o.tobytes() == outs[0].tobytes(), (shape, interleaved)
            assert_matches(outs[0], ss.correlate2d(x, w.conj(), "valid"), x, w)
