"""Synthetix perps v3 rules in exact ints, against hand-computed numbers (protocols/synthetix_v3/math.py)."""

from __future__ import annotations

from defi_perps.protocols.synthetix_v3 import math as sm

E18 = 10**18
ETH = sm.MarketConfig(skew_scale=1_000_000 * E18, maker_fee=2 * 10**14, taker_fee=5 * 10**14,
                      initial_margin_ratio=2 * E18, minimum_initial_margin_ratio=10**16,
                      maintenance_margin_scalar=E18 // 2, flag_reward_ratio=3 * 10**14,
                      minimum_position_margin=50 * E18, max_liquidation_limit_accumulation_multiplier=E18,
                      max_seconds_in_liquidation_window=30, max_liquidation_pd=5 * 10**14)
GUARDS = sm.KeeperGuards(min_keeper_reward_usd=E18, min_keeper_profit_ratio=2 * 10**17, max_keeper_reward_usd=500 * E18,
                         max_keeper_scaling_ratio=10**17, collateral_liquidate_reward_ratio=10**14)


def test_solidity_division_truncates_toward_zero() -> None:
    assert sm.mul_dec(-3, E18 // 2) == -1          # Python's // would give −2
    assert sm.mul_dec(3, E18 // 2) == 1
    assert sm.tdiv(-7, 2) == -3 and sm.tdiv(7, -2) == -3 and sm.tdiv(-7, -2) == 3
    assert sm.ceil_divide(10, 3) == 4 and sm.ceil_divide(9, 3) == 3 and sm.ceil_divide(5, 0) == 0


def test_required_margins_by_hand() -> None:
    # 100 ETH at $3,000: impact 100/1e6 = 0.0001; IMR = 0.0001·2 + 0.01 = 1.02 %; MMR = 0.51 %;
    # notional $300,000; IM = $3,060 + $50 flat; MM = $1,530 + $50 flat
    m = sm.required_margins(ETH, 100 * E18, 3000 * E18)
    assert m.initial_margin_ratio == 102 * 10**14 and m.maintenance_margin_ratio == 51 * 10**14
    assert m.initial_margin == 3110 * E18 and m.maintenance_margin == 1580 * E18
    assert sm.required_margins(ETH, -100 * E18, 3000 * E18) == m      # side does not matter
    assert sm.required_margins(ETH, 0, 3000 * E18) == sm.Margins(0, 0, 0, 0)
    # size-scaled: ten times the size needs a higher ratio (IMR 1.2 %, MMR 0.6 %)
    big = sm.required_margins(ETH, 1000 * E18, 3000 * E18)
    assert big.maintenance_margin_ratio == 6 * 10**15 and big.maintenance_margin == 18_050 * E18


def test_window_cap_and_rewards_by_hand() -> None:
    # (0.0002 + 0.0005) · 1e6 ETH · 1 · 30 s = 21,000 ETH per window
    assert sm.max_liquidation_amount_in_window(ETH) == 21_000 * E18
    assert sm.number_of_liquidation_windows(ETH, 100 * E18) == 1
    assert sm.number_of_liquidation_windows(ETH, -50_000 * E18) == 3     # ceil(50,000 / 21,000)
    # flag reward 0.03 % of $300,000 = $90 > collateral reward 0.01 % of $10,000; keeper cost $0.8:
    # min cap max($1.8, $0.96), max cap min($1,000, $500) → $90.8
    acct = sm.account_required_margins([(ETH, 100 * E18, 3000 * E18)], 10_000 * E18, GUARDS, E18 // 2, 3 * E18 // 10)
    assert (acct.maintenance_margin, acct.liquidation_reward, acct.windows) == (1580 * E18, 908 * E18 // 10, 1)
    assert sm.is_eligible_for_liquidation(1670 * E18, acct) and not sm.is_eligible_for_liquidation(1671 * E18, acct)
    # three windows add keeperReward(0, $0.3, 0) = max($1.3, $0.36) = $1.3 per extra window
    three = sm.account_required_margins([(ETH, 50_000 * E18, 3000 * E18)], 10_000 * E18, GUARDS, E18 // 2,
                                        3 * E18 // 10)
    assert three.windows == 3
    # flag reward $45,000 → capped by the scaled maximum min($1,000, $500) = $500; + 2 × $1.3
    assert three.liquidation_reward == 500 * E18 + 2 * 13 * E18 // 10
    assert sm.keeper_reward(GUARDS, 0, 0, 0) == E18                     # the minimum reward alone


def test_liquidation_capacity_over_the_window() -> None:
    now = 1_000_000
    entries = [(now - 120, 40 * E18), (now - 10, 150 * E18), (now - 5, 60 * E18)]
    cap, in_window, latest = sm.liquidation_capacity(ETH, entries, now)
    assert (cap, in_window, latest) == (21_000 * E18 - 210 * E18, 21_000 * E18, now - 5)
    assert sm.liquidation_capacity(ETH, [], now) == (21_000 * E18, 21_000 * E18, 0)
    # an entry exactly at now − window is outside it (the contract's `timestamp > windowStart`)
    assert sm.liquidation_capacity(ETH, [(now - 30, 5 * E18)], now)[0] == 21_000 * E18
    assert sm.liquidation_capacity(ETH, [(now, 30_000 * E18)], now)[0] == 0


def test_max_liquidatable_amount_branches() -> None:
    now, w = 1_000_000, 21_000 * E18
    assert sm.max_liquidatable_amount(ETH, 500 * E18, 100 * E18, w, now - 1, now, 0) == 100 * E18   # capacity left
    # no capacity, skew / skewScale = 0.0001 < maxLiquidationPd 0.0005, last liquidation in an earlier block
    assert sm.max_liquidatable_amount(ETH, 50_000 * E18, 0, w, now - 1, now, 100 * E18) == w
    assert sm.max_liquidatable_amount(ETH, 50_000 * E18, 0, w, now, now, 100 * E18) == 0          # same block
    assert sm.max_liquidatable_amount(ETH, 50_000 * E18, 0, w, now - 1, now, 600 * E18) == 0     # skew too large
    endorsed = sm.MarketConfig(**{**ETH.__dict__, "endorsed_liquidator": "0x00000000000000000000000000000000000000e1"})
    assert sm.max_liquidatable_amount(endorsed, 9 * w, 0, w, now, now, 10**30,
                                      sender="0x00000000000000000000000000000000000000E1") == 9 * w
