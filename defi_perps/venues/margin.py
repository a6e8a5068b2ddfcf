"""Maintenance margin for any venue's parameters (float USD)."""

from __future__ import annotations

import numpy as np

from defi_perps.venues.params import Bracket, Margin


def bracket_for(brackets: tuple[Bracket, ...], notional: float) -> Bracket:
    """The bracket whose cap covers ``notional``; the last bracket beyond the table."""
    for b in brackets:
        if notional <= b.cap:
            return b
    return brackets[-1]


def maintenance_margin(m: Margin, notional: float) -> float:
    """Maintenance requirement in USD for one position of ``notional`` USD at the mark.

    tiered: notional·MMR − maintenance amount (Binance / Bybit "MM deduction"), so MM is
    continuous across brackets; half_im_at_max_leverage: Hyperliquid ½·notional/max_leverage;
    gmx_v2: notional·MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION (close fees are added by the caller);
    stop_out: used margin (notional/max_leverage) × stop-out level.
    """
    n = abs(notional)
    if m.kind == "tiered":
        b = bracket_for(m.brackets, n)
        return n * b.mmr - b.maint_amount
    if m.kind == "half_im_at_max_leverage":
        return 0.5 * n / m.max_leverage
    if m.kind in ("flat", "gmx_v2"):
        return n * m.mmr
    if m.kind == "gmx_v1":
        return n * m.close_fee_rate  # position (close) fee; liquidation fee USD added by the caller
    if m.kind == "stop_out":
        return n / m.max_leverage * m.stop_out_level
    raise AssertionError(m.kind)


def maintenance_margin_array(m: Margin, notional: np.ndarray) -> np.ndarray:
    """Vectorized :func:`maintenance_margin`."""
    n = np.abs(notional)
    if m.kind == "tiered":
        caps = np.array([b.cap for b in m.brackets])
        idx = np.minimum(np.searchsorted(caps, n, side="left"), len(caps) - 1)
        mmr = np.array([b.mmr for b in m.brackets])[idx]
        amt = np.array([b.maint_amount for b in m.brackets])[idx]
        return n * mmr - amt
    return np.array([maintenance_margin(m, float(x)) for x in n]) if n.size < 2 else _simple(m, n)


def _simple(m: Margin, n: np.ndarray) -> np.ndarray:
    if m.kind == "half_im_at_max_leverage":
        return 0.5 * n / m.max_leverage
    if m.kind in ("flat", "gmx_v2"):
        return n * m.mmr
    if m.kind == "gmx_v1":
        return n * m.close_fee_rate
    if m.kind == "stop_out":
        return n / m.max_leverage * m.stop_out_level
    raise AssertionError(m.kind)
