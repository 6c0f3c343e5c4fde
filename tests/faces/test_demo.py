"""The README's main command (``fastconv-demo``) runs the benchmark report."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from fastconv.__main__ import demo


def test_demo_prints_the_report(capsys, tmp_path):
    assert demo(["--grid", "tiny", "--peers", "scipy", "--quiet", "--no-plot",
                 "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [ln for ln in lines if ln.startswith("| 64^2")]
    result = json.loads((tmp_path / "fastconv-bench.json").read_text())
    assert len(rows) == len(result["rows"]) > 0
    assert all(r.split("|")[8].strip().endswith("x") for r in rows)   # the 'vs scipy' column


def test_console_scripts_installed():
    here = Path(sys.executable).parent     # the venv's bin, activated or not
    for name in ("fastconv-demo", "fastconv-bench"):
        assert (here / name).exists() or shutil.which(name) is not None, name


def test_docstring_examples_run():
    """The numpydoc Examples in the public API are executed and must hold."""
    import doctest

    from fastconv._api import scipy2d
    from fastconv._engine import tune
    for mod in (scipy2d, tune):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and (res.attempted > 0 or mod is tune)
