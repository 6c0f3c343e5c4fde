"""Build the Cython kernels in csrc/: one source, one extension per instruction set.

The wheel must run on any x86-64, so nothing is built with -march=native: the
baseline module uses the compiler's default ISA, and the AVX2 / AVX-512 modules
are only imported on CPUs that report those features (fastconv/_runtime/isa.py).
On AArch64 the baseline is plain C and a NEON module (128-bit vectors, FMA) is the
fast one. Threads come from fastconv's own pool (csrc/fc_pool.c, module
fastconv._runtime._fcpool). Release builds carry no debug info (FASTCONV_DEBUG=1 keeps it).
The tables below are read by .ci/aarch64's cross build too (``import setup``).
"""
import os
import platform
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

BASE_FLAGS = ["-O3", "-fwrapv", "-fno-math-errno", "-std=c11", "-ffp-contract=fast"]
# no debug info, stripped objects: the x86-64 wheel went from 4.9 MB to 1.2 MB
if not os.environ.get("FASTCONV_DEBUG"):
    BASE_FLAGS.append("-g0")
STRIP_FLAGS = ([] if os.environ.get("FASTCONV_DEBUG") or sys.platform == "win32" else
               ["-Wl,-S,-x"] if sys.platform == "darwin" else ["-s"])
# the C API of the oldest numpy fastconv supports (numpy>=1.25): a newer numpy's
# headers would otherwise hide what _recycle calls (numpy 2.2 defaults to 1.21's)
NPY_MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
              ("NPY_TARGET_VERSION", "NPY_1_25_API_VERSION")]
MACHINE = platform.machine().lower()
ISA_FLAGS = {
    "base": ["-DFC_VEC_BYTES=16"],
    # AArch64's baseline is plain C (the road MSVC builds take); NEON has 32 vector
    # registers, so the one-row loop keeps as many accumulators as AVX2's
    "base_arm64": ["-DFC_PLAIN_C"],
    "neon": ["-DFC_VEC_BYTES=16", "-DFC_ACC_BYTES=256"],
    "avx2": ["-mavx2", "-mfma", "-DFC_ACC_BYTES=256", "-DFC_VEC_BYTES=32"],
    "avx512": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma",
               "-mprefer-vector-width=512", "-DFC_ACC_BYTES=512", "-DFC_VEC_BYTES=64"],
}


# Threads come from fastconv's own pool (csrc/fc_pool.c): no OpenMP runtime, which
# hangs in a forked child, stalls under load and is absent from Apple's clang.
THREAD_LIBS = [] if sys.platform == "win32" else ["-pthread"]


def isa_builds(machine=MACHINE, plat=sys.platform):
    """{module ISA name: its flags} for a target; MSVC builds the baseline only."""
    if plat == "win32":
        return {"base": []}
    if machine in ("x86_64", "amd64", "i686", "x86"):
        return {isa: ISA_FLAGS[isa] for isa in ("base", "avx2", "avx512")}
    if machine in ("aarch64", "arm64"):
        return {"base": ISA_FLAGS["base_arm64"], "neon": ISA_FLAGS["neon"]}
    return {"base": ISA_FLAGS["base"]}


if __name__ == "__main__":   # not when .ci/aarch64 imports the tables
    extensions = [
        Extension(
            f"fastconv._engine._direct_{isa}",
            [f"csrc/_direct_{isa}.pyx"],
            include_dirs=[np.get_include(), "csrc"],
            extra_compile_args=BASE_FLAGS + flags if sys.platform != "win32" else [],
            extra_link_args=STRIP_FLAGS,
            define_macros=NPY_MACROS,
        )
        for isa, flags in isa_builds().items()
    ]
    # The thread pool, one per process, shared by the kernel modules of every ISA
    extensions.append(Extension(
        "fastconv._runtime._fcpool", ["csrc/_fcpool.pyx", "csrc/fc_pool.c"],
        include_dirs=["csrc"],
        extra_compile_args=(BASE_FLAGS if sys.platform != "win32" else []) + THREAD_LIBS,
        extra_link_args=THREAD_LIBS + STRIP_FLAGS))
    # NEP 49 allocation policy that recycles large result buffers (no ISA flags)
    extensions.append(Extension(
        "fastconv._runtime._recycle", ["csrc/_recycle.pyx"], include_dirs=[np.get_include(), "csrc"],
        extra_compile_args=BASE_FLAGS if sys.platform != "win32" else [], extra_link_args=STRIP_FLAGS,
        define_macros=NPY_MACROS))

    setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}))
