"""HyperEVM read precompiles as callable functions: calldata is ``abi.encode(args)``, no selector.

The table is data (``abis/hyperliquid/L1Read.json``, sources in its SOURCES.md): the address,
argument types and answer type of each precompile. :class:`Precompile` is a
:class:`defi_perps.rpc.abi.Function` whose ``encode`` leaves out the 4-byte selector, so the same
Multicall3 batching (``rpc/multicall.py``) and the same pinned ``eth_call`` (``rpc/client.py``)
carry precompile reads unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import encode

from defi_perps.exceptions import ConfigError
from defi_perps.resources import data_dir
from defi_perps.rpc.abi import Function, _type_str


@dataclass(frozen=True)
class Precompile(Function):
    """One read precompile: ``encode(*args)`` is the bare ABI encoding of the arguments."""

    address: str = ""

    def encode(self, *args: Any) -> bytes:
        return encode(list(self.inputs), list(args)) if self.inputs else b""


@lru_cache(maxsize=None)
def precompiles() -> dict[str, Precompile]:
    """The precompiles of ``abis/hyperliquid/L1Read.json`` by name."""
    path = data_dir("abis") / "hyperliquid" / "L1Read.json"
    try:
        raw = json.loads(path.read_text())["precompiles"]
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"cannot read the HyperEVM precompile table {path}: {err}") from None
    out: dict[str, Precompile] = {}
    for e in raw:
        out[e["name"]] = Precompile(e["name"], tuple(_type_str(p) for p in e["inputs"]),
                                    tuple(_type_str(p) for p in e["outputs"]), address=e["address"].lower())
    return out


def precompile(name: str) -> Precompile:
    try:
        return precompiles()[name]
    except KeyError:
        raise ConfigError(f"no HyperEVM precompile named {name!r} in abis/hyperliquid/L1Read.json") from None
