"""convolve2d / correlate2d: validate -> reduce to one primitive -> kernel -> finish."""
from __future__ import annotations

import math
import os
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator

import numpy as np

from . import _fft, _plan, _recycle
from . import _validate as V
from ._isa import kernels
from ._separable import correlate_plane_separable, factor
from ._threads import get_num_threads

# Below this many multiply-adds a thread team costs more than it saves.
_MIN_WORK_PER_THREAD = 1 << 16
# Outputs narrower than this (one AVX-512 vector of float32) and tall run transposed:
# 1018 x 3 outputs of a 7 x 7 kernel took 136 us, its transpose ~10 us.
_NARROW = 16

# Which direct kernel runs: 'cython' (ahead-of-time, per-ISA builds) or 'numba'
# (JIT). 'auto' picks Cython everywhere: on the development machine it beat the
# Numba kernel at every dtype and kernel size measured (see bench/ and README).
_BACKENDS = ("auto", "cython", "numba")
_backend = os.environ.get("FASTCONV_DIRECT", "auto")
if _backend not in _BACKENDS:
    raise ValueError(f"FASTCONV_DIRECT must be one of {_BACKENDS}, got {_backend!r}")


@contextmanager
def direct_backend(name: str) -> Iterator[None]:
    """Force the direct kernel ('auto', 'cython' or 'numba') inside a ``with`` block
    (for tests and benchmarks; process-wide, not thread-local)."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    old, _backend = _backend, name
    try:
        yield
    finally:
        _backend = old


def direct_backend_name() -> str:
    """The direct kernel set now: 'auto', 'cython' or 'numba'."""
    return _backend


def _direct_fn(ct: np.dtype) -> Callable:
    """The ``correlate_valid`` that will run for compute type ``ct``."""
    if _backend == "numba" and ct != np.longdouble:   # numba has no long double
        from . import _numba_kernels
        return _numba_kernels.correlate_valid
    return kernels().correlate_valid


def _compute_dtype(dt: np.dtype) -> np.dtype:
    """The type the kernel accumulates in. Integers wrap modulo 2**bits, so any
    integer result is exact when computed in a wider integer type of the same
    signedness-agnostic bit pattern and truncated at the end (scipy's wrap-around)."""
    if dt.kind in "iu":
        return np.dtype(np.int32) if dt.itemsize <= 4 else np.dtype(np.int64)
    if dt.kind == "c":
        return np.dtype(f"f{dt.itemsize // 2}")
    return dt


def _out_shape_and_origin(mode: int, flip: bool, in_shape: tuple[int, int],
                          k_shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Output shape and (oy, ox): out[i, j] = sum w[a, b] * x_ext[i+oy+a, j+ox+b]."""
    shape, origin = [], []
    for n, k in zip(in_shape, k_shape):
        if mode == 2:      # full
            shape.append(n + k - 1)
            origin.append(-(k - 1))
        elif mode == 1:    # same: scipy centres convolve at (k-1)//2, correlate at k//2
            shape.append(n)
            origin.append(((k - 1) // 2 if flip else k // 2) - (k - 1))
        else:              # valid
            shape.append(n - k + 1)
            origin.append(0)
    return (shape[0], shape[1]), (origin[0], origin[1])


def _threads_for(work: int) -> int:
    return max(1, min(get_num_threads(), work // _MIN_WORK_PER_THREAD))


def correlate_plane(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                    origin: tuple[int, int], boundary: int, fill: Any,
                    out_dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
    """The primitive: out[i, j] = sum w[a, b] * x_ext[i+oy+a, j+ox+b], in ``out_dtype``.

    ``x`` and ``w`` already hold ``out_dtype`` values; ``w`` is the kernel as it is
    applied (flipped for a convolution, conjugated for a correlation). ``out``, if
    given, is an ``out_shape`` array of ``out_dtype`` (a block of a larger array may
    do) that receives the result and is returned; the real kernels write into it
    directly when its rows are contiguous.
    """
    ct = _compute_dtype(out_dtype)
    Ho, Wo = out_shape
    K, L = w.shape
    if Ho * Wo == 0 or K * L == 0:
        # No taps: every sum is empty (scipy returns zeros, whatever the boundary).
        return _deliver(np.zeros(out_shape, out_dtype), out)
    _check_boundary_input(x, boundary)
    nt = _threads_for(Ho * Wo * K * L)
    oy, ox = origin
    if out_dtype.kind == "c":
        return _deliver(_correlate_complex(x, w, out_shape, oy, ox, boundary, fill, out_dtype,
                                           ct, nt), out)
    xc = x.astype(ct, copy=False)
    if Wo < _NARROW and Ho > 2 * Wo:
        # A tall, narrow output (a strip of a tiled image): each row would be one
        # short chain of dependent multiply-adds. Transposed, its rows are long.
        res = np.empty((Wo, Ho), ct)
        _direct_fn(ct)(xc.T, np.ascontiguousarray(w.T, dtype=ct), res, ox, oy, boundary,
                       ct.type(fill), nt)
        return _deliver(res.T if ct == out_dtype else res.T.astype(out_dtype), out)
    wc = np.ascontiguousarray(w, dtype=ct)
    res = out if _writable_in_place(out, ct) else np.empty(out_shape, ct)
    _direct_fn(ct)(xc, wc, res, oy, ox, boundary, ct.type(fill), nt)
    return _deliver(res if ct == out_dtype else res.astype(out_dtype), out)


def _writable_in_place(out: np.ndarray | None, ct: np.dtype) -> bool:
    """Whether the direct kernel can write ``out`` itself: its type, contiguous rows,
    and (for Numba, which would compile anew for another layout) C-contiguous."""
    if out is None or out.dtype != ct or out.strides[1] != ct.itemsize:
        return False
    return _backend != "numba" or out.flags.c_contiguous


def _deliver(res: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``res``, or ``out`` holding it when the caller gave one."""
    if out is None or res is out:
        return res
    out[...] = res
    return out


def _check_boundary_input(x: np.ndarray, boundary: int) -> None:
    if boundary != V.FILL and 0 in x.shape:
        raise ValueError("boundary 'wrap'/'symm' needs a non-empty in1 when the output "
                         "is not empty (scipy crashes here)")


def _all_finite(x: np.ndarray | None, w: np.ndarray, fill: Any) -> bool:
    """Whether x (None: not checked here), w and fill are free of Inf and NaN."""
    if not (np.isfinite(w).all() and np.isfinite(fill)):
        return False
    if x is None:
        return True
    if x.dtype.kind == "c" and x.dtype.itemsize <= 16:
        parts = (x.real, x.imag)
    else:
        parts = (x,)
    for p in parts:
        if p.dtype in (np.float32, np.float64) and p.ndim == 2:
            # compiled: np.isfinite(x).all() cost 0.7 ms on 2048^2, this 0.1 ms. One
            # thread: an OpenMP team left spinning here took a core from the FFT
            # threads that run next (a quarter of the samples of a 1024^2 FFT call).
            if not kernels().all_finite(p, 1):
                return False
        elif not np.isfinite(p).all():
            return False
    return True


def _fft_dtype(dt: np.dtype) -> np.dtype | None:
    """The type the FFT path computes in, or None where it cannot be exact."""
    if dt.kind in "iu":
        return np.dtype(np.float64)
    if dt in (np.float32, np.float64, np.complex64, np.complex128):
        return dt
    return None  # long double: scipy.fft would drop to double precision


def plan_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int], fill: Any,
                dt: np.dtype) -> str:
    """The method correlate_plane_method(..., 'auto') runs for these inputs."""
    method = _plan_auto(x, w, out_shape, fill, dt)[0]
    if _checks_itself(method, dt) and not _all_finite(x, w, fill):
        return "direct"       # what the fused kernel falls back to when it finds them
    return method


