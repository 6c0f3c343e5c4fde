"""The complex primitive's driver: which complex loop runs, and its exact fallbacks.

Three compiled loops compute a complex correlation: four real multiplications a
tap on the interleaved rows (few taps), Gauss's three on rows split into real and
imaginary planes, and C99 complex products (where Inf or NaN are present, as
scipy multiplies). The two fast forms run under a bound that keeps every partial
sum in range; the kernel checks x against it and reports when the exact paths
must redo the call.
"""
from __future__ import annotations

import math

import numpy as np

from . import kernels
from .gates import all_finite

# Kernels of at most this many taps take the interleaved four-multiplication loop.
# complex128 at 2 threads, interleaved vs Gauss's form, 1024^2 and 4096^2 (ms):
# 3x3 1.5 vs 2.0 and 27 vs 38; 5x5 2.6 vs 3.2 and 45 vs 56; 7x7 4.3 vs 4.5 and 76
# vs 83; 9x9 6.9 vs 6.3 and 125 vs 135; 11x11 even. Gauss's three planes of a
# 4096-wide row overflow L2 in a tile of K rows, hence its loss at 4096^2.
_ZINT_MAX_TAPS = 49


def _gauss_bound(xv: np.ndarray, w: np.ndarray, fill: complex, rt: np.dtype) -> float | None:
    """The bound S = sqrt(max / 8) under which Gauss's three-multiplication form
    cannot overflow where the four-term one would not, or None where the kernel and
    fill alone rule it out: every |part| of x and of the fill below S and sum |parts
    of w| below S bound every partial sum by max / 4. The kernel checks x itself."""
    if kernels.uses_numba() or rt not in (np.float32, np.float64) or xv.ndim != 2:
        return None
    s = math.sqrt(float(np.finfo(rt).max) / 8)
    if not (abs(fill.real) < s and abs(fill.imag) < s
            and float(np.abs(w.real).sum() + np.abs(w.imag).sum()) < s):
        return None
    return s


def correlate_complex(x, w, out_shape, oy, ox, boundary, fill, out_dtype, rt, nt):
    """The complex primitive (see ``direct.correlate_plane``), parts computed in ``rt``
    on ``nt`` threads."""
    fill = complex(fill)
    if x.dtype.kind == "c":
        xv = x.astype(out_dtype, copy=False)
        xr, xi = xv.real, xv.imag
    else:
        # a real image: its imaginary plane a zero that every element shares (stride
        # 0), not a complex copy of the image (twice its size in the result's parts)
        xv = xr = x.astype(rt, copy=False)
        xi = np.broadcast_to(np.zeros((), rt), x.shape)
    fr, fi = fill.real, fill.imag
    wr = np.ascontiguousarray(w.real, dtype=rt)
    wi = np.ascontiguousarray(w.imag, dtype=rt)
    out = np.empty(out_shape, out_dtype)
    k = kernels.build()
    native = not kernels.uses_numba() and rt != np.longdouble
    s = _gauss_bound(xv, w, fill, rt)
    if s is not None and w.size <= _ZINT_MAX_TAPS \
            and out_shape[1] >= k.zcomplex_width(rt.itemsize) > 0:
        # Few taps: four multiplications a tap on the interleaved rows beat Gauss's
        # three on split ones (the split, not the multiplies, was their cost). The
        # same bound keeps the sums in range, and the same fallback below.
        if k.correlate_valid_zcomplex(xr, xi, wr, wi, out.view(rt), oy, ox, boundary,
                                      rt.type(fr), rt.type(fi), nt, s):
            return out
    elif s is not None:
        # Optimistic: Gauss's form, the kernel checking |parts of x| < S as it
        # splits the rows. Rarely wrong; then the exact paths below redo it.
        done = k.correlate_valid_complex(xr, xi, wr, wi, out.view(rt), oy, ox, boundary,
                                         rt.type(fr), rt.type(fi), nt, True, s)
        if done == 1 or (done == 2 and all_finite(x, w, fill)):
            return out
    if not all_finite(x, w, fill):
        # C99 complex products recover infinities that the split path turns into
        # NaN; scipy multiplies in C99 complex, so follow it exactly here.
        k.correlate_valid_strict_complex(x.astype(out_dtype, copy=False),
                                         np.ascontiguousarray(w, dtype=out_dtype),
                                         out, oy, ox, boundary, fill, nt)
        return out
    if native:
        # Native kernel: reads the real and imaginary planes of x in place (any
        # strides) and writes the interleaved result; one pass, no temporaries.
        k.correlate_valid_complex(xr, xi, wr, wi, out.view(rt), oy, ox, boundary,
                                  rt.type(fr), rt.type(fi), nt, False)
        return out
    # Elsewhere: four (or two) real correlations of the strided planes.
    direct = kernels.direct_fn(rt)

    def corr(xp, f, wp):
        o = np.empty(out_shape, rt)
        direct(xp, wp, o, oy, ox, boundary, rt.type(f), nt)
        return o

    if fi == 0 and not np.any(xi):
        out.real = corr(xr, fr, wr)
        out.imag = corr(xr, fr, wi)
    elif not np.any(wi):
        out.real = corr(xr, fr, wr)
        out.imag = corr(xi, fi, wr)
    else:
        out.real = corr(xr, fr, wr) - corr(xi, fi, wi)
        out.imag = corr(xr, fr, wi) + corr(xi, fi, wr)
    return out
