"""ABI functions from the JSON files in ``abis/``: selectors, calldata encoding, return decoding (eth-abi).

Only the fragments we call are needed. Types are taken from the ABI JSON itself, so a Reader with
another ``Position.Props`` layout is a different JSON file, not different code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from defi_perps.exceptions import AbiMismatchError, ConfigError
from defi_perps.rpc.fastabi import StaticDecoder, encode_static_args
from defi_perps.resources import load_abi


def _type_str(param: dict[str, Any]) -> str:
    """Canonical type of one ABI parameter: tuples spelled out as ``(t1,t2,…)[]``."""
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type_str(c) for c in param["components"]) + ")" + t[len("tuple"):]
    return t


@dataclass(frozen=True)
class Function:
    """One ABI function: ``encode(*args) -> calldata`` and ``decode(returndata) -> tuple``.

    Static signatures take the fast paths in fastabi.py (checked against eth-abi in tests).
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_static_out", StaticDecoder(self.outputs))
        object.__setattr__(self, "_selector", function_signature_to_4byte_selector(self.signature))

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        return self._selector  # type: ignore[attr-defined,no-any-return]

    def encode(self, *args: Any) -> bytes:
        fast = encode_static_args(self.inputs, args)
        if fast is not None:
            return self.selector + fast
        return self.selector + encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """Decode return data; empty or short data (no contract, wrong ABI) → AbiMismatchError.

        Addresses come back lowercase from the fast path and checksummed from eth-abi; compare
        them case-insensitively or checksum them (mappers do).
        """
        dec = self._static_out  # type: ignore[attr-defined]
        if dec.ok:
            return dec(data, self.signature)  # type: ignore[no-any-return]
        try:
            return tuple(decode(list(self.outputs), data))
        except Exception as err:  # eth-abi raises several unrelated types for bad data
            raise AbiMismatchError(
                f"cannot decode the answer of {self.signature} ({len(data)} bytes): {type(err).__name__}"
            ) from None

    def decode_one(self, data: bytes) -> Any:
        return self.decode(data)[0]


class ContractAbi:
    """The functions of ``abis/<protocol>/<contract>.json`` by name (overloads by ``name/arity``)."""

    def __init__(self, protocol: str, contract: str) -> None:
        self.label = f"{protocol}/{contract}"
        self._fns: dict[str, Function] = {}
        for entry in load_abi(protocol, contract):
            if entry.get("type") != "function":
                continue
            fn = Function(entry["name"], tuple(_type_str(p) for p in entry["inputs"]),
                          tuple(_type_str(p) for p in entry["outputs"]))
            self._fns.setdefault(fn.name, fn)
            self._fns[f"{fn.name}/{len(fn.inputs)}"] = fn

    def __getitem__(self, name: str) -> Function:
        try:
            return self._fns[name]
        except KeyError:
            raise ConfigError(f"ABI {self.label} has no function {name!r}") from None


@lru_cache(maxsize=None)
def contract_abi(protocol: str, contract: str) -> ContractAbi:
    return ContractAbi(protocol, contract)
