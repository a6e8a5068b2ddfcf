"""gTrade mappers (pure): decoded ABI tuples → records, and reference prices from Chainlink answers."""

from __future__ import annotations

import pytest

from defi_perps.exceptions import InputError
from defi_perps.protocols.gtrade import mappers as M
from defi_perps.protocols.gtrade.math import LiquidationParams

TRADER = "0x" + "ab" * 20


def test_pair_price_from_feeds_in_1e10() -> None:
    # DEFAULT: an 8-decimal answer 3000.12345678 → 3000.12345678 × 1e10
    assert M.pair_price(M.FEED_DEFAULT, 300_012_345_678, 8) == 30_001_234_567_800
    # INVERT (USD/JPY from a JPY/USD feed): 1 / 0.00666667 = 149.99992… → floor at 1e10
    assert M.pair_price(M.FEED_INVERT, 666_667, 8) == 1_499_999_250_000
    # COMBINE (feed1 / feed2): 3000 / 60000 (18 and 8 decimals) = 0.05
    assert M.pair_price(M.FEED_COMBINE, 3000 * 10**18, 18, 60_000 * 10**8, 8) == 500_000_000
    with pytest.raises(InputError):
        M.pair_price(M.FEED_DEFAULT, 0, 8)
    with pytest.raises(InputError):
        M.pair_price(M.FEED_COMBINE, 1, 8)
    with pytest.raises(InputError):
        M.pair_price(7, 1, 8)


def test_trade_tuple_maps_field_by_field() -> None:
    raw = (TRADER, 3, 1, 25_000, True, True, 3, 0, 1_000_000_000, 2_000 * 10**10, 0, 0, False, 5 * 10**18, 0)
    info = (123, 0, 0, 1000, 1_767_000_000, 99_990_000, 2, 123, 0)
    liq = (5 * 10**8, 90 * 10**10, 80 * 10**10, 10_000, 150_000)
    t = M.trade_from_raw(raw, info, liq)
    assert (t.index, t.pair_index, t.leverage, t.long, t.collateral_index, t.trade_type) == (3, 1, 25_000, True, 3, 0)
    assert t.trader.lower() == TRADER and t.key == f"{TRADER}:3"
    assert (t.collateral_amount, t.open_price, t.position_size_token) == (10**9, 2 * 10**13, 5 * 10**18)
    assert (t.created_block, t.contracts_version, t.collateral_price_usd_at_open) == (123, 2, 99_990_000)
    assert t.liquidation == LiquidationParams(5 * 10**8, 90 * 10**10, 80 * 10**10, 10_000, 150_000)
    fees = (7, -11, 0, 0, 0, 0, 0, 42)
    holding = (-3, 5, 1, 3)
    f = M.with_fees(t, fees, holding)
    assert (f.realized_trading_fees_collateral, f.realized_pnl_collateral, f.initial_acc_borrowing_fee_p) == (7, -11, 42)
    assert (f.funding_fee_collateral, f.borrowing_fee_collateral, f.borrowing_fee_collateral_old,
            f.holding_fee_collateral) == (-3, 5, 1, 3)
    # getAllTrades pads its pages with zeroed structs (collateralIndex 0)
    assert M.is_empty_trade(("0x" + "00" * 20, 0, 0, 0, False, False, 0, 0, 0, 0, 0, 0, False, 0, 0))
    assert not M.is_empty_trade(raw)


def test_collateral_precision_must_match_decimals() -> None:
    ok = M.collateral_from_raw(3, (TRADER, True, 0, 10**6, 10**12), "USDC", 6, 99_990_000, TRADER)
    assert (ok.precision, ok.precision_delta, ok.price_usd) == (10**6, 10**12, 99_990_000)
    with pytest.raises(InputError, match="precisionDelta"):
        M.collateral_from_raw(3, (TRADER, True, 0, 10**6, 10**12), "USDC", 18, 99_990_000, TRADER)
