"""The N-d FFT path (three or more axes): overlap-save over every axis with
``fft.overlap_save``, as the 2-D path does, in blocks whose shape a cost count picks.

Computes the N-d primitive ``out[i] = sum_a w[a] * xpad[i + origin + a]`` with zero
padding. The blocks are cut straight from x (zeros where they reach past it), so
no padded copy of the volume is made; the kernel's spectrum is kept between calls.
A volume whose padded size is one cache-sized block is one transform on every
thread; a larger one is many blocks, transformed in batches on the worker pool.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from .fft import integer_fft_is_exact, next_fast_len, overlap_save

# Per point of a block, the copies in and out and the spectrum product cost about
# as much as this many units of the transform's n log2 n (fitted with ducc0 on
# 64^3..128^3 volumes, 5^3..9^3 kernels: a smaller value chose 40^3 blocks for
# 64^3 where one 72^3 block measured 1.3x faster).
_COPY_UNITS = 6.0
# Blocks above this many points leave the 2 MiB L2 (a float32 spectrum of 160^3
# points is 33 MB): their transforms run slower per point.
_MAX_POINTS = 1 << 21
# At most this many candidate lengths per axis (the best by that axis's waste).
_CANDIDATES = 6


def _axis_candidates(n_out: int, k: int, real: bool) -> list[int]:
    """Block lengths worth trying on one axis: good FFT sizes from 2k up to the
    whole padded axis, the few with the least padding per output kept."""
    whole = next_fast_len(n_out + k - 1, real)
    lens, b = [], next_fast_len(max(2 * k, 8), real)
    while b < whole:
        lens.append(b)
        b = next_fast_len(b + 1, real)
    lens.sort(key=lambda b: -(-n_out // (b - k + 1)) * b)
    return sorted(set(lens[:_CANDIDATES - 1] + [whole]))


def _cost(block: Sequence[int], out_shape: Sequence[int], k_shape: Sequence[int]) -> float:
    """Units of work of the overlap-save in ``block``: blocks x (N log2 N + copies)."""
    n = math.prod(block)
    count = math.prod(-(-o // (b - k + 1)) for o, b, k in zip(out_shape, block, k_shape))
    slow = 4.0 if n > _MAX_POINTS else 0.0
    return count * n * (math.log2(max(n, 2)) + _COPY_UNITS + slow)


@lru_cache(maxsize=1024)
def block_shape(out_shape: tuple[int, ...], k_shape: tuple[int, ...],
                real: bool) -> tuple[int, ...]:
    """The block shape with the least :func:`_cost` over each axis's candidates."""
    cands = [_axis_candidates(o, k, real) for o, k in zip(out_shape, k_shape)]
    return min(itertools.product(*cands), key=lambda b: _cost(b, out_shape, k_shape))


def units(out_shape: Sequence[int], k_shape: Sequence[int], real: bool) -> float:
    """The work units of the chosen blocks, in the 2-D model's N log2 N units (the
    plan multiplies them by its seconds per unit)."""
    block = block_shape(tuple(out_shape), tuple(k_shape), real)
    return _cost(block, out_shape, k_shape)


def is_exact_for_integers(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int]) -> bool:
    """Whether the float64 transform of these integers provably rounds to the exact sums."""
    block = block_shape(tuple(out_shape), w.shape, True)
    return integer_fft_is_exact(x, w, 0, (math.prod(block), 1))


def correlate_fft(x: np.ndarray, w: np.ndarray, out_shape: Sequence[int],
                  origin: Sequence[int], dt: np.dtype, fdt: np.dtype,
                  nthreads: int) -> np.ndarray:
    """The N-d primitive by overlap-save in ``fdt`` (float or complex), returned as
    ``dt`` (integers rounded to the nearest, which the caller proved exact)."""
    out_shape = tuple(int(n) for n in out_shape)
    block = block_shape(out_shape, w.shape, fdt.kind == "f")
    origin = tuple(int(o) for o in origin)

    def window(dst: np.ndarray, start: tuple[int, ...]) -> None:
        # xpad[origin + start : ... + dst.shape]: x where they overlap, zeros elsewhere
        src, put = [], []
        for o, s, n, b in zip(origin, start, x.shape, dst.shape):
            lo = o + s
            a, z = max(0, lo), max(0, min(n, lo + b))
            z = max(a, z)
            src.append(slice(a, z))
            put.append(slice(a - lo, z - lo))
        inside = all(p.start == 0 and p.stop == b for p, b in zip(put, dst.shape))
        if not inside:
            dst[...] = 0
        dst[tuple(put)] = x[tuple(src)]

    # integers rounded and wrapped block by block, into the result's own type
    return overlap_save(window, np.asarray(w, fdt), out_shape, fdt, nthreads, block, dt)
