"""Blur an image larger than the memory this program allows itself, chunk by chunk.

The program writes a synthetic float32 image to a ``.npy`` file on disk, one band of
rows at a time, then blurs it with a 7x7 Gaussian (``mode='same'``,
``boundary='symm'``) through ``fastconv.dask`` into a second ``.npy`` file, with a
progress bar, and checks a few bands against in-memory fastconv. The files are read
and written with plain file I/O, band by band (a memory map would count every page
it touched towards this process's memory), so the peak resident memory stays near a
few bands, whatever the image size. It reports that peak and fails if it exceeds
the allowed amount (512 MiB unless told).

    python examples/big_image_dask.py                 # 16384^2 (1 GiB), under a minute
    python examples/big_image_dask.py --size 32768    # 4 GiB in, 4 GiB out (8 GiB of disk)

Needs ``pip install fastconv[dask]``.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import dask
import dask.array as da
import numpy as np
from dask.diagnostics import ProgressBar

import fastconv
import fastconv.dask

DTYPE = np.dtype(np.float32)


class NpyRows:
    """A 2-D C-ordered ``.npy`` file read or written one band of full rows at a time
    (enough for ``da.from_array`` and ``da.store`` with full-width chunks)."""

    def __init__(self, path: str, shape: tuple[int, int] | None = None):
        self.path = path
        if shape is not None:           # create: header now, rows as they are stored
            with open(path, "wb") as f:
                np.lib.format.write_array_header_1_0(
                    f, {"descr": np.lib.format.dtype_to_descr(DTYPE),
                        "fortran_order": False, "shape": shape})
        with open(path, "rb") as f:
            np.lib.format.read_magic(f)
            self.shape, _, self.dtype = np.lib.format.read_array_header_1_0(f)
            self.offset = f.tell()
        self.ndim = 2

    def _rows(self, key) -> tuple[int, int, slice]:
        rows, cols = ((key if isinstance(key, tuple) else (key,)) + (slice(None),))[:2]
        r0, r1, step = rows.indices(self.shape[0])
        assert step == 1, "bands of rows only"
        return r0, r1, cols

    def __getitem__(self, key) -> np.ndarray:
        r0, r1, cols = self._rows(key)
        width = self.shape[1]
        with open(self.path, "rb") as f:
            f.seek(self.offset + r0 * width * DTYPE.itemsize)
            band = np.fromfile(f, DTYPE, (r1 - r0) * width).reshape(r1 - r0, width)
        return band[:, cols]

    def __setitem__(self, key, value: np.ndarray) -> None:
        r0, r1, cols = self._rows(key)
        assert cols.indices(self.shape[1]) == (0, self.shape[1], 1), "full rows only"
        with open(self.path, "r+b") as f:
            f.seek(self.offset + r0 * self.shape[1] * DTYPE.itemsize)
            f.write(np.ascontiguousarray(value, DTYPE).tobytes())


def gaussian(k: int = 7, sigma: float = 1.5) -> np.ndarray:
    t = np.arange(k) - (k - 1) / 2
    g = np.exp(-t**2 / (2 * sigma**2))
    return (np.outer(g, g) / g.sum() ** 2).astype(DTYPE)


def make_image(path: str, n: int, band: int) -> NpyRows:
    """Soft stripes plus noise, written band by band (never whole in memory)."""
    img = NpyRows(path, (n, n))
    rng = np.random.default_rng(0)
    cols = np.sin(np.arange(n) / 40.0)
    for r0 in range(0, n, band):
        rows = np.arange(r0, min(r0 + band, n))[:, None]
        img[r0:r0 + len(rows)] = cols * np.cos(rows / 60.0) + rng.standard_normal(
            (len(rows), n), dtype=DTYPE) * 0.3
    return img


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384, help="image side (default 16384)")
    parser.add_argument("--band", type=int, default=None,
                        help="rows per chunk (default: about 8 MiB of rows)")
    parser.add_argument("--memory", type=float, default=512,
                        help="the peak memory allowed, MiB (default 512)")
    parser.add_argument("--dir", default=None, help="where to put the two .npy files")
    args = parser.parse_args()
    n = args.size
    band = args.band or max(16, 2**23 // (n * DTYPE.itemsize))
    image_mb = n * n * DTYPE.itemsize / 2**20
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        t = time.perf_counter()
        src = make_image(os.path.join(tmp, "image.npy"), n, band)
        print(f"wrote a {n}x{n} float32 image ({image_mb:.0f} MiB) in "
              f"{time.perf_counter() - t:.1f} s; chunks of {band} rows")

        x = da.from_array(src, chunks=(band, -1), asarray=False, fancy=False)
        blurred = fastconv.dask.convolve2d(x, gaussian(), mode="same", boundary="symm")
        dst = NpyRows(os.path.join(tmp, "blurred.npy"), (n, n))
        t = time.perf_counter()
        with ProgressBar(), dask.config.set(scheduler="threads"):
            da.store(blurred, dst, lock=False)
        took = time.perf_counter() - t
        print(f"blurred in {took:.1f} s ({n * n / took / 1e6:.0f} Mpx/s, "
              f"{fastconv.get_num_threads()} cores)")

        # Spot check: the first, a middle and the last band against in-memory fastconv
        # on the rows they need (symm mirrors inside the band at the image's edges).
        out = np.load(dst.path, mmap_mode="r")
        for r0 in (0, (n // 2 // band) * band, n - band):
            lo, hi = max(r0 - 3, 0), min(r0 + band + 3, n)
            ref = fastconv.convolve2d(src[lo:hi], gaussian(), "same", "symm")
            np.testing.assert_allclose(out[r0:r0 + band], ref[r0 - lo:r0 - lo + band],
                                       rtol=0, atol=1e-5)
        del out
        print("spot check against in-memory fastconv: ok")

    peak = peak_rss_mb()
    print(f"peak memory {peak:.0f} MiB for a {image_mb:.0f} MiB image "
          f"({peak / image_mb:.0%}; allowed {args.memory:.0f} MiB)")
    if peak > args.memory:
        raise SystemExit("peak memory above the allowed amount")


if __name__ == "__main__":
    main()
