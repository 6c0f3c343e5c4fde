"""Body of convolve2d_batch / correlate2d_batch: a stack (..., H, W) with one 2-D
kernel, each image exactly as convolve2d / correlate2d would compute it.

The arguments are validated once, then every image runs the 2-D primitive. Small
images give each kernel call too little work for a thread team, so the images are
split across a pool of Python threads instead, each running its kernels on one
core (the kernels release the GIL, so the pool runs in parallel).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import _validate as V
from . import _plan
from ._convolve2d import (_check_boundary_input, _compute_dtype, _direct_fn, _fft_dtype,
                          _out_shape_and_origin, _threads_for, conv2d_impl, correlate_plane,
                          correlate_plane_method)
from ._threads import get_num_threads, threads

# Below this many multiply-adds per image, images go to a thread pool (one core
# each) instead of one multi-threaded kernel call per image.
_POOL_BELOW = 1 << 22


def conv2d_batch_impl(stack: Any, kernel: Any, mode: Any, boundary: Any, fillvalue: Any,
                      flip: bool, method: Any) -> np.ndarray:
    name = "convolve2d_batch" if flip else "correlate2d_batch"
    V.check_method(method)
    s, k = np.asarray(stack), np.asarray(kernel)
    if s.ndim < 2:
        raise ValueError(f"{name}: the stack must have at least 2 dimensions (..., H, W)")
    if k.ndim != 2:
        raise ValueError(f"{name}: the kernel must be 2-D")
    lead, img_shape = s.shape[:-2], s.shape[-2:]
    m = V.mode_code(mode)
    b = V.boundary_code(boundary)
    dt = V.result_dtype(s, k)
    fill = V.fill_scalar(fillvalue, dt) if b == V.FILL else 0
    V.check_supported(dt, "convolve2d")
    imgs = s.reshape((-1,) + img_shape)
    B = imgs.shape[0]
    swap = V.inputs_swap_needed(mode, img_shape, k.shape)
    if swap or 0 in img_shape:
        # The kernel is the larger input (scipy swaps the roles) or the images are
        # empty: rare corners with their own rules; let convolve2d apply them.
        outs = [conv2d_impl(im, k, mode, boundary, fillvalue, flip, method) for im in imgs]
        if outs:
            return np.stack(outs).reshape(lead + outs[0].shape)
        shp, _ = (_out_shape_and_origin(m, flip, k.shape, img_shape) if swap else
                  _out_shape_and_origin(m, flip, img_shape, k.shape))
        return np.empty(lead + shp, dt)
    out_shape, origin = _out_shape_and_origin(m, flip, img_shape, k.shape)
    w = np.ascontiguousarray(k[::-1, ::-1] if flip else k.conj(), dtype=dt)
    out = np.empty((B,) + out_shape, dt)
    if method == "auto" and 0 not in out_shape and w.size:
        # Plan once for the stack: planning (a rank test of the kernel, cost
        # model) costs more than the convolution of a small image. A forced
        # 'fft'/'separable' still falls back per image where it cannot be exact.
        method = _plan.choose(out_shape, w, dt, _fft_dtype(dt) is not None)[0]

    # Real types the kernel accumulates in their own type write straight into
    # the output stack (no per-image result array and copy).
    in_place = (method == "direct" and dt.kind != "c" and _compute_dtype(dt) == dt
                and B > 0 and 0 not in out_shape and w.size > 0)
    if in_place:
        _check_boundary_input(imgs[0], b)
        kernel, fill_t = _direct_fn(dt), dt.type(fill)

    def run(lo: int, hi: int) -> None:
        nt = _threads_for(out_shape[0] * out_shape[1] * w.size)
        for i in range(lo, hi):
            xi = imgs[i].astype(dt, copy=False)
            if in_place:
                kernel(xi, w, out[i], origin[0], origin[1], b, fill_t, nt)
            elif method == "direct":
                out[i] = correlate_plane(xi, w, out_shape, origin, b, fill, dt)
            else:
                out[i] = correlate_plane_method(xi, w, out_shape, origin, b, fill, dt, method)

    nt = get_num_threads()
    work = out_shape[0] * out_shape[1] * w.size
    if nt > 1 and B > 1 and work < _POOL_BELOW:
        edges = np.linspace(0, B, min(nt, B) + 1).astype(int)

        def worker(lo: int, hi: int) -> None:
            with threads(1):
                run(lo, hi)

        with ThreadPoolExecutor(len(edges) - 1) as pool:
            for f in [pool.submit(worker, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]:
                f.result()
    else:
        run(0, B)
    return out.reshape(lead + out_shape)
