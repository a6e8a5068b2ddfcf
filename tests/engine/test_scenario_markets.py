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
    assert base[-1, 0] == pytest.approx(np.log1p(-0.131))  # BTC as named
    assert base[-1, 1] == pytest.approx(np.log1p(-0.35))   # DOGE falls under '*'


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
