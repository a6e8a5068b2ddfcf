"""OKX: ADL ranking and fill price.

Source: https://www.ouchyi.work/en-gb/help/iv-introduction-to-auto-deleveraging-adl (OKX help) —
"leverage PnL% = position's PnL% × effective leverage"; deleveraged positions close at the mark
price, or at the bankruptcy price if the security fund is nearly depleted.
"""

from __future__ import annotations


def adl_score(upnl: float, margin: float, notional: float) -> float:
    """PnL% × effective leverage, PnL% = uPnL / margin, effective leverage = notional / (margin + uPnL)."""
    if margin <= 0:
        return 0.0
    equity = margin + upnl
    lev = notional / equity if equity > 0 else float("inf")
    pnl_pct = upnl / margin
    return pnl_pct * lev if pnl_pct > 0 else pnl_pct / lev


def adl_fill_price(mark: float, bankruptcy: float, fund: float, fund_initial: float, near_depleted: float) -> float:
    """Mark normally; the bankruptcy price when fund / initial fund falls below ``near_depleted``."""
    if fund_initial > 0 and fund / fund_initial < near_depleted:
        return bankruptcy
    return mark


def bankruptcy_price(qty: float, entry: float, margin: float) -> float:
    return entry - margin / qty
