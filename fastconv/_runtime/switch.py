"""A process-wide choice among named values (which kernel, which FFT library,
which nn road): read from an environment variable at import, forced inside a
``with`` block by tests and benchmarks."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator


class Switch:
    """One named choice; ``value`` is the current one.

    Parameters
    ----------
    choices : tuple of str
        The values it may take.
    what : str
        Its name in the error a bad value raises.
    env : str, optional
        The environment variable that sets it at import (default: ``default``).
    default : str
        Its value when ``env`` is unset.
    """

    def __init__(self, choices: tuple[str, ...], what: str, env: str | None = None,
                 default: str = "auto") -> None:
        self.choices, self.what = choices, what
        value = os.environ.get(env, default) if env else default
        if value not in choices:
            raise ValueError(f"{env} must be one of {choices}, got {value!r}")
        self.value = value

    @contextmanager
    def forced(self, value: str) -> Iterator[None]:
        """``value`` inside a ``with`` block (process-wide, not thread-local)."""
        if value not in self.choices:
            raise ValueError(f"{self.what} must be one of {self.choices}, got {value!r}")
        old, self.value = self.value, value
        try:
            yield
        finally:
            self.value = old
