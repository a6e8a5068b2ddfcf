"""The venue's ADL policy as the engine's ADL hook: engine ADL events allocated over accounts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.adl.rankings import order
from defi_perps.book import Book, synthetic_book
from defi_perps.cli import main
from defi_perps.engine import SimulationConfig, simulate
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues import load_venue
from defi_perps.venues.adl_hook import VenueAdlHook
from defi_perps.venues.rules import to_rules


def _crash_book() -> Book:
    """40 levered longs that go bankrupt in a gap, and 12 shorts of varied size, entry and leverage."""
    rng = np.random.default_rng(7)
    n_long, n_short = 40, 12
    n = n_long + n_short
    side = np.r_[np.ones(n_long), -np.ones(n_short)]
    size = np.r_[np.full(n_long, 2.0), rng.uniform(0.5, 4.0, n_short)]
    entry = np.r_[np.full(n_long, 100.0), rng.uniform(95.0, 110.0, n_short)]
    lev = np.r_[np.full(n_long, 25.0), rng.choice([2.0, 5.0, 10.0], n_short)]
    return Book(market_names=["X"], price=[100.0], market=np.zeros(n), side=side, size=size, entry_price=entry,
                collateral_usd=size * entry / lev, collateral_tokens=np.zeros(n), account=np.arange(n),
                account_names=[f"acct{i}" for i in range(n)])


def _run(name: str, book: Book, policy: str = "venue", shock: str = "-30%@1m", paths: int = 3):
    setup = make_setup(book, shock=shock, horizon="5m", depth_stress=0.5, volatility=0.3)
    params = load_venue(name)
    hook = VenueAdlHook(params, book, policy)
    res = simulate(book, to_rules(params, 0.0, 60.0), model=setup.model, depth=setup.depth,
                   base_log=setup.base_log, adl_hook=hook,
                   config=SimulationConfig(n_paths=paths, n_steps=setup.n_steps, seed=2))
    return res, hook


@pytest.mark.parametrize("name", ["binance", "bitmex", "okx", "hyperliquid"])
def test_hook_allocations_sum_to_the_engines_adl_amounts(name: str) -> None:
    book = _crash_book()
    res, hook = _run(name, book)
    out = res.outputs
    assert out.adl_count.sum() > 0 and hook.records
    n_kept = np.minimum(out.n_events, out.events.shape[1])
    adl_events = sum(int(np.isin(out.events[p, :n_kept[p]]["kind"], (1, 2)).sum()) for p in range(out.events.shape[0]))
    assert len(hook.records) == adl_events                 # every recorded engine ADL event is allocated
    for rec in hook.records:
        assert rec["unmatched_size"] == pytest.approx(0.0, abs=1e-9)
        # conservation: the contracts closed and the money taken are the engine's, account by account
        assert rec["allocated_qty"] == pytest.approx(rec["engine_qty"], rel=1e-9)
        assert rec["allocated_haircut"] == pytest.approx(rec["engine_haircut"], rel=1e-9, abs=1e-9)
        assert rec["overshoot"] == pytest.approx(max(0.0, rec["allocated_haircut"] - rec["needed"]), abs=1e-9)
    eng = out.adl_notional.sum()
    assert sum(r["allocated_notional"] for r in hook.records) == pytest.approx(eng, rel=1e-9)
    assert res.adl["adl_accounts_per_path"]["max"] >= 1 and res.adl["venue"] == name


@pytest.mark.parametrize("name", ["binance", "hyperliquid"])
def test_hook_closes_in_the_venues_ranking_order(name: str) -> None:
    book = _crash_book()
    res, hook = _run(name, book)
    params = load_venue(name)
    checked = 0
    for rec, alloc in zip(hook.records, hook.allocations):
        if rec["path"] != 0 or checked:
            continue
        # rebuild the candidates as the hook saw them at the first event of the path
        sel = alloc["positions"]
        from defi_perps.adl.events import make_candidates

        mark = rec["mark"]
        c = make_candidates([str(i) for i in sel], list(book.side[sel]), list(book.size[sel]),
                            list(book.entry_price[sel]), [mark] * sel.size,
                            list(book.collateral_usd[sel] + book.side[sel] * book.size[sel]
                                 * (mark - book.entry_price[sel])))
        ranked = list(order(c, params.adl.ranking, params))
        closed = alloc["closed"]
        touched = [j for j in ranked if closed[j] > 0]
        assert touched == ranked[:len(touched)]            # a prefix of the queue ...
        for j in touched[:-1]:
            assert closed[j] == pytest.approx(book.size[sel][j])   # ... closed whole but the last
        checked += 1
    assert checked == 1


def test_wealth_space_policies_take_at_most_the_winners_pnl() -> None:
    book = _crash_book()
    for policy in ("queue", "pro-rata-pnl", "pro-rata-equity", "risk-aware"):
        res, hook = _run("binance", book, policy)
        assert hook.records
        for rec in hook.records:
            assert rec["allocated_haircut"] + rec["uncovered"] == pytest.approx(rec["engine_haircut"], rel=1e-9,
                                                                                abs=1e-9)
            assert rec["allocated_haircut"] <= rec["needed"] + 1e-9 and rec["overshoot"] == pytest.approx(0.0, abs=1e-9)


def test_gmx_pnl_factor_adl_is_allocated_largest_profit_first() -> None:
    # a short-heavy book against a small pool: the crash lifts shorts' PnL over MAX_PNL_FACTOR_FOR_ADL
    n = 20
    rng = np.random.default_rng(1)
    entry = rng.uniform(1_950.0, 2_100.0, n)
    b = Book(market_names=["ETH"], price=np.array([2_000.0]), market=np.zeros(n, np.int32),
             side=np.array([-1] * n, np.int8), size=np.full(n, 10.0), entry_price=entry,
             collateral_usd=np.full(n, 4_000.0), collateral_tokens=np.zeros(n), account=np.arange(n, dtype=np.int32),
             pool_long_tokens=np.array([50.0]), pool_short_usd=np.array([100_000.0]))
    res, hook = _run("gmx-v2", b, shock="-40%@4m", paths=1)
    assert hook.records and all(r["kind"] == "adl_pnl_factor" for r in hook.records)
    first, alloc = hook.records[0], hook.allocations[0]
    assert first["allocated_qty"] == pytest.approx(first["engine_qty"], rel=1e-9)
    assert first["allocated_haircut"] == pytest.approx(first["engine_haircut"], rel=1e-9, abs=1e-9)
    sel, closed = alloc["positions"], alloc["closed"]
    pnl = -(first["mark"] - b.entry_price[sel]) * b.size[sel]
    hit = closed > 0
    assert pnl[hit].min() >= pnl[~hit].max() if (~hit).any() else True   # GMX: keeper closes the largest profit first


def test_simulate_cli_reports_adl_accounts() -> None:
    args = ["simulate", "--synthetic", "300", "--markets", "2", "--shock", "-40%@10m", "--horizon", "20m",
            "--depth-stress", "0.05", "--paths", "4", "--seed", "1", "--venue", "binance"]
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    adl = json.loads(r.output)["adl_hook"]
    assert adl["hook"] == "venue" and adl["adl_policy"] == "venue" and adl["ranking"] == "binance"
    assert adl["adl_events_allocated"] > 0 and adl["adl_accounts_per_path"]["mean"] > 0
    assert adl["totals"]["allocated_qty"] == pytest.approx(adl["totals"]["engine_qty"], rel=1e-9)
    t = CliRunner().invoke(main, [*args, "--adl-policy", "pro-rata-pnl"])
    assert t.exit_code == 0, t.output
    assert "ADL (binance, policy pro-rata-pnl" in t.output
    bad = CliRunner().invoke(main, ["simulate", "--synthetic", "10", "--adl-policy", "queue"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --adl-policy needs --venue")


def test_book_accounts_name_the_hits() -> None:
    book = synthetic_book(300, n_markets=1, seed=2)
    res, hook = _run("bitmex", book, shock="-40%@2m")
    assert res.adl["distinct_accounts_hit"] > 0
    assert {a["account"] for a in res.adl["top_accounts"]} <= set(hook._labels.tolist())
