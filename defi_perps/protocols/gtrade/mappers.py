"""Pure mappers: decoded GNSMultiCollatDiamond / GToken answers → gTrade records (ints stay ints).

Tuple layouts are the ABI's (abis/gtrade/GNSMultiCollatDiamond.json, GainsNetwork-org/sdk
abi/ @ a8c6987d):

* ``Trade``: (user, index, pairIndex, leverage 1e3, long, isOpen, collateralIndex, tradeType,
  collateralAmount, openPrice 1e10, tp, sl, isCounterTrade, positionSizeToken 1e18, placeholder);
* ``TradeInfo``: (createdBlock, tpLastUpdatedBlock, slLastUpdatedBlock, maxSlippageP,
  lastOiUpdateTs, collateralPriceUsd 1e8, contractsVersion, lastPosIncreaseBlock, placeholder);
* ``GroupLiquidationParams``: (maxLiqSpreadP, startLiqThresholdP, endLiqThresholdP 1e10,
  startLeverage, endLeverage 1e3);
* ``TradeFeesData``: (realizedTradingFeesCollateral, realizedPnlCollateral, manuallyRealized…,
  alreadyTransferred…, virtualAvailableCollateralInDiamond, placeholder, initialAccFundingFeeP,
  initialAccBorrowingFeeP);
* ``TradeHoldingFees``: (fundingFeeCollateral, borrowingFeeCollateral, borrowingFeeCollateral_old,
  totalFeeCollateral);
* ``Pair``: (from, to, (feed1, feed2, feedCalculation, maxDeviationP), spreadP, groupIndex, feeIndex).

Reference prices: gTrade's executions use its Chainlink DON median, which exists only inside the
callback transaction; the on-chain price at a block is the pair's Chainlink feed the aggregator
checks answers against (``Feed.feed1``/``feed2``, ``feedCalculation`` DEFAULT = feed1, INVERT =
1/feed1, COMBINE = feed1/feed2) — :func:`pair_price` converts it to 1e10.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from defi_perps.exceptions import InputError
from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.math import P_10, LiquidationParams

ZERO = "0x0000000000000000000000000000000000000000"
FEED_DEFAULT, FEED_INVERT, FEED_COMBINE = 0, 1, 2


def liquidation_params(raw: Any) -> LiquidationParams:
    return LiquidationParams(*(int(x) for x in raw))


def is_empty_trade(raw: Any) -> bool:
    """``getAllTrades`` pads its array with zeroed structs (collateralIndex 0)."""
    return int(raw[6]) == 0


def trade_from_raw(raw: Any, info: Any, liq: Any) -> R.Trade:
    """Trade + TradeInfo + liquidation params of the same global index → record (fees filled later)."""
    return R.Trade(
        trader=to_checksum_address(raw[0]), index=int(raw[1]), pair_index=int(raw[2]), leverage=int(raw[3]),
        long=bool(raw[4]), collateral_index=int(raw[6]), trade_type=int(raw[7]), collateral_amount=int(raw[8]),
        open_price=int(raw[9]), tp=int(raw[10]), sl=int(raw[11]), is_counter_trade=bool(raw[12]),
        position_size_token=int(raw[13]), created_block=int(info[0]), contracts_version=int(info[6]),
        collateral_price_usd_at_open=int(info[5]), liquidation=liquidation_params(liq))


def with_fees(t: R.Trade, fees_data: Any, holding: Any) -> R.Trade:
    from dataclasses import replace

    return replace(t, realized_trading_fees_collateral=int(fees_data[0]), realized_pnl_collateral=int(fees_data[1]),
                   initial_acc_borrowing_fee_p=int(fees_data[7]), funding_fee_collateral=int(holding[0]),
                   borrowing_fee_collateral=int(holding[1]), borrowing_fee_collateral_old=int(holding[2]),
                   holding_fee_collateral=int(holding[3]))


def collateral_from_raw(index: int, raw: Any, symbol: str, decimals: int, price_usd: int, gtoken: str) -> R.Collateral:
    token, active, _ph, precision, pdelta = raw
    if int(precision) != 10**decimals or int(pdelta) != 10 ** (18 - decimals):
        raise InputError(f"collateral {index} ({symbol}): precision {precision} / precisionDelta {pdelta} do not "
                         f"match its {decimals} ERC-20 decimals")
    return R.Collateral(index=index, token=to_checksum_address(token), symbol=symbol, decimals=decimals,
                        is_active=bool(active), precision=int(precision), precision_delta=int(pdelta),
                        price_usd=int(price_usd), gtoken=to_checksum_address(gtoken))


def group_from_raw(index: int, raw: Any, liq: Any) -> R.Group:
    name, _job, lo, hi = raw
    return R.Group(index=index, name=str(name), min_leverage=int(lo), max_leverage=int(hi),
                   liquidation=liquidation_params(liq))


def fee_from_raw(index: int, raw: Any) -> R.FeeGroup:
    return R.FeeGroup(index=index, total_position_size_fee_p=int(raw[0]), total_liq_collateral_fee_p=int(raw[1]),
                      oracle_position_size_fee_p=int(raw[2]), min_position_size_usd=int(raw[3]))


def pair_from_raw(index: int, raw: Any, max_leverage: int, liq: Any) -> R.Pair:
    base, quote, feed, spread, group, fee = raw
    return R.Pair(index=index, base=str(base), quote=str(quote), feed1=to_checksum_address(feed[0]),
                  feed2=to_checksum_address(feed[1]), feed_calculation=int(feed[2]), max_deviation_p=int(feed[3]),
                  spread_p=int(spread), group_index=int(group), fee_index=int(fee), max_leverage=int(max_leverage),
                  liquidation=liquidation_params(liq))


def pair_price(calc: int, answer1: int, decimals1: int, answer2: int | None = None,
               decimals2: int | None = None) -> int:
    """A pair's reference price in 1e10 from its Chainlink answer(s), rounding down."""
    if answer1 <= 0:
        raise InputError(f"feed answer {answer1} is not a positive price")
    if calc == FEED_DEFAULT:
        return answer1 * P_10 // 10**decimals1
    if calc == FEED_INVERT:
        return 10**decimals1 * P_10 // answer1
    if calc == FEED_COMBINE:
        if answer2 is None or decimals2 is None or answer2 <= 0:
            raise InputError("a COMBINE feed needs a positive second answer")
        return answer1 * 10**decimals2 * P_10 // (answer2 * 10**decimals1)
    raise InputError(f"unknown feedCalculation {calc}")


