"""``fastconv-demo`` (or ``python -m fastconv`` outside a checkout): fastconv vs scipy timings.

``python -m fastconv tune`` (or ``fastconv-tune``) measures this machine's crossovers
between the direct, separable and FFT paths and stores them (see fastconv.tune).
"""
from __future__ import annotations

import sys

import numpy as np

from ._timing import best_time


def demo(sizes=((256, 3), (1024, 5), (1024, 11), (2048, 7))) -> None:
    import scipy.signal as ss

    import fastconv
    from fastconv import _isa

    rng = np.random.default_rng(0)
    print(f"fastconv {fastconv.__version__}: kernels '{_isa.kernels().__name__.split('_')[-1]}', "
          f"{fastconv.get_num_threads()} threads, OpenMP {_isa.kernels().openmp_enabled()}")
    print("| image | kernel | dtype | scipy.signal.convolve2d | fastconv | speedup |")
    print("|---|---|---|---|---|---|")
    for n, k in sizes:
        for dt in (np.float32, np.float64):
            x = rng.standard_normal((n, n)).astype(dt)
            h = rng.standard_normal((k, k)).astype(dt)
            fastconv.convolve2d(x, h, "same")  # warm-up
            tf = best_time(lambda: fastconv.convolve2d(x, h, "same"))
            ts = best_time(lambda: ss.convolve2d(x, h, "same"), repeat=1)
            print(f"| {n}x{n} | {k}x{k} | {np.dtype(dt).name} | {ts * 1e3:.1f} ms "
                  f"| {tf * 1e3:.2f} ms | {ts / tf:.0f}x |")
            sys.stdout.flush()


def tune_main() -> None:
    from ._tune import tune
    tune()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["tune"]:
        tune_main()
    elif not args:
        demo()
    else:
        sys.exit(f"usage: python -m fastconv [tune]   (got {' '.join(args)!r})")


if __name__ == "__main__":
    main()
