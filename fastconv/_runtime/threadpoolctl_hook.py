"""threadpoolctl sees fastconv's pool: ``threadpool_limits(1)`` limits it too.

threadpoolctl finds a library by the shared objects loaded in the process and asks
a registered controller for its thread count. fastconv registers its controller when
threadpoolctl is imported, before or after fastconv: importing threadpoolctl with
fastconv would cost every ``import fastconv`` ~9 ms, so an import hook waits for it.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

from .threads import default_num_threads, set_num_threads

_NAME = "threadpoolctl"


def _register(tpc: ModuleType) -> None:
    if not hasattr(tpc, "register"):         # threadpoolctl < 3.5: no third-party controllers
        return

    class FastconvController(tpc.LibController):
        user_api = "fastconv"
        internal_api = "fastconv"
        # the pool's extension module (csrc/_fcpool.pyx), loaded with fastconv
        filename_prefixes = ("_fcpool",)

        def get_num_threads(self) -> int:
            return default_num_threads()

        def set_num_threads(self, num_threads: int) -> None:
            set_num_threads(num_threads)

        def get_version(self) -> str | None:
            try:
                from importlib.metadata import version
                return version("fastconv")
            except Exception:
                return None

    tpc.register(FastconvController)


class _Hook(importlib.abc.MetaPathFinder):
    """Finds nothing itself; when threadpoolctl is imported, runs it, then registers."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _NAME:
            return None
        remove()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _register(module)

        spec.loader.exec_module = exec_module
        return spec


_hook = _Hook()


def remove() -> None:
    """Take the import hook out (it is used once)."""
    if _hook in sys.meta_path:
        sys.meta_path.remove(_hook)


def install() -> None:
    """Register now if threadpoolctl is imported, else when it is."""
    if _NAME in sys.modules:
        _register(sys.modules[_NAME])
    elif _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)   # before the path finder, which would find it
