"""Per-market liquidation windows (Synthetix perps v3): how much of a market may be liquidated per step.

Rule (Synthetixio/synthetix-v3 markets/perps-market/contracts/storage/PerpsMarket.sol
``maxLiquidatableAmount`` / ``currentLiquidationCapacity`` and PerpsMarketConfiguration.sol
``maxLiquidationAmountInWindow`` @ 23585f73): at most ``(makerFee + takerFee) · skewScale ·
maxLiquidationLimitAccumulationMultiplier · maxSecondsInLiquidationWindow`` units of the asset are
liquidated per market within any window of ``maxSecondsInLiquidationWindow`` seconds; what is left
waits for the window to roll. The venue file gives the rate per second (``window_skew_rate ×
skew_scale``, venues/engine_rules.py puts it on the book as ``liq_window_qty_per_s``); one step of
``step_seconds`` may liquidate ``rate × step_seconds`` tokens.

In the kernel (engine/nb.py ``_cascade``, pass 1) a market's capacity for the step starts at that
value and every position the step starts to liquidate takes its whole remaining size from it; once
it is used up no further position of that market starts liquidating in the step (its trigger stays
crossed, so the sweep pointer stops at it and the next step picks it up). The position that uses the
capacity up is liquidated whole (the contract would liquidate part of it and the rest in the next
window): the cap holds to within one position per step. Segments are visited in the kernel's order
(market, side, maintenance class; by threshold inside each), so when the cap binds, longs of the
first class go first — on chain the order is the keepers'. Not modelled: the ``maxLiquidationPd``
exception (another window's worth when the skew is small) and the endorsed liquidator (no cap).
The plain-Python twin (engine/reference.py) applies the same rule to its naive scan.
"""

from __future__ import annotations

import numpy as np

from defi_perps.engine._jit import njit


def step_capacity(qty_per_s: np.ndarray, step_seconds: float) -> np.ndarray:
    """float64[M] index tokens liquidatable per step (inf where the market has no window)."""
    return np.ascontiguousarray(np.asarray(qty_per_s, dtype=np.float64) * float(step_seconds))


@njit(inline="always")
def window_take(cap_left: float, qty: float) -> tuple[bool, float]:
    """Whether a position of ``qty`` tokens may start liquidating with ``cap_left`` tokens of the step's
    window left, and what is left after it (``inf`` stays ``inf``)."""
    if cap_left <= 0.0:
        return False, cap_left
    return True, cap_left - qty
