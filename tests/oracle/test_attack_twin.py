"""The push kernel equals its twin; the curve's premiums, unwind loss and arbitrage follow the docs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.engine import attack as nb
from defi_perps.engine import attack_reference as ref
from defi_perps.engine.depth import DEPTH_BANDS, walk_distance

BANDS = [0.005, 0.01, 0.02, 0.05, 0.10]


def _sources(seed: int, k: int) -> nb.SourceArrays:
    rng = np.random.default_rng(seed)
    bands, depth = [], []
    for _ in range(k):
        n = int(rng.integers(1, 6))
        bands.append(BANDS[:n])
        depth.append(list(np.cumsum(rng.uniform(1e4, 1e6, n))))
    return nb.make_sources(bands, depth, list(rng.uniform(0, 0.002, k)), list(rng.uniform(0, 0.5, k)),
                           list(rng.choice([1.0, 2.0, 3.0], k)))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4), g=st.integers(1, 4), up=st.booleans(),
       budget=st.sampled_from([math.inf, 2e5, 5e6]))
def test_push_kernel_matches_twin(seed: int, k: int, g: int, up: bool, budget: float) -> None:
    src = _sources(seed, k)
    rng = np.random.default_rng(seed + 1)
    target = rng.uniform(0.0, 3.0 if up else 0.6, (g, k)) * (1 if up else -1) * (rng.random((g, k)) < 0.8)
    plan = nb.make_plan(target, budget, rng.integers(1, 4, g), rng.integers(0, 5, g), rng.integers(0, 4, g))
    a = nb.push_sources(src, plan, 14)
    b = ref.push_sources(src, plan, 14)
    for name in a._fields:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-6, err_msg=name)


def test_curve_matches_depth_py_and_inverts() -> None:
    src = nb.make_sources([BANDS], [[1e5, 2e5, 4e5, 1e6, 2e6]], [0.0], [0.0], [1.0])
    bx, ax, bd, n = src.bid_x[0], src.ask_x[0], src.band_d[0], int(src.band_n[0])
    for q in (5e4, 3e5, 1.5e6, 5e6):
        assert -nb.offset_at(-q, bx, ax, bd, n) == pytest.approx(walk_distance(q, DEPTH_BANDS, 1.0, 1.0, bx, bd, n))
    # the ask side keeps the band depths at the same prices: $1M lifts the price by exactly +5 %
    assert nb.offset_at(1e6, bx, ax, bd, n) == pytest.approx(0.05)
    for y in (0.003, 0.04, 0.5, 4.0, -0.03, -0.5):
        assert nb.offset_at(nb.coordinate_for(y, bx, ax, bd, n), bx, ax, bd, n) == pytest.approx(y)


def test_round_trip_loses_the_spread_and_arbitrage_costs_more() -> None:
    src = nb.make_sources([BANDS], [[1e5, 2e5, 4e5, 1e6, 2e6]], [0.001], [0.0], [1.0])
    quick = nb.push_sources(src, nb.make_plan(np.array([[0.05]]), unwind=1), 3)
    # buy $1M to +5 %, sell it straight back down the same asks: only fees are lost
    assert quick.premium[0] == pytest.approx(0.0, abs=1e-6) and quick.fees[0] == pytest.approx(2e3)
    assert quick.ratio[0, 1, 0] == pytest.approx(1.05) and quick.ratio[0, 2, 0] == pytest.approx(1.0)
    arbed = nb.make_sources([BANDS], [[1e5, 2e5, 4e5, 1e6, 2e6]], [0.001], [nb.arb_per_step(1.0)], [1.0])
    held = nb.push_sources(arbed, nb.make_plan(np.array([[0.05]]), hold=5, unwind=1), 8)
    # holding against arbitrageurs re-buys what they sell and unwinds below fair: a real loss
    assert held.premium[0] > 1e4 and held.bought[0] > 2e6
    assert held.ratio[0, 6, 0] == pytest.approx(1.05)


# --- the backstop vault holding an inherited position (engine/attack_vault.py) ---------------------
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), g=st.integers(1, 5))
def test_vault_kernel_matches_twin(seed: int, k: int, g: int) -> None:
    from defi_perps.engine.attack_vault import make_vault_plan, vault_holding

    src = _sources(seed, k)
    rng = np.random.default_rng(seed + 7)
    t1 = int(rng.integers(2, 16))
    mark = np.cumprod(1.0 + rng.normal(0.0, 0.08, (g, t1)), axis=1)
    plan = make_vault_plan(rng.choice([-1.0, 1.0], g), rng.uniform(1e4, 5e6, g), rng.uniform(0, 1e5, g),
                           rng.choice([np.inf, 2e5, 1e6], g), rng.integers(0, t1, g), rng.integers(0, 6, g),
                           rng.integers(0, k, g))
    a = vault_holding(src, plan, mark)
    b = ref.vault_holding(src, plan, mark)
    for name in a._fields:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-6, err_msg=name)


def test_a_held_vault_position_is_marked_and_a_closed_one_pays_the_curve() -> None:
    from defi_perps.engine.attack_vault import make_vault_plan, vault_holding

    src = nb.make_sources([[0.01, 0.05]], [[1e5, 1e6]], [0.001], [arb := 0.3], [1.0])
    mark = np.array([[1.0, 1.0, 1.5, 2.5, 3.0]])
    held = vault_holding(src, make_vault_plan(-1.0, 4e6, 2e5, 5e6, start=1, unwind=0), mark)
    # a held short loses q·(m − m_start) − kept, and is wiped out at the first step past its capital
    np.testing.assert_allclose(held.pnl[0], [0.0, 2e5, 2e5 - 2e6, 2e5 - 6e6, 2e5 - 8e6], rtol=1e-12)
    assert held.loss[0] == pytest.approx(8e6 - 2e5) and held.peak_loss[0] == held.loss[0]
    assert held.wiped_step[0] == 3 and held.slippage[0] == 0.0 and held.held[0] == pytest.approx(4e6)
    # a long sold in 4 equal slices at an unmoved mark into the venue, refilled at its arbitrage speed:
    # the loss is the curve's premium plus fees (an independent loop over the twin's premium)
    flat = np.ones((1, 5))
    sold = vault_holding(src, make_vault_plan(1.0, 8e5, 0.0, np.inf, start=0, unwind=4), flat)
    bx, ax, bd = [0.01, 0.05], [0.01 / 1.01, 0.05 / 1.05], [1e5, 1e6]
    pos, lost = 0.0, 0.0
    for _ in range(4):
        pos *= 1.0 - arb
        lost += ref.premium(pos - 2e5, bx, ax, bd) - ref.premium(pos, bx, ax, bd) + 0.001 * 2e5
        pos -= 2e5
    assert sold.slippage[0] == pytest.approx(lost, rel=1e-9) and sold.loss[0] == pytest.approx(lost, rel=1e-9)
    assert sold.held[0] == pytest.approx(0.0, abs=1e-6) and sold.extreme[0] < -0.01
