"""Book from a gTrade snapshot: the contract's integers → the engine's float64 arrays.

Conversions (math.py has the precisions and their sources):

* one market per pair with open trades, named ``BASE/QUOTE`` (``BTC/USD``), priced at the pair's
  reference price (its Chainlink feed at the block, 1e10 → USD);
* a trade's position size in collateral is ``collateral · leverage / 1e3``; in USD at the
  collateral's price at the block (``getCollateralPriceUsd``, 1e8); ``size`` (pair tokens) = that USD
  over the open price, so ``size · (P − open)`` is the trade's PnL in USD at that collateral price
  (``getPnlPercent · collateral``). A non-stable collateral is valued once at the block's price
  (the quanto effect of a WETH-collateral trade is not modelled);
* ``collateral_usd`` = (collateral − the pending holding fees the Diamond reports, plus the
  realized PnL net of realized trading fees) in USD;
* the exact terms from math.py travel with each position: ``liquidation_price`` (closing fee on the
  position size with the pair's fee group, holding fees, the trade's own liquidation threshold from
  the liquidation params stored at open, the v9.2+ liquidation spread), ``remaining_collateral_usd``
  (the trade value at the book price before the cap), ``close_cost_usd`` (closing + holding fees),
  ``liquidatable_now`` (the LIQ_CLOSE trigger at the book price);
* ``position_mm_rate`` = ``(1 − liqThresholdP) · collateral / entry notional``: the equity the
  trigger leaves, as the engine's maintenance rate on entry notional; ``close_fee_rate`` per market
  = the pair's ``totalPositionSizeFeeP``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.exceptions import EngineInputError
from defi_perps.protocols.gtrade import math as gm
from defi_perps.protocols.gtrade import records as R

V9_2 = 1   # ITradingStorage.ContractsVersion.V9_2


def _f(num: int, den: int = 1) -> float:
    return float(Fraction(num, den))


def min_position_size_collateral(fee: R.FeeGroup, coll: R.Collateral) -> int:
    """``getCollateralFromUsdNormalizedValue(minPositionSizeUsd)``: the fee group's minimum (1e3 USD)
    → 1e18 USD → collateral precision at the collateral's USD price (1e8)."""
    usd_1e18 = fee.min_position_size_usd * 10**15
    return usd_1e18 * 10**8 // coll.price_usd // coll.precision_delta


def trade_terms(t: R.Trade, pair: R.Pair, fee: R.FeeGroup, coll: R.Collateral,
                contracts_version: int) -> tuple[int, int, int]:
    """(liquidation price 1e10, closing fee, total fees used by the liquidation price) of one trade."""
    size = gm.position_size_collateral(t.collateral_amount, t.leverage)
    closing = gm.closing_fee_collateral(size, fee.total_position_size_fee_p, min_position_size_collateral(fee, coll))
    realized = t.realized_pnl_collateral - t.realized_trading_fees_collateral
    fees = closing + t.holding_fee_collateral - realized
    thr = gm.liq_pnl_threshold_p(t.liquidation, t.leverage)
    spread = 0
    if min(contracts_version, t.contracts_version) >= V9_2 and t.liquidation.max_liq_spread_p > 0:
        spread = gm.liquidation_spread_p(pair.spread_p, t.liquidation)
    liq = gm.liquidation_price(t.open_price, t.long, t.collateral_amount, t.leverage, fees, coll.precision_delta, thr,
                               spread)
    return liq, closing, fees


