"""Summary of a Hyperliquid snapshot (JSON-ready; floats only for display, from exact ints)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from defi_perps.protocols.hyperliquid import math as hm
from defi_perps.protocols.hyperliquid.records import USDC_DECIMALS, HyperliquidSnapshot, PerpPosition

USDC = 10**USDC_DECIMALS


def summarize(snap: HyperliquidSnapshot) -> dict[str, Any]:
    perps = {p.perp: p for p in snap.perps}
    oi: dict[int, list[int]] = {p.perp: [0, 0] for p in snap.perps}
    by_acct: dict[str, list[PerpPosition]] = defaultdict(list)
    for pos in snap.positions:
        oi[pos.perp][0 if pos.szi > 0 else 1] += hm.notional(pos, perps[pos.perp].mark_px)
        by_acct[pos.account].append(pos)
    below = 0
    liq_accounts = set()
    for a in snap.accounts:
        for c in hm.checks(a, by_acct.get(a.account, []), perps):
            if c.liquidatable:
                below += 1
                liq_accounts.add(a.account)
    markets = [{"perp": p.perp, "coin": p.coin, "sz_decimals": p.sz_decimals, "max_leverage": p.max_leverage,
                "mark_px": p.mark_px, "oracle_px": p.oracle_px,
                "mark_usd": float(hm.px_usd(p.mark_px, p.sz_decimals)),
                "oracle_usd": float(hm.px_usd(p.oracle_px, p.sz_decimals)),
                "open_interest_long_usd": oi[p.perp][0] / USDC, "open_interest_short_usd": oi[p.perp][1] / USDC,
                "positions": sum(1 for x in snap.positions if x.perp == p.perp)} for p in snap.perps]
    m = snap.meta
    return {"protocol": "hyperliquid", "chain_id": m.chain_id, "block_number": m.block_number,
            "block_hash": m.block_hash, "block_timestamp": m.block_timestamp, "snapshot_id": m.id,
            "l1_block_number": snap.l1_block_number, "perp_dex": snap.perp_dex,
            "accounts": len(snap.accounts), "accounts_digest": snap.accounts_digest,
            "positions": len(snap.positions),
            "isolated_positions": sum(1 for p in snap.positions if p.is_isolated),
            "accounts_below_maintenance": len(liq_accounts), "margin_checks_failing": below,
            "account_value_usd": sum(a.account_value for a in snap.accounts) / USDC,
            "vault_equity_usd": sum(v.equity for v in snap.vault_equities) / USDC,
            "spot_balances": len(snap.spot_balances),
            "markets": markets}


def render_lines(s: dict[str, Any]) -> list[str]:
    out = [f"Hyperliquid at HyperEVM block {s['block_number']} (HyperCore block {s['l1_block_number']}), "
           f"chain {s['chain_id']}: {s['positions']} positions of {s['accounts']} accounts "
           f"({s['accounts_below_maintenance']} below maintenance)"]
    for mk in s["markets"]:
        out.append(f"  {mk['coin']:>6}  mark {mk['mark_usd']:>12,.4f}  oracle {mk['oracle_usd']:>12,.4f}  "
                   f"OI long ${mk['open_interest_long_usd']:>14,.0f}  short ${mk['open_interest_short_usd']:>14,.0f}  "
                   f"{mk['positions']} positions")
    out.append(f"  vault equity ${s['vault_equity_usd']:,.0f}; account value ${s['account_value_usd']:,.0f}")
    return out
