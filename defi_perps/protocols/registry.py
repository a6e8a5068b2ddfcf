"""The protocol registry: one line per plug-in. ``index``, ``snapshots``, ``book``, the store (tables
and migrations), the devnet (deploys and compiled contracts) and the chain-file loader consult it;
nothing else knows the list of protocols.

A line is ``"<cli-name>": "<module>:<attribute>"``; the module is imported only when the protocol is
used (``--help`` and ``snapshots list`` import none).

Plug-ins shipped in another distribution register without editing this file, through the entry-point
group ``defi_perps.protocols`` (the same ``<cli-name> = <module>:<attribute>``; in its pyproject.toml
``[project.entry-points."defi_perps.protocols"]``). They follow the built-in ones in :func:`names`; a
name already taken is refused with a one-line error, and so is a plug-in that fails to import or whose
``name``/``key`` do not match its entry.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING

from defi_perps.exceptions import ConfigError, UnknownProtocolError

if TYPE_CHECKING:   # pragma: no cover
    from defi_perps.protocols.base import ProtocolPlugin

PLUGINS: dict[str, str] = {
    "gmx-v2": "defi_perps.protocols.gmx_v2.plugin:PLUGIN",
    "gmx-v1": "defi_perps.protocols.gmx_v1.plugin:PLUGIN",
    "hyperliquid": "defi_perps.protocols.hyperliquid.plugin:PLUGIN",
    "synthetix-v3": "defi_perps.protocols.synthetix_v3.plugin:PLUGIN",
    "gtrade": "defi_perps.protocols.gtrade.plugin:PLUGIN",
}
ENTRY_POINT_GROUP = "defi_perps.protocols"


@lru_cache(maxsize=1)
def _registered() -> dict[str, str]:
    """The built-in lines, then those of installed distributions' ``defi_perps.protocols`` entry points."""
    from importlib.metadata import entry_points

    out = dict(PLUGINS)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value}" + (f" of {ep.dist.name}" if ep.dist is not None else "")
        if ep.name in out:
            if out[ep.name] == ep.value:
                continue        # the same line reached twice (a distribution seen on two sys.path entries)
            raise ConfigError(f"protocol plug-in {ep.name!r} is registered twice ({where}; and {out[ep.name]})")
        if any(key_of(ep.name) == key_of(n) for n in out):
            raise ConfigError(f"protocol plug-in {ep.name!r} ({where}) has the stored key of a registered one")
        out[ep.name] = ep.value
    return out


def refresh() -> None:
    """Forget what was read and loaded (after installing a plug-in in a running process; tests)."""
    _registered.cache_clear()
    _load.cache_clear()


def names() -> tuple[str, ...]:
    """CLI names of every registered protocol, in registry order (built-ins, then entry points)."""
    return tuple(_registered())


def key_of(name: str) -> str:
    """The chain-file section / stored protocol key of a CLI name: ``gmx-v2`` → ``gmx_v2``."""
    return name.strip().lower().replace("-", "_")


def keys() -> tuple[str, ...]:
    return tuple(key_of(n) for n in names())


@lru_cache(maxsize=None)
def _load(name: str) -> ProtocolPlugin:
    target = _registered()[name]
    module, _, attr = target.partition(":")
    if name in PLUGINS:
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
    from defi_perps.protocols.base import ProtocolPlugin

    try:
        plugin = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:   # a broken third-party install: one line, not a traceback
        raise ConfigError(f"protocol plug-in {name!r} ({target}) failed to load: {type(err).__name__}: {err}") from None
    if not isinstance(plugin, ProtocolPlugin):
        raise ConfigError(f"protocol plug-in {name!r} ({target}) is not a ProtocolPlugin instance")
    if getattr(plugin, "name", None) != name or getattr(plugin, "key", None) != key_of(name):
        raise ConfigError(f"protocol plug-in {name!r} ({target}) declares name {getattr(plugin, 'name', None)!r} "
                          f"and key {getattr(plugin, 'key', None)!r}; expected {name!r} and {key_of(name)!r}")
    return plugin


def migrations_package(name: str) -> str | None:
    """The package of a plug-in's own migrations: ``migrations`` beside its plug-in module
    (``defi_perps.protocols.gmx_v1.plugin:PLUGIN`` → ``defi_perps.protocols.gmx_v1.migrations``), or
    None when it has none. Found without importing the plug-in module (only its package's
    ``__init__``), so the store can check a database's chains cheaply on every open."""
    import importlib.util

    module = _registered()[name].partition(":")[0]
    parent = module.rpartition(".")[0]
    if not parent:
        return None
    pkg = f"{parent}.migrations"
    try:
        spec = importlib.util.find_spec(pkg)
    except ImportError:       # the plug-in's package itself is missing: get() says so in one line
        return None
    return pkg if spec is not None and spec.submodule_search_locations else None


def get(name: str) -> ProtocolPlugin:
    """The plug-in for a CLI name (``gmx-v2``) or a stored key (``gmx_v2``), spelled exactly; a one-line
    error otherwise (with the closest name, so ``GMX-V2`` or ``gmx_v2 `` get a hint, not a guess)."""
    raw = name if isinstance(name, str) else ""
    known = names()
    for n in known:
        if raw in (n, key_of(n)):
            return _load(n)
    import difflib

    close = difflib.get_close_matches(raw.strip().lower().replace("_", "-"), list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownProtocolError(f"unknown protocol {name!r}{hint}; supported: {', '.join(known)}")


def deployment_model(key: str) -> type | None:
    """The chain-file section model of a stored key, or None when no plug-in owns the section."""
    for n in names():
        if key_of(n) == key:
            return _load(n).deployment_model
    return None