def _plan_auto(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int], fill: Any,
               dt: np.dtype) -> tuple[str, Any]:
    """``(method, factors)`` for 'auto', with the exactness checks already passed
    (finite inputs; an integer FFT provably exact)."""
    if 0 in out_shape or w.size == 0:
        return "direct", None
    method, uv = _plan.choose(out_shape, w, dt, _fft_dtype(dt) is not None)
    if method != "direct" and not _all_finite(None if _checks_itself(method, dt) else x,
                                              w, fill):
        return "direct", None
    if method == "fft" and dt.kind in "iu" and not _fft.integer_fft_is_exact(
            x, w, fill, _fft.block_shape(out_shape, w.shape, True)):
        return "direct", None
    return method, uv


def recycling(*nbytes: int):
    """Context for a call that makes arrays of up to ``max(nbytes)`` bytes: large
    ones (results and temporaries, ours and scipy.fft's) then come from recycled
    blocks, not freshly mapped and zeroed pages (see ``csrc/_recycle.pyx``)."""
    return _recycle.active() if max(nbytes) >= _recycle.MIN_BYTES else nullcontext()


def correlate_plane_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                           origin: tuple[int, int], boundary: int, fill: Any,
                           out_dtype: np.dtype, method: str = "auto",
                           out: np.ndarray | None = None) -> np.ndarray:
    """The primitive by ``method`` ('auto' asks the cost model in ``_plan``), into
    ``out`` if given (as in :func:`correlate_plane`).

    A forced 'fft' or 'separable' still honours the exact contract: inputs holding
    Inf/NaN, long doubles, and integers whose FFT could round wrongly run direct.
    """
    with recycling(x.nbytes, out_shape[0] * out_shape[1] * out_dtype.itemsize):
        return _correlate_plane_method(x, w, out_shape, origin, boundary, fill, out_dtype,
                                       method, out)


