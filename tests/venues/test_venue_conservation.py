"""Conservation: in every venue and ADL policy, money moved between traders, counterparty
(book/pool/broker), fund, vault, venue and ADL counterparties sums to zero, and the bad debt is
fully allocated to named bearers."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import synthetic_book
from defi_perps.venues.params import VENUE_NAMES, load_venue
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.shock import price_multipliers
from defi_perps.venues.sim import VenueRun

BEARER_KEYS = ("fund_paid", "pool_paid", "vault_paid", "broker_paid", "adl_paid", "venue_paid")


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    return synthetic_book(250, n_markets=2, seed=11)


@pytest.mark.parametrize("policy", ["venue", "pro-rata-pnl", "pro-rata-equity", "risk-aware"])
@pytest.mark.parametrize("name", VENUE_NAMES)
def test_money_is_conserved(book, name: str, policy: str) -> None:  # type: ignore[no-untyped-def]
    setup = make_setup(book, shock="-45%@12m", horizon="12m", depth_stress=0.1, volatility=1.5)
    paths = price_multipliers(setup, book.n_markets, 5, 0, 3)
    run = VenueRun(load_venue(name), book, setup.depth, adl_policy=policy)
    for k in range(paths.shape[0]):
        m = run.run_path(paths[k]).metrics
        scale = max(1.0, float(book.notional().sum()))
        assert abs(m["ledger_residual"]) <= 1e-9 * scale
        # every USD of bad debt is borne by someone named
        assert sum(m[b] for b in BEARER_KEYS) == pytest.approx(m["bad_debt"], rel=1e-9, abs=1e-6)
        # P&L of all parties (traders, counterparty, fund, vault, pool, broker, venue, keeper) nets to the
        # revaluation of index-token collateral (a price move, not a transfer)
        parties = sum(m[f"{p}_pnl"] for p in ("fund", "pool", "vault", "broker", "venue", "market", "keeper"))
        assert parties + m["trader_pnl"] == pytest.approx(m["collateral_revaluation"], abs=1e-6 * scale)


def test_a_deep_crash_produces_bad_debt_and_adl_somewhere(book) -> None:  # type: ignore[no-untyped-def]
    setup = make_setup(book, shock="-45%@12m", horizon="12m", depth_stress=0.1, volatility=1.5)
    paths = price_multipliers(setup, book.n_markets, 5, 0, 2)
    seen = {}
    for name in VENUE_NAMES:
        run = VenueRun(load_venue(name), book, setup.depth)
        seen[name] = run.run_path(paths[0]).metrics
    assert all(seen[n]["liquidated_positions"] > 0 for n in VENUE_NAMES)
    assert seen["gmx-v1"]["adl_notional"] == 0 and seen["bbook"]["adl_notional"] == 0   # no ADL by design
    assert seen["binance"]["bad_debt"] > 0
    assert any(seen[n]["adl_paid"] > 0 for n in ("binance", "bybit", "okx", "bitmex", "hyperliquid"))
    # GMX pools, GLP and the broker take bad debt themselves
    assert seen["gmx-v2"]["pool_paid"] == pytest.approx(seen["gmx-v2"]["bad_debt"])
    assert seen["bbook"]["broker_paid"] == pytest.approx(seen["bbook"]["bad_debt"])


def test_oracle_venues_do_not_move_their_own_price(book) -> None:  # type: ignore[no-untyped-def]
    # GMX closes at the oracle price: same liquidations whatever the book depth; CEX books do not.
    s_deep = make_setup(book, shock="-30%@10m", horizon="10m", depth_stress=10.0, volatility=0.0)
    s_thin = make_setup(book, shock="-30%@10m", horizon="10m", depth_stress=0.01, volatility=0.0)
    ext = price_multipliers(s_deep, book.n_markets, 1, 0, 1)[0]
    g = [VenueRun(load_venue("gmx-v2"), book, s.depth).run_path(ext).metrics["liquidated_notional"]
         for s in (s_deep, s_thin)]
    b = [VenueRun(load_venue("binance"), book, s.depth).run_path(ext).metrics["bad_debt"] for s in (s_deep, s_thin)]
    assert g[0] == pytest.approx(g[1])
    assert b[1] > b[0]


def test_gmx_v2_pnl_to_pool_adl_brings_factor_to_the_target() -> None:
    # A short-heavy book in a crash: shorts' PnL exceeds MAX_PNL_FACTOR_FOR_ADL of the (small) pool.
    from defi_perps.book.arrays import Book

    n = 20
    b = Book(market_names=["ETH"], price=np.array([2_000.0]), market=np.zeros(n, np.int32),
             side=np.array([-1] * n, np.int8), size=np.full(n, 10.0), entry_price=np.full(n, 2_000.0),
             collateral_usd=np.full(n, 4_000.0), collateral_tokens=np.zeros(n), account=np.arange(n, dtype=np.int32),
             pool_long_tokens=np.array([50.0]), pool_short_usd=np.array([100_000.0]))
    setup = make_setup(b, shock="-40%@4m", horizon="4m", volatility=0.0)
    run = VenueRun(load_venue("gmx-v2"), b, setup.depth)
    m = run.run_path(price_multipliers(setup, 1, 0, 0, 1)[0]).metrics
    assert m["adl_notional"] > 0 and m["adl_accounts"] > 0
    assert abs(m["ledger_residual"]) < 1e-6


def test_hyperliquid_partial_slices_and_backstop() -> None:
    from defi_perps.book.arrays import Book

    # one $500k long at 20x (sliced 20 % at a time), one small 35x long (backstopped on a gap)
    b = Book(market_names=["BTC"], price=np.array([100_000.0]), market=np.zeros(2, np.int32),
             side=np.array([1, 1], np.int8), size=np.array([5.0, 0.1]), entry_price=np.full(2, 100_000.0),
             collateral_usd=np.array([25_000.0, 10_000.0 / 35]), collateral_tokens=np.zeros(2),
             account=np.array([0, 1], np.int32), account_names=["whale", "small"])
    setup = make_setup(b, shock="-6%@6m", horizon="6m", depth_stress=50.0, volatility=0.0)
    run = VenueRun(load_venue("hyperliquid"), b, setup.depth)
    m = run.run_path(price_multipliers(setup, 1, 0, 0, 1)[0]).metrics
    assert m["liquidation_fills"] > m["liquidated_positions"]       # the whale was sliced
    assert abs(m["ledger_residual"]) < 1e-6
