"""Synthetix perps v3 mappers (pure): decoded PerpsMarketProxy answers → records, ints exact.

Field order follows the interfaces (Synthetixio/synthetix-v3 markets/perps-market/contracts/
interfaces @ 23585f73): ``getMarketSummary`` → (skew, size, maxOpenInterest, currentFundingRate,
currentFundingVelocity, indexPrice); ``getLiquidationParameters`` → (initialMarginRatioD18,
minimumInitialMarginRatioD18, maintenanceMarginScalarD18, flagRewardRatioD18, minimumPositionMargin);
``getMaxLiquidationParameters`` → (multiplier, maxSecondsInLiquidationWindow, maxLiquidationPd,
endorsedLiquidator); ``liquidationCapacity`` → (capacity, maxLiquidationInWindow,
latestLiquidationTimestamp); ``getOpenPosition`` → (totalPnl, accruedFunding, positionSize, owedInterest);
``getRequiredMargins`` → (requiredInitialMargin, requiredMaintenanceMargin, maxLiquidationReward).
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from defi_perps.exceptions import AbiMismatchError
from defi_perps.protocols.synthetix_v3.math import KeeperGuards, MarketConfig
from defi_perps.protocols.synthetix_v3.records import SnxAccount, SnxMarket, SnxPosition


def _n(v: Any, n: int, what: str) -> tuple[Any, ...]:
    if not isinstance(v, (tuple, list)) or len(v) != n:
        raise AbiMismatchError(f"{what}: expected {n} values, got {type(v).__name__}")
    return tuple(v)


def market(market_id: int, meta: Any, summary: Any, funding: Any, fees: Any, liq: Any, max_liq: Any,
           max_size: Any, locked: Any, capacity: Any) -> SnxMarket:
    name, symbol = _n(meta, 2, f"metadata({market_id})")
    if isinstance(summary, (tuple, list)) and len(summary) == 1:
        summary = summary[0]
    skew, size, max_oi, rate, vel, price = _n(summary, 6, f"getMarketSummary({market_id})")
    skew_scale, max_vel = _n(funding, 2, f"getFundingParameters({market_id})")
    maker, taker = _n(fees, 2, f"getOrderFees({market_id})")
    imr, min_imr, mm_scalar, flag, min_margin = _n(liq, 5, f"getLiquidationParameters({market_id})")
    mult, seconds, pd, endorsed = _n(max_liq, 4, f"getMaxLiquidationParameters({market_id})")
    cap, in_window, latest = _n(capacity, 3, f"liquidationCapacity({market_id})")
    return SnxMarket(market_id=market_id, name=str(name), symbol=str(symbol), index_price=price, skew=skew, size=size,
                     max_open_interest=max_oi, current_funding_rate=rate, current_funding_velocity=vel,
                     skew_scale=skew_scale, max_funding_velocity=max_vel, maker_fee=maker, taker_fee=taker,
                     initial_margin_ratio=imr, minimum_initial_margin_ratio=min_imr,
                     maintenance_margin_scalar=mm_scalar, flag_reward_ratio=flag, minimum_position_margin=min_margin,
                     max_liquidation_limit_accumulation_multiplier=mult, max_seconds_in_liquidation_window=seconds,
                     max_liquidation_pd=pd, endorsed_liquidator=to_checksum_address(endorsed),
                     max_market_size=int(max_size), locked_oi_ratio=int(locked), liquidation_capacity=cap,
                     max_liquidation_in_window=in_window, latest_liquidation_timestamp=latest)


def config(m: SnxMarket) -> MarketConfig:
    """The rule inputs of a market record (math.py)."""
    return MarketConfig(skew_scale=m.skew_scale, maker_fee=m.maker_fee, taker_fee=m.taker_fee,
                        initial_margin_ratio=m.initial_margin_ratio,
                        minimum_initial_margin_ratio=m.minimum_initial_margin_ratio,
                        maintenance_margin_scalar=m.maintenance_margin_scalar, flag_reward_ratio=m.flag_reward_ratio,
                        minimum_position_margin=m.minimum_position_margin,
                        max_liquidation_limit_accumulation_multiplier=m.max_liquidation_limit_accumulation_multiplier,
                        max_seconds_in_liquidation_window=m.max_seconds_in_liquidation_window,
                        max_liquidation_pd=m.max_liquidation_pd, endorsed_liquidator=m.endorsed_liquidator)


def guards(raw: Any, collateral_ratio: int) -> KeeperGuards:
    a, b, c, d = _n(raw, 4, "getKeeperRewardGuards")
    return KeeperGuards(a, b, c, d, int(collateral_ratio))


def position(account_id: int, market_id: int, raw: Any) -> SnxPosition | None:
    pnl, funding, size, interest = _n(raw, 4, f"getOpenPosition({account_id}, {market_id})")
    if size == 0:
        return None
    return SnxPosition(account_id, market_id, size, pnl, funding, interest)


def account(account_id: int, owner: Any, available: Any, required: Any, collateral_value: Any, debt: Any,
            can_liq: Any, flagged: bool) -> SnxAccount:
    im, mm, reward = _n(required, 3, f"getRequiredMargins({account_id})")
    return SnxAccount(account_id=account_id, owner=to_checksum_address(owner), available_margin=int(available),
                      required_initial_margin=im, required_maintenance_margin=mm, max_liquidation_reward=reward,
                      collateral_value=int(collateral_value), debt=int(debt), can_liquidate=bool(can_liq),
                      flagged=flagged)
