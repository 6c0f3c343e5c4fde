"""The README's main command (``fastconv-demo``) prints a timing table."""
from __future__ import annotations

import shutil

from fastconv.__main__ import demo


def test_demo_prints_a_table(capsys):
    demo(sizes=((64, 3),))
    lines = capsys.readouterr().out.splitlines()
    rows = [ln for ln in lines if ln.startswith("| 64x64")]
    assert len(rows) == 2                      # float32 and float64
    assert all(r.rstrip().endswith("x |") for r in rows)


def test_console_script_installed():
    assert shutil.which("fastconv-demo") is not None


def test_docstring_examples_run():
    """The numpydoc Examples in the public API are executed and must hold."""
    import doctest

    from fastconv import _api, _tune
    for mod in (_api, _tune):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and (res.attempted > 0 or mod is _tune)
