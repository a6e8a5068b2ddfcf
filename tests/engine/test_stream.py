"""Streamed runs: the same paths as a plain run, aggregated in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from defi_perps.engine.rules import GENERIC
from defi_perps.engine.stream import simulate_streaming
from defi_perps.exceptions import EngineInputError

from ._helpers import random_book

MODEL = PriceModel(volatility=1.5, jump_rate_per_year=3000.0, jump_mean=-0.05, jump_std=0.03)


@pytest.mark.parametrize("engine", ["numba", "reference"])
def test_streamed_run_is_the_plain_run_in_chunks(engine):
    book = random_book(7, 60, 2)
    cfg = SimulationConfig(n_paths=23, n_steps=30, seed=9, n_detail=2, max_events=4)
    plain = simulate(book, GENERIC, MODEL, DepthSpec(stress=0.1), config=cfg, engine=engine)
    streamed = simulate_streaming(book, GENERIC, MODEL, DepthSpec(stress=0.1), config=cfg, chunk_paths=5,
                                  engine=engine)
    t = plain.totals
    s = streamed.summary()
    assert streamed.stats.count == 23 and s["streamed"]["chunk_paths"] == 5
    assert t["liquidations"].sum() > 0
    # path k is the same path: the first chunk's rows are the plain run's first rows, bit for bit
    np.testing.assert_array_equal(streamed.detail.outputs.totals, plain.outputs.totals[:5])
    np.testing.assert_array_equal(streamed.detail.outputs.det_mark, plain.outputs.det_mark)
    ps = plain.summary()
    for key in ("liquidated_notional_usd", "bad_debt_usd", "liquidations", "adl_notional_usd"):
        assert s[key] == pytest.approx(ps[key], rel=1e-12, abs=1e-9)
    for k, v in ps["parties"].items():
        assert s["parties"][k] == pytest.approx(v, rel=1e-12, abs=1e-9)
    for k, v in ps["paid_by"].items():
        assert s["paid_by"][k] == pytest.approx(v, rel=1e-12, abs=1e-9)
    assert s["depth_capped"] == ps["depth_capped"]
    # tails from the sketch: the exact lower quantile within its relative error
    liq = np.sort(t["liq_notional"])
    assert s["tails"]["liquidated_notional_usd"]["p50"] == pytest.approx(liq[int(0.5 * 22)], rel=0.005)
    assert s["tails"]["liquidated_notional_usd"]["max"] == liq[-1]


def test_streaming_refuses_an_oversized_chunk_in_one_line():
    book = random_book(1, 10, 1)
    with pytest.raises(EngineInputError, match="chunk_paths"):
        simulate_streaming(book, config=SimulationConfig(n_paths=10**9, n_steps=1440, max_events=64),
                           chunk_paths=10**7)


def test_plain_run_refuses_a_billion_paths_before_allocating():
    book = random_book(1, 10, 1)
    with pytest.raises(EngineInputError, match="paths 1,000,000,000"):
        simulate(book, config=SimulationConfig(n_paths=10**9, n_steps=1440))
