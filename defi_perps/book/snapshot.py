"""Book from a stored snapshot: dispatch to the protocol's plug-in; GMX v2's conversion, exact domain
ints → float64 arrays, is here.

Conversions (protocols.md §1.1–§1.3, domain.py):

* index price = mid of the oracle min/max per-unit price: ``usd = per_unit × 10^decimals / 1e30``;
* size in tokens = ``sizeInTokens / 10^decimals(index)``; entry price = ``sizeInUsd / sizeInTokens``
  (GMX keeps no entry price; protocols.md §1.1), both computed as exact fractions first;
* collateral is valued at the collateral token's *min* price (``collateralTokenPrice.min`` in
  ``isPositionLiquidatable``). Collateral in the index token is kept in tokens, so its value moves
  with the simulated price; any other token is valued once at the book's price;
* ``collateral_usd`` is net of what the position already owes, exactly as the contract's check
  charges it (``protocols/gmx_v2/math.py``): the pending borrowing fee and the pending funding fee
  (stored FUNDING_FEE_AMOUNT_PER_SIZE against the position's snapshot), both in collateral-token
  units at the collateral's min price;
* each position's exact terms from ``math.is_position_liquidatable`` / ``math.liquidation_price``
  (balance-improved close fee, referral / pro discount, price impact with PRBMath's pow, pending
  impact, funding) travel as ``liquidation_price``, ``remaining_collateral_usd``, ``close_cost_usd``,
  ``close_impact_usd`` and ``liquidatable_now``: the engine's starting state is the contract's;
* maintenance = ``MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION`` on ``sizeInUsd``; the market close-fee
  rate = ``POSITION_FEE_FACTOR`` for a balance-worsening close (the larger one; each position's own
  exact fee is in ``close_cost_usd``); liquidation fee = ``LIQUIDATION_FEE_FACTOR``; impact cap at
  liquidation = ``MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS``; PnL factors per side; ``MIN_COLLATERAL_USD``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.domain import USD_SCALE, Snapshot
from defi_perps.protocols.gmx_v2 import math as gm
from defi_perps.exceptions import EngineInputError, InputError


def _f(num: int, den: int = 1) -> float:
    """Exact rational → nearest float64 (the documented conversion point)."""
    return float(Fraction(num, den))


def from_snapshot(snapshot: Snapshot | Any) -> Book:
    """Convert a stored snapshot of any registered protocol to a :class:`Book` (its plug-in's
    ``to_book``; GMX v2's is :func:`gmx_v2_book` below)."""
    protocol = getattr(getattr(snapshot, "meta", None), "protocol", "gmx_v2")
    if protocol != "gmx_v2":
        from defi_perps.protocols import registry

        return registry.get(protocol).to_book(snapshot)
    return gmx_v2_book(snapshot)


def gmx_v2_book(snapshot: Snapshot) -> Book:
    """Convert a GMX v2 :class:`~defi_perps.domain.Snapshot` to a :class:`Book`."""
    tokens = {t.address.lower(): t for t in snapshot.tokens}
    prices = {p.token.lower(): p for p in snapshot.prices}

    def token(addr: str):  # noqa: ANN202 - local helper
        t = tokens.get(addr.lower())
        if t is None:
            raise InputError(f"snapshot has no token record for {addr}")
        return t

    def price_usd(addr: str, which: str) -> float:
        p = prices.get(addr.lower())
        if p is None:
            raise InputError(f"snapshot has no oracle price for token {addr}; index again with --prices FILE to supply it")
        dec = token(addr).decimals
        if which == "min":
            raw = Fraction(p.price_min)
        else:
            raw = Fraction(p.price_min + p.price_max, 2)
        return float(raw * 10**dec / USD_SCALE)

    markets = list(snapshot.markets)
    if not markets:
        raise EngineInputError("snapshot has no markets")
    index_of = {mk.market_token.lower(): i for i, mk in enumerate(markets)}
    m = len(markets)
    names, price = [], np.zeros(m)
    mm, close_fee, liq_fee, impact_cap = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
    max_adl, min_adl, max_traders = np.zeros((m, 2)), np.zeros((m, 2)), np.zeros((m, 2))
    pool_long_tokens, pool_short_usd = np.zeros(m), np.zeros(m)
    for i, mk in enumerate(markets):
        idx = token(mk.index_token)
        names.append(f"{idx.symbol}/USD [{token(mk.long_token).symbol}-{token(mk.short_token).symbol}]")
        price[i] = price_usd(mk.index_token, "mid")
        mm[i] = _f(mk.min_collateral_factor_for_liquidation, USD_SCALE)
        close_fee[i] = _f(max(mk.position_fee_factor_negative, mk.position_fee_factor_positive), USD_SCALE)
        liq_fee[i] = _f(mk.liquidation_fee_factor, USD_SCALE)
        impact_cap[i] = _f(mk.max_position_impact_factor_for_liquidations, USD_SCALE)
        max_adl[i] = (_f(mk.max_pnl_factor_for_adl_long, USD_SCALE), _f(mk.max_pnl_factor_for_adl_short, USD_SCALE))
        min_adl[i] = (_f(mk.min_pnl_factor_after_adl_long, USD_SCALE), _f(mk.min_pnl_factor_after_adl_short, USD_SCALE))
        max_traders[i] = (_f(mk.max_pnl_factor_for_traders_long, USD_SCALE),
                          _f(mk.max_pnl_factor_for_traders_short, USD_SCALE))
        # Pool USD per side at min prices (getPoolUsdWithoutPnl, maximize=false); the long side is
        # kept in index-token units so its value moves with the simulated price.
        divisor = 2 if mk.long_token.lower() == mk.short_token.lower() else 1  # getPoolDivisor
        lt, st = token(mk.long_token), token(mk.short_token)
        long_usd = _f(mk.pool_amount_long * prices[lt.address.lower()].price_min, USD_SCALE * divisor) \
            if lt.address.lower() in prices else 0.0
        short_usd = _f(mk.pool_amount_short * prices[st.address.lower()].price_min, USD_SCALE * divisor) \
            if st.address.lower() in prices else 0.0
        pool_long_tokens[i] = long_usd / price[i]
        pool_short_usd[i] = short_usd

    n = len(snapshot.positions)
    glob = getattr(snapshot, "globals", None)
    fees_of = {a.account.lower(): a for a in getattr(snapshot, "accounts", ())}
    gm_prices: list[gm.MarketPrices | None] = []
    for mk in markets:
        try:
            gm_prices.append(gm.MarketPrices(*(gm.Price.of(prices[t.lower()])
                                               for t in (mk.index_token, mk.long_token, mk.short_token))))
        except KeyError:
            gm_prices.append(None)
    liq_px, remaining, cost, impact_usd = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    liq_now = np.zeros(n, dtype=bool)
    market = np.zeros(n, np.int32)
    side = np.zeros(n, np.int8)
    size, entry, coll_usd, coll_tok = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    account = np.zeros(n, np.int32)
    account_ids: dict[str, int] = {}
    kept = 0
    for pos in snapshot.positions:
        found = index_of.get(pos.market.lower())
        if found is None:
            raise InputError(f"position {pos.key} refers to market {pos.market} missing from the snapshot")
        if pos.size_in_usd <= 0 or pos.size_in_tokens <= 0:
            continue  # closed or empty slot: nothing at risk
        i = found
        mk = markets[i]
        idx_dec = token(mk.index_token).decimals
        market[kept] = i
        side[kept] = 1 if pos.is_long else -1
        size[kept] = _f(pos.size_in_tokens, 10**idx_dec)
        entry[kept] = _f(pos.size_in_usd * 10**idx_dec, pos.size_in_tokens * USD_SCALE)
        cp = prices.get(pos.collateral_token.lower())
        mp = gm_prices[i]
        if cp is None or mp is None:
            raise InputError(f"snapshot has no oracle price for collateral token {pos.collateral_token}; index again with --prices FILE to supply it")
        acct = fees_of.get(pos.account.lower())
        try:
            check = gm.is_position_liquidatable(pos, mk, mp, glob, account=acct)
        except gm.ContractRevert as err:
            raise InputError(f"position {pos.key}: the GMX liquidation check reverts on this snapshot ({err})") from None
        fees = check.fees
        assert fees is not None
        coll_min = gm.collateral_price(pos, mk, mp).min
        # owed regardless of the close: borrowing and funding, in collateral units at the min price
        owed_usd = Fraction((fees.borrowing_fee_amount + fees.funding_fee_amount) * coll_min, USD_SCALE)
        if pos.collateral_token.lower() == mk.index_token.lower():
            coll_tok[kept] = _f(pos.collateral_amount, 10 ** token(pos.collateral_token).decimals)
            coll_usd[kept] = -float(owed_usd)
        else:
            coll_usd[kept] = float(Fraction(pos.collateral_amount * cp.price_min, USD_SCALE) - owed_usd)
        lp = gm.liquidation_price(pos, mk, mp, glob, acct)
        liq_px[kept] = np.nan if lp is None else float(lp * 10**idx_dec / USD_SCALE)
        remaining[kept] = _f(check.remaining_collateral_usd, USD_SCALE)
        cost[kept] = _f(fees.total_cost_amount * coll_min, USD_SCALE)
        impact_usd[kept] = _f(check.price_impact_usd, USD_SCALE)
        liq_now[kept] = check.liquidatable
        account[kept] = account_ids.setdefault(pos.account, len(account_ids))
        kept += 1
    min_coll = np.full(m, np.nan)
    if glob is not None:
        min_coll[:] = _f(glob.min_collateral_usd, USD_SCALE)
    meta = snapshot.meta
    return Book(
        market_names=names, price=price, market=market[:kept], side=side[:kept], size=size[:kept],
        entry_price=entry[:kept], collateral_usd=coll_usd[:kept], collateral_tokens=coll_tok[:kept],
        account=account[:kept], account_names=list(account_ids),
        mm_rate=mm, close_fee_rate=close_fee, liq_fee_rate=liq_fee, liq_impact_cap=impact_cap,
        min_collateral_usd=min_coll, max_pnl_factor_adl=max_adl, min_pnl_factor_after_adl=min_adl,
        max_pnl_factor_traders=max_traders, pool_long_tokens=pool_long_tokens, pool_short_usd=pool_short_usd,
        liquidation_price=liq_px[:kept], remaining_collateral_usd=remaining[:kept], close_cost_usd=cost[:kept],
        close_impact_usd=impact_usd[:kept], liquidatable_now=liq_now[:kept],
        chain_id=meta.chain_id, block_number=meta.block_number,
        source=f"snapshot {meta.id if meta.id is not None else '?'} ({meta.protocol}, chain {meta.chain_id}, "
               f"block {meta.block_number})",
        meta={"protocol": meta.protocol, "block_timestamp": meta.block_timestamp, "price_source": meta.price_source,
              "snapshot_id": meta.id},
    )


def load_snapshot_book(db_url: str | None, snapshot_id: int | str = "latest") -> Book:
    """Load a stored snapshot through the store and convert it (import is lazy: the store is heavy)."""
    from defi_perps.store.queries import load_snapshot  # the indexer helper's store API

    return from_snapshot(load_snapshot(db_url, snapshot_id))
