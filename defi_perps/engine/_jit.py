"""The one switch between numba kernels and plain Python, and where compiled kernels are cached.

``DEFI_PERPS_DISABLE_JIT=1`` makes :func:`njit` return the undecorated function and ``prange``
plain ``range``, and makes :mod:`defi_perps.engine.api` run the plain-Python reference twin
(:mod:`defi_perps.engine.reference`) instead of the kernel. Useful for debugging, coverage, and
machines where numba cannot compile.

Compiled kernels are cached (``cache=True``) in the user's cache directory, never next to the
sources: a cache inside site-packages goes stale when the package is reinstalled and can break the
import. :func:`cache_dir` is ``$NUMBA_CACHE_DIR`` if the user set it, else
``$DEFI_PERPS_CACHE_DIR/numba``, else the platform's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) +
``defi-perps/numba``. It is set before numba is imported.

Kernels live in a subfolder named by a digest of the engine's sources (:func:`source_digest`):
numba checks only the timestamp of the file that defines a cached function, so an edit to a
helper module it calls (``depth.py``, ``hedger_nb.py``, …) would otherwise keep running the old
machine code. Another version of the engine compiles into its own subfolder.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def jit_disabled() -> bool:
    return os.environ.get("DEFI_PERPS_DISABLE_JIT", "").strip().lower() in {"1", "true", "yes", "on"}


def cache_dir() -> Path:
    """Where numba keeps compiled kernels (see the module docstring)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    if os.environ.get("DEFI_PERPS_CACHE_DIR"):
        return Path(os.environ["DEFI_PERPS_CACHE_DIR"]) / "numba"
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "defi-perps" / "numba"


def source_digest(package_dir: Path | None = None) -> str:
    """12 hex digits of sha256 over the engine package's Python sources (name and bytes) and
    numba's version: what the compiled kernels depend on."""
    h = hashlib.sha256()
    try:
        import importlib.metadata as md

        h.update(md.version("numba").encode())
    except Exception:  # numba missing: the JIT is off and nothing is cached
        pass
    for f in sorted((package_dir or Path(__file__).resolve().parent).glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def kernel_cache_dir() -> Path:
    """The folder numba caches this engine version's kernels in."""
    return cache_dir() / f"engine-{source_digest()}"


def kernels_cached(module_stem: str = "nb", function: str = "simulate_chunk") -> bool:
    """True when the cache holds a compiled ``module.function`` (the first run compiles: ~1 min)."""
    root = kernel_cache_dir()
    return root.is_dir() and any(root.rglob(f"{module_stem}.{function}-*.nbi"))


prange: Any   # numba.prange, or range when numba is disabled
if jit_disabled():  # pragma: no cover - exercised by a subprocess test
    prange = range

    def njit(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f
else:
    import numba

    # numba may have been imported before us (then it read its config already): set its config, not
    # only the environment. The user's NUMBA_CACHE_DIR (read by cache_dir) stays the base folder.
    numba.config.CACHE_DIR = str(kernel_cache_dir())  # type: ignore[attr-defined]  # set by numba at import
    prange = numba.prange

    def njit(*args: Any, **kwargs: Any) -> Any:
        # Every kernel is cached on disk: compile time matters for tests and the CLI.
        kwargs.setdefault("cache", True)
        return numba.njit(*args, **kwargs)
