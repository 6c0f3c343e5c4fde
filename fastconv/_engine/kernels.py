"""Which compiled loops run: the build for this CPU's instruction set, and the
direct kernel's backend (Cython ahead of time, or Numba's JIT).

The compiled modules ``fastconv._engine._direct_{base,avx2,avx512}`` are one
Cython source (csrc/_direct.pxi) built per instruction set; ``_runtime.isa``
picks the widest this CPU runs. Every path asks :func:`build` at call time, so a
test can run all of them on one build by replacing it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from types import ModuleType
from typing import Callable, Iterator

import numpy as np

from .._runtime import isa

FAMILY = "fastconv._engine._direct"

# Imported with fastconv, as before the first call: it loads libgomp with the
# short spin (see _runtime.openmp) before anything else can.
isa.load_base(FAMILY)


def available_isas() -> list[str]:
    """The kernel builds that are both compiled into this install and runnable here."""
    return isa.available(FAMILY)


def build(name: str | None = None) -> ModuleType:
    """The kernel module for ``name`` (default: $FASTCONV_ISA, else the best available)."""
    return isa.build(FAMILY, name)


# Which direct kernel runs: 'cython' (ahead-of-time, per-ISA builds) or 'numba'
# (JIT). 'auto' picks Cython everywhere: on the development machine it beat the
# Numba kernel at every dtype and kernel size measured (see docs/performance.md).
_BACKENDS = ("auto", "cython", "numba")
_backend = os.environ.get("FASTCONV_DIRECT", "auto")
if _backend not in _BACKENDS:
    raise ValueError(f"FASTCONV_DIRECT must be one of {_BACKENDS}, got {_backend!r}")


@contextmanager
def direct_backend(name: str) -> Iterator[None]:
    """Force the direct kernel ('auto', 'cython' or 'numba') inside a ``with`` block
    (for tests and benchmarks; process-wide, not thread-local)."""
    global _backend
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    old, _backend = _backend, name
    try:
        yield
    finally:
        _backend = old


def direct_backend_name() -> str:
    """The direct kernel set now: 'auto', 'cython' or 'numba'."""
    return _backend


def uses_numba() -> bool:
    """Whether the Numba backend is forced."""
    return _backend == "numba"


def direct_fn(ct: np.dtype) -> Callable:
    """The ``correlate_valid`` that will run for compute type ``ct``."""
    if _backend == "numba" and ct != np.longdouble:   # numba has no long double
        from . import numba_kernels
        return numba_kernels.correlate_valid
    return build().correlate_valid
