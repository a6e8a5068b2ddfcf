"""Synthetix perps v3 liquidation arithmetic, reproducing the contracts' integers (D18, rounding included).

Source: Synthetixio/synthetix-v3 @ 23585f73, markets/perps-market/contracts/:

* ``DecimalMath`` (utils/core-contracts): ``mulDecimal(x, y) = x·y / 1e18``, ``divDecimal(x, y) =
  x·1e18 / y``; Solidity integer division truncates toward zero, for signed values too
  (:func:`tdiv`), unlike Python's ``//``;
* ``storage/PerpsMarketConfiguration.sol``: ``calculateRequiredMargins`` — ``impactOnSkew =
  |size|.divDecimal(skewScale)`` (0 when skewScale is 0); ``IMR = impactOnSkew.mulDecimal(
  initialMarginRatioD18) + minimumInitialMarginRatioD18``; ``MMR = IMR.mulDecimal(
  maintenanceMarginScalarD18)``; ``notional = |size|.mulDecimal(price)``; ``IM = notional.mulDecimal(IMR)
  + minimumPositionMargin``, ``MM = notional.mulDecimal(MMR) + minimumPositionMargin`` — a
  size-scaled part and a flat part; ``maxLiquidationAmountInWindow = (makerFee + takerFee)
  .mulDecimal(skewScale).mulDecimal(maxLiquidationLimitAccumulationMultiplier) ·
  maxSecondsInLiquidationWindow`` (units of the asset); ``numberOfLiquidationWindows =
  ceilDivide(|size|, that)`` (``utils/MathUtil.sol``: 0 when the divisor is 0);
  ``calculateFlagReward = notional.mulDecimal(flagRewardRatioD18)``;
* ``storage/GlobalPerpsMarketConfiguration.sol``: ``keeperReward(rewards, cost, margin) =
  min(max(minCap, rewards + cost), maxCap)``, ``minCap = max(cost + minKeeperRewardUsd,
  cost.mulDecimal(minKeeperProfitRatioD18 + 1e18))``, ``maxCap = min(margin.mulDecimal(
  maxKeeperScalingRatioD18), maxKeeperRewardUsd)`` (just ``maxKeeperRewardUsd`` when margin is 0);
  ``calculateCollateralLiquidateReward = value.mulDecimal(collateralLiquidateRewardRatioD18)``;
* ``storage/PerpsAccount.sol``: ``getAccountRequiredMargins`` sums IM and MM over the open positions;
  the possible liquidation reward = ``keeperReward(max(Σ flag rewards, collateral reward),
  flagCost + liquidateCost, collateral value) + keeperReward(0, liquidateCost, 0) · (windows − 1)``
  with windows = the largest number of windows any position needs;
  ``isEligibleForLiquidation``: ``MM + reward > availableMargin`` (``availableMargin = collateral
  value (discounted) + Σ pnl − debt``);
* ``storage/PerpsMarket.sol``: ``currentLiquidationCapacity`` — the window's capacity is
  ``maxLiquidationAmountInWindow`` minus the amounts liquidated after ``now − maxSecondsInLiquidationWindow``
  (floored at 0); ``maxLiquidatableAmount``: the endorsed liquidator takes all; with capacity left,
  ``min(capacity, requested)``; with none, one more window's worth when ``|skew| / skewScale <
  maxLiquidationPd`` and the last liquidation was not in this block; else nothing.

Keeper costs (``KeeperCosts.getFlagKeeperCosts`` / ``getLiquidateKeeperCosts``) come from an oracle
node on chain; here they are inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

UNIT = 10**18


def tdiv(a: int, b: int) -> int:
    """Solidity's ``a / b``: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def mul_dec(x: int, y: int) -> int:
    return tdiv(x * y, UNIT)


def div_dec(x: int, y: int) -> int:
    return tdiv(x * UNIT, y)


def ceil_divide(a: int, b: int) -> int:
    if b == 0:
        return 0
    return a // b + (0 if a % b == 0 else 1)


@dataclass(frozen=True)
class MarketConfig:
    """The per-market parameters the rules read (D18 unless said; sizes in asset units D18)."""

    skew_scale: int
    maker_fee: int
    taker_fee: int
    initial_margin_ratio: int
    minimum_initial_margin_ratio: int
    maintenance_margin_scalar: int
    flag_reward_ratio: int
    minimum_position_margin: int          # USD D18, the flat part
    max_liquidation_limit_accumulation_multiplier: int
    max_seconds_in_liquidation_window: int  # seconds (a plain integer)
    max_liquidation_pd: int = 0
    endorsed_liquidator: str = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class KeeperGuards:
    min_keeper_reward_usd: int
    min_keeper_profit_ratio: int
    max_keeper_reward_usd: int
    max_keeper_scaling_ratio: int
    collateral_liquidate_reward_ratio: int = 0


@dataclass(frozen=True)
class Margins:
    initial_margin_ratio: int
    maintenance_margin_ratio: int
    initial_margin: int
    maintenance_margin: int


