"""The benchmark report (fastconv.bench): the grid runs, peers do the same work as
convolve2d, the table/JSON/plot/comparison have the right shape, and missing
optional peers are skipped with a message."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import typing
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv import bench
from fastconv._runtime import isa
from fastconv.bench import _grid, _limits, _peers, _report
from fastconv.bench.__main__ import main
from helpers import assert_matches

TINY_ROW_KEYS = {"n", "k", "dtype", "boundary", "threads", "path", "seconds", "calls", "peers",
                 "speedup", "gflops", "pct_matmul", "pct_copy_bw"}


@pytest.fixture(scope="module")
def tiny():
    """One tiny run (64^2, k 3 and 5, float32), shared by the tests that read it."""
    return bench.run("tiny", progress=False)


def _table(md: str) -> list[list[str]]:
    return [[c.strip() for c in ln.strip("|").split("|")]
            for ln in md.splitlines() if ln.startswith("|") and not ln.startswith("|---")]


def test_tiny_grid_times_every_path_and_peer(tiny):
    paths = _grid.our_paths()
    assert {(r["k"], r["path"]) for r in tiny["rows"]} == {(k, p) for k in (3, 5) for p in paths}
    found, _ = _peers.available_peers()
    assert tiny["peers"] == [p.label for p in found]
    for r in tiny["rows"]:
        assert TINY_ROW_KEYS <= set(r)
        assert r["seconds"] > 0 and r["calls"] >= 2
        assert r["threads"] == fastconv.get_num_threads()
        # every installed peer handles float32 / fill / odd k: none is blank here
        assert set(r["peers"]) == set(tiny["peers"])
        for p, t in r["peers"].items():
            assert r["speedup"][p] == pytest.approx(t / r["seconds"])
        assert r["gflops"] == pytest.approx(2 * 64**2 * r["k"] ** 2 / r["seconds"] / 1e9)
        assert 0 < r["pct_matmul"] and 0 < r["pct_copy_bw"]


def test_machine_info_and_limits(tiny):
    m = tiny["machine"]
    assert m["cores"] >= 1 and m["cpu"]
    assert m["numpy"] == np.__version__ and m["fastconv"] == fastconv.__version__
    assert m["fastconv_isa"] in isa.ISAS
    lim = tiny["limits"][str(fastconv.get_num_threads())]
    assert lim["copy_GBps"] > 0.1 and lim["matmul_float64"] > 0.1 and lim["matmul_float32"] > 0.1
    assert lim["fma_float32"] > 0.1 and lim["fma_float64"] > 0.1
    assert list(lim["copy_GBps_at"]) == [str(64 * 64 * 4)]     # the tiny grid's one image
    r = tiny["rows"][0]
    assert r["pct_copy_bw"] == pytest.approx(
        100 * 2 * 64 * 64 * 4 / r["seconds"] / 1e9 / lim["copy_GBps_at"]["16384"])


def test_best_limits_keeps_the_higher_value_per_key():
    a = {"2": {"matmul_float32": 50.0, "matmul_float64": None, "copy_GBps_at": {"8": 3.0}}}
    b = {"2": {"matmul_float32": 40.0, "matmul_float64": 20.0, "copy_GBps_at": {"8": 5.0}}}
    assert _limits.best_limits(a, b) == {
        "2": {"matmul_float32": 50.0, "matmul_float64": 20.0, "copy_GBps_at": {"8": 5.0}}}


def test_markdown_table_columns(tiny):
    md = _report.markdown(tiny)
    header, *rows = _table(md)
    assert header == [*_report.BASE_COLUMNS, *(f"vs {p}" for p in tiny["peers"]),
                      _report.PEAK_COLUMN, _report.FMA_COLUMN]
    assert len(rows) == len(tiny["rows"])
    for cells, r in zip(rows, tiny["rows"]):
        assert len(cells) == len(header)
        # 'auto' shows what fastconv.choose_method picked, where it exists
        label = f"auto ({r['auto_choice']})" if "auto_choice" in r else r["path"]
        assert ("auto_choice" in r) == (r["path"] == "auto" and hasattr(fastconv, "choose_method"))
        assert cells[:6] == ["64^2", str(r["k"]), "float32", "fill", str(r["threads"]), label]
        assert cells[6].endswith("ms")
        assert all(c.endswith("x") for c in cells[7:-2])
        assert cells[-2].endswith(("matmul", "copy bw"))
        fma = tiny["limits"][str(r["threads"])]["fma_float32"]
        assert cells[-1] == f"{100 * r['gflops'] / fma:.0f}%"
    assert md.startswith("Machine: ") and tiny["machine"]["cpu"] in md.splitlines()[0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "complex128"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("k", [3, 4, 5])
def test_peers_do_the_same_work(dtype, boundary, k):
    """Each peer, as the report calls it, returns scipy's convolve2d(x, h, 'same')."""
    x, h = _grid.make_inputs(37, k, dtype)
    ref = ss.convolve2d(x, h, "same", boundary)
    found, _ = _peers.available_peers()
    for peer in found:
        if not peer.supports(dtype, k, boundary):
            continue
        got = np.asarray(peer.runner(x, h, boundary)()).reshape(ref.shape)
        if peer.label in ("fftconvolve", "oaconvolve"):
            np.testing.assert_allclose(got, ref, atol=1e-4 if dtype == "float32" else 1e-9,
                                       err_msg=peer.name)
        elif peer.label == "ndimage" and dtype == "int32":
            assert_matches(got, ref)          # small values: no wrap-around, exact
        else:
            assert got.dtype == ref.dtype, peer.name
            np.testing.assert_allclose(got, ref, rtol=1e-4 if dtype == "float32" else 1e-10,
                                       atol=1e-3 if dtype == "float32" else 1e-9,
                                       err_msg=peer.name)