def _correlate_plane_method(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                            origin: tuple[int, int], boundary: int, fill: Any,
                            out_dtype: np.dtype, method: str,
                            out: np.ndarray | None) -> np.ndarray:
    direct = lambda: correlate_plane(x, w, out_shape, origin, boundary, fill,  # noqa: E731
                                     out_dtype, out)
    fdt = _fft_dtype(out_dtype)
    uv = None
    if method == "auto":
        method, uv = _plan_auto(x, w, out_shape, fill, out_dtype)   # checks done there
    elif method != "direct" and 0 not in out_shape and w.size:
        # a forced method: its exactness checks run here
        if method == "separable" and fdt is not None:
            uv = factor(w)
            if uv is None:
                raise ValueError("method='separable' needs a rank-1 (outer product) kernel")
        if fdt is None or not _all_finite(None if _checks_itself(method, out_dtype) else x,
                                          w, fill):
            return direct()
        if method == "fft" and out_dtype.kind in "iu" and not _fft.integer_fft_is_exact(
                x, w, fill, _fft.block_shape(out_shape, w.shape, True)):
            return direct()
    if method == "direct" or 0 in out_shape or w.size == 0:
        return direct()
    _check_boundary_input(x, boundary)
    if method == "separable":
        sdt = out_dtype if out_dtype.kind in "fc" else _compute_dtype(out_dtype)
        if _checks_itself(method, out_dtype):
            res = _separable_fused(x, *uv, out_shape, origin, boundary, fill, sdt,
                                   out if _writable_in_place(out, sdt) else None)
            if res is None:      # x held Inf or NaN: the direct loop treats them as scipy
                return direct()
        else:   # complex or the Numba backend: two passes of the plain primitive
            res = correlate_plane_separable(x, *uv, out_shape, origin, boundary, fill, sdt,
                                            correlate_plane)
        return _deliver(res if sdt == out_dtype else res.astype(out_dtype), out)
    res = _fft.correlate_plane_fft(x, w, out_shape, origin, boundary, fill, fdt,
                                   get_num_threads(),
                                   _fft.block_shape(out_shape, w.shape, fdt.kind == "f"))
    if out_dtype.kind in "iu":
        # exact integers in float64: round, then wrap like scipy
        res = np.rint(res).astype(np.int64).astype(out_dtype)
    return _deliver(res, out)


def _checks_itself(method: str, dt: np.dtype) -> bool:
    """Whether ``method`` runs the fused separable kernel, which finds Inf and NaN
    in x itself (so x needs no separate pass over memory first)."""
    return method == "separable" and dt.kind != "c" and _backend != "numba"


def _separable_fused(x: np.ndarray, u: np.ndarray, v: np.ndarray,
                     out_shape: tuple[int, int], origin: tuple[int, int], boundary: int,
                     fill: Any, ct: np.dtype, out: np.ndarray | None = None
                     ) -> np.ndarray | None:
    """Both 1-D passes in one compiled call (the intermediate stays in L1); None
    when x turned out to hold Inf or NaN (``out`` then holds garbage)."""
    if out is None:
        out = np.empty(out_shape, ct)
    nt = _threads_for(out_shape[0] * out_shape[1] * (u.size + v.size))
    finite = kernels().correlate_valid_separable(x.astype(ct, copy=False), u.astype(ct),
                                                 v.astype(ct), out, origin[0], origin[1],
                                                 boundary, ct.type(fill), nt)
    return out if finite else None


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
    if _backend == "numba" or rt not in (np.float32, np.float64) or xv.ndim != 2:
        return None
    s = math.sqrt(float(np.finfo(rt).max) / 8)
    if not (abs(fill.real) < s and abs(fill.imag) < s
            and float(np.abs(w.real).sum() + np.abs(w.imag).sum()) < s):
        return None
    return s


