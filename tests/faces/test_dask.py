"""fastconv.dask against the in-memory fastconv result, chunk layout by chunk layout."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import fastconv  # noqa: E402
import fastconv.dask as fd  # noqa: E402
from helpers import BAD_2D_ARGS as BAD  # noqa: E402
from helpers import assert_matches  # noqa: E402
from helpers import rand_full_range as _rand  # noqa: E402

FUNCS = ["convolve2d", "correlate2d"]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm"]
DTYPES = [np.int8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.longdouble,
          np.complex128]
# (image, kernel, chunks): uneven chunks, chunks smaller than the kernel (down to
# one sample), one chunk, even kernels, kernels larger than the image (wrap and
# symm repeat), single rows and columns.
CASES = [((37, 41), (3, 5), (10, 7)), ((37, 41), (4, 6), ((5, 20, 12), (1, 30, 10))),
         ((20, 23), (7, 2), (2, 3)), ((20, 23), (6, 6), -1), ((5, 6), (9, 12), (2, 4)),
         ((1, 17), (1, 4), (1, 5)), ((19, 1), (5, 1), (4, 1)), ((12, 13), (12, 13), (5, 6))]


def _ref(func, x, *args, **kw):
    return getattr(fastconv, func)(x, *args, **kw)


def _fill_for(dtype):
    return 3 if np.dtype(dtype).kind in "iu" else -1.5


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_grid_matches_in_memory(mode, boundary, dtype):
    rng = np.random.default_rng(abs(hash((mode, boundary, str(dtype)))) % 2**32)
    fill = _fill_for(dtype)
    for s1, s2, chunks in CASES:
        a, b = _rand(rng, s1, dtype), _rand(rng, s2, dtype)
        x = da.from_array(a, chunks=chunks)
        for func in FUNCS:
            try:
                ref = _ref(func, a, b, mode, boundary, fill)
            except ValueError:
                with pytest.raises(ValueError):
                    getattr(fd, func)(x, b, mode, boundary, fill)
                continue
            lazy = getattr(fd, func)(x, b, mode, boundary, fill)
            assert lazy.shape == ref.shape and lazy.dtype == ref.dtype
            got = lazy.compute(scheduler="threads")
            assert_matches(got, ref, a, b, fill)
            if ref.dtype.kind in "iu":
                np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("func", FUNCS)
def test_stack_is_convolved_plane_by_plane(func):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 2, 30, 25)).astype(np.float32)
    b = rng.standard_normal((5, 4)).astype(np.float32)
    x = da.from_array(a, chunks=(2, 1, 8, 11))
    for mode in MODES:
        for boundary in BOUNDARIES:
            got = getattr(fd, func)(x, b, mode, boundary, 0.5)
            assert got.chunks[:2] == x.chunks[:2]
            got = got.compute(scheduler="threads")
            ref = np.stack([np.stack([_ref(func, p, b, mode, boundary, 0.5) for p in q])
                            for q in a])
            assert_matches(got, ref, a, b, 0.5)


def test_empty_stack_keeps_its_plane_shape():
    x = da.zeros((0, 9, 8), chunks=(1, 4, 4))
    for mode, boundary in (("full", "wrap"), ("same", "symm"), ("valid", "fill")):
        got = fd.correlate2d(x, np.ones((3, 2)), mode, boundary).compute()
        ref = fastconv.correlate2d(np.zeros((9, 8)), np.ones((3, 2)), mode, boundary)
        assert got.shape == (0,) + ref.shape and got.dtype == ref.dtype


@pytest.mark.parametrize("func", FUNCS)
def test_same_mode_keeps_chunks_and_builds_lazily(func):
    calls = []

    def block(blk):
        calls.append(1)
        return blk

    x = da.ones((40, 30), chunks=((10, 25, 5), 16)).map_blocks(block, meta=np.empty((0, 0)))
    out = getattr(fd, func)(x, np.ones((4, 3)), "same", "symm")
    assert not calls                                   # nothing ran yet
    assert out.chunks == x.chunks
    assert fd.convolve2d(x, np.ones((4, 3)), "full").shape == (43, 32)
    np.testing.assert_array_equal(out.compute(scheduler="sync"),
                                  _ref(func, np.ones((40, 30)), np.ones((4, 3)), "same", "symm"))


@pytest.mark.parametrize("pair", [(np.int8, np.float64), (np.uint8, np.int16),
                                  (np.float32, np.complex64), (np.int16, np.float32)], ids=str)
def test_mixed_dtypes_and_fill_cast_like_fastconv(pair):
    rng = np.random.default_rng(8)
    a = rng.integers(-5, 90, (17, 19)).astype(pair[0])
    b = rng.integers(-3, 4, (3, 4)).astype(pair[1])
    x = da.from_array(a, chunks=6)
    for func in FUNCS:
        for mode in MODES:
            got = getattr(fd, func)(x, b, mode, "fill", 2.5).compute(scheduler="threads")
            assert_matches(got, _ref(func, a, b, mode, "fill", 2.5), a, b, 2.5)


@pytest.mark.parametrize("method", ["direct", "fft", "separable", "auto"])
@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.complex128],
                         ids=lambda d: np.dtype(d).name)
def test_method_is_applied_per_window(method, dtype):
    rng = np.random.default_rng(13)
    a = _rand(rng, (60, 47), dtype)
    u, v = _rand(rng, (9, 1), dtype), _rand(rng, (1, 8), dtype)
    if np.dtype(dtype).kind == "i":              # small factors: no wrap-around
        u, v = u % 7, v % 5
    b = u @ v                                    # rank 1: every method applies
    x = da.from_array(a, chunks=(25, 20))
    for func in FUNCS:
        for mode, boundary in (("same", "symm"), ("full", "wrap"), ("valid", "fill")):
            got = getattr(fd, func)(x, b, mode, boundary, method=method).compute()
            ref = _ref(func, a, b, mode, boundary, method=method)
            assert_matches(got, ref, a, b)
    with pytest.raises(ValueError):
        fd.convolve2d(x, b, method="nope")
    if method == "separable":                   # a kernel of rank 2 is refused up front
        with pytest.raises(ValueError) as ref_err:
            fastconv.convolve2d(a, _rand(rng, (3, 3), dtype), method=method)
        with pytest.raises(ref_err.type):
            fd.convolve2d(x, _rand(rng, (3, 3), dtype), method=method)


@pytest.mark.parametrize("pool", [False, True], ids=["task-threads", "shared-pool"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64],
                         ids=lambda d: np.dtype(d).name)
def test_direct_tasks_read_the_window_in_place(monkeypatch, dtype, pool):
    """The direct kernel reads each task's window (chunk and halo strips) in place,
    in one call or in row pieces on the shared pool, for every mode and boundary:
    integers bit-exact (floats to rounding: a column's sums may take another
    vector loop in a narrower chunk)."""
    rng = np.random.default_rng(21)
    a = (rng.standard_normal((70, 90)) * 50).astype(dtype)
    b = (rng.standard_normal((7, 4)) * 5).astype(dtype)
    calls = {"whole": 0, "pieces": 0}
    run_whole, executor = fd._gather_into, fd._pool.executor

    def counting_gather(*args):
        calls["whole"] += 1
        return run_whole(*args)

    class CountingPool:
        def __init__(self, n):
            self.ex = executor(n)

        def submit(self, *args):
            calls["pieces"] += 1
            return self.ex.submit(*args)

    monkeypatch.setattr(fd, "_gather_into", counting_gather)
    monkeypatch.setattr(fd._pool, "executor", CountingPool)
    # the pool serves tasks side by side that are large enough
    monkeypatch.setattr(fd, "_POOL_MIN_WORK", 0 if pool else 1 << 62)
    prev = fastconv.get_num_threads()
    fastconv.set_num_threads(2)
    try:
        with dask.config.set(num_workers=2):
            for func in FUNCS:
                for mode in MODES:
                    for boundary in BOUNDARIES:
                        x = da.from_array(a, chunks=(23, 40))
                        got = getattr(fd, func)(x, b, mode, boundary, 3,
                                                method="direct").compute(scheduler="threads")
                        ref = _ref(func, a, b, mode, boundary, 3, method="direct")
                        assert_matches(got, ref, a, b, 3)
                        if a.dtype.kind == "i":
                            np.testing.assert_array_equal(got, ref)
    finally:
        fastconv.set_num_threads(prev)
    assert calls["whole"] > 0 and (calls["pieces"] > 0) == pool


def test_tasks_fall_back_where_the_kernel_cannot_read_the_sources():
    """Chunks of another type than the result and the Numba kernel go the
    assembled way, numpy subclasses (np.matrix, a memory map) the in-place way; the
    answer is the same."""
    rng = np.random.default_rng(22)
    a = rng.standard_normal((40, 50)).astype(np.float32)
    b = rng.standard_normal((5, 3))
    ref = fastconv.convolve2d(a, b, "same", "symm")        # float64 result
    x = da.from_array(a, chunks=(15, 20))
    assert_matches(fd.convolve2d(x, b, "same", "symm").compute(), ref, a, b)
    b32 = b.astype(np.float32)
    ref32 = fastconv.convolve2d(a, b32, "same", "symm")
    as_matrix = x.map_blocks(lambda c: c.view(np.matrix))
    assert_matches(fd.convolve2d(as_matrix, b32, "same", "symm").compute(), ref32, a, b32)
    from fastconv._engine.kernels import direct_backend
    with direct_backend("numba"):
        assert_matches(fd.convolve2d(x, b32, "same", "symm").compute(), ref32, a, b32)


def test_block_kernel_refuses_a_table_that_does_not_make_the_window():
    from fastconv._engine import kernels
    run = kernels.build().correlate_valid_blocks
    a = np.arange(30.0).reshape(5, 6)
    w, out = np.ones((2, 2)), np.empty((4, 5))
    table = np.array([[a.ctypes.data, a.strides[0], a.strides[1]]], np.intp)
    r, c = np.array([0, 5], np.intp), np.array([0, 6], np.intp)
    run(r, c, table, w, out, 0.0, 1)
    np.testing.assert_array_equal(out, ss.correlate2d(a, w, "valid"))
    for bad in ((np.array([0, 4], np.intp), c, table), (r, np.array([0, 7], np.intp), table),
                (r, c, np.zeros((2, 3), np.intp)), (np.array([0, 6, 5], np.intp), c,
                                                    np.zeros((2, 3), np.intp))):
        with pytest.raises(ValueError):
            run(*bad, w, out, 0.0, 1)
    with pytest.raises(ValueError):
        run(r, c, table, w, out, 0.0, 1, 1)        # row0 past the window


@pytest.mark.parametrize("client", [False, True], ids=["in-process", "client-exists"])
def test_halo_read_in_place_or_through_rim_tasks(monkeypatch, client):
    """Without a distributed client a task reads its neighbours' chunks in place (one
    task per chunk); with one, rim tasks cut the strips (two per chunk). Same answer."""
    monkeypatch.setattr(fd, "_cluster_client_exists", lambda: client)
    rng = np.random.default_rng(23)
    a, b = rng.standard_normal((2, 40, 33)), rng.standard_normal((6, 3))
    x = da.from_array(a, chunks=(1, 12, 10))
    for mode, boundary in (("same", "symm"), ("full", "wrap"), ("valid", "fill")):
        lazy = fd.convolve2d(x, b, mode, boundary, 1.5)
        keys = list(lazy.__dask_graph__())
        rims = [k for k in keys if "fastconv-rim" in str(k)]
        assert (0 < len(rims) <= x.npartitions) if client else not rims
        assert len(keys) == x.npartitions + lazy.npartitions + len(rims)
        ref = np.stack([fastconv.convolve2d(p, b, mode, boundary, 1.5) for p in a])
        assert_matches(lazy.compute(scheduler="threads"), ref, a, b, 1.5)


def test_swapped_valid_mode_and_empty_inputs():
    rng = np.random.default_rng(9)
    small, big = rng.standard_normal((3, 4)), rng.standard_normal((6, 8))
    for func in FUNCS:
        got = getattr(fd, func)(da.from_array(small, chunks=2), big, "valid")
        assert_matches(got.compute(), _ref(func, small, big, "valid"), small, big)
    for s1, s2 in [((0, 5), (2, 2)), ((4, 5), (0, 2)), ((0, 0), (2, 3)), ((3, 4), (2, 0))]:
        a, b = np.ones(s1), np.ones(s2)
        for mode in MODES:
            for boundary in BOUNDARIES:
                try:
                    ref = fastconv.convolve2d(a, b, mode, boundary, 2)
                except ValueError:
                    with pytest.raises(ValueError):
                        fd.convolve2d(da.from_array(a), b, mode, boundary, 2)
                    continue
                got = fd.convolve2d(da.from_array(a), b, mode, boundary, 2).compute()
                assert_matches(got, ref)


@pytest.mark.parametrize("case", [c for c in BAD if not isinstance(c[1][0], list)],
                         ids=lambda c: c[0])
def test_bad_input_raises_like_fastconv(case):
    _, (a, b), kw = case
    if np.ndim(a) > 2 and np.ndim(b) != 2:
        a = a[0]                      # a 3-D x is a stack here; keep the kernel's fault
    with pytest.raises(Exception) as ref:
        fastconv.convolve2d(a, b, **kw)
    with pytest.raises(ref.type):
        fd.convolve2d(da.from_array(a, chunks=2), b, **kw)


def test_dask_boundaries_agree_with_scipy_where_both_apply():
    """Dask's overlap boundaries are scipy's (reflect = symm, periodic = wrap,
    constant = fill) for a depth up to the array size; fastconv.dask builds its own
    extension because it also needs unequal depths and larger ones."""
    a = np.arange(35.0).reshape(5, 7)
    for dask_name, boundary, fill in (("reflect", "symm", 0), ("periodic", "wrap", 0),
                                      (-2.0, "fill", -2.0)):
        for d in (1, 3, 5):
            delta = np.zeros((2 * d + 1, 2 * d + 1))
            delta[d, d] = 1.0
            # correlating with a centred delta in 'full' mode returns the extended image
            ref = ss.correlate2d(a, delta, "full", boundary, fill)
            got = da.overlap.overlap(da.from_array(a, chunks=-1), depth=d, boundary=dask_name)
            np.testing.assert_array_equal(got.compute(), ref)
        # A halo deeper than the image, which scipy extends periodically, Dask refuses
        # (fastconv.dask covers it: CASES has kernels larger than the image).
        with pytest.raises(ValueError):
            da.overlap.overlap(da.from_array(a, chunks=-1), depth=6, boundary=dask_name)


def test_thread_rule_per_scheduler():
    budget = fastconv.get_num_threads()

    def seen(blk):
        return np.full((1, 1), fd._task_threads())

    x = da.zeros((4, 4), chunks=2)
    assert x.map_blocks(seen, chunks=(1, 1)).compute(scheduler="sync").max() == budget
    with dask.config.set(num_workers=2):
        got = x.map_blocks(seen, chunks=(1, 1)).compute(scheduler="threads")
    assert got.max() == max(1, budget // 2)


def test_thread_rule_in_multiprocessing_workers():
    """The multiprocessing scheduler's worker processes share the cores: each takes
    the budget over dask's worker count (the CPU count by default), not all of it."""
    def seen(blk):
        return np.full((1, 1), fd._task_threads())

    x = da.zeros((4, 4), chunks=2)
    got = x.map_blocks(seen, chunks=(1, 1)).compute(scheduler="processes")
    assert got.max() == max(1, fastconv.get_num_threads() // dask.system.CPU_COUNT)


def test_import_fastconv_does_not_import_dask(tmp_path):
    code = ("import sys, fastconv; assert 'dask' not in sys.modules, 'dask imported'; "
            "import fastconv.dask; assert 'dask.array' in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr


@st.composite
def _case(draw):
    dt = np.dtype(draw(st.sampled_from(["int16", "int32", "float64", "complex64"])))
    shape = (draw(st.integers(1, 25)), draw(st.integers(1, 25)))
    kshape = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (draw(st.sampled_from(FUNCS)), _rand(rng, shape, dt), _rand(rng, kshape, dt),
            chunks, draw(st.sampled_from(MODES)),
            draw(st.sampled_from(BOUNDARIES + ["pad", "circular", "symmetric"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_property_matches_in_memory(case):
    func, a, b, chunks, mode, boundary = case
    x = da.from_array(a, chunks=chunks)
    try:
        ref = _ref(func, a, b, mode, boundary, 1)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(fd, func)(x, b, mode, boundary, 1)
        return
    got = getattr(fd, func)(x, b, mode, boundary, 1).compute(scheduler="sync")
    assert_matches(got, ref, a, b, 1)


@pytest.fixture(scope="module")
def cluster():
    """A two-process LocalCluster on loopback (one thread each), closed after the
    module; its client is not made the default scheduler of the other tests."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.ERROR) as lc, \
            distributed.Client(lc, set_as_default=False) as client:
        yield client


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.complex128],
                         ids=lambda d: np.dtype(d).name)
def test_distributed_cluster_matches_in_memory(cluster, dtype):
    rng = np.random.default_rng(12)
    a = _rand(rng, (3, 45, 38), dtype)
    b = _rand(rng, (5, 4), dtype)
    x = da.from_array(a, chunks=(2, 11, (20, 3, 15)))
    for func in FUNCS:
        for mode, boundary in (("same", "symm"), ("full", "wrap"), ("valid", "fill")):
            lazy = getattr(fd, func)(x, b, mode, boundary, 2)
            # built with a client in the process: halo strips, not chunks, travel
            assert any("fastconv-rim" in str(key) for key in lazy.__dask_graph__())
            got = lazy.compute(scheduler=cluster)
            ref = np.stack([_ref(func, p, b, mode, boundary, 2) for p in a])
            assert_matches(got, ref, a, b, 2)


def test_distributed_workers_run_one_fastconv_thread_per_task(cluster):
    # distributed's nanny sets OMP_NUM_THREADS=1 in each worker process
    got = da.zeros((4, 4), chunks=2).map_blocks(
        lambda blk: np.full((1, 1), fd._task_threads()), chunks=(1, 1))
    assert got.compute(scheduler=cluster).max() == 1


def test_in_process_workers_share_the_thread_budget():
    distributed = pytest.importorskip("distributed")
    omp = os.environ.get("OMP_NUM_THREADS", "")
    budget = fastconv.get_num_threads()
    if omp.isdigit() and int(omp) > 0:
        budget = min(budget, int(omp))
    # in-process workers talk over inproc://, no network
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.ERROR) as lc, \
            distributed.Client(lc, set_as_default=False) as client:
        got = da.zeros((4, 4), chunks=2).map_blocks(
            lambda blk: np.full((1, 1), fd._task_threads()), chunks=(1, 1))
        assert got.compute(scheduler=client).max() == max(1, budget // 2)


def test_docstring_examples_run():
    import doctest
    res = doctest.testmod(fd, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
