"""Load the kernel modules with libgomp's idle threads spinning briefly.

libgomp reads its settings once, when it is loaded (with fastconv's first kernel
module). By default a team's threads spin for some 300000 rounds after each
parallel call before they sleep: 3-10 ms here, during which one of them holds a
core that whatever runs next wanted (a 2-worker ``scipy.fft.rfft2`` of 2048^2 right
after a 4096^2 convolution took 20-26 ms instead of 14-15). 30000 rounds (under 1
ms here) keep calls in a loop as fast (the team is still awake for the next call;
sleeping teams cost ~70 us per call to wake: ``OMP_WAIT_POLICY=passive`` made a
256^2 3x3 call 137 us instead of 54) and hand the core back soon after.

A user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` wins, the environment is as
before once the module is loaded, and a libgomp already loaded in the process by
another package keeps its settings.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

SPIN_COUNT = "30000"
_USER_KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def load_kernel_module(name: str) -> ModuleType:
    """Import ``name`` (a compiled module linked to libgomp) with the short spin."""
    if any(k in os.environ for k in _USER_KEYS):
        return importlib.import_module(name)
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        return importlib.import_module(name)
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)
