"""Book from a GMX v1 snapshot: the Vault's exact ints → float64 arrays (the one conversion point for
this protocol).

Conversions (records.py units; protocols.md §2):

* one market per whitelisted non-stable token (index token), GLP-backed; its price is the mid of the
  Vault's min/max price: ``usd = (min + max) / 2 / 1e30`` (per whole token);
* size in index tokens = ``size / averagePrice`` (GMX v1 PnL is ``size × (P − avg) / avg``, linear in
  P with that many tokens), entry = ``averagePrice / 1e30``; both exact fractions first;
* GMX v1 collateral is USD (fixed when the position is opened, whatever the collateral token), so it
  is ``collateral_usd`` net of the funding fee the position already owes (charged on any close);
  ``collateral_tokens`` is 0;
* per market: maintenance ``1e4 / maxLeverage`` (the "maxLeverage exceeded" close), close fee
  ``marginFeeBasisPoints / 1e4``; the fixed ``liquidationFeeUsd`` is in the venue rules
  (venues/params/gmx_v1.toml) and in each position's exact terms below;
* per position, from ``math.validate_liquidation`` at the side's price (what ``liquidatePosition``
  checks, with the funding rate it would update to first): ``liquidation_price`` (the exact flip of
  ``math.liquidation_price``), ``remaining_collateral_usd`` (collateral ± PnL − margin fees),
  ``close_cost_usd`` (position fee + funding fee), ``close_impact_usd`` 0 (v1 has no price impact),
  ``liquidatable_now`` (state ≠ 0);
* pools: the long side is backed by the index token's own pool (``poolAmounts``, tokens); the short
  side by the stablecoins, shared by every market: their USD value at min prices is apportioned by
  each market's ``globalShortSizes`` (an allocation, since GLP pools stables across markets).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from defi_perps.exceptions import EngineInputError, InputError
from defi_perps.protocols.gmx_v1 import math as gm
from defi_perps.protocols.gmx_v1.records import PRICE_PRECISION, GmxV1Snapshot, Position


def _f(num: int | Fraction, den: int = 1) -> float:
    return float(Fraction(num, den))


def terms_for(snap: GmxV1Snapshot, pos: Position, pending_funding: bool = True) -> gm.Terms:
    """The Vault state the check of ``pos`` uses. ``pending_funding``: include the funding rate
    ``liquidatePosition`` adds first (``updateCumulativeFundingRate``); False gives what the
    ``validateLiquidation`` view answers on its own (the stored cumulative rate)."""
    vt = {v.token.lower(): v for v in snap.vault_tokens}
    coll = vt.get(pos.collateral_token.lower())
    idx = vt.get(pos.index_token.lower())
    if coll is None or idx is None:
        raise InputError(f"position {pos.key} uses a token the Vault does not list")
    p = snap.params
    rate = (gm.funding_rate_at_liquidation(coll.cumulative_funding_rate, coll.last_funding_time, coll.next_funding_rate)
            if pending_funding else coll.cumulative_funding_rate)
    return gm.Terms(p.margin_fee_basis_points, p.liquidation_fee_usd, p.max_leverage, rate, snap.meta.block_timestamp,
                    p.min_profit_time, idx.min_profit_basis_points)


def check(snap: GmxV1Snapshot, pos: Position, pending_funding: bool = True) -> tuple[gm.LiquidationCheck, int | None]:
    """The exact check at the snapshot's prices and the exact liquidation price of one position."""
    prices = {p.token.lower(): p for p in snap.prices}
    pr = prices.get(pos.index_token.lower())
    if pr is None:
        raise InputError(f"snapshot has no Vault price for index token {pos.index_token}")
    t = terms_for(snap, pos, pending_funding)
    kw: dict[str, Any] = dict(size=pos.size, collateral=pos.collateral, average_price=pos.average_price,
                              entry_funding_rate=pos.entry_funding_rate, last_increased_time=pos.last_increased_time,
                              is_long=pos.is_long, terms=t)
    c = gm.validate_liquidation(price=pr.price_min if pos.is_long else pr.price_max, **kw)
    return c, gm.liquidation_price(**kw)


