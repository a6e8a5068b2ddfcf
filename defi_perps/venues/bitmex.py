"""BitMEX: ADL ranking and bankruptcy price (linear).

Source: https://bitmex.com/app/autoDeleveraging —
Ranking = PNL% × EffectiveLeverage (PNL% > 0), PNL% / EffectiveLeverage (PNL% < 0);
EffectiveLeverage = |MarkValue| / (MarkValue − BankruptValue);
PNL% = (MarkValue − AvgEntryValue) / |AvgEntryValue|. Values are signed position values
(negative for shorts), so the same formula ranks longs and shorts.

Maintenance margin is a rate of the position's *entry* value (BitMEX staff: "0.5% * Order Value +
Taker Fee * Order Value"), so the liquidation price is the bankruptcy price moved by
``MMR × entry`` towards the entry: https://www.bitmex.com/app/isolatedMarginExamples — 20 ETHUSDT
bought at 1,000 on a 10,000 USDT wallet (cross), MM 1% = 200 USDT: liquidation 510, bankruptcy 500.
"""

from __future__ import annotations


def effective_leverage(mark_value: float, bankrupt_value: float) -> float:
    d = mark_value - bankrupt_value
    return abs(mark_value) / d if d != 0 else float("inf")


def pnl_percentage(mark_value: float, entry_value: float) -> float:
    return (mark_value - entry_value) / abs(entry_value)


def adl_score(mark_value: float, entry_value: float, bankrupt_value: float) -> float:
    pnl = pnl_percentage(mark_value, entry_value)
    lev = effective_leverage(mark_value, bankrupt_value)
    return pnl * lev if pnl > 0 else pnl / lev


def position_values(qty: float, mark: float, entry: float, margin: float) -> tuple[float, float, float]:
    """(mark value, entry value, bankrupt value) of a linear position; ``qty`` signed."""
    bankrupt = entry - margin / qty
    return qty * mark, qty * entry, qty * bankrupt


def bankruptcy_price(qty: float, entry: float, margin: float) -> float:
    return entry - margin / qty


def maintenance_margin(qty: float, entry: float, mmr: float) -> float:
    """``MMR × |entry value|`` (USD; fees not included)."""
    return mmr * abs(qty * entry)


def liquidation_price(qty: float, entry: float, margin: float, mmr: float) -> float:
    """Price where margin + PnL = MMR × entry value; ``qty`` signed, ``margin`` the position's margin
    (cross: the wallet balance available to it). Long: ``entry − (margin − MM)/qty``."""
    return entry - (margin - maintenance_margin(qty, entry, mmr)) / qty
