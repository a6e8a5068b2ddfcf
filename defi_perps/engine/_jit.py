"""The one switch between numba kernels and plain Python.

``DEFI_PERPS_DISABLE_JIT=1`` makes :func:`njit` return the undecorated function and ``prange``
plain ``range``, and makes :mod:`defi_perps.engine.api` run the plain-Python reference twin
(:mod:`defi_perps.engine.reference`) instead of the kernel. Useful for debugging, coverage, and
machines where numba cannot compile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def jit_disabled() -> bool:
    return os.environ.get("DEFI_PERPS_DISABLE_JIT", "").strip().lower() in {"1", "true", "yes", "on"}


if jit_disabled():  # pragma: no cover - exercised by a subprocess test
    prange = range

    def njit(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f
else:
    import numba

    prange = numba.prange

    def njit(*args: Any, **kwargs: Any) -> Any:
        # Every kernel is cached on disk: compile time matters for tests and the CLI.
        kwargs.setdefault("cache", True)
        return numba.njit(*args, **kwargs)
