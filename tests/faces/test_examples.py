"""The creative examples (examples/*.py), a few small steps each: fastconv's run must
agree with the same program on scipy.signal and with an independent numpy rule."""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy.signal")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if not EXAMPLES.is_dir():
    pytest.skip("examples/ is not in this checkout", allow_module_level=True)
sys.path.insert(0, str(EXAMPLES))

import _common  # noqa: E402
import game_of_life  # noqa: E402
import gray_scott  # noqa: E402
import learn_blur  # noqa: E402
import lenia  # noqa: E402


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _torus_sum(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """convolve2d(a, k, 'same', 'wrap') for odd k, by rolling: out[i] = sum k[u] a[i - u + c]."""
    c = k.shape[0] // 2
    out = np.zeros(np.broadcast(a, k[0, 0]).shape, np.result_type(a, k))
    for u in range(k.shape[0]):
        for v in range(k.shape[1]):
            out += k[u, v] * np.roll(a, (u - c, v - c), axis=(0, 1))
    return out


def test_game_of_life(tmp_path):
    res = game_of_life.main(steps=6, size=40, save=tmp_path / "life.png")
    b = res["start"]
    for _ in range(6):
        n = _torus_sum(b, np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]))
        b = ((n == 3) | ((b == 1) & (n == 2))).astype(b.dtype)
    np.testing.assert_array_equal(res["final"], b)
    np.testing.assert_array_equal(res["final"], res["scipy"])
    assert _is_png(tmp_path / "life.png")


def test_gray_scott(tmp_path):
    res = gray_scott.main(steps=5, size=40, save=tmp_path / "gs.png")
    u, v = res["start"]
    u, v = u.copy(), v.copy()
    for _ in range(5):
        lu, lv = _torus_sum(u, gray_scott.LAPLACIAN), _torus_sum(v, gray_scott.LAPLACIAN)
        uvv = u * v * v
        u = u + gray_scott.DU * lu - uvv + gray_scott.FEED * (1 - u)
        v = v + gray_scott.DV * lv + uvv - (gray_scott.FEED + gray_scott.KILL) * v
    for got, want, sp in zip(res["final"], (u, v), res["scipy"]):
        np.testing.assert_allclose(got, want, atol=1e-12)
        np.testing.assert_allclose(got, sp, atol=1e-12)
    assert _is_png(tmp_path / "gs.png")


def test_lenia(tmp_path):
    res = lenia.main(steps=4, size=48, radius=6, save=tmp_path / "lenia.png")
    k = res["kernel"]
    assert k.shape == (13, 13) and k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k, k[::-1, ::-1])          # a ring: symmetric
    a = res["start"]
    for _ in range(4):
        a = np.clip(a + lenia.DT * lenia.growth(_torus_sum(a, k)), 0, 1)
    np.testing.assert_allclose(res["final"], a, atol=1e-12)
    np.testing.assert_allclose(res["final"], res["scipy"], atol=1e-12)
    assert _is_png(tmp_path / "lenia.png")


def test_learn_blur_recovers_the_kernel(tmp_path):
    res = learn_blur.main(steps=120, size=48, count=2, ksize=5, save=tmp_path / "blur.png")
    h = res["history"]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(h, h[1:]))       # descent
    assert h[-1] < 1e-3 * h[0]
    assert res["error"] < 0.05
    np.testing.assert_allclose(res["kernel"], res["scipy"][0], atol=1e-9)
    assert _is_png(tmp_path / "blur.png")


def test_png_writer_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import now fails
    img = np.arange(12.0).reshape(3, 4)
    path = _common.save_png(tmp_path / "plain.png", img)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (w, h, depth, colour) == (4, 3, 8, 2)
    idat = data.index(b"IDAT")
    n = struct.unpack(">I", data[idat - 4:idat])[0]
    raw = zlib.decompress(data[idat + 4:idat + 4 + n])
    rows = np.frombuffer(raw, np.uint8).reshape(3, 1 + 4 * 3)
    assert (rows[:, 0] == 0).all()                                  # filter byte
    rgb = rows[:, 1:].reshape(3, 4, 3)
    np.testing.assert_array_equal(rgb[0, 0], [68, 1, 84])           # minimum: ramp start
    np.testing.assert_array_equal(rgb[2, 3], [253, 231, 37])        # maximum: ramp end
