"""Hyperliquid: liquidation price, bankruptcy price, backstop test, ADL sorting index.

Source: https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations —
``liq_price = price − side · margin_available / position_size / (1 − l · side)``,
``l = 1 / MAINTENANCE_LEVERAGE`` (maintenance leverage = 2 × max leverage),
``margin_available = account_value − maintenance_margin_required`` (isolated: isolated margin −
MM required); backstop when equity < 2/3 MM. ADL index
https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging :
``(mark_price / entry_price) * (notional_position / account_value)``.

Margin tiers per asset (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers):
``maintenance_margin = notional · mmr(tier) − deduction(tier)``; the tables live in
``params/hyperliquid.toml`` (``[markets.<ASSET>.margin]``) and are evaluated by
:func:`defi_perps.venues.margin.maintenance_margin_for` / :func:`tiered_maintenance_margin`.
"""

from __future__ import annotations


def maintenance_rate(max_leverage: float) -> float:
    """``l = 1 / (2 · max_leverage)``: half of the initial margin at max leverage."""
    return 1.0 / (2.0 * max_leverage)


def tiered_maintenance_margin(notional: float, tiers: list[tuple[float, float]]) -> float:
    """MM for ``notional`` under ``[(lower_bound, max_leverage), ...]`` (the docs' tier formula)."""
    from defi_perps.venues.margin import bracket_for, hyperliquid_brackets
    from defi_perps.venues.params import Tier

    brackets = hyperliquid_brackets(tuple(Tier(lower_bound=lb, max_leverage=lev) for lb, lev in tiers))
    b = bracket_for(brackets, abs(notional))
    return abs(notional) * b.mmr - b.maint_amount


def liquidation_price(price: float, side: int, account_value: float, size: float, max_leverage: float) -> float:
    """``size`` > 0 in coins; ``account_value`` at ``price`` (isolated: margin + uPnL)."""
    l = maintenance_rate(max_leverage)
    margin_available = account_value - size * price * l
    return price - side * margin_available / size / (1.0 - l * side)


def bankruptcy_price(price: float, side: int, account_value: float, size: float) -> float:
    return price - side * account_value / size


def is_backstop(account_value: float, maint_required: float, fraction: float = 2.0 / 3.0) -> bool:
    return account_value < fraction * maint_required


def adl_score(mark: float, entry: float, notional: float, account_value: float, side: float = 1.0) -> float:
    """The ADL sorting index: (mark/entry)·(notional/account value) for a long, as the docs write it;
    entry/mark for a short, so the queue is "ranked by unrealized pnl and leverage" on both sides."""
    if account_value <= 0:
        return 0.0
    return (mark / entry if side > 0 else entry / mark) * (notional / account_value)


def liquidation_slice(notional: float, threshold: float = 100_000.0, fraction: float = 0.2) -> float:
    """Fraction of the position sent in one liquidation round (20% slices above $100k)."""
    return fraction if notional > threshold else 1.0
