"""``simulate`` and ``compare`` are one code path: the same exogenous paths and identical numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.engine import SimulationConfig, simulate
from defi_perps.engine.exogenous import exogenous_multipliers
from defi_perps.scenarios.setup import make_setup


def test_the_engines_exogenous_paths_are_drawn_per_path() -> None:
    book = synthetic_book(120, n_markets=3, seed=4)
    setup = make_setup(book, scenario="oct-10-2025", horizon="30m")
    n = 7
    res = simulate(book, model=setup.model, depth=setup.depth, funding=setup.funding, base_log=setup.base_log,
                   config=SimulationConfig(n_paths=n, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=11,
                                           n_detail=n))
    ext = exogenous_multipliers(setup.model, book.n_markets, setup.n_steps, setup.step_seconds, setup.base_log, 11, 0, n)
    x = book.price[None, None, :] * ext
    assert x.tobytes() == res.outputs.det_exog.tobytes()               # every step of every path, bit for bit
    assert x.min(axis=1).tobytes() == res.outputs.min_exog.tobytes()
    part = exogenous_multipliers(setup.model, book.n_markets, setup.n_steps, setup.step_seconds, setup.base_log, 11, 3, 5)
    assert part.tobytes() == ext[3:5].tobytes()      # a path does not depend on which chunk draws it


def test_exogenous_kernel_matches_its_twin() -> None:
    book = synthetic_book(50, n_markets=2, seed=1)
    setup = make_setup(book, shock="BTC:-13%@5m; *:-20%@8m", horizon="15m")
    setup.model.jump_rate_per_year = 20_000.0       # jumps fire at least once in 15 steps × 4 paths
    a = exogenous_multipliers(setup.model, 2, setup.n_steps, 60.0, setup.base_log, 3, 0, 4, engine="numba")
    b = exogenous_multipliers(setup.model, 2, setup.n_steps, 60.0, setup.base_log, 3, 0, 4, engine="reference")
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


SUMMARY_KEYS = ("venue", "rules", "liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "adl_accounts",
                "paid_by", "parties", "tails", "depth_capped")


@pytest.mark.parametrize("venue", ["binance", "hyperliquid", "gmx-v2", "bbook"])
def test_compare_and_simulate_venue_give_identical_numbers(venue: str) -> None:
    common = ["--synthetic", "300", "--markets", "2", "--scenario", "oct-10-2025", "--horizon", "30m",
              "--depth-stress", "0.2", "--seed", "5", "--paths", "6", "--json"]
    sim = CliRunner().invoke(main, ["simulate", *common, "--venue", venue])
    cmp = CliRunner().invoke(main, ["compare", *common, "--venues", venue])
    assert sim.exit_code == 0, sim.output
    assert cmp.exit_code == 0, cmp.output
    s, c = json.loads(sim.stdout), json.loads(cmp.stdout)["venues"][0]
    for key in SUMMARY_KEYS:
        assert s[key] == c[key], key
    assert s["venue"] == venue and s["rules"]["adl_policy"] == "queue"
    assert s["scenario"]["name"] == "oct-10-2025" and s["run"]["steps"] == 30


def test_compare_replays_a_historical_path_like_simulate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rp = tmp_path / "r.csv"
    rp.write_text("timestamp,price\n0,100\n600,85\n")
    args = ["--synthetic", "100", "--markets", "1", "--paths", "3", "--horizon", "15m", "--replay", str(rp),
            "--volatility", "0", "--json"]
    c = CliRunner().invoke(main, ["compare", *args, "--venues", "binance"])
    s = CliRunner().invoke(main, ["simulate", *args])
    assert c.exit_code == 0 and s.exit_code == 0, (c.output, s.output)
    drop_c = json.loads(c.stdout)["exogenous"]["BTC"]["min_price_drop"]["mean"]
    drop_s = json.loads(s.stdout)["stats"]["markets"]["BTC"]["exogenous_min_price_drop"]["mean"]
    assert drop_c == drop_s and abs(drop_c - 0.15) < 1e-9          # the replay, without noise, in both commands
