"""GMX v2's own figures for ``snapshots diff`` (the plug-in's ``diff_markets`` hook): GM pool value and
pnl-to-pool factor per side, with the same exact formulas as ``snapshots show`` (protocols/gmx_v2/math.py,
pending borrowing accrued to the snapshot's block time); and the exact USD index price per market."""

from __future__ import annotations

from fractions import Fraction

from defi_perps.domain import USD_SCALE, Market, Snapshot
from defi_perps.indexer.summary import _prices_for      # the same market prices as `snapshots show`
from defi_perps.protocols.gmx_v2 import math as gm

PLACES = {"pool_value_usd": 2, "pnl_to_pool_long": 6, "pnl_to_pool_short": 6}


def market_figures(m: Market, snap: Snapshot) -> dict[str, Fraction | None]:
    out: dict[str, Fraction | None] = dict.fromkeys(PLACES)
    prices = _prices_for(m, snap)
    if prices is None:
        return out
    try:
        pv = gm.pool_value_usd(m, prices, maximize=False, g=snap.globals, block_timestamp=snap.meta.block_timestamp)
        out["pool_value_usd"] = Fraction(pv, USD_SCALE)
    except gm.ContractRevert:
        pass                                   # the contract reverts too: no pool value to compare
    out["pnl_to_pool_long"] = Fraction(gm.pnl_to_pool_factor(m, prices, True, True), USD_SCALE)
    out["pnl_to_pool_short"] = Fraction(gm.pnl_to_pool_factor(m, prices, False, True), USD_SCALE)
    return out


def diff_markets(a: Snapshot, b: Snapshot) -> dict[str, dict[str, tuple[Fraction | None, Fraction | None, int]]]:
    fa = {m.market_token: market_figures(m, a) for m in a.markets}
    fb = {m.market_token: market_figures(m, b) for m in b.markets}
    out: dict[str, dict[str, tuple[Fraction | None, Fraction | None, int]]] = {}
    for mk in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(mk, {}), fb.get(mk, {})
        out[mk] = {f: (va.get(f), vb.get(f), p) for f, p in PLACES.items()}
    return out


def prices_usd(snap: Snapshot) -> dict[str, Fraction]:
    """Mid (min+max)/2 of each market's index token per whole token: GMX keeps a per-unit price with
    30 − decimals decimals (Oracle.sol), so USD per token = price · 10^decimals / 10^30."""
    dec = {t.address.lower(): t.decimals for t in snap.tokens}
    px = {p.token.lower(): p for p in snap.prices}
    out: dict[str, Fraction] = {}
    for m in snap.markets:
        t = m.index_token.lower()
        if t in px and t in dec:
            p = px[t]
            out[m.market_token] = Fraction(p.price_min + p.price_max, 2) * 10 ** dec[t] / USD_SCALE
    return out
