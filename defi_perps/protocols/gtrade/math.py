"""gTrade (Gains Network v8+) trade math on the contract's integers, rounding included.

Precisions (GNSMultiCollatDiamond; ../shared/reference/protocols.md §5):

* prices and percentages: ``P_10 = 1e10`` (``ConstantsUtils.P_10``); a percentage ``p`` is
  ``p / 1e10`` percent, so 90 % is ``90e10``;
* leverage: 1e3 (``TradingCommonUtils.getPositionSizeCollateral``: ``collateral * leverage / 1e3``);
* collateral amounts: the collateral token's own decimals; ``precisionDelta = 10^(18 − decimals)``
  (``ITradingStorage.Collateral``), used to keep precision for 6-decimal USDC;
* collateral/USD price (``getCollateralPriceUsd``, ``TradeInfo.collateralPriceUsd``): 1e8.

Rules reproduced (sources are the facet libraries' Solidity as published in verified/forked
copies of the Diamond's libraries, and GainsNetwork-org/sdk @ a8c6987d, which mirrors them):

* ``getPnlPercent(openPrice, currentPrice, long, leverage)`` (TradingCommonUtils):
  ``p = (±(current − open) · 100 · P_10 · leverage) / open / 1e3`` with Solidity's truncating
  signed division, floored at −100 %; in v8 (and v9.x until it was deprecated) it was also capped
  at ``MAX_PNL_P = 900`` % (ConstantsUtils "900% PnL (10x)") — the per-trade profit cap. The SDK
  removed ``maxGainP`` on 2025-02-28 (GainsNetwork-org/sdk e90d459 "remove maxGainP") and
  ConstantsUtils marks ``MAX_PNL_P`` ``@custom:deprecated``: current contracts pay uncapped PnL.
  ``max_pnl_p`` selects the rule (``MAX_PNL_P_V8`` or ``None``).
* ``getTradeValuePure(collateral, percentProfit, fees, precisionDelta)``: value =
  ``(c·pd + c·pd·p / P_10 / 100) / pd − fees``, floored at 0.
* ``getLiqPnlThresholdP(params, leverage)``: ``LEGACY_LIQ_THRESHOLD_P = 90 % `` when
  ``maxLiqSpreadP == 0`` (trades opened before v9.2), else linear from ``startLiqThresholdP`` at
  ``startLeverage`` to ``endLiqThresholdP`` at ``endLeverage`` (inclusive ends).
* liquidation price (BorrowingFeesUtils ``_getTradeLiquidationPrice``, v8):
  ``collLiq = c · LIQ_THRESHOLD_P · pd · 1e3 / 100`` (here with the threshold in 1e10:
  ``c · thr · pd · 1e3 / 100 / P_10``, the same integer for thr = 90e10),
  ``fees = fees · pd · 1e3``, ``dist = open · (collLiq − fees) / c / leverage / pd``,
  ``liq = open ∓ dist`` floored at 0. ``fees`` are the closing fee plus the pending holding fees
  (borrowing, funding) minus the realized PnL net of realized trading fees (v10,
  ``getTradeLiquidationPrice``'s ``LiqPriceInput``; SDK ``liquidation/index.ts``); v9.2+ subtracts
  ``open · closingSpreadP / 100 / P_10`` from the distance, the spread being half the pair spread
  capped at ``maxLiqSpreadP``. The v8 formula's integers are the Solidity's; the spread term's
  rounding follows the same order of operations (the v9.2+ Solidity of that line is [UNVERIFIED]
  here: the SDK computes it in floats).
* a trade is liquidated when the oracle price reaches its liquidation price (long: ``price <=
  liq``; short: ``price >= liq``; TradingCallbacks LIQ_CLOSE) — the full trade closes, the trader
  gets nothing and the gToken vault keeps the collateral left after the liquidation fee
  (``totalLiqCollateralFeeP`` on collateral).
"""

