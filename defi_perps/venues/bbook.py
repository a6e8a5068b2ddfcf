"""B-book broker: stop-out price and the broker's hedge rule (venues.md §2, a modelling choice).

The broker is the counterparty of the internalized fraction α of every client position; the
rest is passed to an external LP. It hedges the part of its net exposure above a threshold H
through the depth. Its P&L = −Σ client P&L (internalized) + spread − hedge cost + hedge P&L.
"""

from __future__ import annotations


def stop_out_price(entry: float, size: float, collateral: float, side: int, max_leverage: float, level: float) -> float:
    """Price where equity / used margin = stop-out level; used margin = size·entry / max_leverage."""
    used = size * entry / max_leverage
    return entry - side * (collateral - level * used) / size


def bankruptcy_price(entry: float, size: float, collateral: float, side: int) -> float:
    return entry - side * collateral / size


def hedge_amount(net_exposure: float, threshold: float) -> float:
    """Signed size to hedge so that |exposure| comes back to the threshold (0 if within it)."""
    if net_exposure > threshold:
        return net_exposure - threshold
    if net_exposure < -threshold:
        return net_exposure + threshold
    return 0.0
