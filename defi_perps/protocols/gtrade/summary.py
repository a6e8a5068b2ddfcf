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
        liq, _, _ = trade_terms(t, p, fees[p.fee_index], colls[t.collateral_index], snap.contracts_version)
        gap = (p.price - liq) / p.price if t.long else (liq - p.price) / p.price
        dist.setdefault(t.pair_index, []).append(gap)
        liq_now[t.pair_index] = liq_now.get(t.pair_index, 0) + int(gm.is_liquidatable(p.price, liq, t.long))
    oi_match = all(recount.get((pc.collateral_index, pc.pair_index, True), 0) == pc.oi_long_collateral
                   and recount.get((pc.collateral_index, pc.pair_index, False), 0) == pc.oi_short_collateral
                   for pc in snap.pair_collaterals)
    out_pairs = []
    for i in sorted(set(per_pair) | set(dist)):
        p = pairs[i]
        ds = sorted(dist.get(i, []))

        def q(x: float, ds: list[float] = ds) -> str | None:
            return f"{ds[min(len(ds) - 1, int(x * len(ds)))]:.6f}" if ds else None

        oi = per_pair.get(i, {"oi_long_usd": Fraction(0), "oi_short_usd": Fraction(0)})
        out_pairs.append({
            "pair": p.name, "price": _dec(Fraction(p.price or 0, gm.P_10), 10), "trades": len(ds),
            "oi_long_usd": _dec(oi["oi_long_usd"], 2), "oi_short_usd": _dec(oi["oi_short_usd"], 2),
            "liquidatable_now": liq_now.get(i, 0),
            "liq_distance_p10": q(0.10), "liq_distance_p50": q(0.50), "liq_distance_p90": q(0.90),
            "max_leverage": _dec(Fraction(p.max_leverage, 1000), 3), "spread_p": _dec(Fraction(p.spread_p, gm.P_10), 10),
        })
    vaults = []
    for v in snap.vaults:
        c = colls[v.collateral_index]
        vaults.append({
            "collateral": c.symbol, "gtoken": v.address, "total_assets": _dec(Fraction(v.total_assets, c.precision), c.decimals),
            "total_assets_usd": _dec(Fraction(v.total_assets * c.price_usd, 10**8 * c.precision), 2),
            "share_to_assets_price": _dec(Fraction(v.share_to_assets_price, gm.GTOKEN_PRECISION), 18),
            "collateralization_p": _dec(Fraction(v.collateralization_p, gm.GTOKEN_PRECISION), 18),
            "acc_pnl_per_token": _dec(Fraction(v.acc_pnl_per_token, gm.GTOKEN_PRECISION), 18),
            "withdraw_epochs_timelock": v.withdraw_epochs_timelock,
        })
    m = snap.meta
    return {"protocol": "gtrade", "title": "gTrade", "snapshot_id": m.id, "chain_id": m.chain_id,
            "block_number": m.block_number, "block_hash": m.block_hash, "diamond": m.data_store,
            "positions": len(snap.trades),
            "totals": {"contracts_version": snap.contracts_version, "pending_orders": snap.pending_orders,
                       "oi_matches_trades": oi_match,
                       "vault_assets_usd": _dec(sum((Fraction(v.total_assets * colls[v.collateral_index].price_usd,
                                                              10**8 * colls[v.collateral_index].precision)
                                                     for v in snap.vaults), Fraction(0)), 2)},
            "markets": out_pairs, "vaults": vaults, "warnings": list(snap.warnings)}


def _dec(x: Fraction, places: int) -> str:
    """An exact rational as a decimal string rounded half-up to ``places`` digits."""
    scale = 10**places
    n = x * scale
    q = (n.numerator * 2 + n.denominator) // (2 * n.denominator) if n >= 0 else \
        -((-n.numerator * 2 + n.denominator) // (2 * n.denominator))
    sign = "-" if q < 0 else ""
    q = abs(q)
    whole, frac = divmod(q, scale)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"
