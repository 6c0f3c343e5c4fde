"""Recycled large buffers: the Python side of the allocation policy in
``csrc/_recycle.pyx`` (compiled as ``fastconv._runtime._recycle``).

The paths ask for their large arrays here (:func:`empty`, :func:`recycled`); the
public API sets and reads the cache (:func:`set_buffer_cache`,
:func:`buffer_cache_info`).
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from . import _recycle

T = TypeVar("T")

# An array of at least MIN_BYTES, made through the policy; smaller ones are numpy's.
empty = _recycle.empty
active = _recycle.active
MIN_BYTES = _recycle.MIN_BYTES


def recycled(nbytes: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``; when it makes arrays of up to ``nbytes`` bytes and that is
    large, the large ones (results and temporaries, ours and scipy.fft's) come from
    recycled blocks, not freshly mapped and zeroed pages.

    Parameters
    ----------
    nbytes : int
        The largest array ``fn`` makes, in bytes.
    fn : callable
        The call.
    *args
        Its arguments.

    Returns
    -------
    object
        What ``fn`` returns.
    """
    if nbytes < MIN_BYTES:
        return fn(*args)    # small calls skip entering and leaving a context
    with active():
        return fn(*args)


def set_buffer_cache(max_mb: float) -> float:
    """Set how much memory fastconv keeps from its freed large arrays for reuse.

    A large result is freshly mapped memory that the operating system zeroes on
    first write, page by page: 25-45% of a memory-bound call such as a 3x3
    convolution of a 4096 x 4096 image. fastconv therefore allocates its arrays of
    1 MiB or more (results and temporaries) through a numpy allocation policy
    whose ``free`` keeps up to `max_mb` MiB of blocks, the most recent first, and
    hands them to the next call that asks for the same size. Arrays keep this
    policy for their whole life, wherever they go; nothing else in the process is
    affected.

    Parameters
    ----------
    max_mb : float
        The cap in MiB (default 512, or ``FASTCONV_BUFFER_CACHE_MB`` at import).
        0 turns recycling off and releases every held block now.

    Returns
    -------
    float
        The previous cap, in MiB.

    Raises
    ------
    TypeError
        If `max_mb` is not a real number.
    ValueError
        If `max_mb` is negative or not finite.

    Examples
    --------
    >>> import fastconv
    >>> prev = fastconv.set_buffer_cache(0)     # give the memory back
    >>> _ = fastconv.set_buffer_cache(prev)
    """
    if isinstance(max_mb, bool) or not isinstance(max_mb, (int, float)) and not hasattr(
            max_mb, "__float__"):
        raise TypeError(f"max_mb must be a number, got {type(max_mb).__name__}")
    mb = float(max_mb)
    if not 0 <= mb < float("inf"):
        raise ValueError(f"max_mb must be finite and >= 0, got {max_mb!r}")
    return _recycle.set_cap(int(mb * (1 << 20))) / (1 << 20)


def buffer_cache_info() -> dict[str, int]:
    """The buffer cache's state: ``held`` and ``cap`` (bytes), and how many large
    allocations were served from held blocks (``hits``) or fresh memory
    (``misses``).

    Returns
    -------
    dict
        Keys ``'held'``, ``'cap'``, ``'hits'``, ``'misses'``.
    """
    return _recycle.stats()
