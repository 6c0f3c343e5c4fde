"""The FFT path: overlap-save, for large kernels (transforms by ``fftlib``: ducc0
when installed, else scipy.fft).

Computes the same primitive as the direct kernels,
``out[i, j] = sum_ab w[a, b] * xpad[i + oy + a, j + ox + b]``. The padded window is
cut into overlapping blocks of a cache-friendly FFT size; the kernel's spectrum is
computed once per call and reused for every block, and blocks are cut straight
from x and transformed in batches, each batch start to finish on one core, the
batches spread over fastconv's worker pool; a problem of one block is a single
transform on fastconv's thread count. float32 and complex64 stay in single
precision. :func:`overlap_save` does this over any number of axes; the N-d path
(``fft_nd``) uses it too.

Accuracy: the error of each output is bounded by a few units of rounding of the
block transform times ``max(|in1| conv |in2|)``; the tests hold it to 1e-5
(single precision) and 1e-12 (double) of that maximum. Integer inputs take this
path only when a bound proves the float64 result rounds to the exact integer.
"""
from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np

from .._runtime import memory
from .._runtime.pool import run_split
from .._runtime.threads import threads
from . import fftlib
from .boundary import extended_window

# Batches of blocks are transformed together; this caps the bytes of a batch's
# spectra (2 MiB: 3 blocks of 288^2 float64, 6 of float32; 4 MiB and all blocks at
# once measured 1.0-1.2x and 1.1-1.4x slower at 4096^2, k = 31-63).
_BATCH_BYTES = 2 << 20


def next_fast_len(n: int, real: bool) -> int:
    """Smallest FFT length >= n that the FFT library transforms quickly."""
    return fftlib.good_size(n, real)


def block_length(n_out: int, k: int, real: bool) -> int:
    """FFT block length along one axis for ``n_out`` outputs and a kernel of ``k``.

    A block of length B yields B-k+1 outputs at a cost ~ B log2 B; the count of
    blocks is rounded up, so the best B balances overlap waste against rounding
    waste. Lengths above ``_MAX_BLOCK`` leave the cache and run slower per point;
    lengths below the FFT library's ``_MIN_BLOCK`` pay more per point than B log B
    says.
    """
    return _block_length(n_out, k, real, fftlib.name())


@lru_cache(maxsize=1024)
def _block_length(n_out: int, k: int, real: bool, lib: str) -> int:
    whole = next_fast_len(n_out + k - 1, real)
    # No bonus for one block per axis any more: since blocks are transformed in
    # small batches on every core (correlate_plane_fft), 1024^2 with k = 31 took
    # 5.6 ms (f32) and 8.2 ms (f64) in 288^2 blocks against 7.6-10 and 13-17 ms
    # as one 1080^2 block.
    best, best_cost = whole, _axis_cost(whole, n_out, k)
    # Short transforms cost more per point than B log B says (per-line overhead).
    b = next_fast_len(max(2 * k, _MIN_BLOCK[lib]), real)
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


# Shortest block per FFT library. ducc0's transforms of 576^2 took 0.68-0.99x the
# time of 288^2 (k = 31) and 405^2 (k = 63) blocks over 1024^2 and 4096^2 images
# (best of 118 rounds in turn, 2 threads): it pays more per block, less per point.
_MIN_BLOCK = {"scipy": 256, "ducc0": 512}
_MAX_BLOCK = 2048


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
    block = block or block_shape(out_shape, w.shape, work_dtype.kind == "f")
    oy, ox = origin

    def window(dst: np.ndarray, start: tuple[int, ...]) -> None:
        # Each block straight from x (a plain copy inside it): no padded copy of
        # the whole window first. Blocks reaching past the window read the
        # boundary's values, not zeros: finite, and they only feed discarded
        # outputs (overlap-save keeps outputs whose inputs lie in the window).
        extended_window(x, (oy + start[0], ox + start[1]), dst, boundary, fill)

    return overlap_save(window, w, out_shape, work_dtype, nthreads, block, out_dtype)


