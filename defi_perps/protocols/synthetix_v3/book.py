"""Synthetix perps v3 snapshot → :class:`defi_perps.book.arrays.Book` (the one float conversion).

D18 values / 1e18 (records.py). Per position:

* market = the perps market (named by its symbol), price = its ``indexPrice``;
* size = |positionSize|; entry price = the price at which the position's ``totalPnl`` (price PnL
  + accrued funding − owed interest, ``Position.getPnl``) would be zero: ``index − totalPnl /
  positionSize``. Synthetix keeps ``latestInteractionPrice`` in storage but no view returns it; this
  effective entry carries the funding and interest already owed into the book exactly;
* collateral (USD, cross margin): the account's ``availableMargin − Σ totalPnl`` (collateral value,
  discounted as the contract counts it, less debt) split over its positions by notional;
* maintenance: the position's own size-scaled ratio ``MMR`` (math.required_margins) as its
  maintenance rate; the liquidation price solves ``availableMargin(P) = MM(P) + reward`` for this
  position's price with the account's other positions held (``liquidation_price``); whether the
  account is liquidatable now is the contract's own ``canLiquidate``.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.exceptions import EngineInputError, InputError
from defi_perps.protocols.synthetix_v3 import mappers as M
from defi_perps.protocols.synthetix_v3 import math as sm
from defi_perps.protocols.synthetix_v3.records import D18, SnxPosition, SynthetixSnapshot


def liquidation_price(p: SnxPosition, price: int, available: int, mm_others: int, reward: int,
                      cfg: sm.MarketConfig) -> Fraction | None:
    """Price (D18) where ``available + size·(P − price) = MM_others + |size|·P·MMR + minPM + reward``."""
    m = sm.required_margins(cfg, p.size, price)
    mmr = Fraction(m.maintenance_margin_ratio, D18)
    s = Fraction(p.size, D18)
    den = s - abs(s) * mmr
    if den == 0:
        return None
    num = Fraction(mm_others + cfg.minimum_position_margin + reward - available, D18) + s * Fraction(price, D18)
    px = num / den
    return px * D18 if px > 0 else None


def to_book(snap: SynthetixSnapshot) -> Book:
    if not snap.markets:
        raise EngineInputError("snapshot has no markets")
    markets = {m.market_id: m for m in snap.markets}
    index = {m.market_id: i for i, m in enumerate(snap.markets)}
    names = [m.symbol for m in snap.markets]
    price = np.array([float(Fraction(m.index_price, D18)) for m in snap.markets])
    accounts = {a.account_id: a for a in snap.accounts}
    by_acct: dict[int, list[SnxPosition]] = defaultdict(list)
    for p in snap.positions:
        if p.market_id not in markets:
            raise InputError(f"position of account {p.account_id} refers to market {p.market_id} missing from the snapshot")
        by_acct[p.account_id].append(p)
    n = len(snap.positions)
    market = np.zeros(n, np.int32)
    side = np.zeros(n, np.int8)
    size, entry, coll, liq = np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, np.nan)
    mm_rate = np.full(n, np.nan)
    now = np.zeros(n, dtype=bool)
    acct_ix = np.zeros(n, np.int32)
    names_acct: list[str] = []
    k = 0
    for aid, plist in by_acct.items():
        a = accounts.get(aid)
        if a is None:
            raise InputError(f"snapshot has positions of account {aid} but no margin record for it")
        ai = len(names_acct)
        names_acct.append(str(aid))
        collateral = Fraction(a.available_margin - sum(p.total_pnl for p in plist), D18)
        notionals = [abs(p.size) * markets[p.market_id].index_price for p in plist]
        total_ntl = sum(notionals)
        margins = [sm.required_margins(M.config(markets[p.market_id]), p.size, markets[p.market_id].index_price)
                   for p in plist]
        mm_total = sum(m.maintenance_margin for m in margins)
        for p, ntl, mg in zip(plist, notionals, margins):
            mk = markets[p.market_id]
            market[k] = index[p.market_id]
            side[k] = 1 if p.size > 0 else -1
            size[k] = float(Fraction(abs(p.size), D18))
            entry[k] = float(Fraction(mk.index_price, D18) - Fraction(p.total_pnl, p.size))
            coll[k] = float(collateral * ntl / total_ntl) if total_ntl else 0.0
            lp = liquidation_price(p, mk.index_price, a.available_margin, mm_total - mg.maintenance_margin,
                                   a.max_liquidation_reward, M.config(mk))
            liq[k] = np.nan if lp is None else float(lp / D18)
            mm_rate[k] = float(Fraction(mg.maintenance_margin_ratio, D18))
            now[k] = a.can_liquidate
            acct_ix[k] = ai
            k += 1
    meta = snap.meta
    return Book(market_names=names, price=price, market=market, side=side, size=size, entry_price=entry,
                collateral_usd=coll, collateral_tokens=np.zeros(n), account=acct_ix, account_names=names_acct,
                position_mm_rate=mm_rate, liquidation_price=liq, liquidatable_now=now,
                chain_id=meta.chain_id, block_number=meta.block_number,
                source=f"snapshot {meta.id if meta.id is not None else '?'} (synthetix_v3, chain {meta.chain_id}, "
                       f"block {meta.block_number})",
                meta={"protocol": "synthetix_v3", "block_timestamp": meta.block_timestamp,
                      "price_source": meta.price_source, "snapshot_id": meta.id})
