from __future__ import annotations

import json

import numpy as np
import pytest

from defi_perps.book import synthetic_book
from defi_perps.commands._common import dumps
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from defi_perps.engine.results import describe


def test_var_and_expected_shortfall():
    v = np.arange(1, 101, dtype=float)     # losses 1..100
    d = describe(v, loss=True)
    assert d["var95"] == pytest.approx(np.quantile(v, 0.95))
    assert d["es95"] == pytest.approx(v[95:].mean())
    assert d["es99"] >= d["var99"] >= d["var95"]
    assert describe(np.array([np.nan]))["n"] == 0


def test_result_serializes_to_json_with_per_path_arrays():
    r = simulate(synthetic_book(200, seed=1), model=PriceModel(volatility=2.0), depth=DepthSpec(stress=0.1),
                 config=SimulationConfig(n_paths=10, n_steps=20, seed=3))
    d = json.loads(dumps(r.to_dict(include_paths=True)))
    assert d["run"]["seed"] == 3 and d["stats"]["bad_debt_usd"]["n"] == 10
    assert len(d["per_path"]["totals"]["bad_debt"]) == 10
    assert len(d["per_path"]["paid_by"]["uncovered"]) == 10
    assert set(d["stats"]["markets"]) == set(r.book.market_names)
    assert "var99" in d["stats"]["liquidated_notional_usd"] and d["events"]["events_total"] >= 0
    assert d["rules"]["adl_trigger"] == "none" and d["venue"] == "generic"
    # the one output shape
    for key in ("liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "paid_by", "parties", "tails"):
        assert key in d
    assert sum(d["paid_by"].values()) == pytest.approx(d["bad_debt_usd"], rel=1e-9, abs=1e-9)


def test_totals_are_a_record_array_by_name():
    r = simulate(synthetic_book(100, seed=2), model=PriceModel(volatility=2.0), depth=DepthSpec(stress=0.1),
                 config=SimulationConfig(n_paths=4, n_steps=10, seed=1))
    assert r.totals.dtype.names[:3] == ("bad_debt", "paid_fund", "paid_pool")
    np.testing.assert_array_equal(r.totals["bad_debt"], r.bad_debt)
    assert r.totals["liquidations"].sum() == r.outputs.liq_count.sum()


def test_paths_beyond_the_memory_bound_are_refused_in_one_line():
    from defi_perps.exceptions import EngineInputError

    with pytest.raises(EngineInputError, match="needs ~.* GiB of per-path results"):
        simulate(synthetic_book(100, seed=2), config=SimulationConfig(n_paths=1_000_000_000, n_steps=10))


def test_step_detail_adds_up_to_the_path_totals():
    r = simulate(synthetic_book(300, seed=2), model=PriceModel(volatility=2.0), depth=DepthSpec(stress=0.1),
                 config=SimulationConfig(n_paths=6, n_steps=30, seed=4, n_detail=6))
    o = r.outputs
    np.testing.assert_array_equal(o.det_liq_count.sum(axis=1), o.liq_count)
    np.testing.assert_allclose(o.det_liq_notional.sum(axis=1), o.liq_notional, rtol=1e-12)
    assert r.step_profile().shape == (30,)
