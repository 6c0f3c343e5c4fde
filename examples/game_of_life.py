"""Conway's Game of Life on a torus: the neighbour count is one convolution with a
3x3 ring of ones, wrapped around the edges (``boundary='wrap'``).

Run ``python examples/game_of_life.py``; it prints fastconv's speedup over the same
program on scipy.signal and saves ``game_of_life.png``.
"""
from __future__ import annotations

import numpy as np

from _common import race, save_png

# The centre weight 9 folds the cell's own state into the count: 0-8 for a dead
# cell, 9-17 for a live one, so one table lookup applies the rule (B3/S23).
NEIGHBOURS = np.array([[1, 1, 1], [1, 9, 1], [1, 1, 1]], dtype=np.int32)
RULE = np.zeros(18, dtype=np.int32)
RULE[[3, 9 + 2, 9 + 3]] = 1


def glider_gun_soup(size: int, seed: int = 0) -> np.ndarray:
    """A random soup (30% alive) with a few gliders drawn in."""
    rng = np.random.default_rng(seed)
    board = (rng.random((size, size)) < 0.3).astype(np.int32)
    glider = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.int32)
    for k in range(0, size - 3, max(4, size // 4)):
        board[k:k + 3, k:k + 3] = glider
    return board


def simulate(engine, board: np.ndarray, steps: int) -> np.ndarray:
    """Advance ``steps`` generations: birth on 3 neighbours, survival on 2 or 3."""
    b = board.copy()
    for _ in range(steps):
        b = np.take(RULE, engine.convolve2d(b, NEIGHBOURS, mode="same", boundary="wrap"))
    return b


def main(steps: int = 300, size: int = 512, save: str | None = "game_of_life.png") -> dict:
    board = glider_gun_soup(size)
    results, speedup = race(f"Game of Life {size}^2 x {steps} generations",
                            lambda eng: simulate(eng, board, steps))
    final = results["fastconv"]
    if save:
        save_png(save, final, cmap="magma")
        print(f"saved {save} ({int(final.sum())} cells alive)")
    return {"final": final, "scipy": results["scipy"], "start": board, "speedup": speedup}


if __name__ == "__main__":
    main()
