"""The FFT path: overlap-save with scipy.fft, for large kernels.

Computes the same primitive as the direct kernels,
``out[i, j] = sum_ab w[a, b] * xpad[i + oy + a, j + ox + b]``. The padded window is
cut into overlapping blocks of a cache-friendly FFT size; the kernel's spectrum is
computed once per call and reused for every block, and blocks are cut straight
from x and transformed in batches, each batch start to finish on one core, the
batches spread over fastconv's worker pool; a problem of one block is a single
transform with ``scipy.fft``'s ``workers`` set to fastconv's thread count. float32
and complex64 stay in single precision.

Accuracy: the error of each output is bounded by a few units of rounding of the
block transform times ``max(|in1| conv |in2|)``; the tests hold it to 1e-5
(single precision) and 1e-12 (double) of that maximum. Integer inputs take this
path only when a bound proves the float64 result rounds to the exact integer.
"""
from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any

import numpy as np

from .._runtime import memory
from .._runtime.pool import run_split
from .._runtime.threads import threads
from .boundary import extended_window

# Batches of blocks are transformed together; this caps the bytes of a batch's
# spectra (2 MiB: 3 blocks of 288^2 float64, 6 of float32; 4 MiB and all blocks at
# once measured 1.0-1.2x and 1.1-1.4x slower at 4096^2, k = 31-63).
_BATCH_BYTES = 2 << 20


def _fft_module():
    try:
        import scipy.fft as fft
        return fft, True
    except ImportError:  # pragma: no cover - scipy is a dependency; keep numpy working
        return np.fft, False


@lru_cache(maxsize=4096)
def next_fast_len(n: int, real: bool) -> int:
    """Smallest FFT length >= n that scipy.fft transforms quickly."""
    try:
        from scipy.fft import next_fast_len as nfl
        return int(nfl(n, real=real))
    except ImportError:  # pragma: no cover
        return 1 << max(0, (n - 1).bit_length())


@lru_cache(maxsize=1024)
def block_length(n_out: int, k: int, real: bool) -> int:
    """FFT block length along one axis for ``n_out`` outputs and a kernel of ``k``.

    A block of length B yields B-k+1 outputs at a cost ~ B log2 B; the count of
    blocks is rounded up, so the best B balances overlap waste against rounding
    waste. Lengths above ``_MAX_BLOCK`` leave the cache and run slower per point.
    """
    whole = next_fast_len(n_out + k - 1, real)
    # No bonus for one block per axis any more: since blocks are transformed in
    # small batches on every core (correlate_plane_fft), 1024^2 with k = 31 took
    # 5.6 ms (f32) and 8.2 ms (f64) in 288^2 blocks against 7.6-10 and 13-17 ms
    # as one 1080^2 block.
    best, best_cost = whole, _axis_cost(whole, n_out, k)
    # Short transforms cost more per point than B log B says (per-line overhead).
    b = next_fast_len(max(2 * k, _MIN_BLOCK), real)
    while b < whole:
        c = _axis_cost(b, n_out, k)
        if c < best_cost:
            best, best_cost = b, c
        b = next_fast_len(b + 1, real)
    return best


def _is_bad_pow2(b: int) -> bool:
    # 2-D transforms of power-of-two sides >= 512 thrash the cache (column passes
    # stride by a power of two): measured 2-4x slower than a nearby 5-smooth size.
    return b >= 512 and b & (b - 1) == 0


_MIN_BLOCK, _MAX_BLOCK = 256, 2048


