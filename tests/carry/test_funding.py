"""Funding rules against the venues' documented examples (defi_perps/venues/funding.py)."""

import math

import pytest

from defi_perps.exceptions import InputError
from defi_perps.venues import funding as fu

P = fu.FLOAT_PRECISION


def test_binance_dead_band_gives_the_interest_rate():
    # "as long as the premium index is between -0.04% and 0.06%, the funding rate will equal 0.01%"
    b = fu.rule_for("binance")
    for prem in (-0.0004, -0.0001, 0.0, 0.0003, 0.0006):
        assert b.rate(prem) == pytest.approx(0.0001, abs=1e-15)
    # outside the band the clamp binds: P + 0.05 % / P − 0.05 %
    assert b.rate(0.001) == pytest.approx(0.0005)
    assert b.rate(-0.001) == pytest.approx(-0.0005)
    assert b.apr(b.rate(0.0)) == pytest.approx(0.0001 * 3 * 365)   # 10.95 %/yr baseline


def test_binance_cap_and_premium_index():
    b = fu.rule_for("binance")
    assert b.rate(0.05) == pytest.approx(0.0075)   # per-symbol cap
    # impact bid above index: positive premium; impact ask below index: negative
    assert fu.premium_index(100.1, 100.2, 100.0) == pytest.approx(0.001)
    assert fu.premium_index(99.7, 99.8, 100.0) == pytest.approx(-0.002)
    assert fu.premium_index(99.9, 100.1, 100.0) == 0.0
    # linearly increasing weights: 1·a + 2·b over 3
    assert fu.time_weighted_premium([0.0, 0.003]) == pytest.approx(0.002)


def test_hyperliquid_hourly_eighth_and_cap():
    h = fu.rule_for("hyperliquid")
    assert h.rate(0.0) == pytest.approx(0.0001 / 8)          # 0.00125 %/h
    assert h.apr(h.rate(0.0)) == pytest.approx(0.1095)        # "≈ 10.95 % APR baseline paid to shorts"
    assert h.rate(0.001) == pytest.approx(0.0005 / 8)
    assert h.rate(10.0) == pytest.approx(0.04)                # 4 %/hour cap
    assert h.rate(-10.0) == pytest.approx(-0.04)


def test_okx_bybit_families():
    assert fu.rule_for("okx").rate(0.0) == pytest.approx(0.0001)
    assert fu.rule_for("okx").rate(0.01) == pytest.approx(0.00375)
    assert fu.rule_for("bybit").rate(0.0002) == pytest.approx(0.0001)
    with pytest.raises(InputError):
        fu.rule_for("nope")
    with pytest.raises(InputError):
        fu.rule_for("binance").rate(math.nan)


def test_gmx_static_funding_from_imbalance():
    cfg = fu.GmxFundingConfig(funding_factor=2 * 10 ** 22, max_factor_per_second=10 ** 22)
    # longs 300, shorts 100: skew 0.5 → 0.5 × 2e-8 = 1e-8 per second, longs pay
    f, longs_pay, _ = fu.gmx_funding_factor_per_second(300 * P, 100 * P, cfg)
    assert (f, longs_pay) == (10 ** 22, True)
    assert fu.gmx_apr(f) == pytest.approx(1e-8 * 365 * 24 * 3600)
    # more shorts: shorts pay; a bigger skew hits the max
    f, longs_pay, _ = fu.gmx_funding_factor_per_second(0, 100 * P, fu.GmxFundingConfig(
        funding_factor=2 * 10 ** 22, max_factor_per_second=10 ** 22))
    assert (f, longs_pay) == (10 ** 22, False)
    assert fu.gmx_funding_factor_per_second(5 * P, 5 * P, cfg) == (0, True, 0)
    with pytest.raises(InputError):
        fu.gmx_funding_factor_per_second(0, 0, fu.GmxFundingConfig(increase_factor_per_second=1))


def test_gmx_adaptive_increase_decrease_and_flip():
    cfg = fu.GmxFundingConfig(increase_factor_per_second=10 ** 18, decrease_factor_per_second=10 ** 15,
                              threshold_stable=4 * 10 ** 28, threshold_decrease=2 * 10 ** 28,
                              min_factor_per_second=10 ** 14, max_factor_per_second=10 ** 24)
    # skew 0.5 > stable threshold 0.04, longs heavier, saved 0 (not same direction) → increase
    f, longs_pay, nxt = fu.gmx_funding_factor_per_second(300 * P, 100 * P, cfg, saved_factor=0, duration_s=100)
    assert nxt == 5 * 10 ** 29 * 10 ** 18 // P * 100 == 5 * 10 ** 19
    assert (f, longs_pay) == (5 * 10 ** 19, True)
    # skew 0.01 < decrease threshold, same direction → decays by 1e15 × dt
    f, _, nxt = fu.gmx_funding_factor_per_second(101 * P, 99 * P, cfg, saved_factor=5 * 10 ** 19, duration_s=10)
    assert nxt == 5 * 10 ** 19 - 10 ** 16
    # between the thresholds: no change
    _, _, nxt = fu.gmx_funding_factor_per_second(103 * P, 97 * P, cfg, saved_factor=5 * 10 ** 19, duration_s=10)
    assert nxt == 5 * 10 ** 19
    # decay past zero stops at magnitude 1 with the sign kept; min bound lifts the returned rate
    f, longs_pay, nxt = fu.gmx_funding_factor_per_second(101 * P, 99 * P, cfg, saved_factor=10 ** 15, duration_s=10)
    assert nxt == 1 and f == 10 ** 14 and longs_pay
    # skew flips against the saved sign → the factor moves toward the now-heavier shorts
    _, longs_pay, nxt = fu.gmx_funding_factor_per_second(100 * P, 300 * P, cfg, saved_factor=5 * 10 ** 19,
                                                         duration_s=100)
    assert nxt == 0
    # max bound
    _, _, nxt = fu.gmx_funding_factor_per_second(400 * P, 0, cfg, saved_factor=0, duration_s=10 ** 9)
    assert nxt == 10 ** 24
