"""The synthetix-v3 venue: its file loads with a source for every value, its maintenance per position
is the contract's size-scaled + flat margin, and compare runs it on a Synthetix book."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book.arrays import Book
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue


def _book(sizes: list[float], price: float = 3000.0, protocol: str = "") -> Book:
    n = len(sizes)
    return Book(market_names=["ETH"], price=np.array([price]), market=np.zeros(n, np.int32),
                side=np.ones(n, np.int8), size=np.array(sizes), entry_price=np.full(n, price),
                collateral_usd=np.array(sizes) * price * 0.2, collateral_tokens=np.zeros(n),
                account=np.arange(n, dtype=np.int32), meta={"protocol": protocol} if protocol else {})


def test_file_loads_with_mainnet_values() -> None:
    v = load_venue("synthetix-v3")
    eth, sol = v.for_market("ETH").margin, v.for_market("SOL").margin
    assert (eth.skew_scale, eth.initial_margin_ratio, eth.maintenance_margin_scalar, eth.flat_mm_usd) == \
        (300_000.0, 1.16, 0.28, 15.0)
    assert sol.skew_scale == 1_635_000.0 and v.for_market("SOL").liquidation.window_skew_rate == 0.0015
    assert v.counterparty == "pool" and not v.liquidation.trader_keeps_remainder and v.adl.trigger == "none"


def test_maintenance_is_size_scaled_plus_flat() -> None:
    v = load_venue("synthetix-v3")
    sizes = [10.0, 1000.0, 30_000.0]
    inp = venue_inputs(v, _book(sizes))
    codes, table = inp.position_mm
    # 30,000 ETH: (30,000 / 300,000 · 1.16 + 0.02) · 0.28 = 3.808 %; the smallest: (10/300,000·1.16 + 0.02)·0.28
    rate = table[codes, 0]
    assert rate[2] == pytest.approx((30_000 / 300_000 * 1.16 + 0.02) * 0.28)
    assert rate[0] == pytest.approx((10 / 300_000 * 1.16 + 0.02) * 0.28)
    assert rate[0] < rate[1] < rate[2]
    assert (table[codes, 1] == -15.0).all() and (table[codes, 2] == 1.0).all()   # + $15 flat, on the mark


def test_classes_stay_within_the_engine_bound() -> None:
    v = load_venue("synthetix-v3")
    rng = np.random.default_rng(1)
    sizes = list(rng.lognormal(3, 2, 5000))
    codes, table = venue_inputs(v, _book(sizes)).position_mm
    assert table.shape[0] <= 64
    exact = (np.array(sizes) / 300_000 * 1.16 + 0.02) * 0.28
    got = table[codes, 0]
    assert (got >= exact - 1e-15).all()                           # rounded up: never a looser maintenance
    assert (got - exact).max() <= (exact.max() - exact.min()) / 47 + 1e-12


def test_a_synthetix_books_own_rates_are_kept() -> None:
    v = load_venue("synthetix-v3")
    b = _book([10.0, 20.0], protocol="synthetix_v3")
    b.position_mm_rate = np.array([0.011, 0.012])   # an unknown column is a read-only broadcast: replace it
    codes, table = venue_inputs(v, b).position_mm
    assert list(table[codes, 0]) == pytest.approx([0.011, 0.012])
    # any other book's per-position rates are not Synthetix's
    codes, table = venue_inputs(v, _book([10.0, 20.0])).position_mm
    assert table[codes, 0][0] == pytest.approx((10 / 300_000 * 1.16 + 0.02) * 0.28)


def test_the_liquidation_window_reaches_the_engine() -> None:
    v = load_venue("synthetix-v3")
    b = _book([10.0])
    b2 = Book(market_names=["ETH", "SOL", "DOGE"], price=np.array([3000.0, 180.0, 0.2]), market=np.array([0, 1, 2]),
              side=np.ones(3, np.int8), size=np.array([1.0, 1.0, 1.0]), entry_price=np.array([3000.0, 180.0, 0.2]),
              collateral_usd=np.array([600.0, 40.0, 0.1]), collateral_tokens=np.zeros(3), account=np.arange(3))
    # ETH: 0.0007515 × 300,000 = 225.45 ETH a second (6,763.5 per 30 s window, as maxLiquidationAmountInWindow)
    assert venue_inputs(v, b).book.liq_window_qty_per_s[0] == pytest.approx(225.45)
    w = venue_inputs(v, b2).book.liq_window_qty_per_s
    assert w[1] == pytest.approx(0.0015 * 1_635_000)
    assert w[2] == pytest.approx(0.0007515 * 300_000)     # an unlisted asset gets the venue-wide (ETH) values
    # other venues have no window
    assert np.isinf(venue_inputs(load_venue("hyperliquid"), b).book.liq_window_qty_per_s).all()
