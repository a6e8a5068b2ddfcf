"""Depth that changes over the path (a scenario's ``[[depth_schedule]]``, issue 7 item 7): the
kernel applies each step's per-band multiplier to the depth curve, and the twin does the same."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import (
    DepthSpec,
    PriceModel,
    SimulationConfig,
    make_rules,
    simulate,
)
from defi_perps.exceptions import EngineInputError
from defi_perps.scenarios import shock_base_path

from ._helpers import assert_outputs_close, assert_outputs_equal, random_book

BANDS = (0.005, 0.01, 0.02, 0.05, 0.10)
STEPS = 10


def _one_long_book() -> Book:
    """One 10x long of 1,000 tokens at 100 (100,000 USD notional, 10,000 collateral): MM 1 %, so it
    triggers at 100·(1 − 0.1)/(1 − 0.01) ≈ 90.91 and is bankrupt at 90."""
    return Book(market_names=["X"], price=[100.0], market=np.zeros(1), side=np.ones(1), size=np.full(1, 1000.0),
                entry_price=np.full(1, 100.0), collateral_usd=np.full(1, 10_000.0),
                collateral_tokens=np.zeros(1), account=np.zeros(1))


def _run(mult, engine="numba", book=None):
    book = book or _one_long_book()
    # the price gaps to 90.5 (just above bankruptcy) at step 6, so the fill price alone decides bad debt
    base = np.zeros((STEPS + 1, 1))
    base[6:, 0] = np.log(0.905)
    depth = DepthSpec(kind="bands", bands=BANDS, band_depth_usd=[[2e3, 4e3, 8e3, 2e4, 4e4]])
    return simulate(book, make_rules(mm_rate=0.01, liq_fee_rate=0.0), PriceModel(volatility=0.0), depth,
                    config=SimulationConfig(n_paths=1, n_steps=STEPS, seed=0, n_detail=1), base_log=base,
                    engine=engine, depth_multiplier=mult)


def _schedule(recover_at: int, factor: float) -> np.ndarray:
    m = np.ones((STEPS + 1, len(BANDS)))
    m[recover_at:, :] = factor
    return m


def test_the_schedule_decides_whether_the_liquidation_leaves_bad_debt():
    """Thin depth all run: selling 90,500 USD into 40,000 USD of depth walks ~23 % and leaves bad
    debt. Depth back to 100x by step 6: the same close fills within ~0.5 % of the mark, no bad debt.
    Depth back only after the gap (step 8): as thin as no recovery."""
    thin = _run(None)
    back = _run(_schedule(6, 100.0))
    late = _run(_schedule(8, 100.0))
    assert thin.outputs.liq_count.sum() == back.outputs.liq_count.sum() == 1
    assert thin.bad_debt[0] > 5_000.0
    assert back.bad_debt[0] == 0.0
    assert late.bad_debt[0] == pytest.approx(thin.bad_debt[0], rel=1e-12)
    # the fill: 90,500 USD against 4e6 USD at 10 % → inside the first band (200,000 USD at 0.5 %)
    q = 1000.0 * 90.5
    x = q * 0.005 / 2e5
    assert back.outputs.min_mark[0, 0] == pytest.approx(90.5 * (1 - x), rel=1e-12)
    assert thin.outputs.min_mark[0, 0] == pytest.approx(90.5 * (1 - 0.10 - 50_500 * 0.05 / 2e4), rel=1e-12)


def test_each_band_has_its_own_multiplier():
    """Only the near-mid bands empty: an order that stays inside them moves far more than with the
    same schedule applied to the wide bands only."""
    near = np.ones((STEPS + 1, len(BANDS)))
    near[:, :2] = 0.01
    near[:, 2:] = 1.0
    near[:, 1] = 0.01 * 1.5   # keep the curve increasing (2e3·0.01 < 4e3·0.015 < 8e3)
    wide = np.ones((STEPS + 1, len(BANDS)))
    wide[:, 3:] = 10.0
    a = _run(near)
    b = _run(wide)
    assert a.outputs.min_mark[0, 0] != b.outputs.min_mark[0, 0]
    assert b.outputs.min_mark[0, 0] > a.outputs.min_mark[0, 0]


def test_a_constant_schedule_of_ones_changes_nothing():
    a = _run(None)
    b = _run(np.ones((STEPS + 1, len(BANDS))))
    assert_outputs_equal(a.outputs, b.outputs)


@pytest.mark.parametrize("case", ["recover", "near", "random"])
def test_kernel_matches_twin_with_a_depth_schedule(case):
    rng = np.random.default_rng(4)
    if case == "recover":
        mult = _schedule(6, 100.0)
        book = None
    elif case == "near":
        mult = np.linspace(1.0, 50.0, STEPS + 1)[:, None] * np.ones((1, len(BANDS)))
        book = None
    else:
        mult = np.exp(np.cumsum(rng.normal(0, 0.5, (STEPS + 1, 1)), axis=0)) * np.ones((1, len(BANDS)))
        book = random_book(3, 40, 1)
    a = _run(mult, "numba", book)
    b = _run(mult, "reference", book)
    assert_outputs_close(a.outputs, b.outputs)


def test_twin_matches_with_a_schedule_on_random_books_and_rules():
    """Several markets, hyperliquid-like slices and ADL, noisy prices: the schedule enters every walk
    (cascade fills, the mark, the B-book hedge) identically in the kernel and in the twin."""
    from defi_perps.engine import Funding

    rules_sets = [
        make_rules(mm_rate=0.0125, liq_fee_rate=0.0, partial_min_notional=2000.0, partial_fraction=0.2,
                   partial_cooldown_steps=1, backstop_mm_fraction=2 / 3, adl_trigger="negative_equity",
                   adl_fill="prev_mark", insurance_initial=500.0, bad_debt_absorber="vault", adl_ranking="hyperliquid"),
        make_rules(mm_rate=0.05, bad_debt_absorber="broker", counterparty="broker", liq_fee_dest="broker",
                   exec_mode="oracle", internalized_fraction=0.7, hedge_threshold=0.05),
    ]
    steps = 24
    rng = np.random.default_rng(9)
    walk = np.exp(np.cumsum(rng.normal(0, 0.4, (steps + 1, 1)), axis=0))
    mult = np.clip(np.where(np.arange(steps + 1)[:, None] < 8, 0.1, 1.0) * walk, 0.01, 100) * np.ones((1, 5))
    moved = []
    for seed, rules in enumerate(rules_sets):
        book = random_book(20 + seed, 40, 2, shared_accounts=True)
        base = shock_base_path("AAA:-30%@4m,+15%@6m; BBB:-20%@3m", book.market_names, steps, 60.0, strict=False)
        kw = dict(model=PriceModel(volatility=1.0), depth=DepthSpec(stress=0.05), funding=Funding(1.0, -1.0),  # noqa: C408
                  config=SimulationConfig(n_paths=3, n_steps=steps, seed=seed, n_detail=2, max_events=8),
                  base_log=base, depth_multiplier=mult)
        a = simulate(book, rules, engine="numba", **kw)
        b = simulate(book, rules, engine="reference", **kw)
        assert a.outputs.liq_count.sum() > 0
        assert_outputs_close(a.outputs, b.outputs)
        still = simulate(book, rules, engine="numba", **{**kw, "depth_multiplier": None})
        moved.append(not np.array_equal(still.outputs.det_mark, a.outputs.det_mark))
    assert any(moved)   # (Hyperliquid-like closes go mostly to the backstop at mark: no walk there)


@pytest.mark.parametrize("mult,match", [
    (np.ones((STEPS, 5)), "expected"),
    (np.zeros((STEPS + 1, 5)), "positive"),
    (np.c_[np.ones((STEPS + 1, 1)) * 10.0, np.ones((STEPS + 1, 4))], "non-increasing"),
])
def test_a_bad_schedule_is_a_one_line_error(mult, match):
    with pytest.raises(EngineInputError, match=match):
        _run(mult)


def test_the_scenario_schedule_reaches_the_kernel_through_simulate_and_compare():
    """``simulate --scenario oct-10-2025`` and every ``compare`` venue run with the scenario's depth
    schedule: the same run with the trough held all run (the old behaviour) liquidates into thinner
    depth after the crash minutes, so its marks differ once market makers return."""
    from dataclasses import replace

    from defi_perps.book import synthetic_book
    from defi_perps.runs.compare import run_compare
    from defi_perps.runs.simulate import run_simulate
    from defi_perps.scenarios.setup import make_setup

    book = synthetic_book(400, n_markets=2, seed=4, long_share=0.85)
    # BTC keeps falling for 50 minutes (a typed item over the scenario's): liquidations continue
    # while depth recovers from the crash minutes' trough
    setup = make_setup(book, scenario="oct-10-2025", shock="BTC:-30%@50m", horizon="1h")
    assert setup.depth_multiplier is not None and setup.depth_multiplier[-1, 0] > 10.0
    a = run_simulate(book, setup, "binance", n_paths=4, seed=2)
    held = run_simulate(book, replace(setup, depth_multiplier=None), "binance", n_paths=4, seed=2)
    assert not np.array_equal(a.result.outputs.det_mark, held.result.outputs.det_mark)
    c = run_compare(book, ["binance"], setup, n_paths=4, seed=2).runs[0]   # (compare keeps no detail paths)
    for name in ("totals", "parties", "min_mark", "liq_notional", "bad_debt"):
        assert getattr(c.result.outputs, name).tobytes() == getattr(a.result.outputs, name).tobytes(), name
