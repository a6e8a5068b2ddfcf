"""Hyperliquid snapshot → :class:`defi_perps.book.arrays.Book` (the one float conversion).

Scales (records.py; Hyperliquid docs "Interacting with HyperCore"): perp price = raw /
10^(6 − szDecimals) USD per coin; size = |szi| / 10^szDecimals coins; entry price = entryNtl /
|szi| in raw price units; USDC amounts / 1e6. Each value is an exact Fraction (math.py) until the
final ``float``.

* market = one perp, named by its coin (the names ``venues/params/hyperliquid.toml`` keys its
  per-asset margin tables by); its price is the **mark** (margining and liquidation use the mark);
* collateral: an isolated position's margin at entry (``isolatedRawUsd + side · entryNtl``); a
  cross account's collateral at entry (cross account value − its cross positions' uPnL at the mark)
  split over its cross positions in proportion to their entry notional. All USDC: ``collateral_usd``;
* per position the docs' liquidation price (math.liquidation_px, the account's margin available
  for a cross position) and whether the account / isolated position is below maintenance now;
  the venue's rules (venues/params/hyperliquid.toml, per-asset margin tiers) give the maintenance
  margin in the engine, so no per-market or per-position rate override is set here.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.exceptions import EngineInputError, InputError
from defi_perps.protocols.hyperliquid import math as hm
from defi_perps.protocols.hyperliquid.records import HyperliquidSnapshot, PerpPosition


def to_book(snap: HyperliquidSnapshot) -> Book:
    if not snap.perps:
        raise EngineInputError("snapshot has no perps")
    perps = {p.perp: p for p in snap.perps}
    market_of = {p.perp: i for i, p in enumerate(snap.perps)}
    names = [p.coin for p in snap.perps]
    price = np.array([float(hm.px_usd(p.mark_px, p.sz_decimals)) for p in snap.perps])
    by_acct: dict[str, list[PerpPosition]] = defaultdict(list)
    for pos in snap.positions:
        if pos.perp not in perps:
            raise InputError(f"position of {pos.account} refers to perp {pos.perp} missing from the snapshot")
        by_acct[pos.account].append(pos)
    accounts = {a.account: a for a in snap.accounts}
    n = len(snap.positions)
    market = np.zeros(n, np.int32)
    side = np.zeros(n, np.int8)
    size, entry, coll, liq_px = np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, np.nan)
    liq_now = np.zeros(n, dtype=bool)
    account = np.zeros(n, np.int32)
    names_acct: list[str] = []
    k = 0
    for who, plist in by_acct.items():
        acct = accounts.get(who)
        if acct is None:
            raise InputError(f"snapshot has positions of {who} but no margin summary for the account")
        aid = len(names_acct)
        names_acct.append(who)
        checks = {c.perp: c for c in hm.checks(acct, plist, perps)}
        cross = [p for p in plist if not p.is_isolated]
        cross_coll = Fraction(0)
        cross_entry = sum(p.entry_ntl for p in cross)
        if cross:
            cross_coll = Fraction(hm.cross_value(acct, plist, perps)) - sum(
                hm.unrealized_pnl(p, perps[p.perp].mark_px) for p in cross)
        for p in plist:
            a = perps[p.perp]
            market[k] = market_of[p.perp]
            side[k] = hm.side(p)
            size[k] = float(hm.size_coins(p, a.sz_decimals))
            entry[k] = float(hm.entry_px_usd(p, a.sz_decimals))
            if p.is_isolated:
                c = Fraction(hm.collateral_at_entry(p))
                check = checks[p.perp]
            else:
                c = cross_coll * p.entry_ntl / cross_entry if cross_entry else Fraction(0)
                check = checks[None]
            coll[k] = float(c / hm.USDC)
            lp = hm.liquidation_px(p, a, check.available)
            liq_px[k] = np.nan if lp is None else float(hm.px_usd(1, a.sz_decimals) * lp)
            liq_now[k] = check.liquidatable
            account[k] = aid
            k += 1
    meta = snap.meta
    return Book(market_names=names, price=price, market=market, side=side, size=size, entry_price=entry,
                collateral_usd=coll, collateral_tokens=np.zeros(n), account=account, account_names=names_acct,
                liquidation_price=liq_px, liquidatable_now=liq_now,
                chain_id=meta.chain_id, block_number=meta.block_number,
                source=f"snapshot {meta.id if meta.id is not None else '?'} (hyperliquid, chain {meta.chain_id}, "
                       f"block {meta.block_number})",
                meta={"protocol": "hyperliquid", "block_timestamp": meta.block_timestamp,
                      "price_source": meta.price_source, "snapshot_id": meta.id,
                      "l1_block_number": snap.l1_block_number})
