"""Hand-checked mechanics on deterministic paths (volatility 0)."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.engine import nb
from defi_perps.scenarios import shock_base_path

STILL = PriceModel(volatility=0.0)


def _book(sides, sizes, entries, colls, price=100.0, pool_long=0.0, pool_short=0.0):
    n = len(sides)
    return Book(market_names=["X"], price=[price], market=np.zeros(n), side=sides, size=sizes, entry_price=entries,
                collateral_usd=colls, collateral_tokens=np.zeros(n), account=np.arange(n),
                pool_long_tokens=[pool_long], pool_short_usd=[pool_short])


def _run(book, rules, shock, steps=20, stress=1e6, **kw):
    base = shock_base_path(shock, book.market_names, steps, 60.0)
    return simulate(book, rules, STILL, DepthSpec(kind="linear", k_usd=1e9, stress=stress, **kw),
                    config=SimulationConfig(n_paths=2, n_steps=steps, seed=0, n_detail=2), base_log=base)


def test_single_long_liquidated_once_with_hand_computed_bad_debt():
    # 10x long: entry 100, collateral 10; MM 1% of mark -> threshold (100 - 10) / 0.99 = 90.909
    book = _book([1], [1.0], [100.0], [10.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.005)
    r = _run(book, rules, "-20%@10m")
    o = r.outputs
    assert o.liq_count[:, 0, 0].tolist() == [1, 1]
    marks = o.det_mark[0, :, 0]
    t = int(np.argmax(marks <= 100.0 / 0.99 * 0.9 + 1e-12))  # first step at or below the threshold
    px = marks[t]          # deep linear book: the fill is the mark (slippage ~1e-9)
    equity = 10.0 + (px - 100.0)
    fee = min(max(equity, 0.0), 0.005 * px)
    assert o.liq_notional[0, 0, 0] == pytest.approx(px, rel=1e-6)
    assert r.bad_debt[0] == pytest.approx(max(fee - equity, 0.0), abs=1e-5)
    assert o.scalars[0, nb.ST_FEE_INSURANCE] == pytest.approx(fee, abs=1e-6)
    # both paths identical: volatility 0
    np.testing.assert_array_equal(o.final_mark[0], o.final_mark[1])


def test_gap_through_bankruptcy_leaves_bad_debt_for_the_fund_then_shortfall():
    book = _book([1, 1], [1.0, 1.0], [100.0, 100.0], [5.0, 5.0])   # 20x longs
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, insurance_initial=3.0)
    r = _run(book, rules, "-30%@1m", steps=3)     # one 30 % gap: each loses 25 beyond collateral
    s = r.outputs.scalars[0]
    assert s[nb.ST_BAD_DEBT] == pytest.approx(50.0, rel=1e-6)
    assert s[nb.ST_INSURANCE_PAID] == pytest.approx(3.0)
    assert s[nb.ST_SHORTFALL] == pytest.approx(47.0, rel=1e-6)
    assert r.adl["paths_with_shortfall"] == 2


def test_thin_book_amplifies_the_drop():
    rng = np.random.default_rng(0)
    n = 400
    entries = np.full(n, 100.0)
    lev = rng.choice([5.0, 10.0, 20.0, 50.0], n)
    book = _book(np.ones(n), np.full(n, 10.0), entries, 1000.0 / lev)
    base = shock_base_path("-5%@5m", ["X"], 30, 60.0)
    thin = simulate(book, make_rules(), STILL, DepthSpec(stress=0.05), config=SimulationConfig(n_paths=1, n_steps=30),
                    base_log=base)
    deep = simulate(book, make_rules(), STILL, DepthSpec(stress=50.0), config=SimulationConfig(n_paths=1, n_steps=30),
                    base_log=base)
    assert thin.amplification()[0, 0] > deep.amplification()[0, 0] >= 1.0
    assert thin.outputs.liq_count.sum() > deep.outputs.liq_count.sum()
    assert thin.outputs.min_mark[0, 0] < thin.outputs.min_exog[0, 0]


def test_oracle_venue_without_feedback_does_not_move_the_price_and_pool_gains():
    book = _book([1] * 3, [1.0] * 3, [100.0] * 3, [10.0] * 3, pool_short=1000.0)
    rules = make_rules(exec_mode="oracle", mm_rate=0.01, mm_on_entry_notional=True, liq_fee_dest="pool",
                       bad_debt_absorber="pool", liq_fee_rate=0.002)
    r = _run(book, rules, "-15%@10m")
    o = r.outputs
    np.testing.assert_allclose(o.min_mark, o.min_exog)
    assert o.liq_count.sum() == 6
    marks = o.det_mark[0, :, 0]
    px = marks[int(np.argmax(marks <= 91.0))]     # threshold (1 + 100 - 10) / 1 on entry notional
    equity = 10.0 + px - 100.0
    rest = equity - min(max(equity, 0.0), 0.002 * px)
    # the pool keeps what the traders lost, fees included (they are routed to the pool)
    assert o.scalars[0, nb.ST_POOL_PNL] == pytest.approx(3 * (10.0 - max(rest, 0.0)), rel=1e-9)


def test_pnl_factor_adl_brings_the_factor_back_to_the_minimum():
    # shorts gain when the price falls; the short-side pool is small, so pnl/pool crosses the maximum
    book = _book([-1], [10.0], [100.0], [500.0], pool_short=200.0)
    rules = make_rules(exec_mode="oracle", adl_trigger="pnl_factor", max_pnl_factor_adl=0.85,
                       min_pnl_factor_after_adl=0.77, bad_debt_absorber="pool")
    r = _run(book, rules, "-20%@10m")
    o = r.outputs
    assert o.adl_count[0, 0, 1] >= 1
    ev = o.events[0, : o.n_events[0]]
    assert set(ev["kind"].tolist()) == {nb.EV_ADL_PNL_FACTOR}
    # after the first ADL the factor sits at the minimum: pnl' / pool' == 0.77
    first = ev[0]
    t = int(first["step"])
    mark = o.det_mark[0, t, 0]
    f = first["notional"] / (10.0 * mark)
    pnl = 10.0 * (100.0 - mark)
    assert (1 - f) * pnl / (200.0 - f * pnl) == pytest.approx(0.77, rel=1e-9)


def test_negative_equity_adl_at_bankruptcy_covers_the_loss():
    book = _book([1, -1], [1.0, 1.0], [100.0, 100.0], [5.0, 50.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="bankruptcy")
    r = _run(book, rules, "-30%@1m", steps=2)
    s = r.outputs.scalars[0]
    assert s[nb.ST_BAD_DEBT] == pytest.approx(25.0, rel=1e-6)
    assert s[nb.ST_ADL_COVERED] == pytest.approx(25.0, rel=1e-6)
    assert s[nb.ST_SHORTFALL] == 0.0
    assert r.outputs.adl_notional[0, 0, 1] > 0      # the short side was deleveraged


def test_partial_slices_then_cooldown():
    book = _book([1], [2000.0], [100.0], [20000.0])   # $200k 10x long
    rules = make_rules(mm_rate=0.01, partial_min_notional=1e5, partial_fraction=0.2, partial_cooldown_steps=2)
    r = _run(book, rules, "-15%@5m", steps=30)
    o = r.outputs
    per_step = (o.det_liq_notional[0, :, 0, 0] > 0).nonzero()[0]
    assert o.liq_count[0, 0, 0] >= 2
    assert np.all(np.diff(per_step) >= 2)        # slices at least the cooldown apart
    assert o.liq_notional[0, 0, 0] == pytest.approx(2000.0 * 85.0, rel=0.05)  # all of it eventually


def test_backstop_takes_the_position_at_mark_without_impact():
    book = _book([1], [100.0], [100.0], [1000.0])   # 10x
    rules = make_rules(mm_rate=0.05, backstop_mm_fraction=2 / 3)
    # threshold 9000 / 95 = 94.74; one gap to 92: equity 200 < 2/3 x MM (460)
    r = _run(book, rules, "-8%@1m", steps=2, stress=1e-6)
    o = r.outputs
    assert o.backstop_notional[0, 0, 0] == pytest.approx(100.0 * 92.0, rel=1e-9)
    assert o.min_mark[0, 0] == pytest.approx(o.min_exog[0, 0])   # no book impact despite a tiny book
    assert o.scalars[0, nb.ST_BACKSTOP_GAIN] == pytest.approx(200.0, rel=1e-9)
    assert r.bad_debt[0] == 0.0
