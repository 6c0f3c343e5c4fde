"""``fastconv-demo`` (or ``python -m fastconv`` outside a checkout): the quick
benchmark report, fastconv against scipy, ndimage, cv2, torch and the machine's
limits (the same as ``fastconv-bench``; it takes the same options)."""
from __future__ import annotations

import sys


def demo(argv: list[str] | None = None) -> int:
    """Run ``fastconv-bench`` with ``argv`` (default: the command line)."""
    from .bench.__main__ import main
    return main(argv)


if __name__ == "__main__":
    sys.exit(demo())
