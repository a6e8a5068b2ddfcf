"""Hand-checked mechanics on deterministic paths (volatility 0): one case per rule, built so that
the rule decides the outcome. Every case runs the kernel and the twin and checks they agree."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.engine.codes import Event
from defi_perps.scenarios import shock_base_path

from ._helpers import assert_outputs_close

STILL = PriceModel(volatility=0.0)


def _book(sides, sizes, entries, colls, price=100.0, pool_long=0.0, pool_short=0.0, accounts=None):
    n = len(sides)
    return Book(market_names=["X"], price=[price], market=np.zeros(n), side=sides, size=sizes, entry_price=entries,
                collateral_usd=colls, collateral_tokens=np.zeros(n),
                account=np.arange(n) if accounts is None else accounts,
                pool_long_tokens=[pool_long], pool_short_usd=[pool_short])


def _run(book, rules, shock, steps=20, stress=1e6, step_seconds=60.0, **kw):
    base = shock_base_path(shock, book.market_names, steps, step_seconds)
    args = dict(model=STILL, depth=DepthSpec(kind="linear", k_usd=1e9, stress=stress, **kw),
                config=SimulationConfig(n_paths=2, n_steps=steps, seed=0, n_detail=2, step_seconds=step_seconds),
                base_log=base)
    a = simulate(book, rules, engine="numba", **args)
    b = simulate(book, rules, engine="reference", **args)
    assert_outputs_close(a.outputs, b.outputs)
    np.testing.assert_allclose(a.outputs.parties.sum(axis=1), 0.0, atol=1e-9 * max(1.0, np.abs(a.outputs.parties).max()))
    return a


def test_single_long_liquidated_once_with_hand_computed_bad_debt():
    # 10x long: entry 100, collateral 10; MM 1% of mark -> threshold (100 - 10) / 0.99 = 90.909
    book = _book([1], [1.0], [100.0], [10.0])
    r = _run(book, make_rules(mm_rate=0.01, liq_fee_rate=0.005), "-20%@10m")
    o, t = r.outputs, r.totals
    assert o.liq_count[:, 0, 0].tolist() == [1, 1]
    marks = o.det_mark[0, :, 0]
    k = int(np.argmax(marks <= 90.0 / 0.99 + 1e-12))  # first step at or below the threshold
    px = marks[k]          # deep linear book: the fill is the mark (slippage ~1e-9)
    equity = 10.0 + (px - 100.0)
    fee = min(max(equity, 0.0), 0.005 * px)
    assert o.liq_notional[0, 0, 0] == pytest.approx(px, rel=1e-6)
    assert t["bad_debt"][0] == pytest.approx(max(fee - equity, 0.0), abs=1e-5)
    assert t["liq_fees"][0] == pytest.approx(fee, abs=1e-6)
    assert r.parties()["traders"][0] == pytest.approx(-10.0 + max(equity - fee, 0.0), rel=1e-6)
    np.testing.assert_array_equal(o.final_mark[0], o.final_mark[1])


def test_gap_through_bankruptcy_leaves_bad_debt_for_the_fund_then_uncovered():
    book = _book([1, 1], [1.0, 1.0], [100.0, 100.0], [5.0, 5.0])   # 20x longs
    r = _run(book, make_rules(mm_rate=0.01, liq_fee_rate=0.0, insurance_initial=3.0), "-30%@1m", steps=3)
    t = r.totals[0]
    assert t["bad_debt"] == pytest.approx(50.0, rel=1e-6)
    paid = r.paid_by()
    assert paid["insurance_fund"][0] == pytest.approx(3.0)
    assert paid["uncovered"][0] == pytest.approx(47.0, rel=1e-6)
    assert r.events_summary()["paths_with_uncovered"] == 2


def test_thin_book_amplifies_the_drop():
    rng = np.random.default_rng(0)
    n = 400
    lev = rng.choice([5.0, 10.0, 20.0, 50.0], n)
    book = _book(np.ones(n), np.full(n, 10.0), np.full(n, 100.0), 1000.0 / lev)
    base = shock_base_path("-5%@5m", ["X"], 30, 60.0)
    thin = simulate(book, make_rules(), STILL, DepthSpec(stress=0.05), config=SimulationConfig(n_paths=1, n_steps=30),
                    base_log=base)
    deep = simulate(book, make_rules(), STILL, DepthSpec(stress=50.0), config=SimulationConfig(n_paths=1, n_steps=30),
                    base_log=base)
    assert thin.amplification()[0, 0] > deep.amplification()[0, 0] >= 1.0
    assert thin.outputs.liq_count.sum() > deep.outputs.liq_count.sum()
    assert thin.outputs.min_mark[0, 0] < thin.outputs.min_exog[0, 0]


def test_oracle_venue_without_feedback_does_not_move_the_price_and_the_pool_keeps_what_traders_lose():
    book = _book([1] * 3, [1.0] * 3, [100.0] * 3, [10.0] * 3, pool_short=1000.0)
    rules = make_rules(exec_mode="oracle", mm_rate=0.01, mm_on_entry_notional=True, liq_fee_dest="pool",
                       bad_debt_absorber="pool", counterparty="pool", liq_fee_rate=0.002)
    r = _run(book, rules, "-15%@10m")
    o = r.outputs
    np.testing.assert_allclose(o.min_mark, o.min_exog)
    assert o.liq_count.sum() == 6
    marks = o.det_mark[0, :, 0]
    px = marks[int(np.argmax(marks <= 91.0))]     # threshold (1 + 100 - 10) / 1 on entry notional
    equity = 10.0 + px - 100.0
    rest = equity - min(max(equity, 0.0), 0.002 * px)
    # the pool is the counterparty and the fee receiver: it gains exactly what the traders lost
    assert r.parties()["pool"][0] == pytest.approx(3 * (10.0 - max(rest, 0.0)), rel=1e-9)
    assert r.parties()["traders"][0] == pytest.approx(-3 * (10.0 - max(rest, 0.0)), rel=1e-9)


def test_pnl_factor_adl_brings_the_factor_back_to_the_minimum():
    # shorts gain when the price falls; the short-side pool is small, so pnl/pool crosses the maximum
    book = _book([-1], [10.0], [100.0], [500.0], pool_short=200.0)
    rules = make_rules(exec_mode="oracle", adl_trigger="pnl_factor", max_pnl_factor_adl=0.85,
                       min_pnl_factor_after_adl=0.77, bad_debt_absorber="pool", counterparty="pool")
    r = _run(book, rules, "-20%@10m")
    o = r.outputs
    assert o.adl_count[0, 0, 1] >= 1
    ev = o.events[0, : o.n_events[0]]
    assert set(ev["kind"].tolist()) == {Event.ADL_PNL_FACTOR}
    first = ev[0]
    mark = o.det_mark[0, int(first["step"]), 0]
    f = first["fraction"]
    pnl = 10.0 * (100.0 - mark)
    assert (1 - f) * pnl / (200.0 - f * pnl) == pytest.approx(0.77, rel=1e-9)


def test_gmx_pnl_factor_adl_closes_the_most_profitable_position_first():
    # at 83.5 the shorts' PnL is 165 + 265 = 430 > 0.85 × 500: removing 195.6 of it restores 0.77
    book = _book([-1, -1], [10.0, 10.0], [100.0, 110.0], [500.0, 500.0], pool_short=500.0)
    rules = make_rules(exec_mode="oracle", adl_trigger="pnl_factor", max_pnl_factor_adl=0.85,
                       min_pnl_factor_after_adl=0.77, bad_debt_absorber="pool", counterparty="pool", adl_ranking="pnl")
    r = _run(book, rules, "-16.5%@8m")
    rem = r.remaining()[0]
    assert rem[1] < 1.0 and rem[0] == 1.0     # the short from 110 gains more: it is closed first
    assert r.totals["adl_accounts"][0] == 1


def test_negative_equity_adl_at_bankruptcy_covers_the_whole_gap():
    book = _book([1, -1], [1.0, 1.0], [100.0, 100.0], [5.0, 50.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="bankruptcy")
    r = _run(book, rules, "-30%@1m", steps=2)
    paid = r.paid_by()
    assert r.totals["bad_debt"][0] == pytest.approx(25.0, rel=1e-6)
    assert paid["adl"][0] == pytest.approx(25.0, rel=1e-6) and paid["uncovered"][0] == 0.0
    ev = r.outputs.events[0, 0]
    assert ev["kind"] == Event.ADL_BANKRUPT and ev["side"] == -1
    # the short is closed at the long's bankruptcy price: mark + gap / size
    assert ev["price"] == pytest.approx(ev["mark"] + 25.0, rel=1e-9)
    # the ADL'd short keeps its gain down to the bankruptcy price: 100 - 95
    assert r.parties()["adl"][0] == pytest.approx(100.0 - ev["price"], rel=1e-6)


@pytest.mark.parametrize("step_seconds,shock", [(1.0, "-30%@1s"), (60.0, "-30%@1m"), (60.0, "-30%@3m")])
def test_hyperliquid_adl_covers_the_whole_shortfall_whatever_the_step_length(step_seconds, shock):
    book = _book([1, -1, -1], [1.0, 1.0, 1.0], [100.0, 100.0, 100.0], [5.0, 50.0, 50.0])
    rules = make_rules(mm_rate=0.0125, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="prev_mark",
                       backstop_mm_fraction=2 / 3, bad_debt_absorber="vault", insurance_initial=1000.0,
                       adl_ranking="hyperliquid")
    r = _run(book, rules, shock, steps=4, step_seconds=step_seconds)
    paid = r.paid_by()
    assert r.totals["bad_debt"][0] > 5.0
    assert paid["adl"][0] == pytest.approx(r.totals["bad_debt"][0], rel=1e-12)
    assert paid["backstop_vault"][0] == 0.0 and paid["uncovered"][0] == 0.0


def test_hyperliquid_slice_then_the_remainder_in_full_during_the_cooldown():
    book = _book([1], [2000.0], [100.0], [20000.0])   # $200k 10x long
    rules = make_rules(mm_rate=0.008, liq_fee_rate=0.0, partial_min_notional=1e5, partial_fraction=0.2,
                       partial_cooldown_steps=1)
    r = _run(book, rules, "-15%@5m", steps=30)
    o = r.outputs
    steps = (o.det_liq_count[0, :, 0, 0] > 0).nonzero()[0]
    # at 90.71 a 20 % slice; its equity stays with the rest, which meets its margin again (1,418 vs
    # 0.8 × 1,451); one step later (inside the 1-step cooldown) the price is 87.8 and the rest goes in full
    assert o.liq_count[0, 0, 0] == 2 and steps.tolist() == [steps[0], steps[0] + 1]
    assert r.remaining()[0, 0] == 0.0


def test_hyperliquid_slice_waits_when_the_remainder_is_no_longer_liquidatable():
    # the slice's equity stays with the position, so the remaining 80 % meets its margin again; the
    # price recovers and it stays open
    book = _book([1], [2000.0], [100.0], [20000.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, partial_min_notional=1e5, partial_fraction=0.2,
                       partial_cooldown_steps=1)
    r = _run(book, rules, "-9.2%@1m,+5%@1m", steps=6)
    assert r.remaining()[0, 0] == pytest.approx(0.8, rel=1e-12)
    assert r.outputs.liq_count[0, 0, 0] == 1
    # the trader still holds 80 % of the position and the slice's equity: marked at the end
    assert r.parties()["traders"][0] == pytest.approx(-r.parties()["market"][0], rel=1e-12)


def test_backstop_takes_the_position_at_mark_without_impact_and_keeps_its_equity():
    # the default reading (backstop_book_first off): the 2/3 test at the trigger
    book = _book([1], [100.0], [100.0], [1000.0])   # 10x
    rules = make_rules(mm_rate=0.05, backstop_mm_fraction=2 / 3, bad_debt_absorber="vault", insurance_initial=50.0)
    # threshold 9000 / 95 = 94.74; one gap to 92: equity 200 < 2/3 x MM (460)
    r = _run(book, rules, "-8%@1m", steps=2, stress=1e-6)
    o = r.outputs
    assert o.backstop_notional[0, 0, 0] == pytest.approx(100.0 * 92.0, rel=1e-9)
    assert o.min_mark[0, 0] == pytest.approx(o.min_exog[0, 0])   # no book impact despite a tiny book
    assert r.totals["backstop_gain"][0] == pytest.approx(200.0, rel=1e-9)
    assert r.totals["fund"][0] == pytest.approx(250.0, rel=1e-9)  # the vault's capital grows by it
    assert r.parties()["vault"][0] == pytest.approx(200.0, rel=1e-9)
    assert r.bad_debt[0] == 0.0


# Hyperliquid's documented order (venues.md §1.6), ``backstop_book_first``: "if the account equity drops
# below 2/3 of the maintenance margin *without successful liquidation through the order book*, the backstop
# liquidation mechanism kicks in": (a) a first trigger goes to the book; (b) the vault takes a sliced
# remainder below 2/3 MM; (c) the vault takes at once what the book cannot fill, the part of the order
# that would walk past the depth curve's end (docs/hyperliquid_adl_calibration.md).
_HL_BACKSTOP = dict(mm_rate=0.05, liq_fee_rate=0.0, backstop_mm_fraction=2 / 3, bad_debt_absorber="vault",
                    insurance_initial=50.0, backstop_book_first=True)


def test_a_first_trigger_below_two_thirds_mm_goes_to_the_book_when_the_book_can_fill_it():
    # (a) 10x long, threshold 9000 / 95 = 94.74; one gap to 92: equity 200 < 2/3 x MM (460). The old
    # reading sent it to the vault at 92; the book (linear, k = $1M: its end at $990k) fills the $9,200
    book = _book([1], [100.0], [100.0], [1000.0])
    r = _run(book, make_rules(**_HL_BACKSTOP), "-8%@1m", steps=2, stress=1e-3)
    o = r.outputs
    fill = 92.0 * (1.0 - 0.5 * 9200.0 / 1e6)     # the average over the walk of a linear book
    assert o.backstop_notional[0, 0, 0] == 0.0 and r.totals["backstop_gain"][0] == 0.0
    assert o.liq_count[0, 0, 0] == 1
    assert o.liq_notional[0, 0, 0] == pytest.approx(100.0 * fill, rel=1e-9)
    assert r.parties()["traders"][0] == pytest.approx(-1000.0 + 1000.0 + 100.0 * (fill - 100.0), rel=1e-9)
    assert r.bad_debt[0] == 0.0 and o.depth_capped[0, 0] == 0


def test_the_vault_takes_a_sliced_remainder_below_two_thirds_mm_at_mark_and_keeps_its_equity():
    # (b) $200k 10x long gapped to 92 (equity 4,000 < 2/3 x MM 6,133): its first trigger sends a 20 %
    # slice to the (deep) book, which leaves its 800 of equity with the rest; re-tested, the rest's
    # equity 0.8 x 4,000 + 800 = 4,000 is still < 2/3 x 7,360: the vault takes it at mark
    book = _book([1], [2000.0], [100.0], [20000.0])
    rules = make_rules(**_HL_BACKSTOP, partial_min_notional=1e5, partial_fraction=0.2, partial_cooldown_steps=1)
    r = _run(book, rules, "-8%@1m", steps=2)
    o = r.outputs
    assert o.liq_count[0, 0, 0] == 2
    assert o.backstop_notional[0, 0, 0] == pytest.approx(0.8 * 2000.0 * 92.0, rel=1e-6)
    assert o.liq_notional[0, 0, 0] == pytest.approx(2000.0 * 92.0, rel=1e-6)
    assert r.totals["backstop_gain"][0] == pytest.approx(4000.0, rel=1e-6)
    assert r.totals["fund"][0] == pytest.approx(4050.0, rel=1e-6)   # the vault's capital grows by it
    assert r.parties()["vault"][0] == pytest.approx(4000.0, rel=1e-6)
    assert r.bad_debt[0] == 0.0 and r.remaining()[0, 0] == 0.0


def test_the_vault_takes_at_once_what_the_book_cannot_fill_past_the_end_of_the_depth_curve():
    # (c) the same $9,200 first trigger on a book whose linear curve ends (99 % from mid) at $990
    # (k = $1,000): the book fills $990 of the order, walking to the end; the rest of the order is the
    # book liquidation that did not succeed, and the vault takes it at mark (92), keeping its equity
    book = _book([1], [100.0], [100.0], [1000.0])
    r = _run(book, make_rules(**{**_HL_BACKSTOP, "insurance_initial": 1000.0}), "-8%@1m", steps=2, stress=1e-6)
    o, t = r.outputs, r.totals
    cb = 990.0 / 9200.0                                # the book's share of the position
    fill = 92.0 * (1.0 - 0.5 * 990.0 / 1000.0)         # its average over the walk to the end
    assert o.liq_count[0, 0, 0] == 2 and r.remaining()[0, 0] == 0.0
    assert o.backstop_notional[0, 0, 0] == pytest.approx((1.0 - cb) * 100.0 * 92.0, rel=1e-9)
    assert o.liq_notional[0, 0, 0] == pytest.approx((1.0 - cb) * 9200.0 + cb * 100.0 * fill, rel=1e-9)
    assert t["backstop_gain"][0] == pytest.approx((1.0 - cb) * 200.0, rel=1e-9)
    # the book's share went bankrupt (fill 46.46 < bankruptcy 90): the vault, as absorber, pays it
    bad = cb * (100.0 * (100.0 - fill) - 1000.0)
    assert t["bad_debt"][0] == pytest.approx(bad, rel=1e-9)
    assert r.parties()["vault"][0] == pytest.approx((1.0 - cb) * 200.0 - bad, rel=1e-9)
    assert o.depth_capped[0, 0] == 1                   # the walk reached the curve's end, and says so


def test_a_slice_the_book_cannot_fill_hands_the_whole_rest_of_the_position_to_the_vault():
    # (c) with a slice: $200k 10x long gapped to 92; its 20 % slice ($36,800) meets a curve that ends at
    # $19,800 (k = $20,000): the book fills $19,800 and the vault takes everything else at once (no slice
    # waits for a cooldown behind a book that has nothing left)
    book = _book([1], [2000.0], [100.0], [20000.0])
    rules = make_rules(**_HL_BACKSTOP, partial_min_notional=1e5, partial_fraction=0.2, partial_cooldown_steps=1)
    r = _run(book, rules, "-8%@1m", steps=2, stress=2e-5)
    o = r.outputs
    cb = 19800.0 / (2000.0 * 92.0)
    assert o.liq_count[0, 0, 0] == 2 and r.remaining()[0, 0] == 0.0
    assert o.backstop_notional[0, 0, 0] == pytest.approx((1.0 - cb) * 2000.0 * 92.0, rel=1e-9)
    assert r.totals["backstop_gain"][0] == pytest.approx((1.0 - cb) * 4000.0, rel=1e-9)


def _two_bankrupt_longs_and_a_winner(fund: float, **rules):
    book = _book([1, 1, -1], [1.0, 1.0, 2.0], [100.0, 100.0, 100.0], [5.0, 5.0, 100.0])
    return _run(book, make_rules(mm_rate=0.01, liq_fee_rate=0.0, insurance_initial=fund, **rules), "-30%@1m", steps=2)


def test_fund_drawdown_trigger_pays_down_to_its_floor_then_deleverages():
    r = _two_bankrupt_longs_and_a_winner(100.0, adl_trigger="fund_drawdown", fund_drawdown=-0.3, adl_fill="bankruptcy")
    paid = r.paid_by()
    assert r.totals["bad_debt"][0] == pytest.approx(50.0, rel=1e-6)
    assert paid["insurance_fund"][0] == pytest.approx(30.0, rel=1e-9)    # 100 → 70 % of its peak
    assert paid["adl"][0] == pytest.approx(20.0, rel=1e-6)


def test_okx_fills_at_mark_until_the_fund_is_nearly_depleted():
    rich = _two_bankrupt_longs_and_a_winner(100.0, adl_trigger="fund_drawdown", fund_drawdown=-0.3,
                                            adl_fill="mark_unless_fund_low", fill_bankruptcy_below=0.05)
    paid = rich.paid_by()
    assert rich.totals["adl_notional"][0] > 0 and paid["adl"][0] == 0.0     # ADL at mark takes no haircut
    assert paid["insurance_fund"][0] == pytest.approx(50.0, rel=1e-6)       # the fund pays below its floor
    poor = _two_bankrupt_longs_and_a_winner(10.0, adl_trigger="fund_drawdown", fund_drawdown=-0.3,
                                            adl_fill="mark_unless_fund_low", fill_bankruptcy_below=0.05)
    paid = poor.paid_by()
    assert paid["insurance_fund"][0] == pytest.approx(10.0, rel=1e-9)
    assert paid["adl"][0] == pytest.approx(40.0, rel=1e-6)                  # depleted: bankruptcy price
    assert paid["uncovered"][0] == 0.0


def test_settlement_at_bankruptcy_sends_the_remainder_to_the_fund():
    book = _book([1], [1.0], [100.0], [20.0])    # 5x; MM 5 %: threshold (100 - 20) / 0.95 = 84.2
    keep = _run(book, make_rules(mm_rate=0.05, liq_fee_rate=0.0), "-16%@1m", steps=2)
    settle = _run(book, make_rules(mm_rate=0.05, liq_fee_rate=0.0, keep_remainder=False), "-16%@1m", steps=2)
    equity = 20.0 + (84.0 - 100.0)
    assert keep.parties()["traders"][0] == pytest.approx(equity - 20.0, rel=1e-6)
    assert settle.parties()["traders"][0] == pytest.approx(-20.0, rel=1e-9)
    assert settle.totals["surplus_to_fund"][0] == pytest.approx(equity, rel=1e-6)
    assert settle.totals["fund"][0] == pytest.approx(equity, rel=1e-6)


def test_fixed_liquidation_fee_is_added_to_the_rate():
    book = _book([1], [1.0], [100.0], [20.0])
    r = _run(book, make_rules(mm_rate=0.05, liq_fee_rate=0.001, liq_fee_usd=2.0, liq_fee_dest="venue"), "-16%@1m",
             steps=2)
    assert r.totals["liq_fees"][0] == pytest.approx(0.001 * 84.0 + 2.0, rel=1e-6)
    assert r.parties()["venue"][0] == pytest.approx(0.001 * 84.0 + 2.0, rel=1e-6)


def test_unhedged_b_book_broker_earns_exactly_its_clients_losses():
    rng = np.random.default_rng(4)
    n = 40
    book = _book(np.where(rng.random(n) < 0.7, 1, -1), np.full(n, 1.0), 100.0 * np.exp(rng.normal(0, 0.01, n)),
                 rng.uniform(3.0, 30.0, n))
    rules = make_rules(mm_rate=0.01, exec_mode="oracle", counterparty="broker", bad_debt_absorber="broker",
                       liq_fee_dest="broker", liq_fee_rate=0.002)
    r = _run(book, rules, "-20%@10m")
    p = r.parties()
    assert p["traders"][0] < 0
    assert p["broker"][0] == pytest.approx(-p["traders"][0], rel=1e-12)
    assert all(abs(v[0]) == 0.0 for k, v in p.items() if k not in ("traders", "broker"))


def test_b_book_pass_through_leg_closes_with_the_clients_position():
    book = _book([1], [1.0], [100.0], [10.0])
    rules = make_rules(mm_rate=0.01, exec_mode="oracle", counterparty="broker", bad_debt_absorber="broker",
                       liq_fee_rate=0.0, internalized_fraction=0.25)
    r = _run(book, rules, "-20%@10m")
    marks = r.outputs.det_mark[0, :, 0]
    px = marks[int(np.argmax(marks <= 90.0 / 0.99 + 1e-12))]
    p = r.parties()
    # the client is stopped out at px; the LP's leg closes at the same price and nothing after it
    assert p["lp"][0] == pytest.approx(-0.75 * (px - 100.0), rel=1e-9)
    bad = r.totals["bad_debt"][0]
    assert p["broker"][0] == pytest.approx(-0.25 * (px - 100.0) - bad, rel=1e-9)   # and it absorbs the bad debt
    assert p["traders"][0] == pytest.approx(-10.0, rel=1e-9)


def test_hedged_b_book_broker_keeps_only_its_limit_of_the_clients_exposure():
    # ten 2x longs (nobody is stopped out by -10 %); the broker internalises all of them (short 10)
    # and holds the snapshot's hedge above its limit, 10 % of OI = $100 = 1 token at 100: long 9
    book = _book([1] * 10, [1.0] * 10, [100.0] * 10, [50.0] * 10)
    rules = make_rules(mm_rate=0.01, exec_mode="oracle", counterparty="broker", bad_debt_absorber="broker",
                       internalized_fraction=1.0, hedge_threshold=0.1)
    r = _run(book, rules, "-10%@10m", stress=1.0)
    fin = r.outputs.final_mark[0, 0]
    p = r.parties()
    assert p["traders"][0] == pytest.approx(10.0 * (fin - 100.0), rel=1e-9)
    # the hedge was in place at 100 and its limit (in tokens) only widens as the price falls: no trade
    assert r.totals["hedge_notional"][0] == 0.0
    assert p["market"][0] == pytest.approx(-9.0 * (fin - 100.0), rel=1e-9)
    assert p["broker"][0] == pytest.approx(-1.0 * (fin - 100.0), rel=1e-9)   # a tenth of its clients' loss


def test_b_book_hedge_unwinds_when_its_clients_are_stopped_out():
    # ten 10x longs (stop-out at 100·0.9/0.99 = 90.9); the broker is short 10 against them and long a
    # 9-token hedge. When the longs are stopped out its client exposure is gone, so it sells the whole
    # hedge there (through the depth, here deep: fill = mark) and holds nothing into the rest of the
    # fall to 80. A band on the net exposure alone would sell only down to +1 token (its limit) and
    # keep that naked long to the end: 1.1 tokens × (90.9 − 80) ≈ $12 more loss.
    book = _book([1] * 10, [1.0] * 10, [100.0] * 10, [10.0] * 10)
    rules = make_rules(mm_rate=0.01, exec_mode="oracle", counterparty="broker", bad_debt_absorber="broker",
                       liq_fee_rate=0.0, internalized_fraction=1.0, hedge_threshold=0.1)
    r = _run(book, rules, "-20%@10m")
    marks = r.outputs.det_mark[0, :, 0]
    k = int(np.argmax(marks <= 90.0 / 0.99 + 1e-12))
    px = marks[k]
    assert r.outputs.liq_count[0, 0, 0] == 10 and marks[-1] == pytest.approx(80.0, rel=1e-6)
    p = r.parties()
    assert px < 90.0 and p["traders"][0] == pytest.approx(-100.0, rel=1e-9)        # gapped: all collateral lost
    assert r.totals["hedge_notional"][0] == pytest.approx(9.0 * px, rel=1e-6)      # sold all 9, at px
    assert p["market"][0] == pytest.approx(9.0 * (100.0 - px), rel=1e-6)           # the hedge's loss, no more
    # the clients' losses (their collateral; the broker pays the gap beyond it) less the hedge's loss
    assert p["broker"][0] == pytest.approx(100.0 - 9.0 * (100.0 - px), rel=1e-6)


def test_b_book_hedge_follows_a_client_book_that_flips_side():
    # longs 10 (10x, stopped out at 90.9) and shorts 4 (2x, never): the broker's own book goes from
    # short 6 to long 4. Limit 10 % of OI = $140 = 1.4 tokens at 100 (1.54 at 90.9). It holds a 4.6
    # long hedge, then after the stop-out a 4 − 140/px short hedge: its net stays on its clients' side.
    book = _book([1] * 10 + [-1] * 4, [1.0] * 14, [100.0] * 14, [10.0] * 10 + [50.0] * 4)
    rules = make_rules(mm_rate=0.01, exec_mode="oracle", counterparty="broker", bad_debt_absorber="broker",
                       liq_fee_rate=0.0, internalized_fraction=1.0, hedge_threshold=0.1)
    r = _run(book, rules, "-20%@10m")
    marks = r.outputs.det_mark[0, :, 0]
    px = marks[int(np.argmax(marks <= 90.0 / 0.99 + 1e-12))]
    h1 = -(4.0 - 140.0 / px)
    sold = 4.6 - h1
    assert r.totals["hedge_notional"][0] == pytest.approx(sold * px, rel=1e-6)
    # each later step the limit in tokens widens (the price falls), so the hedge is kept as it is
    fin = marks[-1]
    hedge_pnl = 4.6 * (px - 100.0) + h1 * (fin - px)
    assert p_close(r.parties()["market"][0], -hedge_pnl)


def p_close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=1e-6)


@pytest.mark.parametrize("policy,expected", [("queue", [1.0, 1.0, 0.0]), ("pro-rata", [2 / 3] * 3)])
def test_adl_queue_takes_the_top_ranked_account_pro_rata_takes_everyone(policy, expected):
    # one bankrupt long (1 token); three profitable shorts, the third at the highest leverage
    book = _book([1, -1, -1, -1], [1.0, 1.0, 1.0, 1.0], [100.0, 100.0, 100.0, 100.0], [5.0, 60.0, 40.0, 15.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="bankruptcy",
                       adl_ranking="hyperliquid", adl_policy=policy)
    r = _run(book, rules, "-30%@1m", steps=2)
    np.testing.assert_allclose(r.remaining()[0, 1:], expected, rtol=1e-12)
    assert r.totals["adl_accounts"][0] == (1 if policy == "queue" else 3)


def test_adl_pro_rata_by_pnl_takes_winners_in_proportion_to_their_profit():
    book = _book([1, -1, -1], [1.0, 1.0, 1.0], [100.0, 100.0, 90.0], [5.0, 60.0, 60.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="bankruptcy",
                       adl_policy="pro-rata-pnl")
    r = _run(book, rules, "-30%@1m", steps=2)
    rem = r.remaining()[0]
    mark = r.outputs.events[0, 0]["mark"]
    w1, w2 = 100.0 - mark, 90.0 - mark
    np.testing.assert_allclose(1.0 - rem[1:], [w1 / (w1 + w2), w2 / (w1 + w2)], rtol=1e-9)


def test_adl_d_position_is_not_liquidated_later_in_the_path():
    # the short is ADL'd in full in the crash; the rebound that follows would have liquidated it
    book = _book([1, -1], [1.0, 1.0], [100.0, 100.0], [5.0, 3.0])
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, adl_trigger="negative_equity", adl_fill="bankruptcy")
    r = _run(book, rules, "-30%@1m,+50%@1m", steps=3)
    assert r.remaining()[0, 1] == 0.0
    assert r.outputs.liq_count[0, 0, 1] == 0     # no short liquidation after the ADL


def test_walking_past_the_depth_curves_end_is_reported():
    rng = np.random.default_rng(1)
    n = 200
    book = _book(np.ones(n), np.full(n, 10.0), np.full(n, 100.0), 1000.0 / rng.choice([10.0, 20.0, 50.0], n))
    r = simulate(book, make_rules(), STILL, DepthSpec(stress=0.001),
                 config=SimulationConfig(n_paths=1, n_steps=10), base_log=shock_base_path("-10%@2m", ["X"], 10, 60.0))
    s = r.summary()
    assert s["depth_capped"]["count"] > 0 and s["depth_capped"]["markets"] == ["X"]
    deep = simulate(book, make_rules(), STILL, DepthSpec(stress=10.0),
                    config=SimulationConfig(n_paths=1, n_steps=10), base_log=shock_base_path("-10%@2m", ["X"], 10, 60.0))
    assert deep.summary()["depth_capped"]["count"] == 0


def test_margin_top_up_at_admission_is_reported():
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    book = _book([1, 1], [10.0, 10.0], [100.0, 100.0], [1.0, 100.0])     # 1000x and 10x
    from defi_perps.venues.margin import max_leverage_for

    params = load_venue("binance")
    vi = venue_inputs(params, book)
    # the market's own bracket table decides the cap (an unlisted symbol: Binance's 75x altcoin table)
    cap = max_leverage_for(params, book.market_names[0], 1000.0)
    assert cap == 75.0
    assert vi.margin_topup["positions"] == 1 and vi.margin_topup["notional_usd"] == pytest.approx(1000.0)
    assert vi.book.collateral_usd[0] == pytest.approx(1000.0 / cap * 1.0001)
    assert vi.book.collateral_usd[1] == 100.0
