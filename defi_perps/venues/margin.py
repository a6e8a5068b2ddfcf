"""Maintenance margin for any venue's parameters (float USD).

The per-market entry points take the market name and resolve the venue's ``[markets.<ASSET>]``
override (:meth:`~defi_perps.venues.params.VenueParams.for_market`); a market the venue file does
not name gets the venue-wide ``[margin]`` section (the documented fallback).
"""

from __future__ import annotations

import numpy as np

from defi_perps.venues.params import Bracket, Margin, Tier, VenueParams


def bracket_for(brackets: tuple[Bracket, ...], notional: float) -> Bracket:
    """The bracket whose cap covers ``notional``; the last bracket beyond the table."""
    for b in brackets:
        if notional <= b.cap:
            return b
    return brackets[-1]


def hyperliquid_brackets(tiers: tuple[Tier, ...]) -> tuple[Bracket, ...]:
    """Hyperliquid margin tiers as (cap, MMR, maintenance deduction) brackets.

    https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers :
    ``maintenance_margin = notional · mmr(n) − deduction(n)``, ``mmr(n) = IM rate at tier n's max
    leverage / 2``, ``deduction(0) = 0``, ``deduction(n) = deduction(n−1) + lower_bound(n) · (mmr(n) −
    mmr(n−1))`` — so MM is continuous in the notional. Tier n covers notionals from its lower bound up
    to the next tier's; the last bracket's cap is infinite.
    """
    out: list[Bracket] = []
    deduction, prev = 0.0, 0.0
    for i, t in enumerate(tiers):
        mmr = 0.5 / t.max_leverage
        if i > 0:
            deduction += t.lower_bound * (mmr - prev)
        cap = tiers[i + 1].lower_bound if i + 1 < len(tiers) else float("inf")
        # model_construct: the last cap is +inf, which the file schema (finite numbers only) refuses
        out.append(Bracket.model_construct(cap=cap, mmr=mmr, maint_amount=deduction))
        prev = mmr
    return tuple(out)


def effective_brackets(m: Margin) -> tuple[Bracket, ...]:
    """The notional brackets of a tiered or Hyperliquid margin (one bracket for a single tier);
    empty for the kinds whose maintenance is not a bracket table (flat, GMX, stop-out)."""
    if m.kind == "tiered":
        return m.brackets
    if m.kind == "half_im_at_max_leverage":
        tiers = m.tiers or (Tier(lower_bound=0.0, max_leverage=m.max_leverage),)
        return hyperliquid_brackets(tiers)
    return ()


def maintenance_base(m: Margin, notional: float, entry_notional: float | None = None) -> float:
    """The value the maintenance rate applies to: the mark notional, or (BitMEX,
    ``mm_on_entry_value``) the entry value when it is given."""
    if m.mm_on_entry_value and entry_notional is not None:
        return abs(entry_notional)
    return abs(notional)


def maintenance_margin(m: Margin, notional: float, entry_notional: float | None = None) -> float:
    """Maintenance requirement in USD for one position of ``notional`` USD at the mark.

    tiered: notional·MMR − maintenance amount (Binance / Bybit "MM deduction"), so MM is
    continuous across brackets; half_im_at_max_leverage: Hyperliquid's margin tiers (one tier:
    ½·notional/max_leverage); gmx_v2: notional·MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION (close fees are
    added by the caller); stop_out: used margin (notional/max_leverage) × stop-out level.
    ``entry_notional``: with ``mm_on_entry_value`` (BitMEX) the rate applies to the entry value
    (https://www.bitmex.com/app/isolatedMarginExamples: "maintenance margin is 1% = 200 USDT" on 20
    ETHUSDT bought at 1,000, whatever the mark); ignored otherwise, and when None.
    """
    n = maintenance_base(m, notional, entry_notional)
    brackets = effective_brackets(m)
    if brackets:
        b = bracket_for(brackets, n)
        return n * b.mmr - b.maint_amount
    if m.kind in ("flat", "gmx_v2"):
        return n * m.mmr
    if m.kind == "gtrade":   # mmr is a share of collateral: per notional, the bound at max leverage
        return n * m.mmr / m.max_leverage
    if m.kind == "gmx_v1":
        return n * m.close_fee_rate  # position (close) fee; liquidation fee USD added by the caller
    if m.kind == "stop_out":
        return n / m.max_leverage * m.stop_out_level
    raise AssertionError(m.kind)


