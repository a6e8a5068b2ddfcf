"""Snapshot summary for gTrade: per pair open interest (the Diamond's, and re-added from the trades),
liquidation distance quantiles under the exact rule, and per collateral the gToken vault's state."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from defi_perps.protocols.gtrade import math as gm
from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.book import trade_terms


def summarize(snap: R.GTradeSnapshot) -> dict[str, Any]:
    pairs = {p.index: p for p in snap.pairs}
    colls = {c.index: c for c in snap.collaterals}
    fees = {f.index: f for f in snap.fees}
    per_pair: dict[int, dict[str, Any]] = {}
    for pc in snap.pair_collaterals:
        if pc.oi_long_collateral == 0 and pc.oi_short_collateral == 0:
            continue
        c = colls[pc.collateral_index]
        usd = Fraction(c.price_usd, 10**8 * c.precision)
        d = per_pair.setdefault(pc.pair_index, {"oi_long_usd": Fraction(0), "oi_short_usd": Fraction(0)})
        d["oi_long_usd"] += pc.oi_long_collateral * usd
        d["oi_short_usd"] += pc.oi_short_collateral * usd
    dist: dict[int, list[float]] = {}
    liq_now: dict[int, int] = {}
    recount: dict[tuple[int, int, bool], int] = {}
    for t in snap.trades:
        p = pairs[t.pair_index]
        key = (t.collateral_index, t.pair_index, t.long)
        recount[key] = recount.get(key, 0) + gm.position_size_collateral(t.collateral_amount, t.leverage)
        if not p.price:
            continue
        liq, _, _ = trade_terms(t, p, fees[p.fee_index], colls[t.collateral_index], snap.meta.contracts_version)
        d = (p.price - liq) / p.price if t.long else (liq - p.price) / p.price
        dist.setdefault(t.pair_index, []).append(d)
        liq_now[t.pair_index] = liq_now.get(t.pair_index, 0) + int(gm.is_liquidatable(p.price, liq, t.long))
    oi_match = all(recount.get((pc.collateral_index, pc.pair_index, True), 0) == pc.oi_long_collateral
                   and recount.get((pc.collateral_index, pc.pair_index, False), 0) == pc.oi_short_collateral
                   for pc in snap.pair_collaterals)
    out_pairs = []
    for i in sorted(set(per_pair) | set(dist)):
        p = pairs[i]
        ds = sorted(dist.get(i, []))

        def q(x: float) -> float | None:
            return ds[min(len(ds) - 1, int(x * len(ds)))] if ds else None

        oi = per_pair.get(i, {"oi_long_usd": Fraction(0), "oi_short_usd": Fraction(0)})
        out_pairs.append({
            "pair": p.name, "price": float(Fraction(p.price or 0, gm.P_10)), "trades": len(ds),
            "oi_long_usd": float(oi["oi_long_usd"]), "oi_short_usd": float(oi["oi_short_usd"]),
            "liquidatable_now": liq_now.get(i, 0),
            "liq_distance_p10": q(0.10), "liq_distance_p50": q(0.50), "liq_distance_p90": q(0.90),
            "max_leverage": p.max_leverage / 1000, "spread_p": float(Fraction(p.spread_p, gm.P_10)),
        })
    vaults = []
    for v in snap.vaults:
        c = colls[v.collateral_index]
        vaults.append({
            "collateral": c.symbol, "gtoken": v.address, "total_assets": float(Fraction(v.total_assets, c.precision)),
            "total_assets_usd": float(Fraction(v.total_assets * c.price_usd, 10**8 * c.precision)),
            "share_to_assets_price": float(Fraction(v.share_to_assets_price, gm.GTOKEN_PRECISION)),
            "collateralization_p": float(Fraction(v.collateralization_p, gm.GTOKEN_PRECISION)),
            "acc_pnl_per_token": float(Fraction(v.acc_pnl_per_token, gm.GTOKEN_PRECISION)),
            "withdraw_epochs_timelock": v.withdraw_epochs_timelock,
        })
    return {"protocol": "gtrade", "chain_id": snap.meta.chain_id, "block_number": snap.meta.block_number,
            "diamond": snap.meta.diamond, "contracts_version": snap.meta.contracts_version,
            "trades": len(snap.trades), "pending_orders": snap.pending_orders,
            "oi_matches_trades": oi_match, "pairs": out_pairs, "vaults": vaults, "warnings": list(snap.warnings)}
