"""BitMEX's maintenance on the entry value reaches the engine (issue 7 item 5).

BitMEX's isolated-margin example (https://www.bitmex.com/app/isolatedMarginExamples, cited in
params/bitmex.toml): 20 ETHUSDT bought at 1,000 with 10,000 USDT of margin, maintenance 1 % →
liquidation at 510, bankruptcy at 500 (on the mark value it would be 505.05)."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
from defi_perps.engine.inputs import prepare_positions
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue


def _book() -> Book:
    return Book(market_names=["ETH"], price=[1_000.0], market=np.zeros(1), side=np.ones(1), size=np.full(1, 20.0),
                entry_price=np.full(1, 1_000.0), collateral_usd=np.full(1, 10_000.0),
                collateral_tokens=np.zeros(1), account=np.zeros(1))


def test_engine_threshold_is_bitmex_documented_510():
    vi = venue_inputs(load_venue("bitmex"), _book(), 60.0)
    assert vi.margin_topup["positions"] == 0
    pos, order = prepare_positions(vi.book, vi.rules, vi.position_mm)
    thr = np.empty(vi.book.n_positions)
    thr[order] = pos.thr
    assert thr[0] == pytest.approx(510.0, rel=1e-12)   # not 505.05 (MM on the mark value)


@pytest.mark.parametrize("low,liquidated", [(511.0, False), (509.0, True)])
def test_engine_liquidates_below_510_and_not_above(low, liquidated):
    vi = venue_inputs(load_venue("bitmex"), _book(), 60.0)
    base = np.zeros((4, 1))
    base[2:, 0] = np.log(low / 1_000.0)
    res = simulate(vi.book, vi.rules, PriceModel(volatility=0.0), DepthSpec(stress=1e6),
                   config=SimulationConfig(n_paths=1, n_steps=3, seed=0, n_detail=1), base_log=base,
                   position_mm=vi.position_mm, engine="numba")
    rem = np.ones(vi.book.n_positions)
    rem[res.position_order] = res.outputs.det_rem[0]
    assert (rem[0] == 0.0) == liquidated
