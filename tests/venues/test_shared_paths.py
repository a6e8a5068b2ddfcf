"""`simulate` and `compare` share one shock grammar and one exogenous path generator: for the same
book, scenario and seed, the exogenous prices are identical bit for bit."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.engine import SimulationConfig, simulate
from defi_perps.engine.exogenous import exogenous_multipliers
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.shock import price_multipliers


def test_compare_paths_are_the_engines_exogenous_paths() -> None:
    book = synthetic_book(120, n_markets=3, seed=4)
    setup = make_setup(book, scenario="oct-10-2025", horizon="30m")
    n = 7
    res = simulate(book, model=setup.model, depth=setup.depth, funding=setup.funding, base_log=setup.base_log,
                   config=SimulationConfig(n_paths=n, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=11,
                                           n_detail=n))
    ext = price_multipliers(setup, book.n_markets, 11, 0, n)
    x = book.price[None, None, :] * ext
    assert x.tobytes() == res.outputs.det_exog.tobytes()               # every step of every path, bit for bit
    assert x.min(axis=1).tobytes() == res.outputs.min_exog.tobytes()
    # a path does not depend on which chunk draws it (per-path streams)
    assert price_multipliers(setup, book.n_markets, 11, 3, 5).tobytes() == ext[3:5].tobytes()


def test_exogenous_kernel_matches_its_twin() -> None:
    book = synthetic_book(50, n_markets=2, seed=1)
    setup = make_setup(book, shock="BTC:-13%@5m; *:-20%@8m", horizon="15m")
    setup.model.jump_rate_per_year = 20_000.0       # jumps fire at least once in 15 steps × 4 paths
    a = exogenous_multipliers(setup.model, 2, setup.n_steps, 60.0, setup.base_log, 3, 0, 4, engine="numba")
    b = exogenous_multipliers(setup.model, 2, setup.n_steps, 60.0, setup.base_log, 3, 0, 4, engine="reference")
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_simulate_and_compare_cli_see_the_same_exogenous_prices() -> None:
    common = ["--synthetic", "80", "--markets", "2", "--scenario", "oct-10-2025", "--horizon", "20m", "--seed", "5",
              "--paths", "4", "--json"]
    sim = CliRunner().invoke(main, ["simulate", *common, "--include-paths"])
    cmp = CliRunner().invoke(main, ["compare", *common, "--venues", "binance", "--per-path"])
    assert sim.exit_code == 0, sim.output
    assert cmp.exit_code == 0, cmp.output
    s, c = json.loads(sim.output), json.loads(cmp.output)
    assert s["paths"]["exogenous_min_price"] == c["exogenous_per_path"]["exogenous_min_price"]
    assert s["scenario"]["name"] == c["scenario"]["name"] == "oct-10-2025"
    assert s["run"]["steps"] == c["run"]["steps"] == 20


def test_compare_replays_a_historical_path_like_simulate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rp = tmp_path / "r.csv"
    rp.write_text("timestamp,price\n0,100\n600,85\n")
    args = ["--synthetic", "100", "--markets", "1", "--paths", "3", "--horizon", "15m", "--replay", str(rp),
            "--volatility", "0", "--json"]
    c = CliRunner().invoke(main, ["compare", *args, "--venues", "binance"])
    s = CliRunner().invoke(main, ["simulate", *args])
    assert c.exit_code == 0 and s.exit_code == 0, (c.output, s.output)
    drop_c = json.loads(c.output)["exogenous"]["BTC"]["min_price_drop"]["mean"]
    drop_s = json.loads(s.output)["stats"]["markets"]["BTC"]["exogenous_min_price_drop"]["mean"]
    assert drop_c == drop_s and abs(drop_c - 0.15) < 1e-9          # the replay, without noise, in both commands
