"""GMX v2 venue formulas.

The exact on-chain liquidation test (``PositionUtils.isPositionLiquidatable`` on 1e30 integers) is
:func:`defi_perps.protocols.gmx_v2.math.is_position_liquidatable`; it is re-exported here, not
written twice. This module adds the float closed forms the venue model uses (protocols.md §1.2):
with stable collateral, ``remaining(P) = collateral + side·tokens·(P − entry) − close fee`` and the
position is liquidated when ``remaining < sizeInUsd·MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION``.
"""

from __future__ import annotations

from defi_perps.protocols.gmx_v2.math import LiquidationCheck, is_position_liquidatable
from defi_perps.protocols.gmx_v2.math import liquidation_price as exact_liquidation_price

__all__ = ["LiquidationCheck", "adl_score", "bankruptcy_price", "exact_liquidation_price", "is_position_liquidatable",
           "liquidation_price", "pnl_to_pool_factor"]


def liquidation_price(size_usd: float, size_tokens: float, collateral_usd: float, side: int,
                      mcf: float, fees_usd: float = 0.0) -> float:
    """Stable-collateral closed form (derived from the contract's inequality, protocols.md §1.2):
    long ``(size·(1 + mcf) + fees − collateral) / tokens``; short ``(size·(1 − mcf) − fees + collateral) / tokens``."""
    if side > 0:
        return (size_usd * (1 + mcf) + fees_usd - collateral_usd) / size_tokens
    return (size_usd * (1 - mcf) - fees_usd + collateral_usd) / size_tokens


def bankruptcy_price(size_usd: float, size_tokens: float, collateral_usd: float, side: int, fees_usd: float = 0.0) -> float:
    """Price at which remaining collateral = 0."""
    return liquidation_price(size_usd, size_tokens, collateral_usd, side, 0.0, fees_usd)


def adl_score(pnl_usd: float, size_usd: float) -> float:
    """No ranking is enforced on-chain (AdlUtils: "there is no validation that ADL is executed in
    order of position profit or position size"); keepers choose. Modelled as largest profit first."""
    return pnl_usd


def pnl_to_pool_factor(side_pnl_usd: float, pool_usd: float) -> float:
    """``MarketUtils.getPnlToPoolFactor``: pnl of one side / pool USD of that side's token."""
    return side_pnl_usd / pool_usd if pool_usd > 0 else 0.0
