"""fastconv over Dask arrays: the same convolutions, computed chunk by chunk.

``import fastconv.dask`` (it needs ``pip install fastconv[dask]``); ``import
fastconv`` alone never imports Dask. The arguments are those of
:func:`fastconv.convolve2d` / :func:`fastconv.correlate2d` (``method=`` included),
with a Dask array as ``x``; the result is a lazy Dask array whose computed value
is that of the in-memory call (integers bit-exact, floats to rounding), plane by
plane for a stack ``(..., H, W)``.

How it is computed
------------------
Every mode and boundary is the 'valid' correlation of the boundary-extended input
(the one primitive of fastconv). The graph has one task per output chunk, whose
window of the extended input is the chunk's own samples plus the halo the kernel
reaches (``K - 1`` rows and ``L - 1`` columns in all); each output sample is
computed once. The task does not copy the window: the direct kernel reads it in
place as a grid of blocks (the chunk and the halo strips around it) in one call,
as the in-memory call reads its image (the other methods compute the outputs
whose window lies in the chunk from the chunk in place, and the frame around them
from small windows assembled from the strips). The halo comes from the
neighbouring chunks: read in place where the graph runs in one process, or, when a
``dask.distributed`` client exists in the process as the graph is built (build it
after connecting), through one "rim" task per input chunk, which cuts the strips
its neighbours need, so that a cluster ships strips, not chunks (16 rim tasks
doubled the threaded scheduler's bookkeeping for 16 chunks: 8192^2 float32, 7x7,
in 2048^2 chunks took 64-68 ms with them, 54-60 without, in the same noisy
minutes). Outside the image the window follows scipy's fill / wrap / symm index
rule, which also covers a kernel larger than the image (the extension repeats). A
task reads every chunk its window touches, so chunks of any size work, smaller
than the kernel included; in ``'same'`` mode the output chunks are the input
chunks, in ``'full'`` and ``'valid'`` the last chunk of each axis grows or
shrinks.

Dask's own overlap boundaries agree with scipy's where both apply: ``'reflect'``
is scipy's ``'symm'`` (the edge sample repeated), ``'periodic'`` is ``'wrap'`` and
a constant is ``'fill'`` (the tests check it). They are not used because Dask
needs the same depth on both sides of an axis (``'full'`` mode and even kernels
need different ones) and a depth no larger than a chunk; and an earlier version
built on ``da.overlap`` (boundary strips, rechunking, asymmetric overlap) made 938
tasks for 8192^2 in 1024^2 chunks where this graph makes 192 (128 without rim
tasks).

Threads
-------
Inside a Dask task fastconv runs ``max(1, B // S)`` threads, where ``S`` is the
number of tasks the scheduler runs at once in this process and ``B`` the
process's thread budget: ``S`` is 1 for the synchronous scheduler (tasks run in
the main thread), dask's ``num_workers`` setting (default: the CPU count) for
the threaded scheduler, and on a distributed worker the sum of ``nthreads`` over
the workers in this process (one worker per process, unless the cluster runs its
workers in-process). In a worker process of the multiprocessing scheduler (a
child process running tasks in its main thread) ``S`` is 1 and ``B`` is divided
by ``num_workers`` as that process sees it (default: the CPU count), the number
of such processes.
``B`` is :func:`fastconv.get_num_threads` in the thread running the task (the
process default, from ``set_num_threads`` or ``FASTCONV_NUM_THREADS``: a
``fastconv.threads()`` block reaches only the synchronous scheduler, which runs in
the calling thread), lowered on a distributed worker to ``OMP_NUM_THREADS`` when
that is set (distributed's nanny sets it to 1 in each worker process, its own guard
against oversubscription). The kernels release the GIL, so the threaded scheduler
runs chunks in parallel. One exception: where tasks run side by side in a process
(``S > 1``), a large task of the direct kernel (~2 ms of work or more) instead
hands its rows in pieces to fastconv's own pool of ``B`` workers, shared by all the
tasks of the process, so that a core one task leaves idle (at the end of the
graph, or while the scheduler hands out the next task) runs pieces of another;
still no more than ``B`` threads compute at once.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
from functools import cached_property, partial
from typing import Any, Callable

import dask
import dask.array as da
import numpy as np
from numpy.typing import ArrayLike

from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ._api import rules
from ._api.rules import Boundary, Method, Mode
from ._api.scipy2d import convolve2d as _convolve2d_np
from ._api.scipy2d import correlate2d as _correlate2d_np
from ._engine import kernels
from ._engine import plan as _plan
from ._engine.boundary import FILL, source_index
from ._engine.direct import MIN_WORK_PER_THREAD, correlate_plane
from ._engine.dispatch import correlate_plane_method
from ._runtime import memory
from ._runtime import pool as _pool
from ._runtime.threads import get_num_threads, threads

__all__ = ["convolve2d", "correlate2d"]


def convolve2d(x: da.Array, in2: ArrayLike, mode: Mode = "full",
               boundary: Boundary = "fill", fillvalue: Any = 0, *,
               method: Method = "auto") -> da.Array:
    """Convolve a Dask array with a 2-D kernel, chunk by chunk.

    The arguments after `x` and the computed result are those of
    :func:`fastconv.convolve2d` (and so of :func:`scipy.signal.convolve2d`).

    Parameters
    ----------
    x : dask.array.Array
        The image, 2-D, or a stack ``(..., H, W)`` convolved plane by plane over
        its last two axes (the leading axes keep their chunks). Any other array
        is wrapped with :func:`dask.array.asarray`.
    in2 : array_like
        The kernel, 2-D and small enough for memory (a Dask array is computed).
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`fastconv.convolve2d`, including the 'valid'-mode swap when
        the kernel is larger than a plane.
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`fastconv.convolve2d` (aliases included).
    fillvalue : scalar, optional
        As in :func:`fastconv.convolve2d`.
    method : {'auto', 'direct', 'separable', 'fft'}, optional, keyword-only
        As in :func:`fastconv.convolve2d`, applied to each chunk's window (so
        ``'auto'`` chooses per window, by the window's size).

    Returns
    -------
    out : dask.array.Array
        Lazy, of dtype ``np.result_type(x, in2)``; its computed value equals
        ``fastconv.convolve2d(plane, in2, mode, boundary, fillvalue)`` for every
        plane (to rounding for floats). For ``mode='same'`` its chunks are those
        of `x`; chunks of any size are accepted, smaller than the kernel included.

    Raises
    ------
    ValueError
        As :func:`fastconv.convolve2d`, when the graph is built; also if `x` has
        fewer than two dimensions.

    See Also
    --------
    correlate2d : the cross-correlation.
    fastconv.convolve2d : the in-memory function.

    Notes
    -----
    The module docstring says how the boundary and the halo are built and how
    many threads each task uses.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import fastconv.dask
    >>> img = da.ones((1000, 1000), chunks=250)
    >>> out = fastconv.dask.convolve2d(img, np.ones((3, 3)), mode="same", boundary="symm")
    >>> out.chunks == img.chunks, float(out[500, 500].compute())
    (True, 9.0)
    """
    return _conv2d_dask(x, in2, mode, boundary, fillvalue, method, flip=True)


def correlate2d(x: da.Array, in2: ArrayLike, mode: Mode = "full",
                boundary: Boundary = "fill", fillvalue: Any = 0, *,
                method: Method = "auto") -> da.Array:
    """Cross-correlate a Dask array with a 2-D template, chunk by chunk.

    The arguments after `x` and the computed result are those of
    :func:`fastconv.correlate2d` (and so of :func:`scipy.signal.correlate2d`).

    Parameters
    ----------
    x : dask.array.Array
        As in :func:`convolve2d`.
    in2 : array_like
        The template, 2-D (conjugated, as in scipy).
    mode : {'full', 'valid', 'same'}, optional
        As in :func:`fastconv.correlate2d` ('same' centred at ``K//2``).
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`fastconv.correlate2d`.
    fillvalue : scalar, optional
        As in :func:`fastconv.correlate2d`.
    method : {'auto', 'direct', 'separable', 'fft'}, optional, keyword-only
        As in :func:`convolve2d`.

    Returns
    -------
    out : dask.array.Array
        Lazy; computes to ``fastconv.correlate2d(plane, in2, ...)`` per plane.

    Raises
    ------
    ValueError
        As :func:`convolve2d`.

    See Also
    --------
    convolve2d : the convolution.
    fastconv.correlate2d : the in-memory function.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import fastconv.dask
    >>> img = da.arange(36.0, chunks=3).reshape(6, 6)
    >>> fastconv.dask.correlate2d(img, [[0.0, 1.0]], mode="valid").shape
    (6, 5)
    """
    return _conv2d_dask(x, in2, mode, boundary, fillvalue, method, flip=False)


# -- building the graph ---------------------------------------------------------------


def _conv2d_dask(x: Any, in2: Any, mode: Any, boundary: Any, fillvalue: Any,
                 method: Any, flip: bool) -> da.Array:
    name = "convolve2d" if flip else "correlate2d"
    rules.check_method(method)
    plane_fn = partial(_convolve2d_np if flip else _correlate2d_np, method=method)
    x = x if isinstance(x, da.Array) else da.asarray(x)
    if isinstance(in2, da.Array):
        in2 = in2.compute()
    k = np.asarray(in2)
    if x.ndim < 2 or k.ndim != 2:
        raise ValueError(f"{name} needs x with at least 2 dimensions (a plane or a "
                         f"stack of planes) and a 2-D kernel")
    # The same checks, in the same order, as the in-memory call on one plane.
    plane_shape = x.shape[-2:]
    swapped = rules.inputs_swap_needed(mode, plane_shape, k.shape)
    m = rules.mode_code(mode)
    b = rules.boundary_code(boundary)
    dt = rules.result_dtype(x, k)
    fill = rules.fill_scalar(fillvalue, dt) if b == FILL else dt.type(0)
    rules.check_supported(dt, "convolve2d")
    if swapped:
        # The plane is smaller than the kernel in both axes, so it fits in memory.
        return _per_whole_plane(x.astype(dt), k, plane_fn, mode, boundary, fill)
    out_shape, origin = rules.out_shape_and_origin(m, flip, plane_shape, k.shape)
    if min(out_shape) < 0:
        raise ValueError("negative dimensions are not allowed")
    lead = x.shape[:-2]
    if 0 in out_shape or k.size == 0:
        # No taps or no outputs: fastconv returns zeros whatever the boundary.
        return da.zeros(lead + out_shape, dtype=dt, chunks=x.chunks[:-2] + ("auto", "auto"))
    if b != FILL and 0 in plane_shape:
        raise ValueError("boundary 'wrap'/'symm' needs a non-empty in1 when the output "
                         "is not empty (scipy crashes here)")
    if method == "separable":
        # the one error that depends on the data (a kernel not of rank 1): raise it
        # now, from a plane the kernel's size, not later inside a task
        plane_fn(np.zeros(k.shape, dt), k, "valid")
    # Strips cut by rim tasks where a cluster may run the graph; else each task reads
    # its neighbours' chunks as they are (no copies, half the tasks).
    whole = not _cluster_client_exists()
    rows, cols = (_AxisPlan(x.chunks[ax], k.shape[i], origin[i], out_shape[i], b, whole)
                  for i, ax in enumerate((x.ndim - 2, x.ndim - 1)))
    token = tokenize(x, k, flip, m, b, fill, method, whole)
    out_name = f"fastconv-{name}-{token}"
    rim = f"fastconv-rim-{token}"
    # the kernel as the primitive applies it, as the in-memory call prepares it
    w = (k[::-1, ::-1] if flip else k.conj()).astype(dt)
    fn = partial(_halo_block, w=w, method=method, fill=fill, dtype=dt)
    # The direct kernel reads the window's blocks in place when the sources hold the
    # result type (it would otherwise cast them) and the method is direct.
    gather = x.dtype == dt and dt in _GATHER_TYPES
    direct_for: dict[tuple, bool] = {}
    dsk: dict = {}
    strips: dict[tuple, dict[tuple, int]] = {}     # input chunk -> {strip: its index}

    def source(lead_idx, r, c):
        """Where a task reads one input chunk: ``(chunk key, None)`` when it reads
        all of it (every read, without a cluster), else ``(rim key, i)``: strip ``i``
        of the chunk's rim, one task per chunk that cuts every strip its neighbours
        need (a cluster ships strips, not chunks, and the graph stays at two tasks
        per chunk)."""
        (rb, rlo, rhi), (cb, clo, chi) = r, c
        key = (x.name, *lead_idx, rb, cb)
        if (rlo, rhi) == (0, x.chunks[-2][rb]) and (clo, chi) == (0, x.chunks[-1][cb]):
            return key, None
        own = strips.setdefault(key, {})
        return (rim, *key[1:]), own.setdefault((rlo, rhi, clo, chi), len(own))

    for lead_idx in np.ndindex(*x.numblocks[:-2]):
        lead_shape = tuple(c[i] for c, i in zip(x.chunks[:-2], lead_idx))
        for i, (rruns, rsrc) in enumerate(rows.tasks):
            for j, (cruns, csrc) in enumerate(cols.tasks):
                where = [[source(lead_idx, r, c) for c in csrc] for r in rsrc]
                keys = [[key for key, _ in row] for row in where]
                picks = [[pick for _, pick in row] for row in where]
                plan = _Plan(lead_shape, rruns, cruns, picks, k.shape)
                if gather and plan.out_shape not in direct_for:
                    direct_for[plan.out_shape] = method == "direct" or (
                        method == "auto" and _plan.choose(plan.out_shape, w, dt,
                                                          dt != np.longdouble)[0] == "direct")
                plan.gather = gather and direct_for[plan.out_shape]
                dsk[(out_name, *lead_idx, i, j)] = (fn, plan, keys)
    for key, own in strips.items():
        dsk[(rim, *key[1:])] = (partial(_cut_rim, boxes=tuple(own)), key)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    chunks = x.chunks[:-2] + (rows.out_chunks, cols.out_chunks)
    return da.Array(graph, out_name, chunks, meta=np.empty((0,) * x.ndim, dt))


class _Plan:
    """What one task computes: the shape of its leading axes and of its output; its
    window as a grid of blocks of the sources (``edges`` of the rows and columns,
    and per cell the sources' place in ``picks`` and the slices of them, or -1 for
    fill), which the direct kernel reads in one call; and, for the other methods,
    ``frame``: the block of outputs computed in place from one input chunk (the
    chunk's place, its slices and the output rows and columns; or None) and the
    bands of outputs around it, each from one window assembled from strips (see
    :func:`_bands`). An opaque object to Dask (its graph must not look inside for
    keys)."""

    def __init__(self, lead_shape: tuple[int, ...], rows: list, cols: list,
                 picks: list[list[int | None]], kshape: tuple[int, int]):
        self.lead_shape, self.picks = lead_shape, picks
        self.rows, self.cols, self.kshape = rows, cols, kshape
        self.out_shape = (rows[-1][1] - kshape[0] + 1, cols[-1][1] - kshape[1] + 1)
        # the window as blocks of the sources, for the one-call kernel
        self.edges = tuple(np.array([r[0] for r in runs] + [runs[-1][1]], np.intp)
                           for runs in (rows, cols))
        self.cells = [(rb, cb, rs, cs) for _, _, rb, rs in rows for _, _, cb, cs in cols]
        self.gather = False         # set by the graph: the direct kernel runs the task

    @cached_property
    def frame(self) -> tuple[tuple | None, list]:
        """``(core, bands)`` for the other methods, worked out on first use (a
        graph of thousands of direct tasks never needs them)."""
        rows, cols, kshape = self.rows, self.cols, self.kshape
        (K, L), (Ho, Wo) = kshape, self.out_shape
        core = _core_run(rows, K), _core_run(cols, L)
        if None in core:
            # no output lies in one chunk: the whole window, assembled
            return None, _bands(rows, cols, kshape, [(0, Ho, 0, Wo)])
        (r0, r1, rb, rs), (c0, c1, cb, cs) = core
        i1, j1 = r1 - K + 1, c1 - L + 1
        # the frame: the rows above and below the core, the columns left and right
        return ((rb, cb, rs, cs, slice(r0, i1), slice(c0, j1)),
                _bands(rows, cols, kshape, [(0, r0, 0, Wo), (i1, Ho, 0, Wo),
                                            (r0, i1, 0, c0), (r0, i1, j1, Wo)]))


def _bands(rows: list, cols: list, kshape: tuple[int, int],
           boxes: list[tuple[int, int, int, int]]) -> list[tuple]:
    """For each non-empty box of outputs ``(a0, a1, b0, b1)``, the window it needs:
    ``(window shape, copies, output rows, output cols)``, the copies that fill the
    window being ``(window rows, window cols, rows' chunk, cols' chunk, source rows,
    source cols)``, with chunk -1 for fill."""
    (K, L), out = kshape, []
    for a0, a1, b0, b1 in boxes:
        if a1 <= a0 or b1 <= b0:
            continue
        copies = [(slice(r0, r1), slice(c0, c1), rb, cb, rs, cs)
                  for r0, r1, rb, rs in _clip(rows, a0, a1 + K - 1)
                  for c0, c1, cb, cs in _clip(cols, b0, b1 + L - 1)]
        out.append(((a1 - a0 + K - 1, b1 - b0 + L - 1), copies, slice(a0, a1),
                    slice(b0, b1)))
    return out


class _AxisPlan:
    """One image axis: the output chunks and, for each, the runs of the extended
    axis its task reads.

    Output ``i`` reads extended samples ``origin + i .. origin + i + k - 1``. Each
    output chunk's window is split into runs that come from one input chunk, in
    order (step 1) or mirrored (step -1), or are fill: ``(start, stop, chunk or
    -1, source slice)``.
    """

    def __init__(self, chunks: tuple[int, ...], k: int, origin: int, n_out: int,
                 boundary: int, whole: bool):
        n = sum(chunks)
        self.out_chunks = _output_chunks(chunks, n_out)
        bounds = np.cumsum((0,) + tuple(chunks))
        self.tasks = []
        start = origin
        for c in self.out_chunks:
            src = source_index(start, c + k - 1, n, boundary)
            blk = np.where(src >= 0, np.searchsorted(bounds, src, side="right") - 1, -1)
            self.tasks.append(_runs(src, blk, bounds, whole))
            start += c


def _output_chunks(chunks: tuple[int, ...], n_out: int) -> tuple[int, ...]:
    """The input chunks, the last one grown or shrunk to make ``n_out`` (so 'same'
    keeps the input's chunks), merging chunks that would end up empty."""
    out = list(chunks) or [0]
    out[-1] += n_out - sum(out)
    while len(out) > 1 and out[-1] <= 0:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _runs(src: np.ndarray, blk: np.ndarray, bounds: np.ndarray,
          whole: bool) -> tuple[list, list]:
    """Split one window into copyable runs.

    Returns the runs and the input chunks they read, as ``(chunk, lo, hi)``: only
    samples ``lo:hi`` of a chunk are read (a halo strip of a neighbour, so that a
    cluster ships the strip, not the chunk; ``whole``: the whole chunk), and a
    run's source slice counts from ``lo``, its chunk number is its place in that
    list.
    """
    raw = []
    i, m = 0, len(src)
    while i < m:
        b, j = int(blk[i]), i + 1
        if b < 0:
            while j < m and blk[j] < 0:
                j += 1
            raw.append((i, j, -1, 0, 1))
            i = j
            continue
        step = 1
        if j < m and blk[j] == b and abs(int(src[j]) - int(src[i])) == 1:
            step = int(src[j]) - int(src[i])
            while j < m and blk[j] == b and src[j] - src[j - 1] == step:
                j += 1
        raw.append((i, j, b, int(src[i]) - int(bounds[b]), step))
        i = j
    spans: dict[int, tuple[int, int]] = {}
    for i, j, b, first, step in raw:
        if b >= 0:
            last = first + step * (j - i - 1)
            lo, hi = spans.get(b, (first, first + 1))
            spans[b] = (min(lo, first, last), max(hi, first + 1, last + 1))
    if whole:
        spans = {b: (0, int(bounds[b + 1] - bounds[b])) for b in spans}
    used = sorted(spans)
    runs = []
    for i, j, b, first, step in raw:
        if b < 0:
            runs.append((i, j, -1, None))
            continue
        start = first - spans[b][0]
        stop = start + step * (j - i)
        runs.append((i, j, used.index(b), slice(start, stop if stop >= 0 else None, step)))
    return runs, [(b, *spans[b]) for b in used]


# -- inside the tasks ------------------------------------------------------------------


def _cut_rim(block: np.ndarray, boxes: tuple) -> tuple[np.ndarray, ...]:
    # copies: a view would keep the whole chunk in memory as long as its strips
    return tuple(block[..., r0:r1, c0:c1].copy() for r0, r1, c0, c1 in boxes)


def _halo_block(plan: _Plan, srcs: list[list[Any]], w: np.ndarray, method: str,
                fill: Any, dtype: np.dtype) -> np.ndarray:
    """One output chunk: the 'valid' correlation of its window of the extended input.

    The window is never copied whole. The direct kernel reads it in place, block
    by block (the chunk and the strips around it), in one call. Other methods (and
    sources the kernel cannot read as they are) correlate the largest block of the
    window that one input chunk holds in order in place, straight into the result,
    and only the frame of outputs around it, whose windows cross chunks or the
    boundary, from small windows assembled from strips (8192^2 float32 in 1024^2
    chunks, 7x7, one thread: the copy of whole windows cost 15% of the time).
    """
    res = memory.empty(plan.lead_shape + plan.out_shape, dtype)
    budget, slots = _budget_and_slots()
    if plan.gather and _gather_into(plan, srcs, w, res, fill, dtype, budget, slots):
        return res
    core, bands = plan.frame
    with threads(max(1, budget // slots)):
        if core is not None:
            rb, cb, rs, cs, ro, co = core
            src, pick = srcs[rb][cb], plan.picks[rb][cb]
            _valid_into((src if pick is None else src[pick])[..., rs, cs], w,
                        res[..., ro, co], method, dtype)
            # The frame's bands are a few rows or columns: direct, without planning
            # (the plan per call cost more than the band's arithmetic).
            method = "direct"
        for shape, copies, ro, co in bands:
            win = _scratch(plan.lead_shape + shape, dtype)
            for wr, wc, rb, cb, rs, cs in copies:
                if rb < 0 or cb < 0:
                    win[..., wr, wc] = fill
                else:
                    src, pick = srcs[rb][cb], plan.picks[rb][cb]
                    win[..., wr, wc] = (src if pick is None else src[pick])[..., rs, cs]
            _valid_into(win, w, res[..., ro, co], method, dtype)
    return res


# The types the direct kernel computes in as they are (no cast of the sources).
_GATHER_TYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.longdouble,
                                            np.int32, np.int64))


def _gather_into(plan: _Plan, srcs: list[list[Any]], w: np.ndarray, res: np.ndarray,
                 fill: Any, dtype: np.dtype, budget: int, slots: int) -> bool:
    """``res`` = the task's outputs by the direct kernel, which reads the window's
    blocks in place (the frame around the chunk included: 8192^2 float32 in 2048^2
    chunks, 7x7, the frame computed apart from assembled strips cost ~8% of each
    task). False, with nothing written, where it does not apply: a source that is
    not a numpy array of the result type, or the Numba kernel.

    Threads: with tasks running side by side here (``slots > 1``), a large task's
    rows go in pieces to fastconv's pool of ``budget`` workers, which all the tasks
    share: no more threads than the budget, and a core left idle by one task (at
    the end of the graph, or while the scheduler hands out the next task) takes
    pieces of another. Otherwise the task runs ``budget // slots`` threads (one
    kernel call on that many threads when alone, as the in-memory call does).
    """
    if kernels.uses_numba() and dtype != np.longdouble:
        return False
    table = np.zeros((len(plan.cells), 3), np.intp)
    lead = np.zeros((len(plan.cells), len(plan.lead_shape)), np.intp)
    for n, (rb, cb, rs, cs) in enumerate(plan.cells):
        if rb < 0 or cb < 0:
            continue        # fill: address 0
        src, pick = srcs[rb][cb], plan.picks[rb][cb]
        a = src if pick is None else src[pick]
        if not isinstance(a, np.ndarray) or a.dtype != dtype:
            return False
        st = a.strides
        table[n] = (a.ctypes.data + rs.start * st[-2] + cs.start * st[-1],
                    rs.step * st[-2], cs.step * st[-1])
        lead[n] = st[:-2]
    (Ho, Wo), (K, L) = plan.out_shape, w.shape
    wc = np.ascontiguousarray(w, dtype)
    fill = dtype.type(fill)
    work = Ho * Wo * K * L
    run = kernels.build().correlate_valid_blocks
    pool = None
    if slots > 1 and budget > 1 and work >= _POOL_MIN_WORK and Ho > 1:
        pool = _pool.executor(budget)
        edges = np.linspace(0, Ho, min(Ho, _PIECES_PER_TASK) + 1).astype(int)
    for idx in np.ndindex(*plan.lead_shape):
        cells = table
        if idx:
            cells = table.copy()
            cells[:, 0] += np.where(table[:, 0] != 0, lead @ np.array(idx, np.intp), 0)
        if pool is None:
            nt = max(1, min(budget // slots,
                            work * dtype.itemsize // 8 // MIN_WORK_PER_THREAD))
            run(*plan.edges, cells, wc, res[idx], fill, nt)
            continue
        futures = [pool.submit(run, *plan.edges, cells, wc, res[idx][a:b], fill, 1, a,
                               res[idx].nbytes)
                   for a, b in zip(edges[:-1], edges[1:])]
        for f in futures:
            f.result()
    return True


# Tasks of at least this many multiply-adds (~2 ms on one core) go to the shared
# pool, in this many row pieces: enough that a free core finds work; for smaller
# tasks the handing over costs more than the idle core (8192^2 float32, 7x7, 2
# cores: 2048^2 chunks 0.83x plain in a thread per task, 0.87x in 2 pieces, 0.85x
# in 4; 1024^2 chunks 0.90x in a thread per task, 0.82x in pieces).
_POOL_MIN_WORK = 1 << 26
_PIECES_PER_TASK = 2


def _core_run(runs: list, k: int) -> tuple | None:
    """The longest in-order run of one input chunk along an axis, if it is long
    enough for a kernel of length ``k`` to produce outputs from it alone."""
    best = max((r for r in runs if r[2] >= 0 and r[3].step == 1), default=None,
               key=lambda r: r[1] - r[0])
    return best if best is not None and best[1] - best[0] >= k else None


def _clip(runs: list, lo: int, hi: int) -> list:
    """The parts of ``runs`` inside ``[lo, hi)``, counted from ``lo``."""
    out = []
    for r0, r1, b, s in runs:
        a, z = max(r0, lo), min(r1, hi)
        if a >= z:
            continue
        if s is not None:
            stop = s.start + s.step * (z - r0)
            s = slice(s.start + s.step * (a - r0), stop if stop >= 0 else None, s.step)
        out.append((a - lo, z - lo, b, s))
    return out


def _valid_into(win: np.ndarray, w: np.ndarray, out: np.ndarray, method: str,
                dtype: np.dtype) -> None:
    """``out`` = the 'valid' correlation of each plane of ``win`` with ``w`` (the
    kernel as applied: flipped for a convolution, conjugated for a correlation)."""
    shape = out.shape[-2:]
    for idx in np.ndindex(*win.shape[:-2]):
        if method == "direct":
            correlate_plane(win[idx], w, shape, (0, 0), FILL, 0, dtype, out=out[idx])
        else:
            correlate_plane_method(win[idx], w, shape, (0, 0), FILL, 0, dtype, method,
                                   out=out[idx])


_local = threading.local()
# Windows up to this size are kept per thread between tasks (a pool thread lives as
# long as the process, so larger ones are not held on to).
_SCRATCH_MAX_BYTES = 64 << 20


def _scratch(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A window buffer, reused from task to task by this thread: a fresh multi-MB
    array per task costs page faults (8192^2 float32 in 1024^2 chunks, 7x7, one
    thread, synchronous scheduler: 386 ms with fresh windows, 292 ms reused)."""
    size = math.prod(shape) * dtype.itemsize
    if size > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype)
    buf = getattr(_local, "buf", None)
    if buf is None or buf.nbytes < size:
        buf = _local.buf = np.empty(size, np.uint8)
    return buf[:size].view(dtype).reshape(shape)


def _per_whole_plane(x: da.Array, k: np.ndarray, plane_fn: Callable, mode: Any,
                     boundary: Any, fill: Any) -> da.Array:
    """'valid' with the inputs swapped: each (small) plane in one chunk, computed
    by the in-memory function."""
    x = x.rechunk(x.chunks[:-2] + (-1, -1))
    out_plane = tuple(a - b + 1 for a, b in zip(k.shape, x.shape[-2:]))
    return x.map_blocks(lambda blk: _each_plane(blk, lambda p: plane_fn(
                            p, k, mode, boundary, fill)),
                        dtype=x.dtype, chunks=x.chunks[:-2] + tuple((n,) for n in out_plane),
                        meta=np.empty((0,) * x.ndim, x.dtype))


def _each_plane(block: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    with threads(_task_threads()):
        if block.ndim == 2:
            return fn(block)
        lead = block.shape[:-2]
        planes = [fn(block[idx]) for idx in np.ndindex(*lead)]
        if not planes:          # an empty stack: only the plane shape is needed
            plane = fn(np.zeros(block.shape[-2:], block.dtype))
            return np.empty(lead + plane.shape, plane.dtype)
        return np.stack(planes).reshape(lead + planes[0].shape)


def _task_threads() -> int:
    """fastconv threads for one task: the process's budget shared by the tasks the
    scheduler runs at once here (the rule is in the module docstring)."""
    budget, slots = _budget_and_slots()
    return max(1, budget // slots)


def _budget_and_slots() -> tuple[int, int]:
    """The process's thread budget ``B`` and the tasks ``S`` the scheduler runs at
    once in it (the rule is in the module docstring)."""
    budget = get_num_threads()
    worker = _distributed_worker()
    if worker is not None:
        omp = os.environ.get("OMP_NUM_THREADS", "")
        if omp.isdigit() and int(omp) > 0:
            budget = min(budget, int(omp))
        # in-process workers (LocalCluster(processes=False)) share this process
        others = getattr(type(worker), "_instances", ())
        slots = sum(w.state.nthreads for w in list(others)) or worker.state.nthreads
    elif threading.current_thread() is threading.main_thread():
        slots = 1        # the synchronous scheduler
        if multiprocessing.parent_process() is not None:
            # a worker process of the multiprocessing scheduler: one task at a time
            # here, and as many such processes as dask's num_workers
            budget //= dask.config.get("num_workers", None) or dask.system.CPU_COUNT
    else:
        slots = dask.config.get("num_workers", None) or dask.system.CPU_COUNT
    return max(1, budget), max(1, slots)


def _cluster_client_exists() -> bool:
    """Whether this process has a dask.distributed client, whose cluster could run
    the graph (distributed is only imported here if the process already has it)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import Client
    instances = getattr(Client, "_instances", None)
    return True if instances is None else len(instances) > 0


def _distributed_worker() -> Any:
    """The distributed worker running this task, or None (distributed is only
    imported here if the process already has it: a worker always has)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker
    try:
        return get_worker()
    except ValueError:
        return None
