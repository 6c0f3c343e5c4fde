"""Which library computes the FFT paths' transforms: ducc0 when it is installed
(the optional extra ``fastconv[fft]``), else scipy.fft.

ducc0 is pocketfft's successor by the same author; on the 2-core AVX-512
development machine its real 2-D transforms of overlap-save blocks took
0.45-0.75x scipy.fft's time in float64 and 0.75-0.95x in float32 (see
docs/design.md, "The FFT backend"), and it writes into buffers the caller owns
(``out=``), so a batch of blocks allocates nothing. Both libraries release the
GIL, so fastconv's pool runs one transform per core.

``FASTCONV_FFT`` ('auto', 'scipy' or 'ducc0') forces one at import, and
:func:`use` inside a ``with`` block (tests, benchmarks). Results differ between
the two only by rounding.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Sequence

import numpy as np

from .._runtime.switch import Switch

BACKENDS = ("auto", "scipy", "ducc0")
_choice = Switch(BACKENDS, "backend", "FASTCONV_FFT")


@lru_cache(maxsize=None)
def _ducc_fft():
    try:
        import ducc0.fft
        return ducc0.fft
    except ImportError:
        return None


def available() -> list[str]:
    """The FFT libraries installed here ('scipy' always; 'ducc0' when importable)."""
    return ["scipy"] + (["ducc0"] if _ducc_fft() is not None else [])


def name() -> str:
    """The library the FFT paths use now."""
    if _choice.value == "auto":
        return "ducc0" if _ducc_fft() is not None else "scipy"
    if _choice.value == "ducc0" and _ducc_fft() is None:
        raise ImportError("FASTCONV_FFT=ducc0, but ducc0 is not installed "
                          "(pip install fastconv[fft])")
    return _choice.value


@contextmanager
def use(backend: str) -> Iterator[None]:
    """Force the FFT library ('auto', 'scipy' or 'ducc0') inside a ``with`` block
    (process-wide, not thread-local)."""
    if backend == "ducc0" and _ducc_fft() is None:
        raise ImportError("ducc0 is not installed (pip install fastconv[fft])")
    with _choice.forced(backend):
        yield


@lru_cache(maxsize=4096)
def good_size(n: int, real: bool) -> int:
    """Smallest transform length >= n that both libraries transform quickly
    (2^a 3^b 5^c for real transforms; the two libraries agree on these)."""
    from scipy.fft import next_fast_len
    return int(next_fast_len(n, real=real))


def forward(x: np.ndarray, axes: Sequence[int], nthreads: int,
            out: np.ndarray | None = None) -> np.ndarray:
    """The unnormalised forward transform of ``x`` over ``axes`` (real input: the
    half spectrum along the last of ``axes``), written into ``out`` where the
    library can."""
    axes = tuple(axes)
    real = x.dtype.kind == "f"
    if name() == "ducc0":
        f = _ducc_fft()
        if real:
            return f.r2c(x, axes=axes, nthreads=nthreads, out=out)
        return f.c2c(x, axes=axes, nthreads=nthreads, out=out)
    import scipy.fft as sfft
    return (sfft.rfftn if real else sfft.fftn)(x, axes=axes, workers=nthreads)


def inverse(spec: np.ndarray, axes: Sequence[int], lastsize: int, real: bool,
            nthreads: int, out: np.ndarray | None = None) -> np.ndarray:
    """The inverse of :func:`forward` (normalised by the transform size); real
    output has ``lastsize`` points along the last of ``axes``. ``spec`` may be
    overwritten."""
    axes = tuple(axes)
    if name() == "ducc0":
        f = _ducc_fft()
        if real:
            return f.c2r(spec, axes=axes, lastsize=lastsize, forward=False, inorm=2,
                         nthreads=nthreads, out=out, allow_overwriting_input=True)
        return f.c2c(spec, axes=axes, forward=False, inorm=2, nthreads=nthreads,
                     out=spec if out is None else out)
    import scipy.fft as sfft
    if real:
        shape = [spec.shape[a] for a in axes[:-1]] + [lastsize]
        return sfft.irfftn(spec, s=shape, axes=axes, workers=nthreads)
    return sfft.ifftn(spec, axes=axes, workers=nthreads, overwrite_x=True)


def padded(x: np.ndarray, shape: Sequence[int], axes: Sequence[int],
           dtype: np.dtype) -> np.ndarray:
    """``x`` as ``dtype``, zero-padded (or cut) to ``shape`` along ``axes``."""
    full = list(x.shape)
    for a, s in zip(axes, shape):
        full[a] = s
    if tuple(full) == x.shape:
        return np.asarray(x, dtype)
    out = np.zeros(full, dtype)
    cut = [slice(None)] * x.ndim
    for a, s in zip(axes, shape):
        cut[a] = slice(0, min(s, x.shape[a]))
    out[tuple(cut)] = x[tuple(cut)]
    return out


def spectrum(x: np.ndarray, shape: Sequence[int], axes: Sequence[int], dtype: np.dtype,
             nthreads: int) -> np.ndarray:
    """The forward transform of ``x`` zero-padded to ``shape`` along ``axes``."""
    return forward(padded(x, shape, axes, dtype), axes, nthreads)
