"""BitMEX: ADL ranking and bankruptcy price (linear).

Source: https://bitmex.com/app/autoDeleveraging —
Ranking = PNL% × EffectiveLeverage (PNL% > 0), PNL% / EffectiveLeverage (PNL% < 0);
EffectiveLeverage = |MarkValue| / (MarkValue − BankruptValue);
PNL% = (MarkValue − AvgEntryValue) / |AvgEntryValue|. Values are signed position values
(negative for shorts), so the same formula ranks longs and shorts.
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
