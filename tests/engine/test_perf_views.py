"""The cascade's slim inputs (engine/nb.py ``CascadePositions``, ``CascadeMarket``, ``CascadeOutputs``)
and hooks that are off: speed changes that must not change a single bit of the results.

The cascade reads its inputs by the names of the full records, so each slim view must hold the same
arrays under the same names; and a hook switched on where it cannot act (a liquidation window that
never binds) must give exactly the results of the hook switched off.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from defi_perps.engine import nb
from defi_perps.engine.inputs import MarketArrays, PositionArrays
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue

from ._helpers import assert_outputs_equal, random_book


def test_slim_views_name_fields_of_the_full_records() -> None:
    assert set(nb.CascadePositions._fields) <= set(PositionArrays._fields)
    assert set(nb.CascadeMarket._fields) - {"n_markets"} <= set(MarketArrays._fields)
    assert set(nb.CascadeOutputs._fields) <= set(nb.Outputs._fields)


def _run(book, rules, pmm, engine: str = "numba"):  # type: ignore[no-untyped-def]
    cfg = SimulationConfig(n_paths=6, n_steps=240, seed=5, n_detail=2, max_events=8, threads=1)
    model = PriceModel(volatility=1.5, jump_rate_per_year=2000.0, jump_mean=-0.04, jump_std=0.02)
    return simulate(book, rules, model, DepthSpec(), config=cfg, position_mm=pmm, engine=engine).outputs


def test_the_kernel_equals_its_twin_on_hyperliquid_with_slices_backstop_and_adl() -> None:
    vi = venue_inputs(load_venue("hyperliquid"), random_book(11, 400, n_markets=2, shared_accounts=True))
    a = _run(vi.book, vi.rules, vi.position_mm)
    assert a.liq_count.sum() > 0
    b = _run(vi.book, vi.rules, vi.position_mm, engine="reference")
    for name in a._fields:   # the twin is plain Python: equal to 1e-9, not bit for bit
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype.names:
            continue
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-7, err_msg=name)


def test_a_liquidation_window_that_never_binds_changes_nothing() -> None:
    book = random_book(3, 300, n_markets=3)
    vi = venue_inputs(load_venue("hyperliquid"), book)
    off = _run(vi.book, vi.rules, vi.position_mm)
    huge = dataclasses.replace(vi.book, liq_window_qty_per_s=np.full(3, 1e30))
    on = _run(huge, vi.rules, vi.position_mm)
    assert off.liq_count.sum() > 0
    assert_outputs_equal(off, on)


def test_an_unowned_view_is_the_same_array() -> None:
    from defi_perps.engine._jit import njit
    from defi_perps.engine.unowned_nb import unowned

    @njit(cache=False)
    def write_through(a):  # type: ignore[no-untyped-def]
        v = unowned(a)
        v[1] = 7.0
        return v.sum(), v.shape[0], v.strides[0]

    a = np.arange(4.0)
    total, n, stride = write_through(a)
    assert a.tolist() == [0.0, 7.0, 2.0, 3.0]   # the view writes the owner's data
    assert (total, n, stride) == (12.0, 4, 8)


def test_the_backstop_pre_test_changes_no_decision(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Hyperliquid's first-trigger decisions with the float32 backstop bounds equal those without
    (each position then takes the exact equity/maintenance test), bit for bit, on paths with jumps
    deep enough for the backstop vault to take positions over."""
    from defi_perps.engine import api
    from defi_perps.engine.inputs import NO_BTHR, NO_BTHR_BF, prepare_positions

    vi = venue_inputs(load_venue("hyperliquid"), random_book(12, 500, n_markets=2))
    on = _run(vi.book, vi.rules, vi.position_mm)
    assert on.backstop_notional.sum() > 0 and on.liq_count.sum() > on.backstop_notional.astype(bool).sum()

    def without_bounds(*args, **kwargs):  # type: ignore[no-untyped-def]
        pos, order = prepare_positions(*args, **kwargs)
        assert pos.bthr.size == pos.qty.size   # the bounds were on in the run above
        return pos._replace(bthr=NO_BTHR, bthr_bf=NO_BTHR_BF), order

    monkeypatch.setattr(api, "prepare_positions", without_bounds)
    off = _run(vi.book, vi.rules, vi.position_mm)
    assert_outputs_equal(on, off)
