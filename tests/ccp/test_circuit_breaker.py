"""Settlement cycle and price limits, by hand: a clearing house closes out only at a variation-margin
settlement (scheduled, intraday call, horizon end), and a price-limit halt stops every close-out
fill until trading resumes, with the next band in force. Kernel and twin alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.scenarios import shock_base_path

from .test_waterfall import DEEP, _book

ENGINES = ["numba", "reference"]


def _close_out_step(rules, engine, steps=12):
    """The long (4x, maintenance 20 %: closed out below -6.25 %) under a log-linear fall to -2 % × steps:
    with 12 steps the price is 100 × 0.76^(t/12): -2.3, -4.5, -6.6, -8.7, -10.8, -12.8, -14.8 % at t = 1…7."""
    book = _book()
    base = shock_base_path(f"-{2 * steps}%@{steps}m", book.market_names, steps, 60.0)
    cfg = SimulationConfig(n_paths=1, n_steps=steps, seed=1, n_detail=1)
    r = simulate(book, rules, PriceModel(volatility=0.0), DEEP, None, cfg, base_log=base, engine=engine)
    per_step = r.outputs.det_liq_notional[0, :, 0, 0]
    hit = np.flatnonzero(per_step > 0)
    assert hit.size == 1
    return int(hit[0]) + 1, r


def _rules(**kw):
    return make_rules(**{**dict(ccp=True, mm_rate=0.2, liq_fee_rate=0.0, vm_interval_steps=1), **kw})


@pytest.mark.parametrize("engine", ENGINES)
def test_close_out_waits_for_the_settlement(engine):
    assert _close_out_step(_rules(), engine)[0] == 3                          # -6.6 %: first step past -6.25 %
    assert _close_out_step(_rules(vm_interval_steps=5), engine)[0] == 5       # the next scheduled settlement
    # no scheduled settlement in the horizon: the horizon's last step settles
    assert _close_out_step(_rules(vm_interval_steps=100), engine, steps=7)[0] == 7
    # an intraday call once the price has moved 8 % since the last settlement: -8.7 % at step 4
    assert _close_out_step(_rules(vm_interval_steps=100, intraday_call_move=0.08), engine)[0] == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_price_limit_halts_close_outs_then_trading_resumes(engine):
    rules = _rules(price_limits=[0.05, 0.13], limit_halt_steps=2)
    step, r = _close_out_step(rules, engine)
    # -6.6 % at step 3 hits the 5 % band: halted at steps 3 and 4, the close-out fills at step 5 (-10.8 %)
    assert step == 5
    assert r.outputs.det_mark[0, 5, 0] == pytest.approx(100.0 * 0.76 ** (5 / 12), rel=1e-6)
    # -14.8 % at step 7 hits the 13 % band: a second halt (steps 7, 8); the last band is a hard limit
    # (CME: no trading outside the 20 %), so steps 9-12, still beyond it, do not trade either
    assert r.totals["halt_steps"][0] == 8.0
    # without the halt the close-out is at -6.6 %: the halt made the defaulter's loss larger
    _, free = _close_out_step(_rules(), engine)
    assert r.parties()["traders"][0] < free.parties()["traders"][0]
    assert math.isclose(r.totals["settlements"][0], 12 - 8)


def test_kernel_and_twin_agree_on_halts_and_settlements():
    rules = _rules(price_limits=[0.03, 0.07, 0.13], limit_halt_steps=1, vm_interval_steps=3,
                   intraday_call_move=0.04, defaulter_gf_fraction=0.1, ccp_capital=3.0, mutual_gf=2.0,
                   assessments_cap=1.0, vm_haircut=True)
    from defi_perps.book import synthetic_book

    from engine._helpers import assert_outputs_close  # tests/engine, a sibling package

    book = synthetic_book(200, n_markets=2, seed=5, long_share=0.8)
    base = shock_base_path("-35%@10m,+10%@20m", book.market_names, 20, 60.0, strict=False)
    cfg = SimulationConfig(n_paths=3, n_steps=20, seed=2, n_detail=2)
    a, b = (simulate(book, rules, PriceModel(volatility=1.5), DepthSpec(stress=0.05), None, cfg, base_log=base,
                     engine=e) for e in ENGINES)
    assert_outputs_close(a.outputs, b.outputs)
    assert a.totals["halt_steps"].sum() > 0 and a.totals["paid_ccp_capital"].sum() > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_the_last_band_is_a_hard_limit_until_the_price_comes_back_inside(engine):
    # prices 100, 97.25, 94.57, 91.97, 89.44, 86.98, 84.59, 82.26, 80.00, 82.27, 84.61, 87.02, 89.50
    book = _book()
    base = shock_base_path("-20%@8m,+40%@12m", book.market_names, 12, 60.0)
    cfg = SimulationConfig(n_paths=1, n_steps=12, seed=1, n_detail=1)
    r = simulate(book, _rules(price_limits=[0.05, 0.13], limit_halt_steps=1), PriceModel(volatility=0.0), DEEP, None,
                 cfg, base_log=base, engine=engine)
    # halted: step 2 (5 % band), step 5 (13 % band), steps 6-10 (beyond the hard 13 %); 11 and 12 are back inside
    assert r.totals["halt_steps"][0] == 7.0
    assert r.totals["settlements"][0] == 5.0   # steps 1, 3, 4, 11, 12