def _axis_cost(b: int, n_out: int, k: int) -> float:
    blocks = -(-n_out // (b - k + 1))
    slow = 4.0 if b > _MAX_BLOCK else 0.0
    return blocks * b * (math.log2(b) + slow) * (3.0 if _is_bad_pow2(b) else 1.0)


def block_shape(out_shape: tuple[int, int], k_shape: tuple[int, int],
                real: bool) -> tuple[int, int]:
    return (block_length(out_shape[0], k_shape[0], real),
            block_length(out_shape[1], k_shape[1], real))


def correlate_plane_fft(x: np.ndarray, w: np.ndarray, out_shape: tuple[int, int],
                        origin: tuple[int, int], boundary: int, fill: Any,
                        work_dtype: np.dtype, nthreads: int,
                        block: tuple[int, int] | None = None,
                        out_dtype: np.dtype | None = None) -> np.ndarray:
    """The primitive by overlap-save, computed in ``work_dtype`` (float32/64 or
    complex64/128); returns an array of ``out_dtype`` (default ``work_dtype``). An
    integer ``out_dtype`` gets each block rounded and wrapped as it is stored, so no
    float result of the whole output is ever made."""
    Ho, Wo = out_shape
    K, L = w.shape
    real = work_dtype.kind == "f"
    By, Bx = block or block_shape(out_shape, w.shape, real)
    Sy, Sx = By - K + 1, Bx - L + 1              # outputs per block
    ny, nx = -(-Ho // Sy), -(-Wo // Sx)
    fft, scipy_fft = _fft_module()
    kw = {"workers": nthreads} if scipy_fft else {}
    fwd, inv = (fft.rfft2, fft.irfft2) if real else (fft.fft2, fft.ifft2)
    spec = _spectrum(w, work_dtype, (By, Bx), fwd, kw)
    out = np.empty((Ho, Wo), out_dtype or work_dtype)
    if ny == nx == 1:
        # the padded window; the transform zero-pads it to the block
        xp = extended_window(x, origin, np.empty((Ho + K - 1, Wo + L - 1), work_dtype),
                             boundary, fill)
        f = fwd(xp, s=(By, Bx), **kw)
        f *= spec
        _store(out, inv(f, s=(By, Bx), **kw)[K - 1:K - 1 + Ho, L - 1:L - 1 + Wo])
        return out
    # Blocks go in small batches, in row-major order: their spectra must stay in
    # cache between the forward transform, the product and the inverse. 288^2
    # float64 blocks: 16 per batch took 208 ms per 256 blocks, 2-8 per batch 128-145.
    spec_bytes = By * (Bx // 2 + 1 if real else Bx) * 2 * work_dtype.itemsize
    nb = max(1, min(ny * nx, _BATCH_BYTES // spec_bytes))
    nblocks = ny * nx
    kw1 = {"workers": 1} if scipy_fft else {}

    def run(lo: int, hi: int) -> None:
        """Batches lo .. hi-1, start to finish, on one core. The batches are spread
        over a pool of such workers: the copies in and out of the blocks (a third
        of the time) then run on every core too, not between multi-threaded
        transforms while the other cores wait."""
        with memory.active():
            # one buffer for every batch: a fresh one each time was fresh pages
            batch = np.empty((nb, By, Bx), work_dtype)
            for b0 in range(lo * nb, min(hi * nb, nblocks), nb):
                part = batch[:min(nb, nblocks - b0)]
                for m in range(part.shape[0]):
                    # Each block straight from x (a plain copy inside it): no
                    # padded copy of the whole window first. Blocks reaching past
                    # the window read the boundary's values, not zeros: finite,
                    # and they only feed discarded outputs (overlap-save keeps
                    # outputs whose inputs lie in the window).
                    r, j = divmod(b0 + m, nx)
                    extended_window(x, (origin[0] + r * Sy, origin[1] + j * Sx), part[m],
                                    boundary, fill)
                f = fwd(part, axes=(-2, -1), **kw1)
                f *= spec
                blk = inv(f, s=(By, Bx), axes=(-2, -1), **kw1)
                # Each block's valid part goes straight to its place.
                for m in range(blk.shape[0]):
                    y0, x0 = (b0 + m) // nx * Sy, (b0 + m) % nx * Sx
                    ny_, nx_ = min(Sy, Ho - y0), min(Sx, Wo - x0)
                    _store(out[y0:y0 + ny_, x0:x0 + nx_],
                           blk[m, K - 1:K - 1 + ny_, L - 1:L - 1 + nx_])

    with threads(nthreads):
        run_split(run, -(-nblocks // nb))
    return out


def _store(dst: np.ndarray, src: np.ndarray) -> None:
    """A block's outputs into their place; integers rounded (the exactness gate
    proved the float64 sums within 1/4 of the integers) and wrapped like scipy."""
    if dst.dtype.kind in "iu":
        src = np.rint(src).astype(np.int64)
    dst[...] = src


_SPECTRA: dict = {}
_SPECTRA_MAX = 8
_spectra_lock = threading.Lock()


def _spectrum(w: np.ndarray, dt: np.dtype, block: tuple[int, int], fwd, kw) -> np.ndarray:
    """The kernel's block spectrum, kept for the last few kernels (a filter is
    usually applied to many images; its transform costs as much as a block's).

    Correlation = convolution with the flipped kernel; in a circular block the
    outputs [K-1:, L-1:] are free of wrap-around (overlap-save).
    """
    wc = np.ascontiguousarray(w, dt)
    key = (wc.tobytes(), wc.shape, dt.str, block, fwd.__name__)
    with _spectra_lock:
        spec = _SPECTRA.get(key)
    if spec is None:
        spec = fwd(wc[::-1, ::-1], s=block, **kw)
        spec.flags.writeable = False
        with _spectra_lock:
            if len(_SPECTRA) >= _SPECTRA_MAX:
                _SPECTRA.pop(next(iter(_SPECTRA)))
            _SPECTRA[key] = spec
    return spec


def integer_fft_is_exact(x: np.ndarray, w: np.ndarray, fill: Any,
                         block: tuple[int, int]) -> bool:
    """True when a float64 FFT of these integers provably rounds to the exact sums.

    Rounding error of an FFT convolution of length n is below
    ~ c * eps * log2(n) * ||x_block||_2 * ||w||_2 (c = 5 here, generous); with
    ||x_block||_2 <= sqrt(n) * max|x| this is far below 1/2 for images and
    kernels of ordinary magnitude, so they round exactly; larger ones go direct.
    """
    if x.size == 0 or w.size == 0:
        return True
    # the extremes in x's own type: no float64 copy of the image
    xmax = max(abs(float(x.max())), abs(float(x.min())), abs(float(fill)))
    wf = w.astype(np.float64)
    n = block[0] * block[1]
    if xmax * float(np.abs(wf).sum()) >= 2.0 ** 52:
        return False
    err = 5 * np.finfo(np.float64).eps * math.log2(max(n, 2)) * math.sqrt(n) * xmax \
        * float(np.sqrt((wf * wf).sum()))
    return err < 0.25
