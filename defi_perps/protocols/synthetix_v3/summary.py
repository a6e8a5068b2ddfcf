"""Summary of a Synthetix perps v3 snapshot (JSON-ready; floats only for display)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from defi_perps.protocols.synthetix_v3 import mappers as M
from defi_perps.protocols.synthetix_v3 import math as sm
from defi_perps.protocols.synthetix_v3.records import D18, SynthetixSnapshot


def _f(x: int) -> float:
    return float(Fraction(x, D18))


def summarize(snap: SynthetixSnapshot) -> dict[str, Any]:
    oi: dict[int, list[int]] = {m.market_id: [0, 0] for m in snap.markets}
    prices = {m.market_id: m.index_price for m in snap.markets}
    for p in snap.positions:
        oi[p.market_id][0 if p.size > 0 else 1] += sm.mul_dec(abs(p.size), prices[p.market_id])
    markets = []
    for m in snap.markets:
        cfg = M.config(m)
        markets.append({"market_id": m.market_id, "symbol": m.symbol, "name": m.name, "index_price": _f(m.index_price),
                        "skew": _f(m.skew), "size": _f(m.size), "skew_scale": _f(m.skew_scale),
                        "funding_rate_per_day": _f(m.current_funding_rate),
                        "open_interest_long_usd": _f(oi[m.market_id][0]), "open_interest_short_usd": _f(oi[m.market_id][1]),
                        "max_liquidation_in_window": _f(sm.max_liquidation_amount_in_window(cfg)),
                        "liquidation_capacity": _f(m.liquidation_capacity),
                        "liquidation_window_s": m.max_seconds_in_liquidation_window,
                        "positions": sum(1 for p in snap.positions if p.market_id == m.market_id)})
    meta = snap.meta
    return {"protocol": "synthetix_v3", "chain_id": meta.chain_id, "block_number": meta.block_number,
            "block_hash": meta.block_hash, "block_timestamp": meta.block_timestamp, "snapshot_id": meta.id,
            "perps_market_proxy": meta.data_store, "account_nft": snap.globals.account_nft,
            "accounts_enumerated": snap.globals.account_count, "accounts_with_positions": len(snap.accounts),
            "positions": len(snap.positions),
            "accounts_liquidatable": sum(1 for a in snap.accounts if a.can_liquidate),
            "flagged_accounts": len(snap.globals.flagged_accounts),
            "collateral_value_usd": sum(_f(a.collateral_value) for a in snap.accounts),
            "markets": markets}