from __future__ import annotations

from dataclasses import dataclass

P_10 = 10**10                           # ConstantsUtils.P_10 (prices, percentages)
LEVERAGE_PRECISION = 1000               # leverage 1e3
COLLATERAL_PRICE_PRECISION = 10**8      # getCollateralPriceUsd (Chainlink 8 decimals)
LEGACY_LIQ_THRESHOLD_P = 90 * P_10      # ConstantsUtils.LEGACY_LIQ_THRESHOLD_P (-90 % pnl)
MIN_PNL_P = -100 * P_10                 # getPnlPercent floor
MAX_PNL_P_V8 = 900                      # ConstantsUtils.MAX_PNL_P, percent (v8–v9.x; deprecated since)
GTOKEN_PRECISION = 10**18               # GToken PRECISION (share price, acc pnl per token)


def tdiv(a: int, b: int) -> int:
    """Solidity's signed integer division: truncates toward zero (Python's ``//`` floors)."""
    if b == 0:
        raise ZeroDivisionError("division by zero (the contract reverts)")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True)
class LiquidationParams:
    """``IPairsStorage.GroupLiquidationParams`` (all percentages 1e10, leverages 1e3)."""

    max_liq_spread_p: int = 0
    start_liq_threshold_p: int = 0
    end_liq_threshold_p: int = 0
    start_leverage: int = 0
    end_leverage: int = 0


def position_size_collateral(collateral_amount: int, leverage: int) -> int:
    """``getPositionSizeCollateral``: collateral × leverage / 1e3 (collateral precision)."""
    return collateral_amount * leverage // LEVERAGE_PRECISION


def pnl_percent(open_price: int, current_price: int, long: bool, leverage: int,
                max_pnl_p: int | None = None) -> int:
    """``getPnlPercent`` (1e10 %), floored at −100 %; capped at ``max_pnl_p`` percent when given
    (v8: ``MAX_PNL_P_V8``)."""
    if open_price > 0:
        diff = current_price - open_price if long else open_price - current_price
        p = tdiv(tdiv(diff * 100 * P_10 * leverage, open_price), LEVERAGE_PRECISION)
    else:
        p = 0
    if max_pnl_p is not None and p > max_pnl_p * P_10:
        p = max_pnl_p * P_10
    return MIN_PNL_P if p < MIN_PNL_P else p


def trade_value(collateral: int, pnl_p: int, fees_collateral: int, precision_delta: int) -> int:
    """``getTradeValuePure``: what closing returns to the trader (collateral precision), >= 0."""
    pd = precision_delta
    value = tdiv(collateral * pd + tdiv(tdiv(collateral * pd * pnl_p, P_10), 100), pd) - fees_collateral
    return value if value > 0 else 0


def pnl_collateral(collateral: int, pnl_p: int, precision_delta: int) -> int:
    """The PnL part of ``trade_value`` alone (collateral precision, signed)."""
    pd = precision_delta
    return tdiv(collateral * pd + tdiv(tdiv(collateral * pd * pnl_p, P_10), 100), pd) - collateral