def overlap_save(window: Callable[[np.ndarray, tuple[int, ...]], None], w: np.ndarray,
                 out_shape: Sequence[int], work_dtype: np.dtype, nthreads: int,
                 block: Sequence[int], out_dtype: np.dtype | None = None) -> np.ndarray:
    """``out[i] = sum_a w[a] * xwin[i + a]`` over every axis, in blocks of ``block``
    points; ``window(dst, start)`` writes ``xwin[start : start + dst.shape]``
    (``start`` counted in outputs) into ``dst``, with finite values past xwin.

    The kernel's spectrum is computed once and reused for every block. Blocks go
    in small batches, each batch start to finish on one core and the batches
    spread over fastconv's worker pool; a problem of one block is a single
    transform on ``nthreads`` threads. The result is of ``out_dtype`` (default
    ``work_dtype``; integers rounded and wrapped block by block).
    """
    nd = len(out_shape)
    block = tuple(int(b) for b in block)
    step = tuple(b - k + 1 for b, k in zip(block, w.shape))     # outputs per block
    grid = tuple(-(-n // s) for n, s in zip(out_shape, step))
    nblocks = math.prod(grid)
    real = work_dtype.kind == "f"
    axes = tuple(range(1, nd + 1))
    spec = _spectrum(w, work_dtype, block, nthreads)
    out = memory.empty(tuple(out_shape), out_dtype or work_dtype)
    # the outputs free of wrap-around: [k-1 : k-1+n] of each block
    keep = tuple(k - 1 for k in w.shape)
    half = block[:-1] + (block[-1] // 2 + 1 if real else block[-1],)
    cdt = np.result_type(work_dtype, np.complex64)
    # Blocks in small batches, in C order: their spectra must stay in cache between
    # the forward transform, the product and the inverse. 288^2 float64 blocks: 16
    # per batch took 208 ms per 256 blocks, 2-8 per batch 128-145.
    nb = max(1, min(nblocks, _BATCH_BYTES // (math.prod(half) * cdt.itemsize)))
    one = nblocks == 1

    def run(lo: int, hi: int) -> None:
        """Batches lo .. hi-1, start to finish, on one core. The batches are spread
        over a pool of such workers: the copies in and out of the blocks (a third
        of the time) then run on every core too, not between multi-threaded
        transforms while the other cores wait."""
        nt = nthreads if one else 1
        # scipy.fft's results, too, come from recycled blocks
        with memory.active():
            batch, fbuf, rbuf = _buffers(nb, block, half, work_dtype, cdt)
            for b0 in range(lo * nb, min(hi * nb, nblocks), nb):
                m = min(nb, nblocks - b0)
                starts = [tuple(i * s for i, s in zip(np.unravel_index(b, grid), step))
                          for b in range(b0, b0 + m)]
                for i, st in enumerate(starts):
                    window(batch[i], st)
                f = fftlib.forward(batch[:m], axes, nt, fbuf[:m])
                f *= spec
                blk = fftlib.inverse(f, axes, block[-1], real, nt, rbuf[:m])
                # each block's valid part goes straight to its place
                for i, st in enumerate(starts):
                    dst = tuple(slice(s0, min(s0 + s, n)) for s0, s, n in
                                zip(st, step, out_shape))
                    src = (i,) + tuple(slice(k0, k0 + d.stop - d.start)
                                       for k0, d in zip(keep, dst))
                    _store(out[dst], blk[src])

    if one:
        run(0, 1)
    else:
        with threads(nthreads):
            run_split(run, -(-nblocks // nb))
    return out


def _store(dst: np.ndarray, src: np.ndarray) -> None:
    """A block's outputs into their place; integers rounded (the exactness gate
    proved the float64 sums within 1/4 of the integers) and wrapped like scipy."""
    if dst.dtype.kind in "iu":
        src = np.rint(src).astype(np.int64)
    dst[...] = src


def _buffers(nb: int, block: tuple[int, ...], half: tuple[int, ...], rdt: np.dtype,
             cdt: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch's blocks, spectra and inverse transforms, carved from ONE recycled
    allocation: three arrays of under 1 MiB each were malloc's, fresh pages on
    every call (581 page faults per 32x64x64 call, 2.2 ms against 1.2 ms)."""
    sizes = [nb * math.prod(block) * rdt.itemsize, nb * math.prod(half) * cdt.itemsize]
    if rdt.kind == "f":
        sizes.append(sizes[0])
    sizes = [-(-n // 64) * 64 for n in sizes]      # each part on a cache line
    raw = np.empty(sum(sizes) + 64, np.uint8)      # the caller holds memory.active()
    o = -raw.ctypes.data % 64
    parts = []
    for n in sizes:
        parts.append(raw[o:o + n])
        o += n
    batch = parts[0][:nb * math.prod(block) * rdt.itemsize].view(rdt).reshape((nb,) + block)
    fbuf = parts[1][:nb * math.prod(half) * cdt.itemsize].view(cdt).reshape((nb,) + half)
    rbuf = (parts[2][:batch.nbytes].view(rdt).reshape(batch.shape) if rdt.kind == "f"
            else fbuf)
    return batch, fbuf, rbuf


_SPECTRA: dict = {}
_SPECTRA_MAX = 8
_spectra_lock = threading.Lock()


def _spectrum(w: np.ndarray, dt: np.dtype, block: tuple[int, ...],
              nthreads: int) -> np.ndarray:
    """The kernel's block spectrum, kept for the last few kernels (a filter is
    usually applied to many images; its transform costs as much as a block's).

    Correlation = convolution with the flipped kernel; in a circular block the
    outputs [k-1:] of each axis are free of wrap-around (overlap-save).
    """
    wc = np.ascontiguousarray(w, dt)
    key = (wc.tobytes(), wc.shape, dt.str, block, fftlib.name())
    with _spectra_lock:
        spec = _SPECTRA.get(key)
    if spec is None:
        flipped = wc[(slice(None, None, -1),) * wc.ndim]
        spec = fftlib.spectrum(flipped, block, range(wc.ndim), dt, nthreads)
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
