"""The FMA peak loop (csrc/_peak.pxi) of every kernel build: the bench's yardstick."""
from __future__ import annotations

import math

import numpy as np
import pytest

from fastconv._engine import kernels
from fastconv.bench._limits import fma_gflops


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("nthreads", [1, 2, 3])
def test_run_counts_its_flops(isa, double, nthreads):
    """Two flops per lane of each of 12 chains per iteration per thread, lanes of
    the build's vector width; the checksum is each thread's accumulators' sum."""
    mod = kernels.build()
    lanes = mod.build_info()["vec_bytes"] // (8 if double else 4)
    flops, check = mod.fma_peak_run(nthreads, 1000, double)
    assert flops == 2 * 12 * 1000 * lanes * nthreads
    assert math.isfinite(check) and check > 0
    # zero iterations: the accumulators keep their seeds (12 chains x lanes)
    assert mod.fma_peak_run(nthreads, 0, double)[0] == 0
    # tasks claimed from a counter: the flops of every task, each with its own seed
    flops7, check7 = mod.fma_peak_run(nthreads, 1000, double, 7)
    assert flops7 == 2 * 12 * 1000 * lanes * 7
    assert math.isfinite(check7) and check7 > check


def test_run_rejects_bad_arguments():
    mod = kernels.build()
    with pytest.raises(ValueError):
        mod.fma_peak_run(0, 10, False)
    with pytest.raises(ValueError):
        mod.fma_peak_run(1, -1, False)
    with pytest.raises(ValueError):
        mod.fma_peak_run(1, 10, False, -1)


def test_peak_is_plausible_and_single_precision_is_faster(isa):
    """A positive rate below a (generous) ceiling; float32 vectors hold twice the
    lanes of float64, so their rate is higher (a loaded machine blurs the 2x)."""
    f32 = f64 = 0.0
    for _ in range(3):      # in turn, the best of each: a busy spell slows both
        f32 = max(f32, fma_gflops(np.float32, 1, isa, seconds=0.005))
        f64 = max(f64, fma_gflops(np.float64, 1, isa, seconds=0.005))
    assert 0.1 < f64 < 10_000 and 0.1 < f32 < 10_000
    assert f32 > f64, (f32, f64)
