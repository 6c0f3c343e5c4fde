"""``fastconv-demo`` (or ``python -m fastconv`` outside a checkout): the quick
benchmark report, fastconv against scipy, ndimage, cv2, torch and the machine's
limits (the same as ``fastconv-bench``; it takes the same options).

``python -m fastconv tune`` (or ``fastconv-tune``) measures this machine's crossovers
between the direct, separable and FFT paths and stores them (see fastconv.tune).
"""
from __future__ import annotations

import sys


def demo(argv: list[str] | None = None) -> int:
    """Run ``fastconv-bench`` with ``argv`` (default: the command line)."""
    from .bench.__main__ import main as bench_main
    return bench_main(argv)


def tune_main() -> None:
    from ._engine.tune import tune
    tune()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["tune"]:
        tune_main()
        return 0
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
