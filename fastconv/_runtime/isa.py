"""Pick the compiled build of a kernel family that suits this CPU.

A family is one Cython source compiled once per instruction set, as modules named
``{family}_base``, ``{family}_avx2``, ``{family}_avx512`` on x86-64 and
``{family}_base``, ``{family}_neon`` on AArch64: the wheel stays portable and each
host gets the widest vectors it supports. The base build
reports which sets the CPU has (``cpu_features()``). The family's name comes from
the wing that owns the kernels; this module knows nothing of what they compute.
``FASTCONV_ISA=base|avx2|avx512|neon`` forces a build (tests use it to cover each one).
"""
from __future__ import annotations

import importlib
import os
from functools import lru_cache
from types import ModuleType

ISAS = ("base", "neon", "avx2", "avx512")


def load_base(family: str) -> ModuleType:
    """The family's baseline build (every install has it)."""
    return importlib.import_module(f"{family}_base")


def available(family: str) -> list[str]:
    """The builds of ``family`` that are both compiled into this install and
    runnable here, narrowest first."""
    out = []
    for isa in load_base(family).cpu_features():
        try:
            importlib.import_module(f"{family}_{isa}")
        except ImportError:
            continue
        out.append(isa)
    return out


@lru_cache(maxsize=None)
def build(family: str, isa: str | None = None) -> ModuleType:
    """The module of ``family`` for ``isa`` (default: $FASTCONV_ISA, else the
    widest available)."""
    isa = isa or os.environ.get("FASTCONV_ISA") or None
    avail = available(family)
    if isa is None:
        isa = avail[-1]
    elif isa not in avail:
        raise ValueError(f"kernel build {isa!r} is not available on this machine; "
                         f"choose one of {avail}")
    return importlib.import_module(f"{family}_{isa}")