def maintenance_rate(m: Margin, notional: float = 0.0) -> float:
    """The marginal maintenance rate at ``notional`` (the bracket's MMR; Hyperliquid 1/(2·max
    leverage of the tier); GMX the min-collateral factor)."""
    brackets = effective_brackets(m)
    if brackets:
        return bracket_for(brackets, abs(notional)).mmr
    if m.kind in ("flat", "gmx_v2"):
        return m.mmr
    if m.kind == "gtrade":
        return m.mmr / m.max_leverage
    if m.kind == "gmx_v1":
        return m.close_fee_rate
    if m.kind == "stop_out":
        return m.stop_out_level / m.max_leverage
    raise AssertionError(m.kind)


def maintenance_margin_array(m: Margin, notional: np.ndarray, entry_notional: np.ndarray | None = None) -> np.ndarray:
    """Vectorized :func:`maintenance_margin`."""
    n = np.abs(np.asarray(notional, dtype=float))
    if m.mm_on_entry_value and entry_notional is not None:
        n = np.abs(np.asarray(entry_notional, dtype=float))
    brackets = effective_brackets(m)
    if brackets:
        caps = np.array([b.cap for b in brackets])
        idx = np.minimum(np.searchsorted(caps, n, side="left"), len(caps) - 1)
        mmr = np.array([b.mmr for b in brackets])[idx]
        amt = np.array([b.maint_amount for b in brackets])[idx]
        return n * mmr - amt
    if m.kind in ("flat", "gmx_v2"):
        return n * m.mmr
    if m.kind == "gtrade":
        return n * m.mmr / m.max_leverage
    if m.kind == "gmx_v1":
        return n * m.close_fee_rate
    if m.kind == "stop_out":
        return n / m.max_leverage * m.stop_out_level
    raise AssertionError(m.kind)


# --- per market -----------------------------------------------------------------------------------

def market_margin(params: VenueParams, market: str) -> Margin:
    """The margin rules ``params`` applies to ``market`` (its override, else the venue-wide section)."""
    return params.for_market(market).margin


def maintenance_margin_for(params: VenueParams, market: str, notional: float,
                           entry_notional: float | None = None) -> float:
    """:func:`maintenance_margin` under ``market``'s own table (e.g. Hyperliquid ETH: 25x → 2 %)."""
    return maintenance_margin(market_margin(params, market), notional, entry_notional)


def maintenance_rate_for(params: VenueParams, market: str, notional: float = 0.0) -> float:
    return maintenance_rate(market_margin(params, market), notional)


def max_leverage_for(params: VenueParams, market: str, notional: float = 0.0) -> float:
    """Largest leverage ``market`` allows at ``notional`` (Hyperliquid: the tier's max leverage)."""
    m = market_margin(params, market)
    if m.kind == "half_im_at_max_leverage" and m.tiers:
        lev = m.tiers[0].max_leverage
        for t in m.tiers:
            if abs(notional) >= t.lower_bound:
                lev = t.max_leverage
        return lev
    return m.max_leverage


def market_tier_arrays(params: VenueParams, markets: list[str]) -> dict[str, np.ndarray]:
    """Per-market bracket tables for an engine: ``floor[m, k]``, ``rate[m, k]``, ``amount[m, k]``
    (padded with +inf floors) and ``n_tiers[m]``, for the bracket kinds (tiered, Hyperliquid).
    ``flat_rate[m]`` carries the rate for the other kinds (GMX v2's per-market min-collateral factor)."""
    tables = [effective_brackets(market_margin(params, mk)) for mk in markets]
    k = max([len(t) for t in tables] + [1])
    floor = np.full((len(markets), k), np.inf)
    rate = np.zeros((len(markets), k))
    amount = np.zeros((len(markets), k))
    n_tiers = np.zeros(len(markets), dtype=np.int64)
    flat = np.zeros(len(markets))
    for i, (mk, t) in enumerate(zip(markets, tables)):
        flat[i] = maintenance_rate(market_margin(params, mk), 0.0)
        n_tiers[i] = len(t)
        lo = 0.0
        for j, b in enumerate(t):
            floor[i, j], rate[i, j], amount[i, j] = lo, b.mmr, b.maint_amount
            lo = b.cap
    return {"floor": floor, "rate": rate, "amount": amount, "n_tiers": n_tiers, "flat_rate": flat}