def vault_from_values(collateral_index: int, address: str, v: dict[str, Any]) -> R.Vault:
    return R.Vault(
        collateral_index=collateral_index, address=to_checksum_address(address), symbol=str(v["symbol"]),
        decimals=int(v["decimals"]), total_supply=int(v["totalSupply"]), total_assets=int(v["totalAssets"]),
        share_to_assets_price=int(v["shareToAssetsPrice"]), acc_pnl_per_token=int(v["accPnlPerToken"]),
        acc_pnl_per_token_used=int(v["accPnlPerTokenUsed"]), max_acc_pnl_per_token=int(v["maxAccPnlPerToken"]),
        collateralization_p=int(v["collateralizationP"]), current_epoch=int(v["currentEpoch"]),
        current_epoch_start=int(v["currentEpochStart"]), max_acc_open_pnl_delta=int(v["maxAccOpenPnlDelta"]),
        total_deposited=int(v["totalDeposited"]), total_closed_pnl=int(v["totalClosedPnl"]),
        total_liability=int(v["totalLiability"]), total_rewards=int(v["totalRewards"]),
        withdraw_epochs_timelock=int(v["withdrawEpochsTimelock"]))


VAULT_FIELDS = ("symbol", "decimals", "totalSupply", "totalAssets", "shareToAssetsPrice", "accPnlPerToken",
                "accPnlPerTokenUsed", "maxAccPnlPerToken", "collateralizationP", "currentEpoch", "currentEpochStart",
                "maxAccOpenPnlDelta", "totalDeposited", "totalClosedPnl", "totalLiability", "totalRewards",
                "withdrawEpochsTimelock")
