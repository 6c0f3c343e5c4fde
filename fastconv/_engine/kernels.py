"""Which compiled loops run: the build for this CPU's instruction set, and the
direct kernel's backend (Cython ahead of time, or Numba's JIT).

The compiled modules ``fastconv._engine._direct_{base,avx2,avx512}`` are one
Cython source (csrc/_direct.pxi) built per instruction set; ``_runtime.isa``
picks the widest this CPU runs. Every path asks :func:`build` at call time, so a
test can run all of them on one build by replacing it.
"""
from __future__ import annotations

from types import ModuleType
from typing import Callable, ContextManager

import numpy as np

from .._runtime import isa
from .._runtime.switch import Switch

FAMILY = "fastconv._engine._direct"

# Imported with fastconv, not at the first call: an install without its kernels
# fails at import.
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
_backend = Switch(("auto", "cython", "numba"), "backend", "FASTCONV_DIRECT")


def direct_backend(name: str) -> ContextManager[None]:
    """Force the direct kernel ('auto', 'cython' or 'numba') inside a ``with`` block
    (for tests and benchmarks; process-wide, not thread-local)."""
    return _backend.forced(name)


def uses_numba() -> bool:
    """Whether the Numba backend is forced."""
    return _backend.value == "numba"


# correlate_valid's specialisations by compute type. Called as the fused function, it
# matches its arguments' types against every signature on each call; the caller
# knows the type, and the specialisation skips that (~0.5 us of a small call).
_SPECIALISATIONS = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
                    np.dtype(np.longdouble): "long double", np.dtype(np.int32): "int32_t",
                    np.dtype(np.int64): "int64_t", np.dtype(np.uint16): "uint16_t"}
_specialised: dict[tuple, Callable] = {}


def direct_fn(ct: np.dtype) -> Callable:
    """The ``correlate_valid`` that will run for compute type ``ct`` (its arrays
    all of type ``ct``)."""
    if _backend.value == "numba" and ct != np.longdouble:   # numba has no long double
        from . import numba_kernels
        return numba_kernels.correlate_valid
    # keyed by the build function itself (a test may replace it) and the type's char
    # (a dtype's hash is slower): a small call skips asking for the build
    key = (build, ct.char)
    fn = _specialised.get(key)
    if fn is None:
        mod = build()
        name = _SPECIALISATIONS.get(ct)
        fn = mod.correlate_valid if name is None else mod.correlate_valid[name]
        _specialised[key] = fn
    return fn


def _compiled_fn(name: str, ct: np.dtype) -> Callable:
    """The compiled build's fused function ``name``, specialised for lanes of type
    ``ct`` (cached as direct_fn caches its own)."""
    key = (build, ct.char, name)
    fn = _specialised.get(key)
    if fn is None:
        fn = _specialised[key] = getattr(build(), name)[_SPECIALISATIONS[ct]]
    return fn


def cast_fn(ct: np.dtype) -> Callable:
    """The ``correlate_valid_cast`` for lanes of type ``ct`` (Cython only): it reads
    an input of another type, converting it in the tiles."""
    return _compiled_fn("correlate_valid_cast", ct)


def stack_fn(ct: np.dtype, cast: bool) -> Callable:
    """``correlate_valid_stack`` (``cast``: ``correlate_valid_stack_cast``, which
    converts an input of another type in the tiles) for lanes of type ``ct``
    (Cython only): every image of a stack in one call."""
    return _compiled_fn("correlate_valid_stack_cast" if cast else "correlate_valid_stack", ct)
