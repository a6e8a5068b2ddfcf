"""The exogenous price model: volatility, factor correlation, jumps, GARCH clustering."""

from __future__ import annotations

import math

import numpy as np

from defi_perps.book import Book
from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate

STEP = 60.0
DT = STEP / (365 * 86400)


def _paths(model: PriceModel, n_paths: int = 60, n_steps: int = 400) -> np.ndarray:
    # one far-from-liquidation position per market: the marks are the exogenous prices
    book = Book(market_names=["A", "B"], price=[100.0, 10.0], market=[0, 1], side=[1, 1], size=[1.0, 1.0],
                entry_price=[100.0, 10.0], collateral_usd=[1e6, 1e6], collateral_tokens=[0.0, 0.0], account=[0, 1])
    r = simulate(book, model=model, depth=DepthSpec(),
                 config=SimulationConfig(n_paths=n_paths, n_steps=n_steps, step_seconds=STEP, seed=17,
                                         n_detail=n_paths))
    return np.diff(np.log(r.outputs.det_exog), axis=1)       # [path, step, market]


def test_volatility_and_factor_correlation():
    rets = _paths(PriceModel(volatility=[0.8, 1.2], beta=[0.9, 0.6], garch_alpha=0.0, garch_beta=0.0))
    sd = rets.reshape(-1, 2).std(axis=0)
    np.testing.assert_allclose(sd, [0.8 * math.sqrt(DT), 1.2 * math.sqrt(DT)], rtol=0.05)
    corr = np.corrcoef(rets[:, :, 0].ravel(), rets[:, :, 1].ravel())[0, 1]
    assert abs(corr - 0.9 * 0.6) < 0.03


def test_garch_clusters_volatility():
    flat = _paths(PriceModel(volatility=1.0, beta=0.0, garch_alpha=0.0, garch_beta=0.0))[:, :, 0]
    garch = _paths(PriceModel(volatility=1.0, beta=0.0, garch_alpha=0.15, garch_beta=0.8))[:, :, 0]

    def sq_autocorr(x: np.ndarray) -> float:
        s = x ** 2
        return float(np.mean([np.corrcoef(row[:-1], row[1:])[0, 1] for row in s]))

    assert sq_autocorr(garch) > sq_autocorr(flat) + 0.05


def test_common_jumps_fatten_the_left_tail():
    base = _paths(PriceModel(volatility=0.5, beta=0.9, garch_alpha=0.0, garch_beta=0.0))[:, :, 0].ravel()
    jumpy = _paths(PriceModel(volatility=0.5, beta=0.9, garch_alpha=0.0, garch_beta=0.0, jump_rate_per_year=2e4,
                              jump_mean=-0.02, jump_std=0.005))[:, :, 0].ravel()
    assert jumpy.min() < base.min() - 0.01
    assert np.mean(jumpy < -0.01) > 0.01 > np.mean(base < -0.01)
