"""Pick the compiled kernel build that suits this CPU.

The same Cython source (csrc/_direct.pxi) is compiled once per instruction set;
the wheel stays portable and each host gets the widest vectors it supports.
``FASTCONV_ISA=base|avx2|avx512`` forces a build (tests use it to cover each one).
"""
from __future__ import annotations

import importlib
import os
from functools import lru_cache
from types import ModuleType

from ._openmp import load_kernel_module

_direct_base = load_kernel_module("fastconv._direct_base")

ISAS = ("base", "avx2", "avx512")


def available_isas() -> list[str]:
    """The kernel builds that are both compiled into this install and runnable here."""
    out = []
    for isa in _direct_base.cpu_features():
        try:
            importlib.import_module(f"fastconv._direct_{isa}")
        except ImportError:
            continue
        out.append(isa)
    return out


@lru_cache(maxsize=None)
def kernels(isa: str | None = None) -> ModuleType:
    """The kernel module for ``isa`` (default: $FASTCONV_ISA, else the best available)."""
    isa = isa or os.environ.get("FASTCONV_ISA") or None
    avail = available_isas()
    if isa is None:
        isa = avail[-1]
    elif isa not in avail:
        raise ValueError(f"kernel build {isa!r} is not available on this machine; "
                         f"choose one of {avail}")
    return importlib.import_module(f"fastconv._direct_{isa}")
