"""The hedger in the kernel against its twin (ledger) to 1e-9, on random books and every venue:
ADL (queue, pro-rata), liquidation of the short on rising paths, both re-hedge routes, random
latencies, and a depth schedule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.engine.hedger_nb import N_RESULT, H
from defi_perps.engine.inputs import HedgerConfig
from defi_perps.runs.hedger import with_hedger
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import VENUE_NAMES, load_venue

from engine._helpers import random_book  # tests/engine (tests/ is on the path: rootdir conftest)

SHOCKS = [None, "-25%@5m", "+40%@4m", "AAA:-35%@3m,+10%@4m"]


def assert_same(a, b) -> None:
    for name in a._fields:
        x, y = getattr(a, name), getattr(b, name)
        if name == "hedger":   # the kernel's row also holds its path state after the results
            x, y = x[:, :N_RESULT], y[:, :N_RESULT]
        if x.dtype.names:
            for f in x.dtype.names:
                np.testing.assert_allclose(x[f], y[f], rtol=1e-9, atol=1e-7, err_msg=f"{name}.{f}")
        else:
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-7, err_msg=name)


def _both(book, rules, pmm, hedger, seed, steps, vol, stress, shock, schedule=None):
    from defi_perps.scenarios import shock_base_path

    base = shock_base_path(shock, book.market_names, steps, 60.0, strict=False) if shock else None
    kw = dict(model=PriceModel(volatility=vol), depth=DepthSpec(stress=stress),
              config=SimulationConfig(n_paths=3, n_steps=steps, seed=seed, n_detail=1, max_events=8),
              base_log=base, position_mm=pmm, hedger=hedger, depth_multiplier=schedule)
    a = simulate(book, rules, engine="numba", **kw)
    b = simulate(book, rules, engine="reference", **kw)
    assert_same(a.outputs, b.outputs)
    return a


def _venue(book, venue, policy="venue"):
    vi = venue_inputs(load_venue(venue), book, 60.0, policy)
    extra = {"insurance_initial": min(vi.rules.insurance_initial, 150.0)}
    if np.isfinite(vi.rules.partial_min_notional):
        extra["partial_min_notional"] = 2000.0
    return make_rules(vi.rules, **extra), vi.position_mm, vi.book


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book_seed=st.integers(0, 10_000), n=st.integers(2, 20), n_markets=st.integers(1, 3),
       venue=st.sampled_from(VENUE_NAMES), policy=st.sampled_from(["venue", "pro-rata", "pro-rata-pnl"]),
       seed=st.integers(0, 2**31), steps=st.integers(2, 20), vol=st.floats(0.0, 3.0), stress=st.floats(0.01, 2.0),
       shock=st.sampled_from(SHOCKS), share=st.floats(0.01, 0.8), leverage=st.sampled_from([2.0, 10.0, 40.0]),
       route=st.sampled_from(["perp", "spot"]), lat=st.integers(1, 6), fee=st.floats(0.0, 0.01),
       funding=st.floats(-1.0, 1.0))
def test_kernel_matches_twin_with_a_hedger(book_seed, n, n_markets, venue, policy, seed, steps, vol, stress, shock,
                                           share, leverage, route, lat, fee, funding):
    book = random_book(book_seed, n, n_markets, shared_accounts=True)
    hedge = share * max(float(book.open_interest()[0].sum()), 1000.0)
    hbook, idx = with_hedger(book, 0, hedge, leverage)
    rules, pmm, admitted = _venue(hbook, venue, policy)
    lats = np.random.default_rng(seed % 1000).integers(1, lat + 1, 3)
    _both(admitted, rules, pmm, HedgerConfig(position=idx, latency_steps=lats, route=route, fee=fee,
                                             funding_apr=funding), seed, steps, vol, stress, shock)


def test_twin_agrees_when_adl_and_a_liquidation_both_hit_the_hedger():
    """Hyperliquid's rules on crashes (the 40x hedger is ADL'd) and squeezes (it is liquidated), with a
    depth schedule that empties the book near the mid for a few steps."""
    hits = {"adl": 0, "liq": 0}
    for seed in range(6):
        book = random_book(seed, 30, 1, shared_accounts=True)
        hbook, idx = with_hedger(book, 0, 0.3 * float(book.open_interest()[0].sum()), 40.0)
        rules, pmm, admitted = _venue(hbook, "hyperliquid")
        steps = 20
        sched = np.ones((steps + 1, 5))
        sched[3:10] = [0.02, 0.05, 0.3, 1.0, 1.0]
        a = _both(admitted, rules, pmm, HedgerConfig(position=idx, latency_steps=2), seed, steps, 1.0, 0.05,
                  "-30%@3m,+20%@6m" if seed % 2 == 0 else "+30%@4m", schedule=sched)
        h = a.outputs.hedger
        hits["adl"] += int((h[:, H.ADL_QTY] > 0).sum())
        hits["liq"] += int((h[:, H.LIQ_QTY] > 0).sum())
        # the causes add up, and what is left open plus what was closed is the short
        np.testing.assert_allclose(h[:, H.TOTAL], h[:, :H.TOTAL].sum(axis=1), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(h[:, H.FINAL_PERP_QTY] + h[:, H.ADL_QTY] + h[:, H.LIQ_QTY],
                                   admitted.size[idx], rtol=1e-9)
    assert hits["adl"] > 0 and hits["liq"] > 0


@pytest.mark.parametrize("venue", VENUE_NAMES)
def test_the_agent_only_observes_until_it_trades(venue):
    """The same book (the hedger's short in it) with and without the agent: every engine output is
    bit-identical when the agent holds no spot (it then never re-hedges, so it never walks the book);
    a run without the agent allocates no hedger rows."""
    book = random_book(3, 20, 2, shared_accounts=True)
    hbook, idx = with_hedger(book, 0, 0.2 * float(book.open_interest()[0].sum()), 10.0)
    rules, pmm, admitted = _venue(hbook, venue)
    from defi_perps.scenarios import shock_base_path

    kw = dict(model=PriceModel(volatility=1.0), depth=DepthSpec(stress=0.1), position_mm=pmm,
              config=SimulationConfig(n_paths=2, n_steps=10, seed=4, n_detail=2),
              base_log=shock_base_path("-30%@4m", admitted.market_names, 10, 60.0))
    plain = simulate(admitted, rules, **kw)
    observed = simulate(admitted, rules, hedger=HedgerConfig(position=idx, spot_qty=0.0), **kw)
    assert plain.outputs.hedger.shape == (0, len(H))
    for name in plain.outputs._fields:
        if name != "hedger":
            assert getattr(plain.outputs, name).tobytes() == getattr(observed.outputs, name).tobytes(), name
    h = observed.outputs.hedger
    np.testing.assert_allclose(h[:, H.ADL_QTY], admitted.size[idx] * (1 - plain.remaining()[:, idx])
                               - h[:, H.LIQ_QTY], rtol=1e-9, atol=1e-12)