def required_margins(cfg: MarketConfig, size: int, price: int) -> Margins:
    """``PerpsMarketConfiguration.calculateRequiredMargins(size, price)``."""
    if size == 0:
        return Margins(0, 0, 0, 0)
    a = abs(size)
    impact = 0 if cfg.skew_scale == 0 else div_dec(a, cfg.skew_scale)
    imr = mul_dec(impact, cfg.initial_margin_ratio) + cfg.minimum_initial_margin_ratio
    mmr = mul_dec(imr, cfg.maintenance_margin_scalar)
    notional = mul_dec(a, price)
    return Margins(imr, mmr, mul_dec(notional, imr) + cfg.minimum_position_margin,
                   mul_dec(notional, mmr) + cfg.minimum_position_margin)


def max_liquidation_amount_in_window(cfg: MarketConfig) -> int:
    """Asset units (D18) that may be liquidated per window."""
    return mul_dec(mul_dec(cfg.maker_fee + cfg.taker_fee, cfg.skew_scale),
                   cfg.max_liquidation_limit_accumulation_multiplier) * cfg.max_seconds_in_liquidation_window


def number_of_liquidation_windows(cfg: MarketConfig, size: int) -> int:
    return ceil_divide(abs(size), max_liquidation_amount_in_window(cfg))


def flag_reward(cfg: MarketConfig, notional: int) -> int:
    return mul_dec(notional, cfg.flag_reward_ratio)


def keeper_reward(g: KeeperGuards, rewards: int, cost: int, margin_usd: int) -> int:
    """``GlobalPerpsMarketConfiguration.keeperReward``."""
    min_cap = max(cost + g.min_keeper_reward_usd, mul_dec(cost, g.min_keeper_profit_ratio + UNIT))
    max_cap = g.max_keeper_reward_usd if margin_usd == 0 else min(mul_dec(margin_usd, g.max_keeper_scaling_ratio),
                                                                  g.max_keeper_reward_usd)
    return min(max(min_cap, rewards + cost), max_cap)


@dataclass(frozen=True)
class AccountMargins:
    initial_margin: int
    maintenance_margin: int
    liquidation_reward: int
    windows: int


def account_required_margins(positions: Sequence[tuple[MarketConfig, int, int]], collateral_value: int,
                             g: KeeperGuards, flag_cost: int, liquidate_cost: int) -> AccountMargins:
    """``PerpsAccount.getAccountRequiredMargins`` over ``(config, size, price)`` per open position;
    ``collateral_value`` undiscounted (``getTotalCollateralValue(…, false)``)."""
    if not positions:
        return AccountMargins(0, 0, 0, 0)
    im = mm = flags = windows = 0
    for cfg, size, price in positions:
        m = required_margins(cfg, size, price)
        im += m.initial_margin
        mm += m.maintenance_margin
        flags += flag_reward(cfg, mul_dec(abs(size), price))
        windows = max(windows, number_of_liquidation_windows(cfg, size))
    accumulated = max(flags, mul_dec(collateral_value, g.collateral_liquidate_reward_ratio))
    reward = keeper_reward(g, accumulated, flag_cost + liquidate_cost, collateral_value)
    if windows:
        reward += keeper_reward(g, 0, liquidate_cost, 0) * (windows - 1)
    return AccountMargins(im, mm, reward, windows)


def is_eligible_for_liquidation(available_margin: int, m: AccountMargins) -> bool:
    """``PerpsAccount.isEligibleForLiquidation``: ``MM + reward > availableMargin``."""
    return m.maintenance_margin + m.liquidation_reward > available_margin


def position_pnl(size: int, price: int, entry_price: int, accrued_funding: int, owed_interest: int) -> int:
    """``Position.getPnl``'s total: ``size.mulDecimal(price − entry) + funding − interest``."""
    return mul_dec(size, price - entry_price) + accrued_funding - owed_interest


def liquidation_capacity(cfg: MarketConfig, entries: Sequence[tuple[int, int]], now: int) -> tuple[int, int, int]:
    """``PerpsMarket.currentLiquidationCapacity``: (capacity, max in window, latest timestamp) from the
    market's liquidation entries ``(timestamp, amount)`` in the order they were pushed."""
    cap = max_liquidation_amount_in_window(cfg)
    if not entries:
        return cap, cap, 0
    latest = entries[-1][0]
    start = now - cfg.max_seconds_in_liquidation_window
    acc = 0
    for ts, amount in reversed(entries):
        if ts <= start:
            break
        acc += amount
    return max(cap - acc, 0), cap, latest


def max_liquidatable_amount(cfg: MarketConfig, requested: int, capacity: int, max_in_window: int,
                            latest_timestamp: int, now: int, skew: int, sender: str = "") -> int:
    """``PerpsMarket.maxLiquidatableAmount`` (without its storage update)."""
    if sender and sender.lower() == cfg.endorsed_liquidator.lower():
        return requested
    if max_in_window == 0:
        return requested
    if capacity != 0:
        return min(capacity, requested)
    if cfg.max_liquidation_pd != 0 and latest_timestamp != now:
        if div_dec(abs(skew), cfg.skew_scale) < cfg.max_liquidation_pd:
            return min(max_in_window, requested)
    return 0