def liq_pnl_threshold_p(params: LiquidationParams | None, leverage: int) -> int:
    """``getLiqPnlThresholdP`` (1e10 %): the loss, as a share of collateral, that liquidates."""
    if params is None or params.max_liq_spread_p == 0:
        return LEGACY_LIQ_THRESHOLD_P
    if leverage <= params.start_leverage:
        return params.start_liq_threshold_p
    if leverage >= params.end_leverage:
        return params.end_liq_threshold_p
    return params.start_liq_threshold_p - (
        (leverage - params.start_leverage) * (params.start_liq_threshold_p - params.end_liq_threshold_p)
        // (params.end_leverage - params.start_leverage))


def liquidation_spread_p(pair_spread_p: int, params: LiquidationParams | None) -> int:
    """Closing spread at liquidation (1e10 %): half the pair spread (v9.2+ charges half on open and
    half on close), capped at ``maxLiqSpreadP`` (SDK ``getSpreadP(…, isLiquidation=true)``)."""
    spread = pair_spread_p // 2
    if params is not None and params.max_liq_spread_p > 0 and spread > params.max_liq_spread_p:
        return params.max_liq_spread_p
    return spread


def closing_fee_collateral(position_size: int, total_position_size_fee_p: int,
                           min_position_size_collateral: int = 0) -> int:
    """``getTotalTradeFeesCollateral`` without the trader's fee tier (as the liquidation price uses
    it): ``max(size, minPositionSize) · totalPositionSizeFeeP / P_10 / 100``."""
    basis = max(position_size, min_position_size_collateral)
    return basis * total_position_size_fee_p // P_10 // 100


def liquidation_fee_collateral(collateral: int, total_liq_collateral_fee_p: int) -> int:
    """Fee charged on a liquidation: ``collateral · totalLiqCollateralFeeP / P_10 / 100``."""
    return collateral * total_liq_collateral_fee_p // P_10 // 100


def liquidation_price(open_price: int, long: bool, collateral: int, leverage: int, fees_collateral: int,
                      precision_delta: int, liq_threshold_p: int = LEGACY_LIQ_THRESHOLD_P,
                      closing_spread_p: int = 0) -> int:
    """Liquidation price (1e10) of one trade; see the module docstring for the formula.

    ``fees_collateral`` may be negative (funding received, realized profit): it moves the price away."""
    if collateral <= 0 or leverage <= 0:
        raise ValueError("a trade with zero collateral or leverage has no liquidation price (the contract reverts)")
    pd = precision_delta
    coll_liq = collateral * liq_threshold_p * pd * LEVERAGE_PRECISION // 100 // P_10
    fees = fees_collateral * pd * LEVERAGE_PRECISION
    dist = tdiv(tdiv(tdiv(open_price * (coll_liq - fees), collateral), leverage), pd)
    if closing_spread_p:
        dist -= open_price * closing_spread_p // 100 // P_10
    liq = open_price - dist if long else open_price + dist
    return liq if liq > 0 else 0


def is_liquidatable(price: int, liq_price: int, long: bool) -> bool:
    """The LIQ_CLOSE trigger: the oracle price has reached the liquidation price."""
    return price <= liq_price if long else price >= liq_price


def profit_cap_collateral(collateral: int, max_pnl_p: int | None) -> int | None:
    """The most a trade can gain under a per-trade cap (collateral precision), or None (no cap)."""
    if max_pnl_p is None:
        return None
    return collateral * max_pnl_p // 100


# --- gToken (ERC-4626 collateral vault) -------------------------------------------------------

def max_acc_pnl_per_token(acc_rewards_per_token: int) -> int:
    """GToken ``maxAccPnlPerToken = PRECISION + accRewardsPerToken`` (1e18)."""
    return GTOKEN_PRECISION + acc_rewards_per_token


def share_to_assets_price(max_acc: int, acc_pnl_per_token_used: int) -> int:
    """GToken ``updateShareToAssetsPrice``: ``maxAccPnlPerToken − max(accPnlPerTokenUsed, 0)``."""
    return max_acc - (acc_pnl_per_token_used if acc_pnl_per_token_used > 0 else 0)


def collateralization_p(max_acc: int, acc_pnl_per_token_used: int) -> int:
    """GToken ``collateralizationP`` (1e18 %): ``(maxAcc − accPnlPerTokenUsed) · 100 · 1e18 / maxAcc``."""
    return (max_acc - acc_pnl_per_token_used) * 100 * GTOKEN_PRECISION // max_acc


def total_assets(total_supply: int, share_price: int) -> int:
    """ERC-4626 ``totalAssets`` = ``convertToAssets(totalSupply)``, rounding down (collateral precision)."""
    return total_supply * share_price // GTOKEN_PRECISION
