"""Learn a filter back: given sharp images and their blurred versions, recover the
unknown blur kernel by gradient descent, with fastconv.nn's layer and its gradient.

The loss ``0.5 * ||conv2d(x, k) - y||^2`` is quadratic in ``k``, so steepest
descent can take the exact best step along each gradient ``g``: ``|g|^2 / |conv2d(x, g)|^2``.
Each iteration costs one ``conv2d_grad_weight`` and one ``conv2d``.

Run ``python examples/learn_blur.py``; it prints fastconv's speedup over the same
program with scipy.signal doing the convolutions and saves ``learn_blur.png``
(true kernel | recovered kernel | sharp | blurred image).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from _common import race, save_png


def motion_blur(size: int = 9, angle: float = 0.6, sigma: float = 1.0) -> np.ndarray:
    """A short diagonal smear, softened: the kind of kernel a shaken camera makes."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    along = x * np.cos(angle) + y * np.sin(angle)
    across = -x * np.sin(angle) + y * np.cos(angle)
    k = np.exp(-0.5 * (across / sigma) ** 2) * (np.abs(along) <= size / 2.5)
    return k / k.sum()


def scenes(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Random rectangles over noise: edges in every direction constrain the kernel."""
    rng = np.random.default_rng(seed)
    imgs = 0.2 * rng.standard_normal((count, 1, size, size))
    for img in imgs:
        for _ in range(12):
            y0, x0 = rng.integers(0, size - 2, 2)
            h, w = rng.integers(2, max(3, size // 3), 2)
            img[0, y0:y0 + h, x0:x0 + w] += rng.uniform(-1, 1)
    return imgs


def nn_ops() -> SimpleNamespace:
    from fastconv import nn
    return SimpleNamespace(
        forward=lambda x, k: nn.conv2d(x, k),
        grad_weight=lambda x, r, shape: nn.conv2d_grad_weight(x, shape, r))


def scipy_ops() -> SimpleNamespace:
    """The same two layer operations, plane by plane with scipy.signal.correlate2d."""
    from scipy.signal import correlate2d

    def forward(x, k):
        return np.stack([[correlate2d(xi[0], k[0, 0], "valid")] for xi in x])

    def grad_weight(x, r, shape):
        return sum(correlate2d(xi[0], ri[0], "valid") for xi, ri in zip(x, r)).reshape(shape)

    return SimpleNamespace(forward=forward, grad_weight=grad_weight)


def _sumsq(a: np.ndarray) -> float:
    # not np.vdot: a threaded BLAS dot costs milliseconds on a busy 2-core machine
    return float(np.square(a).sum())


def learn(ops, x: np.ndarray, y: np.ndarray, ksize: int, steps: int) -> tuple[np.ndarray, list]:
    """Steepest descent with the exact step from k = 0; returns k and the loss history."""
    k = np.zeros((1, 1, ksize, ksize))
    r = -y                                        # residual conv2d(x, k) - y at k = 0
    history = []
    for _ in range(steps):
        g = ops.grad_weight(x, r, k.shape)
        q = ops.forward(x, g)                     # how the output moves along g
        qq = _sumsq(q)
        if qq == 0.0:
            break
        step = _sumsq(g) / qq
        k -= step * g
        r -= step * q
        history.append(0.5 * _sumsq(r))
    return k, history


def main(steps: int = 60, size: int = 192, count: int = 4, ksize: int = 9,
         save: str | None = "learn_blur.png") -> dict:
    true_k = motion_blur(ksize)[None, None]
    x = scenes(count, size)
    y = nn_ops().forward(x, true_k)
    # load the compiled kernels once (Numba's on-disk cache), outside the timed race
    nn_ops().grad_weight(x[:1], y[:1], true_k.shape)
    results, speedup = race(f"learn a {ksize}x{ksize} blur from {count} images of {size}^2, "
                            f"{steps} steps",
                            lambda ops: learn(ops, x, y, ksize, steps),
                            engines={"fastconv": nn_ops(), "scipy": scipy_ops()})
    k, history = results["fastconv"]
    err = float(np.abs(k - true_k).max() / np.abs(true_k).max())
    print(f"loss {history[0]:.3g} -> {history[-1]:.3g}; kernel error {100 * err:.2g}% of its peak")
    if save:
        norm = lambda a: (a - a.min()) / (np.ptp(a) or 1.0)       # noqa: E731
        up = -(-size // ksize)                                     # kernels drawn as big pixels
        big = lambda a: norm(np.kron(a, np.ones((up, up))))[:size, :size]  # noqa: E731
        blurred = np.zeros((size, size))
        off = (ksize - 1) // 2                                     # 'valid' output, centred
        blurred[off:off + y.shape[2], off:off + y.shape[3]] = norm(y[0, 0])
        panel = np.hstack([big(true_k[0, 0]), big(k[0, 0]), norm(x[0, 0]), blurred])
        save_png(save, panel, cmap="gray")
        print(f"saved {save}")
    return {"kernel": k, "true_kernel": true_k, "history": history,
            "scipy": results["scipy"], "speedup": speedup, "error": err}


if __name__ == "__main__":
    main()