def to_book(snap: GmxV1Snapshot) -> Any:
    from defi_perps.book.arrays import Book

    tokens = {t.address.lower(): t for t in snap.tokens}
    prices = {p.token.lower(): p for p in snap.prices}
    vts = {v.token.lower(): v for v in snap.vault_tokens}
    markets = [m for m in snap.markets if m.lower() in prices]
    if not markets:
        raise EngineInputError("snapshot has no priced GMX v1 market")
    index_of = {m.lower(): i for i, m in enumerate(markets)}
    m = len(markets)
    p = snap.params
    names = [f"{tokens[a.lower()].symbol}/USD [GLP]" for a in markets]
    price = np.array([_f(prices[a.lower()].price_min + prices[a.lower()].price_max, 2 * PRICE_PRECISION)
                      for a in markets])
    mm = np.full(m, _f(gm.BASIS_POINTS_DIVISOR, p.max_leverage) if p.max_leverage else np.nan)
    close_fee = np.full(m, _f(p.margin_fee_basis_points, gm.BASIS_POINTS_DIVISOR))
    pool_long = np.array([_f(vts[a.lower()].pool_amount, 10 ** vts[a.lower()].token_decimals) for a in markets])
    stable_usd = sum((Fraction(v.pool_amount * prices[v.token.lower()].price_min, 10**v.token_decimals)
                      for v in snap.vault_tokens if v.is_stable and v.is_whitelisted and v.token.lower() in prices),
                     Fraction(0))
    shorts = [vts[a.lower()].global_short_size for a in markets]
    total_short = sum(shorts)
    pool_short = np.array([_f(stable_usd * s / total_short, PRICE_PRECISION) if total_short else 0.0 for s in shorts])

    rows = [pos for pos in snap.positions if pos.size > 0 and pos.average_price > 0]
    n = len(rows)
    market = np.zeros(n, np.int32)
    side = np.zeros(n, np.int8)
    size, entry, coll_usd = np.zeros(n), np.zeros(n), np.zeros(n)
    liq_px, remaining, cost = np.full(n, np.nan), np.zeros(n), np.zeros(n)
    liq_now = np.zeros(n, dtype=bool)
    account = np.zeros(n, np.int32)
    ids: dict[str, int] = {}
    for k, pos in enumerate(rows):
        i = index_of.get(pos.index_token.lower())
        if i is None:
            raise InputError(f"position {pos.key} refers to index token {pos.index_token} with no price or market")
        c, lp = check(snap, pos)
        market[k] = i
        side[k] = 1 if pos.is_long else -1
        size[k] = _f(pos.size, pos.average_price)
        entry[k] = _f(pos.average_price, PRICE_PRECISION)
        coll_usd[k] = _f(pos.collateral - c.funding_fee, PRICE_PRECISION)
        liq_px[k] = np.nan if lp is None else _f(lp, PRICE_PRECISION)
        remaining[k] = _f(c.remaining - c.margin_fees, PRICE_PRECISION)
        cost[k] = _f(c.funding_fee + c.position_fee, PRICE_PRECISION)
        liq_now[k] = c.liquidatable
        account[k] = ids.setdefault(pos.account, len(ids))
    meta = snap.meta
    return Book(market_names=names, price=price, market=market, side=side, size=size, entry_price=entry,
                collateral_usd=coll_usd, collateral_tokens=np.zeros(n), account=account, account_names=list(ids),
                mm_rate=mm, close_fee_rate=close_fee, pool_long_tokens=pool_long, pool_short_usd=pool_short,
                liquidation_price=liq_px, remaining_collateral_usd=remaining, close_cost_usd=cost,
                close_impact_usd=np.zeros(n), liquidatable_now=liq_now, chain_id=meta.chain_id,
                block_number=meta.block_number,
                source=f"snapshot {meta.id if meta.id is not None else '?'} (gmx_v1, chain {meta.chain_id}, "
                       f"block {meta.block_number})",
                meta={"protocol": "gmx_v1", "block_timestamp": meta.block_timestamp, "price_source": meta.price_source,
                      "snapshot_id": meta.id, "liquidation_fee_usd": _f(p.liquidation_fee_usd, PRICE_PRECISION)})