def from_snapshot(snap: R.GTradeSnapshot) -> Book:
    pairs = {p.index: p for p in snap.pairs}
    colls = {c.index: c for c in snap.collaterals}
    fees = {f.index: f for f in snap.fees}
    used = sorted({t.pair_index for t in snap.trades})
    unpriced = [pairs[i].name for i in used if not pairs[i].price]
    if unpriced:
        raise EngineInputError(f"gTrade snapshot has no reference price for {', '.join(unpriced)}; the book needs one")
    markets = used if used else sorted(i for i, p in pairs.items() if p.price)
    if not markets:
        raise EngineInputError("gTrade snapshot has no priced pair")
    mi = {p: k for k, p in enumerate(markets)}
    names = [pairs[i].name for i in markets]
    price = np.array([_f(pairs[i].price or 0, gm.P_10) for i in markets])
    close_fee = np.array([_f(fees[pairs[i].fee_index].total_position_size_fee_p, gm.P_10 * 100) for i in markets])
    n = len(snap.trades)
    market, side = np.zeros(n, np.int32), np.zeros(n, np.int8)
    size, entry, coll_usd = np.zeros(n), np.zeros(n), np.zeros(n)
    liq_px, remaining, cost = np.zeros(n), np.zeros(n), np.zeros(n)
    mm_rate = np.zeros(n)
    liq_now = np.zeros(n, dtype=bool)
    account = np.zeros(n, np.int32)
    ids: dict[str, int] = {}
    for k, t in enumerate(snap.trades):
        pair, coll = pairs[t.pair_index], colls[t.collateral_index]
        fee = fees[pair.fee_index]
        cp = Fraction(coll.price_usd, 10**8 * coll.precision)     # USD per collateral unit
        pos = gm.position_size_collateral(t.collateral_amount, t.leverage)
        size_usd = pos * cp
        open_usd = Fraction(t.open_price, gm.P_10)
        market[k] = mi[t.pair_index]
        side[k] = 1 if t.long else -1
        size[k] = float(size_usd / open_usd)
        entry[k] = float(open_usd)
        realized = t.realized_pnl_collateral - t.realized_trading_fees_collateral
        coll_usd[k] = float((t.collateral_amount - t.holding_fee_collateral + realized) * cp)
        liq, closing, all_fees = trade_terms(t, pair, fee, coll, snap.contracts_version)
        liq_px[k] = _f(liq, gm.P_10)
        assert pair.price is not None
        pnl_p = gm.pnl_percent(t.open_price, pair.price, t.long, t.leverage)
        remaining[k] = float((gm.pnl_collateral(t.collateral_amount, pnl_p, coll.precision_delta)
                              + t.collateral_amount - all_fees) * cp)
        cost[k] = float((closing + t.holding_fee_collateral) * cp)
        liq_now[k] = gm.is_liquidatable(pair.price, liq, t.long)
        thr = gm.liq_pnl_threshold_p(t.liquidation, t.leverage)
        mm_rate[k] = float(Fraction(100 * gm.P_10 - thr, 100 * gm.P_10) * t.collateral_amount * cp / size_usd)
        account[k] = ids.setdefault(t.trader, len(ids))
    m = snap.meta
    return Book(
        market_names=names, price=price, market=market, side=side, size=size, entry_price=entry,
        collateral_usd=coll_usd, collateral_tokens=np.zeros(n), account=account, account_names=list(ids),
        position_mm_rate=mm_rate, close_fee_rate=close_fee, liquidation_price=liq_px,
        remaining_collateral_usd=remaining, close_cost_usd=cost, close_impact_usd=np.zeros(n),
        liquidatable_now=liq_now, chain_id=m.chain_id, block_number=m.block_number,
        source=f"snapshot {m.id if m.id is not None else '?'} (gtrade, chain {m.chain_id}, block {m.block_number})",
        meta={"protocol": "gtrade", "block_timestamp": m.block_timestamp, "price_source": m.price_source,
              "snapshot_id": m.id, "vault_assets_usd": vault_assets_usd(snap)},
    )


def vault_assets_usd(snap: R.GTradeSnapshot) -> float:
    """The gToken vaults' assets in USD at the block's collateral prices (what backs traders' profit)."""
    colls = {c.index: c for c in snap.collaterals}
    return float(sum(Fraction(v.total_assets * colls[v.collateral_index].price_usd,
                              10**8 * colls[v.collateral_index].precision) for v in snap.vaults))
