"""Argument rules for fastconv.nn, in one place (no pixel loops here).

torch raises RuntimeError for most bad layer arguments; we raise ValueError for a
wrong value or shape and TypeError for a wrong type, so callers catch the usual
Python exceptions.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

Pair = tuple[int, int]


@dataclass(frozen=True)
class Geometry:
    """One convolution's geometry: out[i, j] reads x[i*s + a*d - p_before, ...]."""
    stride: Pair
    dilation: Pair
    pad: tuple[Pair, Pair]        # ((top, bottom), (left, right))
    groups: int

    def out_size(self, in_hw: Pair, k_hw: Pair) -> Pair:
        return tuple(  # type: ignore[return-value]
            (n + p0 + p1 - d * (k - 1) - 1) // s + 1
            for n, k, s, d, (p0, p1) in zip(in_hw, k_hw, self.stride, self.dilation, self.pad))


def _int(v: Any, name: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(v)


def pair(v: Any, name: str, minimum: int) -> Pair:
    """An int or a length-2 sequence of ints, each >= ``minimum``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        out = (_int(v[0], name), _int(v[1], name))
    else:
        out = (_int(v, name),) * 2
    if min(out) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v!r}")
    return out


def groups_of(groups: Any, c_in: int, c_out: int) -> int:
    g = _int(groups, "groups")
    if g < 1:
        raise ValueError(f"groups must be a positive integer, got {g}")
    if c_in % g or c_out % g:
        raise ValueError(f"groups={g} must divide both the input channels ({c_in}) "
                         f"and the output channels ({c_out})")
    return g


def padding_of(padding: Any, stride: Pair, dilation: Pair, k_hw: Pair) -> tuple[Pair, Pair]:
    """((top, bottom), (left, right)). 'same' splits an odd total padding with the
    extra row/column at the bottom/right, as torch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for d, k in zip(dilation, k_hw):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return pads[0], pads[1]
        raise ValueError(f"padding must be 'same', 'valid', an int or a pair, got {padding!r}")
    p = pair(padding, "padding", 0)
    return (p[0], p[0]), (p[1], p[1])


def float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 or float64 by numpy promotion; integers and bool compute in float64.

    float16, long double, complex and non-numeric dtypes raise TypeError (the BLAS
    this layer runs on has no loops for them)."""
    return _float_dtype_of(*[a.dtype for a in arrays])


# The rules below are remembered per argument values: a layer's checks run cold,
# right after the previous layer's large compiled call emptied the caches, where
# their ~30 Python and numpy steps took 50-100 us (warm: 6 us).
@lru_cache(maxsize=64)
def _float_dtype_of(*dtypes: np.dtype) -> np.dtype:
    dt = np.result_type(*dtypes)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt in (np.float32, np.float64):
        return np.dtype(dt).newbyteorder("=")
    raise TypeError(f"fastconv.nn supports float32 and float64 (integers are computed "
                    f"in float64), got {dt}")


def array4d(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 4:
        raise ValueError(f"{name} must be 4-D, got shape {arr.shape}")
    return arr


def bias_of(bias: Any, c_out: int) -> np.ndarray | None:
    if bias is None:
        return None
    b = np.asarray(bias)
    if b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    return b


def _plain(v: Any) -> bool:
    """An int, a str or a tuple of ints, exactly (not bool, not numpy's): values
    that hash as they compare, so a remembered answer is the right one."""
    return type(v) in (int, str) or (type(v) is tuple and all(type(e) is int for e in v))


def conv_shapes(x_shape: tuple, w_shape: tuple, geom_args: dict) -> tuple[Geometry, Pair]:
    """Check a conv2d's input (N, C, H, W) against its weight (O, C/groups, kh, kw)
    and return its geometry and output size."""
    args = (geom_args["stride"], geom_args["padding"], geom_args["dilation"],
            geom_args["groups"])
    if all(map(_plain, args)):
        return _conv_shapes_of(tuple(x_shape), tuple(w_shape), *args)
    return _conv_shapes(x_shape, w_shape, geom_args)


@lru_cache(maxsize=64)
def _conv_shapes_of(x_shape: tuple, w_shape: tuple, stride: Any, padding: Any,
                    dilation: Any, groups: Any) -> tuple[Geometry, Pair]:
    return _conv_shapes(x_shape, w_shape, dict(stride=stride, padding=padding,
                                               dilation=dilation, groups=groups))


def _conv_shapes(x_shape: tuple, w_shape: tuple, geom_args: dict) -> tuple[Geometry, Pair]:
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    stride = pair(geom_args["stride"], "stride", 1)
    dilation = pair(geom_args["dilation"], "dilation", 1)
    g = groups_of(geom_args["groups"], c, o)
    if c != cg * g:
        raise ValueError(f"weight of shape {w_shape} with groups={g} expects {cg * g} "
                         f"input channels, but the input has {c}")
    if kh < 1 or kw < 1:
        raise ValueError(f"the kernel must be at least 1x1, got weight shape {w_shape}")
    pad = padding_of(geom_args["padding"], stride, dilation, (kh, kw))
    geom = Geometry(stride, dilation, pad, g)
    ho, wo = geom.out_size((h, w), (kh, kw))
    if ho < 1 or wo < 1:
        raise ValueError(f"the dilated kernel ({kh}x{kw}, dilation {dilation}) is larger "
                         f"than the padded input ({h}x{w}, padding {pad})")
    return geom, (ho, wo)


def shape4(shape: Any, name: str) -> tuple[int, int, int, int]:
    try:
        out = tuple(_int(s, name) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of 4 ints, got {shape!r}") from None
    if len(out) != 4 or min(out) < 0:
        raise ValueError(f"{name} must be 4 non-negative ints, got {shape!r}")
    return out  # type: ignore[return-value]
