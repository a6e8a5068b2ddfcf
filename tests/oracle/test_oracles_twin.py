"""Every oracle / mark kernel equals its plain-Python twin, and each follows its documented rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defi_perps.engine import oracles as nb
from defi_perps.engine import oracles_reference as ref
from defi_perps.engine.oracles import ORACLE

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _paths(seed: int, p: int, t: int, k: int | None = None, vol: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (p, t) if k is None else (p, t, k)
    steps = rng.normal(0.0, vol, shape)
    # occasional jumps so the thresholds and outlier rules are exercised
    steps += rng.choice([0.0, 0.0, 0.0, 0.2, -0.2], shape) * (rng.random(shape) < 0.05)
    return 100.0 * np.exp(np.cumsum(steps, axis=1))


@SETTINGS
@given(seed=st.integers(0, 10_000), k=st.integers(1, 8), kind=st.sampled_from(nb.AGGREGATORS),
       outlier=st.floats(0.01, 0.2))
def test_aggregators_match_twin(seed: int, k: int, kind: int, outlier: float) -> None:
    src = _paths(seed, 3, 25, k)
    w = np.random.default_rng(seed + 1).choice([1.0, 2.0, 3.0], k)
    np.testing.assert_allclose(nb.aggregate_sources(kind, src, w, outlier),
                               ref.aggregate_sources(kind, src, w, outlier), rtol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000), dev=st.floats(0.0, 0.05), hb=st.integers(1, 40))
def test_chainlink_push_matches_twin(seed: int, dev: float, hb: int) -> None:
    src = _paths(seed, 3, 60)
    np.testing.assert_array_equal(nb.chainlink_push(src, dev, hb), ref.chainlink_push(src, dev, hb))


@SETTINGS
@given(seed=st.integers(0, 10_000), conf=st.floats(0.0, 0.05), lat=st.integers(0, 5),
       spread=st.floats(0.0, 0.01), maxdev=st.floats(0.001, 0.2))
def test_pull_and_keeper_match_twin(seed: int, conf: float, lat: int, spread: float, maxdev: float) -> None:
    src = _paths(seed, 2, 30)
    for a, b in zip(nb.pull_feed(src, conf, lat), ref.pull_feed(src, conf, lat)):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    chainlink = ref.chainlink_push(src, 0.005, 10)
    for a, b in zip(nb.gmx_v2_keeper(src, chainlink, spread, maxdev), ref.gmx_v2_keeper(src, chainlink, spread, maxdev)):
        np.testing.assert_allclose(a, b, rtol=1e-14)


@SETTINGS
@given(seed=st.integers(0, 10_000), k=st.integers(0, 5), tau=st.floats(10.0, 1000.0))
def test_hl_mark_matches_twin(seed: int, k: int, tau: float) -> None:
    oracle = _paths(seed, 2, 40)
    mid = oracle * np.exp(np.random.default_rng(seed).normal(0, 0.02, oracle.shape))
    ext = _paths(seed + 3, 2, 40, k) if k else np.zeros((2, 40, 0))
    w = np.arange(1.0, k + 1.0)
    np.testing.assert_allclose(nb.hl_mark(oracle, mid, ext, w, 3.0, tau, 30.0),
                               ref.hl_mark(oracle, mid, ext, w, 3.0, tau, 30.0), rtol=1e-10)


@SETTINGS
@given(seed=st.integers(0, 10_000), cap=st.sampled_from([1.05, 1.5, 3.0, 10.0, math.inf]), use_ext=st.integers(0, 1),
       window=st.integers(1, 30))
def test_hyperp_twap_collateral_match_twin(seed: int, cap: float, use_ext: int, window: int) -> None:
    mid = _paths(seed, 2, 50, vol=0.1)
    ext = _paths(seed + 7, 2, 50)
    np.testing.assert_allclose(nb.hyperp_mark(mid, ext, use_ext, 60.0, 8 * 3600.0, cap),
                               ref.hyperp_mark(mid, ext, use_ext, 60.0, 8 * 3600.0, cap), rtol=1e-10)
    np.testing.assert_allclose(nb.twap(mid, window), ref.twap(mid, window), rtol=1e-9)
    for mode in (ORACLE.OWN_BOOK, ORACLE.REDEMPTION):
        np.testing.assert_array_equal(nb.collateral_price(mid, ext, mode, 95.0),
                                      ref.collateral_price(mid, ext, mode, 95.0))


# --- documented behaviour -------------------------------------------------------------------------
def test_chainlink_answer_lags_until_deviation_or_heartbeat() -> None:
    src = np.array([[100.0, 100.4, 100.6, 100.6, 100.6, 100.6]])
    out = nb.chainlink_push(src, 0.005, 4)
    # 0.4 % is inside the 0.5 % threshold; 0.6 % is outside
    assert out.tolist() == [[100.0, 100.0, 100.6, 100.6, 100.6, 100.6]]
    beat = nb.chainlink_push(np.array([[100.0, 100.1, 100.2, 100.3, 100.4]]), 0.005, 3)
    assert beat[0, 3] == 100.3 and beat[0, 2] == 100.0     # the heartbeat forces an update


def test_median_needs_a_majority_and_index_drops_one_outlier() -> None:
    three = np.array([[[100.0, 100.0, 150.0]]])
    assert nb.median_sources(three)[0, 0] == 100.0          # one moved venue of three does not move it
    two = np.array([[[100.0, 150.0, 150.0]]])
    assert nb.median_sources(two)[0, 0] == 150.0
    w = np.array([1.0, 1.0, 1.0, 1.0])
    one_out = np.array([[[100.0, 100.0, 100.0, 130.0]]])
    assert nb.exchange_index(one_out, w, 0.05)[0, 0] == pytest.approx(100.0)     # weight 0 for the outlier
    inside = np.array([[[100.0, 100.0, 100.0, 104.0]]])
    assert nb.exchange_index(inside, w, 0.05)[0, 0] == pytest.approx(101.0)      # within 5 %: averaged
    two_out = np.array([[[100.0, 100.0, 130.0, 140.0]]])
    assert nb.exchange_index(two_out, w, 0.05)[0, 0] == pytest.approx(115.0)     # several: the median


def test_hyperliquid_weighted_median_follows_binance_okx_bybit() -> None:
    # weights Binance 3, OKX 2, Bybit 2, Kraken/KuCoin/Gate/MEXC/HL 1 (venues.md §1.6): moving the
    # seven small venues (weight 5 of 12) does not move the oracle; adding Bybit (7 of 12) does.
    w = np.array([3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    small = np.array([[[1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0, 5.0]]])
    assert nb.weighted_median_sources(small, w)[0, 0] == 1.0
    more = np.array([[[1.0, 1.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]]])
    assert nb.weighted_median_sources(more, w)[0, 0] == 5.0


def test_hyperp_cap_binds_only_beyond_the_cap() -> None:
    mid = np.array([[1.0] * 10 + [3.0] * 5])                 # XPL: the book swept to 3x
    free = nb.hyperp_mark(mid, mid, 0, 60.0, 8 * 3600.0, math.inf)
    ten = nb.hyperp_mark(mid, mid, 0, 60.0, 8 * 3600.0, 10.0)
    assert free[0, -1] == 3.0 and ten[0, -1] == 3.0          # a 10x cap does not bind on a 3x move
    tight = nb.hyperp_mark(mid, mid, 0, 60.0, 8 * 3600.0, 1.2)
    assert tight[0, 10] == pytest.approx(1.2)
    ext = np.ones_like(mid)                                  # external pre-market stays at 1
    assert nb.hyperp_mark(mid, ext, 1, 60.0, 8 * 3600.0, 10.0)[0, -1] < 1.01


def test_hl_mark_resists_an_own_book_spike() -> None:
    oracle = np.ones((1, 220))
    mid = np.ones((1, 220))
    mid[0, 200:] = 2.0                                       # only HL's own book moves (3-s steps)
    ext = np.ones((1, 220, 3))
    mark = nb.hl_mark(oracle, mid, ext, np.array([3.0, 2.0, 2.0]), 3.0, 150.0, 30.0)
    assert mark[0, 200] < 1.03                               # the 150-s basis EMA moves slowly
    assert mark[0, 219] < 1.5                                # and the external mids hold the median


def test_twap_must_be_held_for_the_window() -> None:
    src = np.ones((1, 40))
    src[0, 30:] = 2.0
    out = nb.twap(src, 30)
    assert out[0, 30] == pytest.approx(2.0 ** (1 / 30)) and out[0, 39] == pytest.approx(2.0 ** (10 / 30))


def test_gmx_v2_keeper_rejects_a_report_off_the_reference() -> None:
    stream = np.array([[100.0, 100.2, 103.0, 103.0]])
    ref = np.array([[100.0, 100.0, 100.0, 102.8]])          # the on-chain reference catches up at t=3
    pmin, pmax, rej = nb.gmx_v2_keeper(stream, ref, 0.001, 0.005)
    assert rej.tolist() == [[0, 0, 1, 0]]
    assert pmin[0, 2] == pmin[0, 1] and pmax[0, 2] == pmax[0, 1]       # last accepted prices stay
    assert pmin[0, 3] == pytest.approx(103.0 * 0.9995) and pmax[0, 3] == pytest.approx(103.0 * 1.0005)


def test_pipeline_rules_from_moved_sources() -> None:
    ratio = np.ones((1, 40, 3))
    ratio[0, 5:, :2] = 1.10                                  # two of three venues held 10 % up
    med = nb.oracle_from_sources(ORACLE.MEDIAN, ratio, np.ones(3), "none", 60.0)
    assert med[0, 5] == pytest.approx(1.10)
    push = nb.oracle_from_sources(ORACLE.MEDIAN, ratio, np.ones(3), "chainlink-push", 60.0,
                                  {"chainlink_push": {"deviation": 0.2, "heartbeat_s": 1200}})
    assert push[0, 5] == 1.0 and push[0, 20] == pytest.approx(1.10)     # 10 % < 20 %: waits for the heartbeat
    mark = nb.oracle_from_sources(ORACLE.MEDIAN, ratio, np.ones(3), "hl-mark", 3.0)
    assert 1.0 < mark[0, 5] <= 1.10 and mark[0, -1] == pytest.approx(1.10, rel=1e-3)


@SETTINGS
@given(seed=st.integers(0, 10_000), dev=st.floats(0.0, 0.1))
def test_gmx_v1_fast_price_matches_twin(seed: int, dev: float) -> None:
    fast = _paths(seed, 2, 30)
    slow = ref.chainlink_push(fast, 0.02, 10)
    for a, b in zip(nb.gmx_v1_fast_price(fast, slow, dev), ref.gmx_v1_fast_price(fast, slow, dev)):
        np.testing.assert_array_equal(a, b)


def test_gmx_v1_fast_price_spread_defends_when_the_reference_lags() -> None:
    ratio = np.ones((1, 5, 3))
    ratio[0, 1:, :2] = 1.03                                   # the AVAX push: 2 of 3 venues +3 %
    params = {"chainlink_push": {"deviation": 0.05, "heartbeat_s": 86400}, "gmx_v1": {"max_deviation": 0.025}}
    closing_long = nb.oracle_from_sources(ORACLE.MEDIAN, ratio, np.ones(3), "gmx-v1-fast", 60.0, params,
                                          maximize=False)
    assert closing_long[0, 1] == 1.0                          # min(reference, fast): the push does not pay
    params["gmx_v1"]["max_deviation"] = 0.05
    assert nb.oracle_from_sources(ORACLE.MEDIAN, ratio, np.ones(3), "gmx-v1-fast", 60.0, params,
                                  maximize=False)[0, 1] == pytest.approx(1.03)
