"""Build the Cython kernels in csrc/: one source, one extension per instruction set.

The wheel must run on any x86-64, so nothing is built with -march=native: the
baseline module uses the compiler's default ISA, and the AVX2 / AVX-512 modules
are only imported on CPUs that report those features (fastconv/_runtime/isa.py).
OpenMP is used when the compiler has it; without it the kernels run on one thread.
"""
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile

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


def _compiler_accepts(flags):
    """Compile and link a tiny OpenMP program with ``flags``; True when it works."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() < 0;}\n")
        cmd = cc.split() + [src, "-o", os.path.join(d, "t")] + flags
        return subprocess.run(cmd, capture_output=True).returncode == 0


def _openmp_flags():
    if os.environ.get("FASTCONV_NO_OPENMP"):
        return []
    if sys.platform == "win32":
        return ["/openmp"]
    return ["-fopenmp"] if _compiler_accepts(["-fopenmp"]) else []


omp = _openmp_flags()
if not omp:
    print("fastconv: building WITHOUT OpenMP; kernels will use one thread", file=sys.stderr)
isas = ["base", "avx2", "avx512"] if IS_X86 and sys.platform != "win32" else ["base"]
extensions = [
    Extension(
        f"fastconv._engine._direct_{isa}",
        [f"csrc/_direct_{isa}.pyx"],
        include_dirs=[np.get_include(), "csrc"],
        extra_compile_args=(BASE_FLAGS + ISA_FLAGS[isa] if sys.platform != "win32" else [])
        + omp,
        extra_link_args=omp,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    )
    for isa in isas
]
# NEP 49 allocation policy that recycles large result buffers (no ISA flags, no OpenMP)
extensions.append(Extension(
    "fastconv._runtime._recycle", ["csrc/_recycle.pyx"], include_dirs=[np.get_include()],
    extra_compile_args=BASE_FLAGS if sys.platform != "win32" else [],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")]))

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}))