@pytest.mark.parametrize("path", _grid.our_paths())
def test_each_path_computes_convolve2d(path):
    x, h = _grid.make_inputs(40, 5, "float64", separable=path == "separable")
    assert_matches(_grid.path_runner(path, x, h, "symm")(), ss.convolve2d(x, h, "same", "symm"),
                   x, h)


def test_paths_follow_the_method_keyword(monkeypatch):
    assert _grid.our_paths()[0] == "auto"
    assert {"direct[cython]", "direct[numba]"} <= set(_grid.our_paths())

    def with_method(in1, in2, mode="full", boundary="fill", fillvalue=0,
                    method: typing.Literal["auto", "direct", "fft", "tiled"] = "auto"):
        return (mode, boundary, method)

    monkeypatch.setattr(fastconv, "convolve2d", with_method)
    assert _grid.our_paths() == ("auto", "direct[cython]", "direct[numba]", "fft", "tiled")
    assert _grid.path_runner("fft", None, None, "wrap")() == ("same", "wrap", "fft")
    assert _grid.path_runner("direct[numba]", None, None, "fill")()[2] == "direct"


def _without(monkeypatch, *names):
    """Make ``import name`` fail for these top-level modules, as if not installed
    (sys.modules stays as it is: scipy looks torch up there)."""
    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name.split(".")[0] in names:
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(importlib, "import_module", fake)


def test_missing_optional_peers_are_skipped(monkeypatch, capsys, tmp_path):
    _without(monkeypatch, "cv2", "torch")
    found, skipped = _peers.available_peers()
    assert {p.label for p in found} == {"scipy", "fftconvolve", "oaconvolve", "ndimage"}
    assert set(skipped) == {"cv2.filter2D", "torch.nn.functional.conv2d"}
    assert main(["--grid", "tiny", "--quiet", "--no-plot", "--out", str(tmp_path),
                 "--peers", "scipy", "cv2", "torch"]) == 0
    out, err = capsys.readouterr()
    assert "cv2.filter2D skipped: cv2 is not installed" in err
    assert "torch.nn.functional.conv2d skipped" in err
    header = _table(out)[0]
    assert "vs scipy" in header and "vs cv2" not in header and "vs torch" not in header
    assert "cv2.filter2D skipped" in out          # also listed under the table


def test_unsupported_dtype_leaves_blank_cells():
    g = _grid.Grid("t", (_grid.Cell(32, 3, "int32"),), {_grid.Cell(32, 3, "int32"): ("auto",)})
    found, _ = _peers.available_peers(("scipy", "fftconvolve", "cv2"))
    rows = _grid.run_grid(g, found, progress=False)
    assert len(rows) == 1 and set(rows[0]["peers"]) == {"scipy"}
    lim = {str(rows[0]["threads"]): {"matmul_float32": 100.0, "matmul_float64": 50.0,
                                     "copy_GBps": 10.0}}
    res = _report.build_result("t", rows, lim, {"cpu": "x", "cores": 1, "fastconv": "0",
                                               "fastconv_isa": "base", "numpy": "", "scipy": ""},
                               {}, [p.label for p in found])
    cells = _table(_report.markdown(res))[1]
    assert cells[7].endswith("x") and cells[8:-2] == [""] * (len(found) - 1)
    assert cells[-2].endswith("copy bw")          # no matmul peak for integers
    assert cells[-1] == ""                        # nor an FMA peak