def _correlate_complex(x, w, out_shape, oy, ox, boundary, fill, out_dtype, rt, nt):
    fill = complex(fill)
    xv = x.astype(out_dtype, copy=False)
    xr, xi = xv.real, xv.imag
    fr, fi = fill.real, fill.imag
    wr = np.ascontiguousarray(w.real, dtype=rt)
    wi = np.ascontiguousarray(w.imag, dtype=rt)
    out = np.empty(out_shape, out_dtype)
    native = _backend != "numba" and rt != np.longdouble
    s = _gauss_bound(xv, w, fill, rt)
    if s is not None and w.size <= _ZINT_MAX_TAPS \
            and out_shape[1] >= kernels().zcomplex_width(rt.itemsize) > 0:
        # Few taps: four multiplications a tap on the interleaved rows beat Gauss's
        # three on split ones (the split, not the multiplies, was their cost). The
        # same bound keeps the sums in range, and the same fallback below.
        if kernels().correlate_valid_zcomplex(xr, xi, wr, wi, out.view(rt), oy, ox,
                                              boundary, rt.type(fr), rt.type(fi), nt, s):
            return out
    elif s is not None:
        # Optimistic: Gauss's form, the kernel checking |parts of x| < S as it
        # splits the rows. Rarely wrong; then the exact paths below redo it.
        done = kernels().correlate_valid_complex(xr, xi, wr, wi, out.view(rt), oy, ox,
                                                 boundary, rt.type(fr), rt.type(fi), nt,
                                                 True, s)
        if done == 1 or (done == 2 and _all_finite(x, w, fill)):
            return out
    if not _all_finite(x, w, fill):
        # C99 complex products recover infinities that the split path turns into
        # NaN; scipy multiplies in C99 complex, so follow it exactly here.
        kernels().correlate_valid_strict_complex(x.astype(out_dtype, copy=False),
                                                 np.ascontiguousarray(w, dtype=out_dtype),
                                                 out, oy, ox, boundary, fill, nt)
        return out
    if native:
        # Native kernel: reads the real and imaginary planes of x in place (any
        # strides) and writes the interleaved result; one pass, no temporaries.
        kernels().correlate_valid_complex(xr, xi, wr, wi, out.view(rt), oy, ox, boundary,
                                          rt.type(fr), rt.type(fi), nt, False)
        return out
    # Elsewhere: four (or two) real correlations of the strided planes.
    direct = _direct_fn(rt)

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


def conv2d_impl(in1: Any, in2: Any, mode: Any, boundary: Any, fillvalue: Any,
                flip: bool, method: str = "auto", plan_only: bool = False) -> Any:
    """Shared body of convolve2d (flip=True) and correlate2d (flip=False);
    ``plan_only`` returns the method name 'auto' would run instead."""
    name = "convolve2d" if flip else "correlate2d"
    V.check_method(method)
    a1, a2 = V.as_2d_pair(in1, in2, name)
    swapped = V.inputs_swap_needed(mode, a1.shape, a2.shape)
    if swapped:
        a1, a2 = a2, a1
    if not flip:
        a2 = a2.conj()
    m = V.mode_code(mode)
    b = V.boundary_code(boundary)
    dt = V.result_dtype(a1, a2)
    fill = V.fill_scalar(fillvalue, dt) if b == V.FILL else 0
    V.check_supported(dt, "convolve2d")
    out_shape, origin = _out_shape_and_origin(m, flip, a1.shape, a2.shape)
    if min(out_shape) < 0:
        raise ValueError("negative dimensions are not allowed")
    w = a2[::-1, ::-1] if flip else a2
    with recycling(a1.size * dt.itemsize, out_shape[0] * out_shape[1] * dt.itemsize):
        x = a1.astype(dt, copy=False)
        w = w.astype(dt, copy=False)
        if plan_only:
            return plan_method(x, w, out_shape, fill, dt)
        out = correlate_plane_method(x, w, out_shape, origin, b, fill, dt, method)
    if swapped and not flip:
        out = out[::-1, ::-1]
    return out
