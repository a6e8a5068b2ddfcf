"""Hyperliquid mappers (pure): decoded precompile answers → records, ints kept exact.

Each function takes what ``rpc`` decoded for one precompile (a tuple in the struct's field order,
abis/hyperliquid/L1Read.json) and checks it against the declared types' ranges once more (a
mismatched answer must fail here, not become a wrong number). Units: records.py.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from defi_perps.exceptions import AbiMismatchError
from defi_perps.protocols.hyperliquid.records import Account, PerpAsset, PerpPosition, SpotBalance, VaultEquity

U64 = 2**64
I64 = 2**63


def _u(v: Any, bits: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**bits:
        raise AbiMismatchError(f"{what} = {v!r} is not a uint{bits}")
    return v


def _i(v: Any, bits: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not -(2 ** (bits - 1)) <= v < 2 ** (bits - 1):
        raise AbiMismatchError(f"{what} = {v!r} is not an int{bits}")
    return v


def _tuple(v: Any, n: int, what: str) -> tuple[Any, ...]:
    if not isinstance(v, (tuple, list)) or len(v) != n:
        raise AbiMismatchError(f"{what}: expected a {n}-field struct, got {type(v).__name__}")
    return tuple(v)


def perp_asset(perp: int, info: Any, mark: Any, oracle: Any, bbo: Any | None) -> PerpAsset:
    coin, table, sz, lev, iso = _tuple(info, 5, f"perpAssetInfo(perp {perp})")
    if not isinstance(coin, str) or not coin:
        raise AbiMismatchError(f"perpAssetInfo(perp {perp}).coin is not a name: {coin!r}")
    sz = _u(sz, 8, "szDecimals")
    if sz > 6:
        raise AbiMismatchError(f"perp {perp} ({coin}) has szDecimals {sz} > 6: its prices would have negative decimals")
    bid = ask = None
    if bbo is not None:
        bid, ask = (_u(x, 64, "bbo") for x in _tuple(bbo, 2, f"bbo(perp {perp})"))
    return PerpAsset(perp=perp, coin=coin, margin_table_id=_u(table, 32, "marginTableId"), sz_decimals=sz,
                     max_leverage=_u(lev, 8, "maxLeverage"), only_isolated=bool(iso),
                     mark_px=_u(mark, 64, f"markPx(perp {perp})"), oracle_px=_u(oracle, 64, f"oraclePx(perp {perp})"),
                     bid_px=bid, ask_px=ask)


def position(account: str, perp: int, raw: Any) -> PerpPosition | None:
    """None for a zero size: the precompile answers a zeroed struct where there is no position."""
    szi, ntl, iso_raw, lev, is_iso = _tuple(raw, 5, f"position({account}, perp {perp})")
    szi = _i(szi, 64, "szi")
    if szi == 0:
        return None
    return PerpPosition(account=to_checksum_address(account), perp=perp, szi=szi, entry_ntl=_u(ntl, 64, "entryNtl"),
                        isolated_raw_usd=_i(iso_raw, 64, "isolatedRawUsd"), leverage=_u(lev, 32, "leverage"),
                        is_isolated=bool(is_iso))


def account(addr: str, summary: Any, withdrawable: Any, exists: Any) -> Account:
    value, used, ntl, raw = _tuple(summary, 4, f"accountMarginSummary({addr})")
    (w,) = _tuple(withdrawable, 1, f"withdrawable({addr})")
    (e,) = _tuple(exists, 1, f"coreUserExists({addr})")
    return Account(account=to_checksum_address(addr), account_value=_i(value, 64, "accountValue"),
                   margin_used=_u(used, 64, "marginUsed"), ntl_pos=_u(ntl, 64, "ntlPos"), raw_usd=_i(raw, 64, "rawUsd"),
                   withdrawable=_u(w, 64, "withdrawable"), exists=bool(e))


def spot_balance(addr: str, token: int, raw: Any) -> SpotBalance | None:
    total, hold, ntl = (_u(x, 64, "spotBalance") for x in _tuple(raw, 3, f"spotBalance({addr}, {token})"))
    if total == 0 and hold == 0 and ntl == 0:
        return None
    return SpotBalance(account=to_checksum_address(addr), token=token, total=total, hold=hold, entry_ntl=ntl)


def vault_equity(addr: str, vault: str, raw: Any) -> VaultEquity | None:
    eq, locked = (_u(x, 64, "userVaultEquity") for x in _tuple(raw, 2, f"userVaultEquity({addr}, {vault})"))
    if eq == 0 and locked == 0:
        return None
    return VaultEquity(account=to_checksum_address(addr), vault=to_checksum_address(vault), equity=eq,
                       locked_until_timestamp=locked)
