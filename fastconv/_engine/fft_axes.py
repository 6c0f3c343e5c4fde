"""The full N-d convolution over chosen axes, broadcast over the others (the
computation behind scipy.signal.fftconvolve / oaconvolve).

When one input is a single kernel for every slice of the other (its
non-convolved axes all have length 1), each slice runs the engine with the cost
model's choice (overlap-save FFT for long kernels, over two axes or N, the direct
kernels for short ones); every other case is one multi-threaded real FFT over the
axes, as scipy does on one thread (by ``fftlib``: ducc0 when installed).
"""
from __future__ import annotations

import numpy as np

from .._runtime import memory
from .._runtime.threads import get_num_threads
from . import fftlib
from .fft import next_fast_len
from .nd import correlate_nd

# More slices than this go to the batched FFT: per-slice calls cost ~10 us each.
_MAX_ENGINE_SLICES = 256


def full_over_axes(a1: np.ndarray, a2: np.ndarray, ax: list[int], fdt: np.dtype) -> np.ndarray:
    """The full convolution over ``ax``, broadcast over the other axes, in ``fdt``."""
    rest = [a for a in range(a1.ndim) if a not in ax]
    if all(a2.shape[a] == 1 for a in rest):
        return _full_engine(a1, a2, ax, rest, fdt)
    if all(a1.shape[a] == 1 for a in rest):
        return _full_engine(a2, a1, ax, rest, fdt)
    return _full_fft(a1, a2, ax, fdt)


def _full_engine(x: np.ndarray, k: np.ndarray, ax: list[int], rest: list[int],
                 fdt: np.dtype) -> np.ndarray:
    """Every slice of ``x`` over ``ax`` convolved with the one kernel ``k``."""
    nrest = int(np.prod([x.shape[a] for a in rest], dtype=np.int64))
    if nrest > _MAX_ENGINE_SLICES:
        return _full_fft(x, k, ax, fdt)
    # slices in C order of the remaining axes, convolved axes last (in ax's order)
    xs = np.moveaxis(x, rest + ax, list(range(x.ndim))).reshape(
        (nrest,) + tuple(x.shape[a] for a in ax)).astype(fdt, copy=False)
    w = np.moveaxis(k, ax, list(range(len(rest), k.ndim))).reshape(
        tuple(k.shape[a] for a in ax)).astype(fdt)
    w = w[(slice(None, None, -1),) * w.ndim]
    out_ax = tuple(x.shape[a] + k.shape[a] - 1 for a in ax)
    origin = tuple(-(k.shape[a] - 1) for a in ax)
    out = memory.empty((nrest,) + out_ax, fdt)
    for i in range(nrest):
        out[i] = correlate_nd(xs[i], w, out_ax, origin, fdt, "auto")
    out = out.reshape(tuple(x.shape[a] for a in rest) + out_ax)
    return np.moveaxis(out, list(range(x.ndim)), rest + ax)


def _full_fft(a1: np.ndarray, a2: np.ndarray, ax: list[int], fdt: np.dtype) -> np.ndarray:
    """One transform of each input over ``ax`` (the product broadcasts over the
    other axes), on fastconv's threads, by ``fftlib``'s library."""
    real = fdt.kind == "f"
    shape = [a1.shape[a] + a2.shape[a] - 1 for a in ax]
    fshape = [next_fast_len(s, real) for s in shape]
    nt = get_num_threads()
    with memory.active():
        sp = fftlib.spectrum(a1, fshape, ax, fdt, nt)
        # not in place: the other axes broadcast, so the product may outgrow sp
        sp = sp * fftlib.spectrum(a2, fshape, ax, fdt, nt)
        ret = fftlib.inverse(sp, ax, fshape[-1], real, nt)
    cut = [slice(None)] * ret.ndim
    for a, s in zip(ax, shape):
        cut[a] = slice(0, s)
    return ret[tuple(cut)]
