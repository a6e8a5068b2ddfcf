"""Summary of a Hyperliquid snapshot: the shared shape (protocols/summary.py), exact decimal strings."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from defi_perps.protocols.hyperliquid import math as hm
from defi_perps.protocols.hyperliquid.records import USDC_DECIMALS, HyperliquidSnapshot, PerpPosition


def dec(n: int, decimals: int) -> str:
    """``n / 10^decimals`` as an exact decimal string."""
    return str(Decimal(n).scaleb(-decimals))


def summarize(snap: HyperliquidSnapshot) -> dict[str, Any]:
    perps = {p.perp: p for p in snap.perps}
    oi: dict[int, list[int]] = {p.perp: [0, 0] for p in snap.perps}
    count: dict[int, int] = defaultdict(int)
    by_acct: dict[str, list[PerpPosition]] = defaultdict(list)
    for pos in snap.positions:
        oi[pos.perp][0 if pos.szi > 0 else 1] += hm.notional(pos, perps[pos.perp].mark_px)
        count[pos.perp] += 1
        by_acct[pos.account].append(pos)
    below = {a.account for a in snap.accounts
             if any(c.liquidatable for c in hm.checks(a, by_acct.get(a.account, []), perps))}
    markets = [{"perp": p.perp, "coin": p.coin, "sz_decimals": p.sz_decimals, "max_leverage": p.max_leverage,
                "mark_usd": dec(p.mark_px, 6 - p.sz_decimals), "oracle_usd": dec(p.oracle_px, 6 - p.sz_decimals),
                "oi_long_usd": dec(oi[p.perp][0], USDC_DECIMALS), "oi_short_usd": dec(oi[p.perp][1], USDC_DECIMALS),
                "positions": count[p.perp]} for p in snap.perps]
    m = snap.meta
    return {"protocol": "hyperliquid", "title": "Hyperliquid", "snapshot_id": m.id, "chain_id": m.chain_id,
            "block_number": m.block_number, "block_hash": m.block_hash, "positions": len(snap.positions),
            "totals": {"hypercore_block": snap.l1_block_number, "accounts_read": len(snap.accounts),
                       "accounts_digest": snap.accounts_digest,
                       "isolated_positions": sum(1 for p in snap.positions if p.is_isolated),
                       "accounts_below_maintenance": len(below),
                       "account_value_usd": dec(sum(a.account_value for a in snap.accounts), USDC_DECIMALS),
                       "vault_equity_usd": dec(sum(v.equity for v in snap.vault_equities), USDC_DECIMALS),
                       "spot_balances": len(snap.spot_balances)},
            "markets": markets}
