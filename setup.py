"""Build the Cython kernels in csrc/: one source, one extension per instruction set.

The wheel must run on any x86-64, so nothing is built with -march=native: the
baseline module uses the compiler's default ISA, and the AVX2 / AVX-512 modules
are only imported on CPUs that report those features (fastconv/_runtime/isa.py).
Threads come from fastconv's own pool (csrc/fc_pool.c, module fastconv._runtime._fcpool).
"""
import platform
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

BASE_FLAGS = ["-O3", "-fwrapv", "-fno-math-errno", "-std=c11", "-ffp-contract=fast"]
IS_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
ISA_FLAGS = {
    "base": ["-DFC_VEC_BYTES=16"],
    "avx2": ["-mavx2", "-mfma", "-DFC_ACC_BYTES=256", "-DFC_VEC_BYTES=32"],
    "avx512": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma",
               "-mprefer-vector-width=512", "-DFC_ACC_BYTES=512", "-DFC_VEC_BYTES=64"],
}


# Threads come from fastconv's own pool (csrc/fc_pool.c): no OpenMP runtime, which
# hangs in a forked child, stalls under load and is absent from Apple's clang.
THREAD_LIBS = [] if sys.platform == "win32" else ["-pthread"]
isas = ["base", "avx2", "avx512"] if IS_X86 and sys.platform != "win32" else ["base"]
extensions = [
    Extension(
        f"fastconv._engine._direct_{isa}",
        [f"csrc/_direct_{isa}.pyx"],
        include_dirs=[np.get_include(), "csrc"],
        extra_compile_args=BASE_FLAGS + ISA_FLAGS[isa] if sys.platform != "win32" else [],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    )
    for isa in isas
]
# The thread pool, one per process, shared by the kernel modules of every ISA
extensions.append(Extension(
    "fastconv._runtime._fcpool", ["csrc/_fcpool.pyx", "csrc/fc_pool.c"], include_dirs=["csrc"],
    extra_compile_args=(BASE_FLAGS if sys.platform != "win32" else []) + THREAD_LIBS,
    extra_link_args=THREAD_LIBS))
# NEP 49 allocation policy that recycles large result buffers (no ISA flags)
extensions.append(Extension(
    "fastconv._runtime._recycle", ["csrc/_recycle.pyx"], include_dirs=[np.get_include()],
    extra_compile_args=BASE_FLAGS if sys.platform != "win32" else [],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")]))

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}))
