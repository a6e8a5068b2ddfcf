"""GMX v1 mappers (pure): Vault position events → position identities, answers → records.

Events (gmx-io/gmx-contracts contracts/core/Vault.sol @ fe55c4ba; no parameter is indexed, so
every field is in the log data): ``IncreasePosition``, ``DecreasePosition`` and
``LiquidatePosition`` carry the key and its identity (account, collateral token, index token,
side); ``UpdatePosition`` and ``ClosePosition`` only the key. The ABI is ``abis/gmx_v1/Vault.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from defi_perps.exceptions import AbiMismatchError
from defi_perps.protocols.gmx_v1.math import position_key
from defi_perps.protocols.gmx_v1.records import Position
from defi_perps.resources import load_abi

POSITION_EVENTS = ("IncreasePosition", "DecreasePosition", "LiquidatePosition", "UpdatePosition", "ClosePosition")
CLOSING = ("LiquidatePosition", "ClosePosition")


@lru_cache(maxsize=1)
def events() -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """topic0 → (event name, input types, input names), from the Vault ABI."""
    out = {}
    for e in load_abi("gmx_v1", "Vault"):
        if e.get("type") == "event" and e["name"] in POSITION_EVENTS:
            types = tuple(i["type"] for i in e["inputs"])
            topic = "0x" + keccak(text=f"{e['name']}({','.join(types)})").hex()
            out[topic] = (e["name"], types, tuple(i["name"] for i in e["inputs"]))
    if len(out) != len(POSITION_EVENTS):
        raise AbiMismatchError("abis/gmx_v1/Vault.json lacks one of the position events")
    return out


def topics() -> list[str]:
    return sorted(events())


@dataclass(frozen=True, slots=True)
class PositionEvent:
    name: str
    key: str
    block: int
    index: int
    identity: tuple[str, str, str, bool] | None     # (account, collateral, index, isLong) when the event has it


def decode_event(log: dict[str, Any]) -> PositionEvent:
    name, types, names = events()[log["topic0"]]
    try:
        vals = decode(list(types), bytes.fromhex(log["data"][2:]))
    except Exception as err:  # eth-abi raises several unrelated types for bad data
        raise AbiMismatchError(f"cannot decode a Vault {name} log in block {log['block']}: {type(err).__name__}") \
            from None
    d = dict(zip(names, vals))
    key = "0x" + bytes(d["key"]).hex()
    ident = None
    if "account" in d:
        ident = (to_checksum_address(d["account"]), to_checksum_address(d["collateralToken"]),
                 to_checksum_address(d["indexToken"]), bool(d["isLong"]))
        if position_key(*ident) != key:
            raise AbiMismatchError(f"Vault {name} in block {log['block']} has key {key[:10]}… that is not "
                                   f"keccak256(abi.encodePacked(account, collateral, index, isLong)) of its own fields")
    return PositionEvent(name, key, log["block"], log["index"], ident)


@dataclass
class KeyState:
    """What the scan keeps per position key: its identity and its last event."""

    identity: tuple[str, str, str, bool] | None
    last: str
    block: int
    index: int

    def to_json(self) -> list[Any]:
        return [list(self.identity) if self.identity else None, self.last, self.block, self.index]

    @classmethod
    def from_json(cls, v: list[Any]) -> "KeyState":
        ident = tuple(v[0]) if v[0] else None
        return cls(ident, v[1], v[2], v[3])  # type: ignore[arg-type]


def fold(state: dict[str, KeyState], evs: list[PositionEvent]) -> None:
    """Apply events in (block, index) order to the per-key state."""
    for e in evs:
        cur = state.get(e.key)
        ident = e.identity or (cur.identity if cur else None)
        state[e.key] = KeyState(ident, e.name, e.block, e.index)


def open_candidates(state: dict[str, KeyState]) -> tuple[list[tuple[str, tuple[str, str, str, bool]]], int]:
    """Keys whose last event does not close them, with their identity (sorted by key), and how many
    such keys have no identity (their opening event is before the scanned range)."""
    out, orphans = [], 0
    for k in sorted(state):
        s = state[k]
        if s.last in CLOSING:
            continue
        if s.identity is None:
            orphans += 1
            continue
        out.append((k, s.identity))
    return out, orphans


def to_position(key: str, ident: tuple[str, str, str, bool], value: tuple[Any, ...]) -> Position:
    """``Vault.positions(key)`` → Position (size, collateral, averagePrice, entryFundingRate,
    reserveAmount, int256 realisedPnl, lastIncreasedTime)."""
    if len(value) != 7:
        raise AbiMismatchError(f"Vault.positions answered {len(value)} fields, expected 7")
    size, coll, avg, efr, reserve, pnl, last = (int(x) for x in value)
    return Position(key, ident[0], ident[1], ident[2], ident[3], size, coll, avg, efr, reserve, pnl, last)
