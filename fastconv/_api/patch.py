"""Put fastconv's functions in place of scipy.signal's, explicitly and reversibly."""
from __future__ import annotations

from typing import Any

_NAMES = ("convolve2d", "correlate2d")
_saved: dict[tuple[Any, str], Any] = {}


class _Patched:
    """Returned by :func:`patch_scipy`; leaving a ``with`` block undoes the patch."""

    def __enter__(self) -> "_Patched":
        return self

    def __exit__(self, *exc: Any) -> None:
        unpatch_scipy()


def patch_scipy() -> _Patched:
    """Make ``scipy.signal.convolve2d`` and ``correlate2d`` call fastconv.

    Code that looks the functions up through ``scipy.signal`` (or
    ``scipy.signal.signaltools``-style module attributes) at call time speeds up
    without edits. A name bound earlier by ``from scipy.signal import convolve2d``
    keeps scipy's function: patch before such imports.

    Returns
    -------
    handle : context manager
        ``with fastconv.patch_scipy(): ...`` restores scipy on exit; otherwise
        call :func:`unpatch_scipy`. Patching twice is harmless.
    """
    import scipy.signal
    from scipy.signal import _signaltools

    from . import scipy2d

    for mod in (scipy.signal, _signaltools):
        for name in _NAMES:
            key = (mod, name)
            if key not in _saved:
                _saved[key] = getattr(mod, name)
            setattr(mod, name, getattr(scipy2d, name))
    return _Patched()


def unpatch_scipy() -> None:
    """Restore scipy's own functions (a no-op when nothing is patched)."""
    while _saved:
        (mod, name), fn = _saved.popitem()
        setattr(mod, name, fn)
