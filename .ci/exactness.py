"""The direct kernels of every compiled build against a scalar reference, and their
results' digest (for .ci/clang and .ci/aarch64; needs numpy and fastconv only).

For each kernel build this machine runs, each dtype, output widths 1..71, several
kernel sizes and the three boundaries, fastconv's direct correlation must equal a
plain numpy sum over the padded input (exactly for integers, to rounding for
floats) and be bit-identical on 1, 2 and 3 threads. ``--digest FILE`` writes a
SHA-256 of every result per build; ``--compare FILE`` fails unless this build's
digests equal those in FILE, i.e. another compiler's build gave the same bits.
The last line printed is the summary: 'N passed, N failed'.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np

import fastconv
from fastconv._engine import kernels

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.complex64, np.complex128]
KSIZES = [(1, 1), (1, 4), (2, 3), (3, 3), (4, 2), (5, 5), (7, 6)]
BOUNDARIES = {"fill": "constant", "wrap": "wrap", "symm": "symmetric"}
RTOL = {"f": 2e-6, "d": 1e-13}
THREADS = (1, 2, 3)


def _rand(rng, shape, dt):
    if dt.kind in "iu":
        return rng.integers(-(1 << 20), 1 << 20, shape).astype(dt)
    x = rng.standard_normal(shape)
    if dt.kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dt)


def reference(x, w, boundary, fill):
    """scipy's 'full' correlate2d (in2 conjugated) as a plain sum over the padded
    input: integers in int64 with wrap-around (exact modulo 2^bits), floats in long
    double."""
    K, L = w.shape
    pad = ((K - 1, K - 1), (L - 1, L - 1))
    kw = {"constant_values": fill} if boundary == "fill" else {}
    xp = np.pad(x, pad, BOUNDARIES[boundary], **kw)
    acc_t = np.int64 if x.dtype.kind in "iu" else (
        np.clongdouble if x.dtype.kind == "c" else np.longdouble)
    xp, ww = xp.astype(acc_t), np.conj(w).astype(acc_t)
    Ho, Wo = xp.shape[0] - K + 1, xp.shape[1] - L + 1
    out = np.zeros((Ho, Wo), acc_t)
    with np.errstate(over="ignore"):
        for a in range(K):
            for b in range(L):
                out += ww[a, b] * xp[a:a + Ho, b:b + Wo]
    return out


def check(got, ref, x, w, fill):
    if got.dtype.kind in "iu":
        return np.array_equal(got, ref.astype(got.dtype))
    rt = "f" if got.dtype in (np.float32, np.complex64) else "d"
    bound = max(1.0, float(max(np.abs(x).max(), abs(fill))) * float(np.abs(w).sum()))
    return float(np.abs(got.astype(ref.dtype) - ref).max()) <= RTOL[rt] * bound


def run_build(isa, log):
    """(passed, failed, digest) of one kernel build over the grid."""
    build = kernels.build
    kernels.build = lambda name=None: build(name or isa)
    passed = failed = 0
    h = hashlib.sha256()
    rng = np.random.default_rng(19)
    try:
        for dtype in DTYPES:
            dt = np.dtype(dtype)
            for K, L in KSIZES:
                w = _rand(rng, (K, L), dt)
                for width in range(1, 72):
                    x = _rand(rng, (K + 5, width), dt)
                    for boundary in BOUNDARIES:
                        fill = dt.type(3) if boundary == "fill" else dt.type(0)
                        outs = []
                        for nt in THREADS:
                            with fastconv.threads(nt):
                                outs.append(fastconv.correlate2d(
                                    x, w, "full", boundary, fill, method="direct"))
                        ok = all(o.tobytes() == outs[0].tobytes() for o in outs)
                        ok = ok and check(outs[0], reference(x, w, boundary, fill), x, w, fill)
                        h.update(outs[0].tobytes())
                        if ok:
                            passed += 1
                        else:
                            failed += 1
                            log(f"FAIL {isa} {dt.name} w{K}x{L} width {width} {boundary}")
    finally:
        kernels.build = build
    return passed, failed, h.hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digest", help="write each build's result digest (JSON) here")
    ap.add_argument("--compare", help="fail unless the digests equal this file's")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    passed = failed = 0
    digests, info = {}, {}
    for isa in kernels.available_isas():
        p, f, d = run_build(isa, print)
        passed, failed, digests[isa] = passed + p, failed + f, d
        info[isa] = kernels.build(isa).build_info()
        print(f"{isa}: {p} passed, {f} failed, digest {d[:16]} ({info[isa]['compiler']})",
              flush=True)
    if args.digest:
        with open(args.digest, "w") as fh:
            json.dump({"digests": digests, "builds": info}, fh, indent=1)
    if args.compare:
        with open(args.compare) as fh:
            other = json.load(fh)
        for isa, d in digests.items():
            theirs = other["digests"].get(isa)
            if theirs is None:
                continue
            same = theirs == d
            passed, failed = passed + same, failed + (not same)
            print(f"{isa}: {'same bits as' if same else 'DIFFERENT bits from'} "
                  f"{other['builds'][isa]['compiler']}")
    print(f"{time.perf_counter() - t0:.0f} s")
    print(f"exactness: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
