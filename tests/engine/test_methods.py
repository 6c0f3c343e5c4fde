"""The separable and FFT paths, the chooser and tune(), against scipy."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastconv
from fastconv._api.rules import out_shape_and_origin
from fastconv._engine import direct, fft, plan, separable
from helpers import assert_matches

METHODS = ["auto", "direct", "fft"]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm"]
FLOATS = [np.float32, np.float64, np.complex64, np.complex128]
# The documented FFT accuracy, relative to max(|in1| conv |in2|).
FFT_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.complex64): 1e-5,
           np.dtype(np.float64): 1e-12, np.dtype(np.complex128): 1e-12}


def _rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -100, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _gauss(k, dtype=np.float64):
    g = np.exp(-np.linspace(-2.5, 2.5, k) ** 2)
    return np.outer(g, g[: k - 1] if k > 2 else g).astype(dtype)


def _abs_bound(func, a, b, mode, boundary, fill):
    """max(|in1| conv |in2|) over the full result, in float64 (the accuracy yardstick:
    an FFT's rounding error scales with the whole transform, not with one output)."""
    ab = np.abs(a.astype(np.complex128)).real
    bb = np.abs(b.astype(np.complex128)).real
    full = getattr(ss, func)(ab, bb, "full", boundary, abs(complex(fill)))
    return float(np.max(full)) if full.size else 0.0


def _check_fft_accuracy(got, ref, bound):
    assert got.dtype == ref.dtype and got.shape == ref.shape
    err = np.abs(got.astype(np.complex128) - ref.astype(np.complex128)).max() if ref.size else 0
    assert err <= FFT_TOL[ref.dtype] * bound, (err, bound)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("shapes", [((90, 70), (17, 24)), ((40, 300), (9, 33)),
                                    ((12, 10), (25, 21)), ((1, 50), (1, 40))], ids=str)
def test_fft_path_within_documented_error(shapes, func, mode, boundary, dtype):
    rng = np.random.default_rng(7)
    a, b = _rand(rng, shapes[0], dtype), _rand(rng, shapes[1], dtype)
    fill = -1.25
    ref = getattr(ss, func)(a, b, mode, boundary, fill)
    got = getattr(fastconv, func)(a, b, mode, boundary, fill, method="fft")
    _check_fft_accuracy(got, ref, _abs_bound(func, a, b, mode, boundary, fill))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32, np.int64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_fft_integers_bit_exact(mode, boundary, dtype):
    rng = np.random.default_rng(3)
    a, b = _rand(rng, (80, 64), dtype), _rand(rng, (21, 15), dtype)
    ref = ss.convolve2d(a, b, mode, boundary, 5)
    got = fastconv.convolve2d(a, b, mode, boundary, 5, method="fft")
    assert_matches(got, ref)


def test_fft_integers_too_large_stay_exact_by_going_direct():
    rng = np.random.default_rng(4)
    info = np.iinfo(np.int64)
    a = rng.integers(info.min, info.max, (40, 40), dtype=np.int64)
    b = rng.integers(info.min, info.max, (19, 19), dtype=np.int64)
    assert not fft.integer_fft_is_exact(a, b, 0, (64, 64))
    assert_matches(fastconv.convolve2d(a, b, "same", method="fft"), ss.convolve2d(a, b, "same"))
    # int32 whose sums overflow: exact in float64, then wrapped like scipy
    a32 = rng.integers(-2**31, 2**31 - 1, (40, 40)).astype(np.int32)
    b32 = rng.integers(-2**15, 2**15, (15, 15)).astype(np.int32)
    assert_matches(fastconv.convolve2d(a32, b32, "full", method="fft"),
                   ss.convolve2d(a32, b32, "full"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_fft_many_blocks_and_batches(monkeypatch, dtype):
    """Force small blocks and tiny batches so tiling and batching both run."""
    monkeypatch.setattr(fft, "_BATCH_BYTES", 1)
    rng = np.random.default_rng(5)
    a, b = _rand(rng, (130, 97), dtype), _rand(rng, (9, 6), dtype)
    (Ho, Wo), org = out_shape_and_origin(1, True, a.shape, b.shape)
    got = fft.correlate_plane_fft(a, b[::-1, ::-1], (Ho, Wo), org, 2, 0, np.dtype(dtype), 2,
                                   block=(16, 32))
    ref = ss.convolve2d(a, b, "same", "symm")
    _check_fft_accuracy(got, ref, _abs_bound("convolve2d", a, b, "same", "symm", 0))


@pytest.mark.parametrize("method", ["fft", "separable", "auto"])
def test_non_finite_inputs_keep_direct_semantics(method):
    a = np.ones((60, 60))
    a[10, 20], a[40, 5] = np.nan, np.inf
    b = _gauss(17)
    got = fastconv.convolve2d(a, b, "same", method=method)
    assert_matches(got, ss.convolve2d(a, b, "same"), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("where", [(0, 0), (299, 511), (150, 3)])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_separable_kernel_finds_non_finite_inputs_itself(dtype, boundary, where, bad):
    """The fused separable kernel scans its intermediate rows instead of a separate
    pass over x: a single Inf or NaN anywhere (corners, edges feeding the boundary
    extension) still sends the call to the direct loop and scipy's result."""
    a = np.random.default_rng(3).random((300, 512)).astype(dtype)
    a[where] = bad
    b = _gauss(9, dtype)
    assert fastconv.choose_method(a, b, "same") == "direct"
    for mode in ("same", "valid", "full"):
        got = fastconv.convolve2d(a, b, mode, boundary, method="separable")
        ref = ss.convolve2d(a, b, mode, boundary)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        assert_matches(np.where(np.isfinite(ref), got, 0), np.where(np.isfinite(ref), ref, 0),
                       a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int32, np.uint8])
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
def test_separable_path(func, mode, boundary, dtype):
    rng = np.random.default_rng(11)
    a = _rand(rng, (45, 38), dtype)
    if np.dtype(dtype).kind in "iu":
        v = [1, 4, 6, 4, 1, 2] if np.dtype(dtype).kind == "u" else [1, -4, 6, -4, 1, 2]
        b = np.outer([1, 2, 3, 2, 1], v).astype(dtype)
    elif np.dtype(dtype).kind == "c":
        b = np.outer(_rand(rng, 7, dtype), _rand(rng, 4, dtype))
    else:
        b = _gauss(9, dtype)
    ref = getattr(ss, func)(a, b, mode, boundary, 2)
    got = getattr(fastconv, func)(a, b, mode, boundary, 2, method="separable")
    assert_matches(got, ref, a, b, 2)


def test_separable_factor_detection():
    assert separable.factor(_gauss(15)) is not None
    assert separable.factor(_gauss(15, np.float32)) is not None
    u, v = separable.factor(np.outer([2, 4, -6], [3, 0, 5]).astype(np.int32))
    np.testing.assert_array_equal(np.outer(u, v), np.outer([2, 4, -6], [3, 0, 5]))
    rng = np.random.default_rng(0)
    assert separable.factor(rng.standard_normal((5, 5))) is None
    noisy = _gauss(9) + 1e-7 * rng.standard_normal((9, 8))
    assert separable.factor(noisy) is None                  # rank 1 only to rounding
    assert separable.factor(np.array([[1, 2], [3, 5]])) is None
    assert separable.factor(np.zeros((3, 3))) is None
    assert separable.factor(np.ones((1, 9))) is None        # already 1-D
    with pytest.raises(ValueError, match="rank-1"):
        fastconv.convolve2d(np.ones((9, 9)), rng.standard_normal((3, 3)), method="separable")


@pytest.mark.parametrize("bad", ["FFT", "overlap", None, 3])
def test_bad_method(bad):
    with pytest.raises(ValueError, match="method"):
        fastconv.convolve2d(np.ones((4, 4)), np.ones((2, 2)), method=bad)
    with pytest.raises(ValueError, match="method"):
        fastconv.correlate2d(np.ones((4, 4)), np.ones((2, 2)), method=bad)


def test_choose_method_follows_the_cost_model():
    img = np.ones((1024, 1024), np.float32)
    assert fastconv.choose_method(img, np.ones((3, 3), np.float32)) == "direct"
    assert fastconv.choose_method(img, _gauss(15, np.float32)) == "separable"
    assert fastconv.choose_method(img, np.random.rand(63, 63).astype(np.float32)) == "fft"
    assert fastconv.choose_method(np.full((64, 64), np.nan), np.random.rand(31, 31)) == "direct"
    with pytest.raises(ValueError):
        fastconv.choose_method(np.ones((3, 3, 3)), np.ones((2, 2)))


def test_auto_runs_what_choose_method_says(monkeypatch):
    seen = []
    real_fft = fft.correlate_plane_fft
    monkeypatch.setattr(fft, "correlate_plane_fft", lambda *a, **k: seen.append("fft") or
                        real_fft(*a, **k))
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((300, 300)), rng.standard_normal((41, 41))
    assert fastconv.choose_method(a, b, "same") == "fft"
    assert_matches(fastconv.convolve2d(a, b, "same"), ss.convolve2d(a, b, "same"), a, b)
    assert seen == ["fft"]


def test_inputs_unmodified_on_every_path():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((70, 60)), _gauss(13)
    a0, b0 = a.copy(), b.copy()
    for m in ("fft", "separable", "auto"):
        fastconv.convolve2d(a, b, "same", "symm", method=m)
        fastconv.correlate2d(a, b, "full", "wrap", method=m)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 30), l=st.integers(1, 30),
       mode=st.sampled_from(MODES), boundary=st.sampled_from(BOUNDARIES),
       method=st.sampled_from(METHODS), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_hypothesis_methods_against_scipy(m, n, k, l, mode, boundary, method, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, (m, n), dtype), _rand(rng, (k, l), dtype)
    if mode == "valid" and not ((m >= k and n >= l) or (k >= m and l >= n)):
        with pytest.raises(ValueError):
            fastconv.convolve2d(a, b, mode, boundary, method=method)
        return
    ref = ss.convolve2d(a, b, mode, boundary)
    got = fastconv.convolve2d(a, b, mode, boundary, method=method)
    _check_fft_accuracy(got, ref, _abs_bound("convolve2d", a, b, mode, boundary, 0))


def test_tune_stores_constants_and_they_load_lazily(tmp_path, capsys):
    path = tmp_path / "tune.json"
    try:
        res = fastconv.tune(path=path, probe=48, repeat=1, verbose=True)
    finally:
        plan.set_constants(None)
    out = capsys.readouterr()
    assert "FFT overtakes direct" in out.out and "tuning [" in out.err
    data = json.loads(path.read_text())
    assert set(data["constants"]) == {"single", "double"}
    for c in data["constants"].values():
        assert set(c) == {"c_out", "c_tap", "c_fft"} and all(v > 0 for v in c.values())
    assert res["constants"] == data["constants"]
    code = ("import json, fastconv, fastconv._engine.plan as p; "
            "assert p._constants is None; print(json.dumps(p.constants()))")
    env = dict(os.environ, FASTCONV_TUNE_FILE=str(path))
    got = json.loads(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                    capture_output=True, text=True, cwd=tmp_path).stdout)
    assert got == data["constants"]


def test_unreadable_tune_file_keeps_defaults(tmp_path, monkeypatch):
    bad = tmp_path / "tune.json"
    bad.write_text("{not json")
    monkeypatch.setenv("FASTCONV_TUNE_FILE", str(bad))
    plan.set_constants(None)
    try:
        assert plan.constants() == plan.DEFAULTS
    finally:
        plan.set_constants(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_fused_separable_kernel_on_every_isa(isa, boundary, dtype, monkeypatch):
    """The one-pass separable kernel on each compiled instruction set: images that
    give one strip or many, strips narrower than a vector (more threads than
    strips), bands of rows, and a ragged last strip."""
    # these images are below the work that earns a second thread: share them anyway
    monkeypatch.setattr(direct, "MIN_WORK_PER_THREAD", 1)
    rng = np.random.default_rng(13)
    b = np.outer([1, 3, -2, 5, 1, 2, 1], [2, -1, 4, 1, 3]).astype(dtype)
    for shape in [(150, 67), (9, 700), (300, 6), (1, 40), (64, 257), (40, 1000)]:
        a = _rand(rng, shape, dtype)
        ref = ss.convolve2d(a, b, "same", boundary, 3)
        outs = []
        for n in (1, 2, 3, 8):
            with fastconv.threads(n):
                outs.append(fastconv.convolve2d(a, b, "same", boundary, 3,
                                                method="separable"))
            assert_matches(outs[-1], ref, a, b, 3)
        # bit-identical for any thread count: each output is computed by the same
        # operations whichever strip or band holds it
        assert all(o.tobytes() == outs[0].tobytes() for o in outs)


@pytest.mark.parametrize("method", ["separable", "fft", "auto"])
def test_long_double_always_runs_direct(method):
    """scipy.fft and the float64 SVD would drop long double precision: direct it is."""
    rng = np.random.default_rng(14)
    a = rng.standard_normal((120, 90)).astype(np.longdouble)
    b = np.outer(np.arange(1, 16), np.arange(2, 17)).astype(np.longdouble)
    direct = fastconv.convolve2d(a, b, "same", method="direct")
    np.testing.assert_array_equal(fastconv.convolve2d(a, b, "same", method=method), direct)
    assert fastconv.choose_method(a, b, "same") == "direct"


def test_separable_falls_back_where_its_infinities_would_differ():
    """A kernel whose corner products underflow to 0 while its factors do not: at an
    Inf, direct (scipy) sums 0 * inf = nan, the two passes inf * 1e-200 = inf. The
    kernel finds the Inf itself and the call returns scipy's nan/inf pattern."""
    g = np.array([1e-200, 1, 0.5, 1, 1e-200])
    w = np.outer(g, g)
    a = np.random.default_rng(0).random((300, 512))
    a[150, 200] = np.inf
    ref = ss.convolve2d(a, w, "same")
    got = fastconv.convolve2d(a, w, "same", method="separable")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
