"""Bodies of fftconvolve / oaconvolve: scipy's argument, broadcasting and output
rules, computed by fastconv.

scipy convolves over ``axes`` and broadcasts the other axes (equal lengths or 1).
Here, when one input is a single kernel for every slice of the other (its
non-convolved axes all have length 1) and one or two axes are convolved, each
slice runs fastconv's engine with the cost model's choice (overlap-save FFT for
long kernels, the direct kernels for short ones); every other case is one
multi-threaded real FFT over the axes, as scipy does on one thread. Either way
the values agree with scipy's to FFT rounding.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _recycle
from . import _validate as V
from . import _validate_nd as VN
from ._nd import correlate_nd
from ._threads import get_num_threads

# More slices than this go to the batched FFT: per-slice calls cost ~10 us each.
_MAX_ENGINE_SLICES = 256


def _reference(oa: bool):
    import scipy.signal as ss
    return ss.oaconvolve if oa else ss.fftconvolve


def fftconv_impl(in1: Any, in2: Any, mode: Any, axes: Any, oa: bool) -> Any:
    a1, a2 = np.asarray(in1), np.asarray(in2)
    try:
        dt_ok = VN.engine_dtype(V.result_dtype(a1, a2)) and \
            np.result_type(a1, a2) not in (np.longdouble, np.clongdouble)
    except TypeError:
        dt_ok = False
    if (a1.ndim == 0 and a2.ndim == 0) or not dt_ok:
        # scalars, and types scipy.fft handles its own way (bool, float16, long double)
        return _reference(oa)(in1, in2, mode, axes)
    if a1.ndim != a2.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a1.size == 0 or a2.size == 0:
        return np.asarray([])
    swap, ax = VN.freq_conv_axes(a1.shape, a2.shape, mode, axes, a1.ndim,
                                 sort=oa and a1.shape != a2.shape)
    if mode not in V.MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")
    if swap:
        a1, a2 = a2, a1
    if not ax:
        full = a1 * a2
    else:
        full = _full(a1, a2, ax, VN.fft_result_dtype(a1.dtype, a2.dtype))
    return _apply_mode(full, a1.shape, a2.shape, mode, ax)


def _apply_mode(ret: np.ndarray, s1: Sequence[int], s2: Sequence[int], mode: str,
                ax: Sequence[int]) -> np.ndarray:
    """scipy's window on the full result: 'same' centres on in1's shape over EVERY
    axis (a broadcast axis too), 'valid' only shrinks the convolved axes."""
    if mode == "full":
        return ret.copy()
    if mode == "same":
        new = list(s1)
    else:
        new = [s1[a] - s2[a] + 1 if a in ax else ret.shape[a] for a in range(ret.ndim)]
    start = [(c - n) // 2 for c, n in zip(ret.shape, new)]
    return ret[tuple(slice(b, b + n) for b, n in zip(start, new))].copy()


def _full(a1: np.ndarray, a2: np.ndarray, ax: list[int], fdt: np.dtype) -> np.ndarray:
    """The full convolution over ``ax``, broadcast over the other axes, in ``fdt``."""
    rest = [a for a in range(a1.ndim) if a not in ax]
    if len(ax) <= 2:
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
    out = _recycle.empty((nrest,) + out_ax, fdt)
    for i in range(nrest):
        out[i] = correlate_nd(xs[i], w, out_ax, origin, fdt, "auto")
    out = out.reshape(tuple(x.shape[a] for a in rest) + out_ax)
    return np.moveaxis(out, list(range(x.ndim)), rest + ax)


def _full_fft(a1: np.ndarray, a2: np.ndarray, ax: list[int], fdt: np.dtype) -> np.ndarray:
    import scipy.fft as sfft
    from ._fft import next_fast_len
    real = fdt.kind == "f"
    shape = [a1.shape[a] + a2.shape[a] - 1 for a in ax]
    fshape = [next_fast_len(s, real) for s in shape]
    fwd, inv = (sfft.rfftn, sfft.irfftn) if real else (sfft.fftn, sfft.ifftn)
    nt = get_num_threads()
    sp = fwd(a1.astype(fdt, copy=False), fshape, axes=ax, workers=nt)
    # not in place: the other axes broadcast, so the product may outgrow sp
    sp = sp * fwd(a2.astype(fdt, copy=False), fshape, axes=ax, workers=nt)
    ret = inv(sp, fshape, axes=ax, workers=nt)
    cut = [slice(None)] * ret.ndim
    for a, s in zip(ax, shape):
        cut[a] = slice(0, s)
    return ret[tuple(cut)]
