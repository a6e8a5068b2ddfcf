"""Liquidity that withdraws, mechanism by mechanism, on cases built by hand (engine/liquidity_nb.py):
a volatility spike takes depth down by the documented factor and it recovers at the rate; the
makers' drawdown and ADL against them shrink it; near-mid quotes go first, wide bands stay bid."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from defi_perps.engine import liquidity_nb as L
from defi_perps.engine.liquidity import (MakerState, Withdrawal, band_exponents, load_withdrawal, parse_withdrawal,
                                         withdrawal_arrays)
from defi_perps.engine.rules import GENERIC
from defi_perps.exceptions import ConfigError, EngineInputError
from defi_perps.scenarios import shock_base_path

SPIKE = Withdrawal(normal_volatility=0.5, vol_half_life_s=0.0, free_vol_ratio=3.0, k_vol=0.3, k_drawdown=0.0,
                   k_adl=0.0, recovery_half_life_s=60.0, min_multiplier=0.01)


def _calm_book() -> Book:
    """Two 1.5x positions: nothing is liquidated by a 5 % move, so the mark is the exogenous price."""
    return Book(market_names=["AAA"], price=np.array([100.0]), market=np.array([0, 0], np.int32),
                side=np.array([1, -1], np.int8), size=np.array([10.0, 10.0]), entry_price=np.array([100.0, 100.0]),
                collateral_usd=np.array([700.0, 700.0]), collateral_tokens=np.zeros(2),
                account=np.array([0, 1], np.int32))


@pytest.mark.parametrize("engine", ["numba", "reference"])
def test_one_vol_spike_drops_depth_by_the_documented_factor_and_it_recovers_at_the_rate(engine):
    book = _calm_book()
    base = shock_base_path("-5%@1m", book.market_names, 8, 60.0)
    cfg = SimulationConfig(n_paths=1, n_steps=8, seed=1, n_detail=1)
    r = simulate(book, GENERIC, PriceModel(volatility=0.0), DepthSpec(), None, cfg, base_log=base, engine=engine,
                 withdrawal=SPIKE)
    w = r.outputs.det_wd[0, :, 0]
    sigma_ref = 0.5 * math.sqrt(60.0 / (365 * 86400))
    r1 = abs(math.log(0.95))
    expected = math.exp(-0.3 * (r1 / sigma_ref - 3.0))
    assert w[0] == 1.0
    assert w[1] == pytest.approx(max(expected, 0.01), rel=1e-12)
    rho = 0.5   # recovery half-life = one step
    for t in range(2, 9):
        assert 1.0 - w[t] == pytest.approx((1.0 - w[1]) * (1.0 - rho) ** (t - 1), rel=1e-9)
    assert r.outputs.wd_min[0, 0] == w[1]
    assert r.outputs.wd_thin[0, 0] == int(np.sum(w[1:] < 0.1))


def test_without_withdrawal_nothing_moves():
    book = _calm_book()
    base = shock_base_path("-5%@1m", book.market_names, 8, 60.0)
    cfg = SimulationConfig(n_paths=1, n_steps=8, seed=1, n_detail=1)
    r = simulate(book, GENERIC, PriceModel(volatility=0.0), DepthSpec(), None, cfg, base_log=base)
    assert np.all(r.outputs.det_wd == 1.0) and np.all(r.outputs.wd_min == 1.0) and r.withdrawal is None


def _update_both(w: Withdrawal, calls):
    """Run ``calls`` (mark, pre, q, integral, adl_total) through the kernel's update and the twin's."""
    bx = np.array([[0.005, 0.01, 0.02, 0.05, 0.10]])
    bd = np.array([[100.0, 200.0, 300.0, 600.0, 900.0]])
    arr = withdrawal_arrays(w, "bands", bx, bd, 60.0)
    par, cap = arr["wd_par"], float(arr["wd_cap"][0])
    ls = L.liquidity_state(np.array([100.0]), par)
    twin = MakerState(np.array([100.0]), par)
    out = []
    for mark, pre, q, integ, adl in calls:
        a = L.liquidity_update(ls, 0, mark, pre, q, integ, adl, par, cap)
        b = twin.update(0, mark, pre, q, integ, adl, par, cap)
        assert a == pytest.approx(b, rel=1e-12)
        out.append(a)
    return out, ls, cap


def test_makers_drawdown_shrinks_depth():
    # a very slow recovery (the high-water mark forgets ~4e-8 of the gap per step)
    w = dataclasses.replace(SPIKE, k_vol=0.0, k_drawdown=5.0, inventory_half_life_s=0.0, recovery_half_life_s=1e9)
    # makers buy 10 tokens of a 1,000 USD sell flow 1 % under the pre-trade price (integral 10): cash -990
    (w1,), ls, cap = _update_both(w, [(90.0, 100.0, -1000.0, 10.0, 0.0)])
    assert cap == 900.0   # capital_multiple 1 × the full curve's depth
    # inventory_half_life 0 = unwound at once, at the mark: P&L 10 × 90 − 990 = −90, drawdown 0.1 of capital
    assert ls[0, L.LS_INV] == 0.0 and ls[0, L.LS_CASH] == pytest.approx(-90.0)
    assert w1 == pytest.approx(math.exp(-5.0 * 90.0 / 900.0), rel=1e-6)


def test_adl_against_makers_shrinks_depth_once_and_it_recovers():
    w = dataclasses.replace(SPIKE, k_vol=0.0, k_adl=10.0, recovery_half_life_s=60.0)
    ws, _, cap = _update_both(w, [(100.0, 100.0, 0.0, 0.0, 90.0), (100.0, 100.0, 0.0, 0.0, 90.0)])
    assert ws[0] == pytest.approx(math.exp(-10.0 * 90.0 / cap), rel=1e-12)   # exp(-1)
    assert 1.0 - ws[1] == pytest.approx(0.5 * (1.0 - ws[0]), rel=1e-12)       # the same ADL total: no new event


def test_near_mid_goes_first_and_wide_bands_stay_bid():
    w = load_withdrawal()
    e = band_exponents(w, np.array([0.005, 0.01, 0.02, 0.05, 0.10]))
    assert e[0] == 1.0 and np.all(np.diff(e) < 0)
    at_floor = w.min_multiplier ** e
    # Kaiko (incidents.md §1.5): near mid "empty", "only wider bands such as 4% and 10% … showed meaningful bids"
    assert at_floor[0] == pytest.approx(0.02) and at_floor[-1] > 0.5 and at_floor[3] > 0.4
    # the curve stays increasing under any withdrawal, so the walk stays defined
    curve = np.array([100.0, 200.0, 300.0, 600.0, 900.0])
    for x in (1.0, 0.5, 0.1, w.min_multiplier):
        assert np.all(np.diff(curve * x ** e) > 0)


def test_the_parameter_file_is_sourced_and_bad_files_are_refused(tmp_path):
    w = load_withdrawal()
    assert w.k_vol > 0 and 0 < w.min_multiplier < 1
    good = (tmp_path / "w.toml")
    good.write_text('[withdrawal]\nk_vol = 0.5\n[sources]\n"withdrawal.k_vol" = "mine"\n')
    from defi_perps.engine.liquidity import load_withdrawal as load

    assert load(good).k_vol == 0.5 and load(good).k_drawdown == w.k_drawdown
    with pytest.raises(ConfigError, match="no entry in \\[sources\\]"):
        parse_withdrawal('[withdrawal]\nk_vol = 0.5\n', "x")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_withdrawal('[withdrawal]\nk_vool = 0.5\n[sources]\n"withdrawal.k_vool" = "x"\n', "x")
    with pytest.raises(ConfigError, match="min_multiplier"):
        parse_withdrawal('[withdrawal]\nmin_multiplier = 0.0\n[sources]\n"withdrawal.min_multiplier" = "x"\n', "x")
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml")


def test_withdrawal_needs_band_depth():
    with pytest.raises(EngineInputError, match="band depth"):
        withdrawal_arrays(load_withdrawal(), "linear", np.zeros((1, 1)), np.ones((1, 1)), 60.0)