def test_json_and_compare(tiny, tmp_path, capsys):
    old = dict(tiny, rows=[dict(r, seconds=2 * r["seconds"]) for r in tiny["rows"]])
    _report.write_json(old, tmp_path / "old.json")
    _report.write_json(tiny, tmp_path / "new.json")
    assert json.loads((tmp_path / "new.json").read_text())["rows"][0].keys() >= TINY_ROW_KEYS
    assert main(["--compare", str(tmp_path / "old.json"),
                 "--against", str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    assert rows[0][6:9] == ["old", "new", "new/old"]
    assert len(rows) - 1 == len(tiny["rows"])
    assert all(r[8] == "0.50" for r in rows[1:])
    assert "geometric mean new/old time 0.50" in out
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a fastconv bench result"):
        _report.load_json(tmp_path / "bad.json")


def test_readme_block_is_replaced(tiny, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n## Speed\nintro\n{_report.README_START}\nold table\n"
                      f"{_report.README_END}\n## Next\n")
    (tmp_path / "docs").mkdir()
    _report.update_readme(tiny, str(readme), str(tmp_path / "docs" / "b.png"))
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# x\n## Speed\nintro\n")
    assert text.endswith(f"{_report.README_END}\n## Next\n")
    assert _report.markdown(tiny) in text and "](docs/b.png)" in text
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(ValueError, match="markers|block"):
        _report.update_readme(tiny, str(tmp_path / "plain.md"), None)


def test_plot_written_or_skipped(tiny, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    assert _report.plot(tiny, tmp_path / "a.png") is None
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert "matplotlib is not installed" in _report.plot(tiny, tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()


def test_slow_calls_are_timed_once():
    calls = []
    tm = _grid.time_call(lambda: (calls.append(1), time.sleep(0.02)), warm=False, cap=0.01)
    assert tm.calls == 1 and len(calls) == 1 and tm.seconds >= 0.02 and "once" in tm.note
    calls.clear()
    tm = _grid.time_call(lambda: calls.append(1), warm=True, budget=0.0)
    assert tm.calls == 2 and len(calls) == 3          # warm-up discarded, then best of 2


def test_slow_peer_calls_are_predicted_and_skipped():
    torch_like = next(p for p in _peers.PEERS if p.label == "torch")
    assert torch_like.too_big(1024, 31) is None
    assert "too large" in torch_like.too_big(1024, 63)
    small, big = _grid.Cell(256, 5, "float32"), _grid.Cell(1024, 15, "float32")
    assert _grid._predict(None, big, 2.0) == 0.0
    assert _grid._predict((0.01, small), big, 2.0) == pytest.approx(0.01 * 16 * 9)
    assert _grid._predict((0.01, small), big, 3.0) == pytest.approx(0.01 * 16 * 27)
    assert _grid._predict((1.0, big), small, 3.0) == pytest.approx(1 / 16 / 9)
    # a grid whose skip limit is below what scipy needs runs it once, then skips it
    cells = (_grid.Cell(48, 3, "float64"), _grid.Cell(48, 31, "float64"))
    g = _grid.Grid("t", cells, {c: ("auto",) for c in cells}, peer_skip_s=1e-9,
                   call_budget_s=0.0)
    found, _ = _peers.available_peers(("scipy",))
    rows = _grid.run_grid(g, found, progress=False)
    assert rows[0]["peers"]["scipy"] > 0 and rows[1]["peers"]["scipy"] is None
    assert rows[1]["peer_notes"]["scipy"].startswith("skipped (predicted")
    res = _report.build_result("t", rows, {}, {"cpu": "x", "cores": 1, "fastconv": "0",
                                               "fastconv_isa": "base", "numpy": "", "scipy": ""},
                               {}, ["scipy"])
    assert "- blank scipy: 1 cell(s) not run, e.g. 48^2 k31 float64" in _report.markdown(res)


def test_progress_bar_writes_to_its_stream(tmp_path):
    with open(tmp_path / "err", "w") as f:
        bar = _grid.Progress(4, stream=f)
        for i in range(4):
            bar.step(f"cell {i}")
        bar.close()
    lines = (tmp_path / "err").read_text().splitlines()
    assert lines[-1].startswith("[" + "#" * 30 + "] 4/4") and "cell 3" in lines[-1]


@pytest.mark.parametrize("cmd", [["fastconv-bench"], [sys.executable, "-m", "fastconv.bench"]],
                         ids=["console-script", "python-m"])
def test_command_runs_outside_the_checkout(cmd, tmp_path):
    """The installed package runs the report from any directory; outputs land in --out."""
    exe = Path(sys.executable).parent / cmd[0]
    if cmd[0] == "fastconv-bench":
        if not exe.exists():
            pytest.skip("fastconv-bench console script not installed next to this python")
        cmd = [str(exe)]
    run = subprocess.run([*cmd, "--grid", "tiny", "--peers", "scipy", "--out", "res",
                          "--no-plot"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr
    assert "| 64^2 | 3 | float32 | fill |" in run.stdout
    assert "4/4" in run.stderr or "/" in run.stderr          # the progress bar
    result = json.loads((tmp_path / "res" / "fastconv-bench.json").read_text())
    assert result["grid"] == "tiny" and result["peers"] == ["scipy"]
