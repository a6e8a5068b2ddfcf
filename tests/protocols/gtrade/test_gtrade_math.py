"""gTrade exact math against hand-computed integers (protocols/gtrade/math.py).

Each expected value below is worked out by hand in the comment above it, step by step in the
contract's order of operations, so a change of rounding (floor instead of Solidity's truncation,
a division moved) turns a test red.
"""

from __future__ import annotations

import pytest

from defi_perps.protocols.gtrade import math as gm

USDC_PD = 10**12           # precisionDelta of a 6-decimal collateral: 10^(18-6)
P = gm.P_10


def test_pnl_percent_long_and_short() -> None:
    # long 10x (leverage 10_000), 2000 → 2100: +5 % × 10 = +50 % = 50e10
    assert gm.pnl_percent(2000 * P, 2100 * P, True, 10_000) == 50 * P
    # short 10x on the same move: −50 %
    assert gm.pnl_percent(2000 * P, 2100 * P, False, 10_000) == -50 * P
    # losses floor at −100 %: long 10x, −20 % move = −200 % → −100 %
    assert gm.pnl_percent(2000 * P, 1600 * P, True, 10_000) == -100 * P


def test_pnl_percent_truncates_toward_zero() -> None:
    # long 0.001x (leverage 1), 3 → 2: (−1e10 · 100 · 1e10 · 1) / 3e10 = −333333333333.3 → −333333333333
    # (Solidity truncates), then / 1000 = −333333333.333 → −333333333. Floor division would give
    # −333333333334 then −333333334.
    assert gm.pnl_percent(3 * P, 2 * P, True, 1) == -333_333_333


def test_profit_cap_v8_and_uncapped() -> None:
    # long 10x, 100 → 250: +150 % × 10 = +1500 %; v8 caps at MAX_PNL_P = 900 %
    assert gm.pnl_percent(100 * P, 250 * P, True, 10_000) == 1500 * P
    assert gm.pnl_percent(100 * P, 250 * P, True, 10_000, gm.MAX_PNL_P_V8) == 900 * P
    # below the cap the cap changes nothing
    assert gm.pnl_percent(100 * P, 150 * P, True, 10_000, gm.MAX_PNL_P_V8) == 500 * P
    # trade value of 100 USDC (1e8 units) at +900 %: (1e8·1e12 + 1e8·1e12·900e10/1e10/100)/1e12 = 1e9
    assert gm.trade_value(10**8, 900 * P, 0, USDC_PD) == 1_000_000_000
    # uncapped +1500 %: (1e20 + 1.5e21) / 1e12 = 1.6e9
    assert gm.trade_value(10**8, 1500 * P, 0, USDC_PD) == 1_600_000_000
    assert gm.profit_cap_collateral(10**8, gm.MAX_PNL_P_V8) == 900_000_000
    assert gm.profit_cap_collateral(10**8, None) is None


def test_trade_value_rounding_and_floor() -> None:
    # 3 units, p = −333333333: c·pd = 3e12; c·pd·p = −999999999e12; / 1e10 = −99999999999.9 →
    # −99999999999; / 100 = −999999999.99 → −999999999; 3e12 − 999999999 = 2999000000001; / 1e12 → 2
    assert gm.trade_value(3, -333_333_333, 0, USDC_PD) == 2
    # fees are taken after the division: 2 − 5 < 0 → 0
    assert gm.trade_value(3, -333_333_333, 5, USDC_PD) == 0
    assert gm.pnl_collateral(3, -333_333_333, USDC_PD) == -1


def test_liq_threshold_interpolation() -> None:
    params = gm.LiquidationParams(max_liq_spread_p=10**8, start_liq_threshold_p=90 * P, end_liq_threshold_p=80 * P,
                                  start_leverage=25_000, end_leverage=100_000)
    # 50x: 90e10 − (25000 · 10e10) / 75000 = 900000000000 − 33333333333 = 866666666667
    assert gm.liq_pnl_threshold_p(params, 50_000) == 866_666_666_667
    assert gm.liq_pnl_threshold_p(params, 25_000) == 90 * P      # inclusive start
    assert gm.liq_pnl_threshold_p(params, 10_000) == 90 * P
    assert gm.liq_pnl_threshold_p(params, 100_000) == 80 * P     # inclusive end (no division by zero)
    assert gm.liq_pnl_threshold_p(params, 150_000) == 80 * P
    # trades opened before v9.2 carry maxLiqSpreadP = 0: the legacy −90 %
    assert gm.liq_pnl_threshold_p(gm.LiquidationParams(), 50_000) == gm.LEGACY_LIQ_THRESHOLD_P
    assert gm.liq_pnl_threshold_p(None, 50_000) == 90 * P


def test_liquidation_price_v8_long() -> None:
    # 1000 USDC (1e9 units), 10x, open 2000, fees 5 USDC:
    # collLiq = 1e9·90e10·1e12·1e3/100/1e10 = 9e23; fees = 5e6·1e12·1e3 = 5e21;
    # dist = 2e13·(9e23 − 5e21)/1e9/1e4/1e12 = 1.79e12 (179 USD); liq = 2000 − 179 = 1821
    assert gm.liquidation_price(2000 * P, True, 10**9, 10_000, 5 * 10**6, USDC_PD) == 1821 * P
    # the same loss as a share of collateral: 10x × 8.95 % = 89.5 % = 90 % − 5/1000
    pnl = gm.pnl_percent(2000 * P, 1821 * P, True, 10_000)
    assert pnl == -895 * P // 10


