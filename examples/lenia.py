"""A Lenia-style continuous cellular automaton: every cell senses its neighbourhood
through a large smooth ring kernel (one 2-D convolution on a torus) and grows or
decays by a bell-shaped growth function of what it senses.

Run ``python examples/lenia.py``; it prints fastconv's speedup over the same program
on scipy.signal and saves ``lenia.png``.
"""
from __future__ import annotations

import numpy as np

from _common import race, save_png

MU, SIGMA, DT = 0.15, 0.016, 0.1     # growth centre, width and time step (Lenia's Orbium family)


def ring_kernel(radius: int) -> np.ndarray:
    """A smooth ring peaking at half the radius, normalised to sum 1."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    r = np.hypot(x, y) / radius
    inside = (r > 0) & (r < 1)
    k = np.zeros_like(r)
    k[inside] = np.exp(4 - 1 / (r[inside] * (1 - r[inside])))
    return k / k.sum()


def growth(u: np.ndarray) -> np.ndarray:
    return 2.0 * np.exp(-((u - MU) ** 2) / (2 * SIGMA ** 2)) - 1.0


def soup(size: int, radius: int, seed: int = 0) -> np.ndarray:
    """A few random squares of noise, each about a kernel wide."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size, size))
    side = min(size, 2 * radius)
    for cy, cx in rng.integers(0, max(1, size - side), (max(1, size // (3 * radius)) ** 2, 2)):
        a[cy:cy + side, cx:cx + side] = rng.random((side, side))
    return a


def simulate(engine, a0: np.ndarray, kernel: np.ndarray, steps: int) -> np.ndarray:
    a = a0.copy()
    for _ in range(steps):
        sensed = engine.convolve2d(a, kernel, mode="same", boundary="wrap")
        a = np.clip(a + DT * growth(sensed), 0.0, 1.0)
    return a


def main(steps: int = 100, size: int = 256, radius: int = 18,
         save: str | None = "lenia.png") -> dict:
    kernel = ring_kernel(radius)
    a0 = soup(size, radius)
    results, speedup = race(f"Lenia {size}^2, ring kernel {kernel.shape[0]}^2 x {steps} steps",
                            lambda eng: simulate(eng, a0, kernel, steps))
    final = results["fastconv"]
    if save:
        save_png(save, final, cmap="viridis")
        print(f"saved {save} (mass {final.sum():.1f})")
    return {"final": final, "scipy": results["scipy"], "start": a0, "kernel": kernel,
            "speedup": speedup}


if __name__ == "__main__":
    main()
