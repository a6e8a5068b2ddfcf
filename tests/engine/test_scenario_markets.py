"""Scenario files name markets loosely (written for many books); typed shock specs stay strict."""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.exceptions import ConfigError
from defi_perps.scenarios.scenario import load_scenario
from defi_perps.scenarios.shocks import shock_base_path


def test_builtin_scenario_skips_markets_the_book_lacks() -> None:
    sc = load_scenario("oct-10-2025")
    names = ["BTC/USD [WBTC-USDC]", "DOGE/USD [WETH-USDC]"]  # no ETH, no SOL
    base = sc.base_path(names, n_steps=60, step_seconds=60.0)
    assert base is not None
    assert base[12, 0] == pytest.approx(np.log1p(-0.131))  # BTC as named
    assert base[12, 1] == pytest.approx(np.log1p(-0.55))   # DOGE falls under '*'


def test_typed_shock_naming_an_absent_market_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'SOL' is not in the book"):
        shock_base_path("SOL:-20%@10m", ["BTC/USD"], n_steps=20, step_seconds=60.0)


def test_wrapped_index_tokens_answer_to_their_asset() -> None:
    # snapshot markets are named by their index token (WETH/USD …, WBTC/USD …)
    names = ["WETH/USD [WETH-USDC]", "WBTC/USD [WBTC-USDC]", "SOL/USD [SOL-USDC]", "PEPE/USD [PEPE-USDC]"]
    base = shock_base_path("ETH:-16%@45m; BTC:-13.1%@12m; *:-35%@15m", names, n_steps=60, step_seconds=60.0)
    assert base[-1, 0] == pytest.approx(np.log1p(-0.16))
    assert base[-1, 1] == pytest.approx(np.log1p(-0.131))
    assert base[-1, 2] == pytest.approx(np.log1p(-0.35)) and base[-1, 3] == pytest.approx(np.log1p(-0.35))


# --- scenarios about one market (issue 7 item 7) ------------------------------------------------------

def _book(names: list[str]):  # type: ignore[no-untyped-def]
    from defi_perps.book.arrays import Book

    n = len(names)
    return Book(market_names=names, price=np.linspace(1.0, 100.0, n), market=np.arange(n, dtype=np.int32),
                side=np.ones(n, np.int8), size=np.full(n, 1_000.0), entry_price=np.linspace(1.0, 100.0, n),
                collateral_usd=np.full(n, 20_000.0), collateral_tokens=np.zeros(n), account=np.arange(n, dtype=np.int32))


@pytest.mark.parametrize("name, market, move", [("jelly-2025", "JELLY", 4.0), ("dydx-yfi-2023", "YFI", 0.70 * 0.814 - 1)])
def test_incident_scenarios_move_their_own_market_only(name: str, market: str, move: float) -> None:
    from defi_perps.scenarios.setup import make_setup

    book = _book(["BTC", market, "ETH"])
    setup = make_setup(book, scenario=name, volatility=None)
    assert setup.base_log is not None
    assert np.all(setup.base_log[:, [0, 2]] == 0.0)                       # BTC and ETH do not move
    assert np.exp(setup.base_log[-1, 1]) - 1 == pytest.approx(move, rel=1e-9)
    # its thin book and volatility are its own: the other markets keep the default depth and volatility
    bd = np.asarray(setup.depth.band_depth_usd)
    assert bd[1, 0] == pytest.approx(bd[0, 0] * load_scenario(name).market_depth_stress[market])
    assert setup.depth.stress == 1.0
    vol = setup.model.volatility
    assert vol[1] == load_scenario(name).market_volatility[market] and vol[0] == vol[2] == 0.6


def test_incident_scenario_on_a_book_without_its_market_is_a_one_line_error() -> None:
    from defi_perps.book.synthetic import synthetic_book
    from defi_perps.scenarios.setup import make_setup

    with pytest.raises(ConfigError, match="moves JELLY only.*--shock") as err:
        make_setup(synthetic_book(20, n_markets=3, seed=0), scenario="jelly-2025")
    assert "\n" not in str(err.value)


def test_scenario_and_shock_combine() -> None:
    from defi_perps.book.synthetic import synthetic_book
    from defi_perps.scenarios.setup import make_setup

    book = synthetic_book(40, n_markets=4, seed=0)          # BTC, ETH, SOL, HYPE
    # the typed item replaces the scenario's BTC item; the others keep the scenario's path and depth
    s = make_setup(book, scenario="oct-10-2025", shock="BTC:-30%@5m")
    assert np.exp(s.base_log[5, 0]) == pytest.approx(0.70) and np.exp(s.base_log[-1, 0]) == pytest.approx(0.70)
    assert np.exp(s.base_log[12, 1]) == pytest.approx(0.84)
    assert s.n_steps == 180 and s.depth.default_band_share[0] == 0.005
    assert s.info()["with_shock"] == "BTC:-30%@5m" and s.info()["name"] == "oct-10-2025"
    # a one-market scenario's conditions with the move put on a market the book has
    s = make_setup(book, scenario="jelly-2025", shock="HYPE:+400%@1h")
    assert np.exp(s.base_log[-1, 3]) == pytest.approx(5.0) and np.all(s.base_log[:, :3] == 0)
    with pytest.raises(ConfigError, match="'DOGE' is not in the book"):
        make_setup(book, scenario="oct-10-2025", shock="DOGE:-5%@1m")


def test_compare_cli_combines_scenario_and_shock() -> None:
    import json

    from click.testing import CliRunner

    from defi_perps.cli import main

    r = CliRunner().invoke(main, ["compare", "--synthetic", "60", "--markets", "2", "--scenario", "oct-10-2025",
                                  "--shock", "ETH:-25%@10m", "--horizon", "30m", "--paths", "2",
                                  "--venues", "binance", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["scenario"]["name"] == "oct-10-2025" and out["scenario"]["with_shock"] == "ETH:-25%@10m"


def test_a_scenario_about_one_market_applies_only_to_books_that_have_it():
    from defi_perps.book import synthetic_book
    from defi_perps.runs.audit_inputs import scenario_applies
    from defi_perps.scenarios.scenario import load_scenario

    book = synthetic_book(50, n_markets=2, seed=1)          # BTC, ETH
    assert scenario_applies(book, "oct-10-2025")            # every market
    assert not scenario_applies(book, "jelly-2025")         # JELLY only
    assert not load_scenario("dydx-yfi-2023").applies_to(["WETH/USD [WETH-USDC]"])
    assert load_scenario("dydx-yfi-2023").applies_to(["YFI/USD [YFI-USDC]"])
