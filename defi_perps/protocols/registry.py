"""The protocol registry: one line per plug-in. ``index``, ``snapshots``, ``book``, the store, the
devnet and the chain-file loader consult it; nothing else knows the list of protocols.

A line is ``"<cli-name>": "<module>:<attribute>"``; the module is imported only when the protocol is
used (``--help`` and ``snapshots list`` import none).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING

from defi_perps.exceptions import UnknownProtocolError

if TYPE_CHECKING:   # pragma: no cover
    from defi_perps.protocols.base import ProtocolPlugin

PLUGINS: dict[str, str] = {
    "gmx-v2": "defi_perps.protocols.gmx_v2.plugin:PLUGIN",
    "gmx-v1": "defi_perps.protocols.gmx_v1.plugin:PLUGIN",
    "hyperliquid": "defi_perps.protocols.hyperliquid.plugin:PLUGIN",
    "synthetix-v3": "defi_perps.protocols.synthetix_v3.plugin:PLUGIN",
    "gtrade": "defi_perps.protocols.gtrade.plugin:PLUGIN",
}


def names() -> tuple[str, ...]:
    """CLI names of every registered protocol, in registry order."""
    return tuple(PLUGINS)


def key_of(name: str) -> str:
    """The chain-file section / stored protocol key of a CLI name: ``gmx-v2`` → ``gmx_v2``."""
    return name.strip().lower().replace("-", "_")


def keys() -> tuple[str, ...]:
    return tuple(key_of(n) for n in PLUGINS)


@lru_cache(maxsize=None)
def _load(name: str) -> ProtocolPlugin:
    module, _, attr = PLUGINS[name].partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def get(name: str) -> ProtocolPlugin:
    """The plug-in for a CLI name (``gmx-v2``) or a stored key (``gmx_v2``), spelled exactly; a one-line
    error otherwise (with the closest name, so ``GMX-V2`` or ``gmx_v2 `` get a hint, not a guess)."""
    raw = name if isinstance(name, str) else ""
    for n in PLUGINS:
        if raw in (n, key_of(n)):
            return _load(n)
    import difflib

    close = difflib.get_close_matches(raw.strip().lower().replace("_", "-"), list(PLUGINS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownProtocolError(f"unknown protocol {name!r}{hint}; supported: {', '.join(PLUGINS)}")


def deployment_model(key: str) -> type | None:
    """The chain-file section model of a stored key, or None when no plug-in owns the section."""
    for n in PLUGINS:
        if key_of(n) == key:
            return _load(n).deployment_model
    return None
