"""The hedger's mechanics on cases computed by hand: ADL closes half its short at the bankruptcy
price, it stays unhedged for the latency while the price keeps falling, and re-hedges through a
linear depth curve (fill and slippage in closed form); with ADL off it stays hedged and earns funding.

Kernel and twin must both give the hand values (1e-9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, make_rules, simulate
from defi_perps.engine.hedger_nb import H
from defi_perps.engine.inputs import SECONDS_PER_YEAR, HedgerConfig

K_DEPTH = 1e6           # linear depth: D(x) = k·x, a sale of Q USD fills at distance Q / (2k) on average
PRICES = [100.0, 90.0, 85.0, 80.0, 80.0]   # the deterministic path, steps 0..4 (no noise)


def _book() -> Book:
    # a 20x long (collateral 50) and the hedger's 5x short of 20 tokens (index 1)
    return Book(market_names=["X"], price=[100.0], market=np.zeros(2), side=np.array([1, -1]),
                size=np.array([10.0, 20.0]), entry_price=np.array([100.0, 100.0]),
                collateral_usd=np.array([50.0, 400.0]), collateral_tokens=np.zeros(2), account=np.arange(2))


def _run(engine: str, adl: bool, route: str = "perp", funding_apr: float = 0.0, fee: float = 0.001):
    # liquidations close at the oracle price with no book flow (exec oracle, no feedback), so the only
    # walk through the depth is the hedger's re-hedge; impact is transient and gone the next step
    rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, exec_mode="oracle", oracle_feedback=0.0,
                       adl_trigger="negative_equity" if adl else "none", adl_fill="prev_mark",
                       adl_ranking="hyperliquid")
    depth = DepthSpec(kind="linear", k_usd=K_DEPTH, permanent_fraction=0.0, transient_half_life_steps=1e-9)
    base = np.log(np.array(PRICES) / 100.0)[:, None]
    cfg = SimulationConfig(n_paths=2, n_steps=4, step_seconds=60.0, seed=1, n_detail=0)
    hed = HedgerConfig(position=1, latency_steps=2, route=route, fee=fee, funding_apr=funding_apr)
    return simulate(_book(), rules, PriceModel(volatility=0.0), depth, None, cfg, base_log=base, engine=engine,
                    hedger=hed)


@pytest.mark.parametrize("engine", ["numba", "reference"])
@pytest.mark.parametrize("route", ["perp", "spot"])
def test_adl_hits_the_hedger_and_it_loses_on_the_unhedged_spot(engine, route):
    h = _run(engine, adl=True, route=route).outputs.hedger[0]
    # step 1 (price 90): the long's equity is 50 − 100 = −50; negative-equity ADL closes its 10 tokens
    # against the only short, the hedger (10 of its 20), at the previous mark = the bankruptcy price
    # 90 + 50 / 10 = 95: the fill takes 10 × (95 − 90) = 50 of the short's profit
    assert h[H.ADL_QTY] == pytest.approx(10.0, rel=1e-12)
    assert h[H.ADL_NOTIONAL] == pytest.approx(950.0, rel=1e-12)
    assert h[H.ADL_VS_MARKET] == pytest.approx(-50.0, rel=1e-9)
    assert h[H.ADL_FIRST_STEP] == 1
    # unhedged: 10 tokens at the end of steps 1 and 2 (latency 2 steps); peak 10 × 90
    assert h[H.UNHEDGED_STEPS] == 2 and h[H.PEAK_UNHEDGED_USD] == pytest.approx(900.0, rel=1e-12)
    # step 3 (price 80): sell 800 USD into D(x) = 1e6·x: average distance 800 / 2e6 = 0.0004
    fill = 80.0 * (1.0 - 800.0 / (2 * K_DEPTH))
    assert h[H.REHEDGE_QTY] == pytest.approx(10.0, rel=1e-12)
    assert h[H.REHEDGE_SLIPPAGE] == pytest.approx(10.0 * (fill - 80.0), rel=1e-9)    # −0.32
    assert h[H.FEES] == pytest.approx(-0.001 * 10.0 * fill, rel=1e-9)
    # valued at the final mark 80 (the re-hedge's impact was transient): spot 20 × (80 − 100) = −400
    # (perp route; the spot route sells 10 at 80: 10 × −20 + 10 × −20, the same); perp: the ADL'd half
    # 10 × (100 − 90) at the mark of its close, the open half 10 × (100 − 80), the re-hedge short 0
    assert h[H.SPOT_MTM] == pytest.approx(-400.0, rel=1e-9)
    assert h[H.PERP_MTM] == pytest.approx(300.0, rel=1e-9)
    # spot + perp = the unhedged loss: 10 tokens × (80 − 90) while the short was gone
    assert h[H.SPOT_MTM] + h[H.PERP_MTM] == pytest.approx(-100.0, rel=1e-9)
    total = -400.0 + 300.0 - 50.0 + 10.0 * (fill - 80.0) - 0.001 * 10.0 * fill
    assert h[H.TOTAL] == pytest.approx(total, rel=1e-9)
    assert h[H.FINAL_PERP_QTY] == pytest.approx(10.0)
    if route == "perp":
        assert h[H.FINAL_OTHER_QTY] == pytest.approx(10.0) and h[H.FINAL_SPOT_QTY] == pytest.approx(20.0)
    else:
        assert h[H.FINAL_OTHER_QTY] == 0.0 and h[H.FINAL_SPOT_QTY] == pytest.approx(10.0)


@pytest.mark.parametrize("engine", ["numba", "reference"])
def test_with_adl_off_the_hedger_stays_hedged_and_earns_funding(engine):
    apr = 0.1095
    res = _run(engine, adl=False, funding_apr=apr)
    h = res.outputs.hedger[0]
    assert res.totals["uncovered"][0] == pytest.approx(50.0)       # the gap stays with nobody: no ADL
    assert h[H.ADL_QTY] == 0.0 and h[H.REHEDGES] == 0.0 and h[H.UNHEDGED_STEPS] == 0.0
    assert h[H.SPOT_MTM] == pytest.approx(-400.0) and h[H.PERP_MTM] == pytest.approx(400.0)
    step = apr * 60.0 / SECONDS_PER_YEAR
    funding = step * 20.0 * sum(PRICES[1:])          # the whole 20-token short, at each step's mark
    assert h[H.FUNDING] == pytest.approx(funding, rel=1e-9)
    assert h[H.TOTAL] == pytest.approx(funding, rel=1e-9)


def test_latency_is_in_whole_steps_and_a_longer_one_loses_more_here():
    """Re-hedging one step later, at 80 instead of 85, adds 10 × (80 − 85) to the unhedged loss."""
    def unhedged(lat: int) -> float:
        rules = make_rules(mm_rate=0.01, liq_fee_rate=0.0, exec_mode="oracle", adl_trigger="negative_equity",
                           adl_fill="prev_mark", adl_ranking="hyperliquid")
        depth = DepthSpec(kind="linear", k_usd=1e30, permanent_fraction=0.0, transient_half_life_steps=1e-9)
        base = np.log(np.array(PRICES) / 100.0)[:, None]
        cfg = SimulationConfig(n_paths=1, n_steps=4, seed=0, n_detail=0)
        h = simulate(_book(), rules, PriceModel(volatility=0.0), depth, None, cfg, base_log=base,
                     hedger=HedgerConfig(position=1, latency_steps=lat)).outputs.hedger[0]
        return h[H.SPOT_MTM] + h[H.PERP_MTM]

    assert unhedged(1) == pytest.approx(10.0 * (85.0 - 90.0), rel=1e-9)
    assert unhedged(2) == pytest.approx(10.0 * (80.0 - 90.0), rel=1e-9)
    assert math.isclose(unhedged(2) - unhedged(1), -50.0, rel_tol=1e-9)


def test_bad_hedger_inputs_are_one_line_errors():
    from defi_perps.exceptions import EngineInputError

    rules = make_rules()
    cfg = SimulationConfig(n_paths=1, n_steps=2, seed=0)
    for bad in (HedgerConfig(position=0), HedgerConfig(position=5), HedgerConfig(position=1, latency_steps=0),
                HedgerConfig(position=1, route="moon")):
        with pytest.raises(EngineInputError):
            simulate(_book(), rules, PriceModel(volatility=0.0), config=cfg, hedger=bad)
