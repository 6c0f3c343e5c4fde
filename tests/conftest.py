"""pytest set-up shared by every wing's tests: the hypothesis profile and the
per-ISA fixture (the comparison helpers are in helpers.py)."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from fastconv._engine import kernels

# CI replays the same hypothesis examples on every run (no flaky verdicts); local
# runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=kernels.available_isas())
def isa(request, monkeypatch):
    """Run a test once per kernel build this machine can execute."""
    build = kernels.build
    build(request.param)            # refuses a build this machine cannot run
    monkeypatch.setattr(kernels, "build", lambda name=None: build(name or request.param))
    return request.param
