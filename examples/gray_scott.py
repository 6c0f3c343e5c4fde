"""Gray-Scott reaction-diffusion: two chemicals U and V diffuse (a 3x3 Laplacian
convolution on a torus) and react (U + 2V -> 3V, U fed in, V killed off), growing
coral-like patterns from a few seeds.

Run ``python examples/gray_scott.py``; it prints fastconv's speedup over the same
program on scipy.signal and saves ``gray_scott.png``.
"""
from __future__ import annotations

import numpy as np

from _common import race, save_png

# A 9-point Laplacian (weights sum to zero) and the "coral" parameters.
LAPLACIAN = np.array([[0.05, 0.2, 0.05], [0.2, -1.0, 0.2], [0.05, 0.2, 0.05]])
DU, DV, FEED, KILL = 1.0, 0.5, 0.0545, 0.062


def seeds(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = np.ones((size, size))
    v = np.zeros((size, size))
    r = max(2, size // 32)
    for cy, cx in rng.integers(r, size - r, (6, 2)):
        u[cy - r:cy + r, cx - r:cx + r] = 0.5
        v[cy - r:cy + r, cx - r:cx + r] = 0.25
    return u, v + 0.02 * rng.random((size, size))


def simulate(engine, u0: np.ndarray, v0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    u, v = u0.copy(), v0.copy()
    for _ in range(steps):
        lu = engine.convolve2d(u, LAPLACIAN, mode="same", boundary="wrap")
        lv = engine.convolve2d(v, LAPLACIAN, mode="same", boundary="wrap")
        uvv = u * v * v
        u += DU * lu - uvv + FEED * (1.0 - u)
        v += DV * lv + uvv - (FEED + KILL) * v
    return u, v


def main(steps: int = 3000, size: int = 256, save: str | None = "gray_scott.png") -> dict:
    u0, v0 = seeds(size)
    results, speedup = race(f"Gray-Scott {size}^2 x {steps} steps",
                            lambda eng: simulate(eng, u0, v0, steps))
    u, v = results["fastconv"]
    if save:
        save_png(save, v, cmap="inferno")
        print(f"saved {save}")
    return {"final": (u, v), "scipy": results["scipy"], "start": (u0, v0),
            "speedup": speedup}


if __name__ == "__main__":
    main()
