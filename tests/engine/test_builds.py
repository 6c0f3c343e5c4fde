"""The compiled builds themselves: which this CPU runs, how each was compiled, and
the CPU feature answers that choose among them (csrc/_portable.h)."""
from __future__ import annotations

import platform

import numpy as np

from fastconv._engine import kernels
from fastconv._runtime import isa as isa_mod


def test_cpuid_agrees_with_the_compiler():
    """MSVC builds choose by cpuid and xgetbv alone; on this compiler's build that
    answer must equal __builtin_cpu_supports's (x86), and be the baseline elsewhere."""
    base = kernels.build("base")
    x86 = [f for f in base.cpu_features() if f in ("base", "avx2", "avx512")]
    assert base.cpuid_features() == x86


def test_every_build_reports_how_it_was_compiled():
    arm = platform.machine().lower() in ("aarch64", "arm64")
    for name in kernels.available_isas():
        info = kernels.build(name).build_info()
        assert name in isa_mod.ISAS
        assert info["compiler"].split()[0] in ("gcc", "clang", "msvc")
        if name in ("avx2", "avx512", "neon"):
            assert info["fma"] and info["vector_ext"]
        assert info["vec_bytes"] == {"avx2": 32, "avx512": 64}.get(name, 16)
    assert ("neon" in kernels.available_isas()) == arm


def test_narrow_rows_equal_the_columns_of_wide_ones(isa):
    """A row narrower than a vector runs the Cython chunk loop, a wide one the
    vector loops of _rows2.h; both sum the taps in one order with one FMA a tap on
    FMA builds, so they agree bit for bit (gcc had left some narrow sums a
    multiply and an add, and clang fused them: each compiler gave other bits)."""
    mod = kernels.build(isa)
    rng = np.random.default_rng(21)
    for dtype in (np.float32, np.float64):
        for K, L in ((3, 3), (5, 5), (2, 7)):
            x = rng.standard_normal((2 + K - 1, 90 + L - 1)).astype(dtype)
            w = rng.standard_normal((K, L)).astype(dtype)
            wide = np.empty((2, 90), dtype)
            mod.correlate_valid(x, w, wide, 0, 0, 0, dtype(0), 1)
            for wo in range(1, 18):
                for j in (0, 7):
                    narrow = np.empty((2, wo), dtype)
                    mod.correlate_valid(np.ascontiguousarray(x[:, j:j + wo + L - 1]), w,
                                        narrow, 0, 0, 0, dtype(0), 1)
                    assert narrow.tobytes() == wide[:, j:j + wo].tobytes(), (K, L, wo, j)