def test_liquidation_price_short_with_negative_fees_and_spread() -> None:
    # funding received (fees −5 USDC) moves a short's price away: dist = 2e13·(9e23 + 5e21)/1e25 = 1.81e12
    assert gm.liquidation_price(2000 * P, False, 10**9, 10_000, -5 * 10**6, USDC_PD) == 2181 * P
    # v9.2+ closing spread 0.01 % (1e8): dist −= 2e13·1e8/100/1e10 = 2e9 (0.2 USD) → 1821.2
    assert gm.liquidation_price(2000 * P, True, 10**9, 10_000, 5 * 10**6, USDC_PD,
                                closing_spread_p=10**8) == 18_212 * P // 10
    # spread: half the pair spread, capped at maxLiqSpreadP
    params = gm.LiquidationParams(max_liq_spread_p=10**8, start_liq_threshold_p=90 * P, end_liq_threshold_p=90 * P,
                                  start_leverage=2_000, end_leverage=150_000)
    assert gm.liquidation_spread_p(4 * 10**8, params) == 10**8
    assert gm.liquidation_spread_p(10**8, params) == 5 * 10**7


def test_liquidation_price_rounding() -> None:
    # open 123.4567890123 (1234567890123), 777.777777 USDC (777777777), 33.333x (33333), fees 1.234567 USDC:
    # collLiq = 777777777·90e10·1e12·1e3/100/1e10 = 699999999300000000000000 (exact: c·0.9·1e15)
    # fees·pd·1e3 = 1234567000000000000000 → collLiq − fees = 698765432300000000000000
    # open·(…) = 862673365445496995172900000000000000
    # / 777777777 = 1109151470967647607618519036.7… → 1109151470967647607618519036
    # / 33333 = 33274876877798206210617.6… → 33274876877798206210617
    # / 1e12 = 33274876877.79… → 33274876877 (3.3274876877 USD: 33.333x loses 89.84 % at −2.695 %)
    # liq = 1234567890123 − 33274876877 = 1201293013246
    assert gm.liquidation_price(1_234_567_890_123, True, 777_777_777, 33_333, 1_234_567, USDC_PD) == 1_201_293_013_246


def test_liquidation_price_truncates_a_negative_distance_toward_zero() -> None:
    # fees (950 USDC) above the −90 % threshold (900 USDC): the long is liquidatable above its open.
    # open 2000.0000000007 (20000000000007), 1000 USDC, 10x: collLiq − fees = 9e23 − 9.5e23 = −5e22;
    # open·(−5e22) = −1.00000000000035e36; / 1e9 / 1e4 exact; / 1e12 = −100000000000.035 →
    # Solidity −100000000000 (floor division would give −100000000001); liq = open + 1e11
    assert gm.liquidation_price(20_000_000_000_007, True, 10**9, 10_000, 950 * 10**6, USDC_PD) == 20_100_000_000_007


def test_liquidation_trigger_and_fees() -> None:
    assert gm.is_liquidatable(1821 * P, 1821 * P, True)
    assert not gm.is_liquidatable(1821 * P + 1, 1821 * P, True)
    assert gm.is_liquidatable(2181 * P, 2181 * P, False)
    assert not gm.is_liquidatable(2181 * P - 1, 2181 * P, False)
    # 0.08 % (8e8) closing fee on a 10,000 USDC position: 1e10 · 8e8 / 1e10 / 100 = 8e6 (8 USDC)
    assert gm.closing_fee_collateral(10**10, 8 * 10**8) == 8_000_000
    # the min position size is the fee basis when larger
    assert gm.closing_fee_collateral(10**6, 8 * 10**8, 1_500 * 10**6) == 1_200_000
    # 10 % (10e10) liquidation fee on 1000 USDC collateral
    assert gm.liquidation_fee_collateral(10**9, 10 * P) == 10**8
    with pytest.raises(ValueError):
        gm.liquidation_price(2000 * P, True, 0, 10_000, 0, USDC_PD)


def test_gtoken_share_price_and_collateralization() -> None:
    max_acc = gm.max_acc_pnl_per_token(5 * 10**16)            # 1.05e18
    assert max_acc == 1_050_000_000_000_000_000
    # accPnlPerTokenUsed > 0 (traders winning) lowers the share price: 1.05e18 − 2e17
    assert gm.share_to_assets_price(max_acc, 2 * 10**17) == 850_000_000_000_000_000
    # negative used pnl (traders losing) does not raise it
    assert gm.share_to_assets_price(max_acc, -2 * 10**17) == max_acc
    # (1.05e18 − 2e17) · 100 · 1e18 / 1.05e18 = 80.952380952380952380… % → 80952380952380952380
    assert gm.collateralization_p(max_acc, 2 * 10**17) == 80_952_380_952_380_952_380
    # 1e12 shares (1,000,000 of a 6-decimal gToken) at 0.85: 8.5e11 units
    assert gm.total_assets(10**12, 850_000_000_000_000_000) == 850_000_000_000
