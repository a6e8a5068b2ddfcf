"""Kernel == twin (relative 1e-9) with the makers' depth withdrawing, on every venue, with a
scenario depth schedule on top, over hypothesis-drawn books, shocks and withdrawal parameters;
and money still nets to zero on every path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.engine import DepthSpec, Funding, PriceModel, SimulationConfig, simulate
from defi_perps.engine.liquidity import load_withdrawal
from defi_perps.engine.rules import GENERIC, make_rules
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import VENUE_NAMES, load_venue

from engine._helpers import assert_outputs_close, random_book  # tests/engine, a sibling package

W = load_withdrawal()


def _inputs(book, venue: str):
    if venue == "generic":
        return GENERIC, None, book
    vi = venue_inputs(load_venue(venue), book, 60.0)
    extra = {"insurance_initial": min(vi.rules.insurance_initial, 150.0)}
    if np.isfinite(vi.rules.partial_min_notional):
        extra["partial_min_notional"] = 2000.0
    return make_rules(vi.rules, **extra), vi.position_mm, vi.book


def _both(book, rules, pmm, withdrawal, shock, seed, schedule):
    from defi_perps.scenarios import shock_base_path

    steps = 20
    base = shock_base_path(shock, book.market_names, steps, 60.0, strict=False)
    mult = None
    if schedule:
        mult = np.ones((steps + 1, 5))
        mult[3:10, :] = [0.2, 0.3, 0.5, 0.8, 1.0]
    cfg = SimulationConfig(n_paths=2, n_steps=steps, seed=seed, n_detail=2, max_events=8)
    out = []
    for engine in ("numba", "reference"):
        out.append(simulate(book, rules, PriceModel(volatility=1.0), DepthSpec(stress=0.1), Funding(0.5, -0.5), cfg,
                            base_log=base, engine=engine, position_mm=pmm, depth_multiplier=mult,
                            withdrawal=withdrawal))
    assert_outputs_close(out[0].outputs, out[1].outputs)
    par = out[0].outputs.parties
    assert np.all(np.abs(par.sum(axis=1)) <= 1e-9 * np.maximum(np.abs(par).max(axis=1), 1.0))
    return out[0]


@pytest.mark.parametrize("venue", ("generic",) + VENUE_NAMES)
def test_kernel_matches_twin_with_withdrawal_on_every_venue(venue):
    book = random_book(7, 30, 2, shared_accounts=True)
    rules, pmm, admitted = _inputs(book, venue)
    r = _both(admitted, rules, pmm, W, "AAA:-30%@5m,+10%@15m; BBB:-20%@4m", 3, schedule=True)
    assert r.outputs.wd_min.min() < 0.5   # the makers did withdraw


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), drop=st.floats(0.02, 0.5), k_vol=st.floats(0.0, 1.0), k_dd=st.floats(0.0, 20.0),
       k_adl=st.floats(0.0, 50.0), hl=st.sampled_from([0.0, 60.0, 180.0]), rec=st.sampled_from([60.0, 900.0]),
       venue=st.sampled_from(["generic", "hyperliquid", "binance", "ccp"]), schedule=st.booleans())
def test_kernel_matches_twin_for_drawn_withdrawal(seed, drop, k_vol, k_dd, k_adl, hl, rec, venue, schedule):
    w = dataclasses.replace(W, k_vol=k_vol, k_drawdown=k_dd, k_adl=k_adl, vol_half_life_s=hl,
                            recovery_half_life_s=rec)
    book = random_book(seed % 1000, 24, 2, shared_accounts=True)
    rules, pmm, admitted = _inputs(book, venue)
    _both(admitted, rules, pmm, w, f"AAA:-{drop:.0%}@4m; BBB:+{drop / 2:.0%}@6m", seed, schedule)
