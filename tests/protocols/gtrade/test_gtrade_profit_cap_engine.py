"""The per-trade profit cap in the engine (engine/profit_cap_nb.py, gTrade v8's +900 %): the kernel
against its twin, and hand-built books where the cap decides who gets what."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.engine.profit_cap_nb import open_profit_cap_haircut_nb
from defi_perps.engine.reference import open_profit_cap_haircut_reference
from defi_perps.scenarios import shock_base_path
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue

STILL = PriceModel(volatility=0.0)
POOL = dict(counterparty="pool", bad_debt_absorber="pool", liq_fee_dest="pool", exec_mode="oracle",
            mm_on_entry_notional=True, mm_rate=0.01)


def _book(sides, sizes, entries, colls) -> Book:
    n = len(sides)
    return Book(market_names=["X"], price=[100.0], market=np.zeros(n), side=sides, size=sizes, entry_price=entries,
                collateral_usd=colls, collateral_tokens=np.zeros(n), account=np.arange(n))


def _run(book, rules, shock, steps=10):
    base = shock_base_path(shock, book.market_names, steps, 60.0)
    args = dict(model=STILL, depth=DepthSpec(kind="linear", k_usd=1e12, stress=1e6),
                config=SimulationConfig(n_paths=2, n_steps=steps, seed=0, step_seconds=60.0), base_log=base)
    a = simulate(book, rules, engine="numba", **args)
    b = simulate(book, rules, engine="reference", **args)
    for name in a.outputs._fields:
        x, y = getattr(a.outputs, name), getattr(b.outputs, name)
        if x.dtype.names:
            for f in x.dtype.names:
                np.testing.assert_allclose(x[f], y[f], rtol=1e-9, atol=1e-7, err_msg=f"{name}.{f}")
        else:
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(a.outputs.parties.sum(axis=1), 0.0, atol=1e-6)
    return a


def test_cap_decides_what_the_vault_pays_a_winning_long() -> None:
    # 10x long: 10 tokens at 100 on 100 USD of collateral; the price rises 150 % to 250.
    # Uncapped PnL = 10 · (250 − 100) = 1500 USD = 15 × collateral; the v8 cap pays 9 × 100 = 900.
    book = _book([1], [10.0], [100.0], [100.0])
    capped = _run(book, make_rules(**POOL, max_trade_gain=9.0), "+150%@1m")
    free = _run(book, make_rules(**POOL), "+150%@1m")
    assert capped.outputs.final_mark[0, 0] == pytest.approx(250.0, rel=1e-12)
    assert free.parties()["traders"][0] == pytest.approx(1500.0, rel=1e-9)
    assert capped.parties()["traders"][0] == pytest.approx(900.0, rel=1e-9)
    assert capped.parties()["pool"][0] == pytest.approx(-900.0, rel=1e-9)   # the vault pays only the cap
    assert capped.totals["profit_cap_haircut"][0] == pytest.approx(600.0, rel=1e-9)
    assert free.totals["profit_cap_haircut"][0] == 0.0


def test_cap_below_its_level_changes_nothing_and_losers_are_untouched() -> None:
    # +50 %: the long's PnL 500 is below its 900 cap; the short (1 token at 100 on 80 USD) loses 50, keeps
    # 30 > its 1 USD maintenance (1 % of entry notional) and stays open: a loss is never capped
    book = _book([1, -1], [10.0, 1.0], [100.0, 100.0], [100.0, 80.0])
    capped = _run(book, make_rules(**POOL, max_trade_gain=9.0), "+50%@1m")
    free = _run(book, make_rules(**POOL), "+50%@1m")
    assert capped.totals["profit_cap_haircut"][0] == 0.0
    np.testing.assert_allclose(capped.outputs.parties, free.outputs.parties, rtol=1e-12, atol=1e-9)


def test_helper_matches_twin_on_random_open_books() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        n_m, per = 3, 40
        n = 2 * n_m * per
        qty = rng.uniform(0.1, 5.0, n)
        entry = rng.uniform(50.0, 150.0, n)
        cu = rng.uniform(1.0, 50.0, n)
        ct = np.where(rng.random(n) < 0.3, rng.uniform(0.0, 0.2, n), 0.0)
        seg_start = np.arange(0, n + 1, per, dtype=np.int64)
        seg_market = np.repeat(np.arange(n_m, dtype=np.int64), 2)
        seg_side = np.tile(np.array([1, -1], dtype=np.int64), n_m)
        rem = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.2, 1.0, n))
        fin = rng.uniform(40.0, 300.0, n_m)
        phi = rng.uniform(-0.5, 0.5, (n_m, 2))
        for cap in (0.5, 3.0, 9.0):
            a = open_profit_cap_haircut_nb(qty, entry, cu, ct, seg_start, seg_market, seg_side, rem, fin, phi, cap)
            from types import SimpleNamespace

            pos = SimpleNamespace(qty=qty, entry=entry, coll_usd=cu, coll_tok=ct, seg_start=seg_start,
                                  seg_market=seg_market, seg_side=seg_side)
            b = open_profit_cap_haircut_reference(pos, list(rem), fin, phi.tolist(), cap)
            assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
            assert a >= 0.0


def test_gtrade_v8_venue_runs_the_cap_and_current_gtrade_does_not() -> None:
    # venues/params/gtrade_v8.toml carries v8's +900 % cap into the engine's rules; current contracts
    # (venue gtrade) dropped it (MAX_PNL_P deprecated), so the same winner is paid in full there
    book = _book([1], [10.0], [100.0], [100.0])
    v8 = venue_inputs(load_venue("gtrade-v8"), book)
    now = venue_inputs(load_venue("gtrade"), book)
    assert v8.rules.max_trade_gain == 9.0 and now.rules.max_trade_gain == float("inf")
    assert v8.rules.adl_trigger == now.rules.adl_trigger == 0            # no ADL
    r8 = _run(v8.book, v8.rules, "+150%@1m")
    r10 = _run(now.book, now.rules, "+150%@1m")
    assert r8.totals["profit_cap_haircut"][0] == pytest.approx(600.0, rel=1e-6)
    assert r8.parties()["traders"][0] == pytest.approx(900.0, rel=1e-6)
    assert r10.totals["profit_cap_haircut"][0] == 0.0
    assert r10.parties()["traders"][0] == pytest.approx(1500.0, rel=1e-6)
