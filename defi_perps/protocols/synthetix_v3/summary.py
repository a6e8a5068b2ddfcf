"""Summary of a Synthetix perps v3 snapshot: the shared shape (protocols/summary.py), exact decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from defi_perps.protocols.synthetix_v3 import mappers as M
from defi_perps.protocols.synthetix_v3 import math as sm
from defi_perps.protocols.synthetix_v3.records import SynthetixSnapshot


def d18(x: int) -> str:
    return format(Decimal(x).scaleb(-18).normalize(), "f") if x else "0"


def summarize(snap: SynthetixSnapshot) -> dict[str, Any]:
    oi: dict[int, list[int]] = {m.market_id: [0, 0] for m in snap.markets}
    prices = {m.market_id: m.index_price for m in snap.markets}
    count = {m.market_id: 0 for m in snap.markets}
    for p in snap.positions:
        oi[p.market_id][0 if p.size > 0 else 1] += sm.mul_dec(abs(p.size), prices[p.market_id])
        count[p.market_id] += 1
    markets = [{"market_id": m.market_id, "symbol": m.symbol, "index_price": d18(m.index_price), "skew": d18(m.skew),
                "skew_scale": d18(m.skew_scale), "funding_rate_per_day": d18(m.current_funding_rate),
                "oi_long_usd": d18(oi[m.market_id][0]), "oi_short_usd": d18(oi[m.market_id][1]),
                "liq_per_window": d18(sm.max_liquidation_amount_in_window(M.config(m))),
                "liq_capacity": d18(m.liquidation_capacity), "window_s": m.max_seconds_in_liquidation_window,
                "positions": count[m.market_id]} for m in snap.markets]
    meta = snap.meta
    return {"protocol": "synthetix_v3", "title": "Synthetix perps v3", "snapshot_id": meta.id,
            "chain_id": meta.chain_id, "block_number": meta.block_number, "block_hash": meta.block_hash,
            "positions": len(snap.positions),
            "totals": {"perps_market_proxy": meta.data_store, "account_nft": snap.globals.account_nft,
                       "accounts_enumerated": snap.globals.account_count,
                       "accounts_with_positions": len(snap.accounts),
                       "accounts_liquidatable": sum(1 for a in snap.accounts if a.can_liquidate),
                       "flagged_accounts": len(snap.globals.flagged_accounts),
                       "collateral_value_usd": d18(sum(a.collateral_value for a in snap.accounts)),
                       "debt_usd": d18(sum(a.debt for a in snap.accounts))},
            "markets": markets}
