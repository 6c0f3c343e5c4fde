"""Body of convolve2d_batch / correlate2d_batch: a stack (..., H, W) with one 2-D
kernel, each image exactly as convolve2d / correlate2d would compute it.

The arguments are validated and the method planned once, then every image runs
the 2-D primitive. Small images give each kernel call too little work for a
thread team, so the images are spread over a pool of Python threads instead,
each running its kernels on one core (``_pool``; the kernels release the GIL).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as V
from . import _plan, _recycle
from ._convolve2d import _fft_dtype, _out_shape_and_origin, conv2d_impl, correlate_plane_method
from ._inplace import correlate_into
from ._pool import run_split

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
    out = _recycle.empty((B,) + out_shape, dt)
    if method == "auto" and 0 not in out_shape and w.size:
        # Plan once for the stack: planning (a rank test of the kernel, cost
        # model) costs more than the convolution of a small image. A forced
        # 'fft'/'separable' still falls back per image where it cannot be exact.
        method = _plan.choose(out_shape, w, dt, _fft_dtype(dt) is not None)[0]

    def run(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            if method == "direct":
                correlate_into(out[i], imgs[i], w, origin, b, fill, dt)
            else:
                out[i] = correlate_plane_method(imgs[i].astype(dt, copy=False), w, out_shape,
                                                origin, b, fill, dt, method)

    if out_shape[0] * out_shape[1] * w.size < _POOL_BELOW:
        run_split(run, B)
    else:
        run(0, B)
    return out.reshape(lead + out_shape)
