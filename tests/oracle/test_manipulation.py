"""Manipulation table: monotone costs, thresholds from the engine, caps, the defence solver, CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.runs.attack_engine import liquidation_thresholds, venue_rules
from defi_perps.runs.manipulation import (
    MOVES,
    PerpLeg,
    best_attack,
    legs_from_book,
    manipulation_table,
    move_key,
    perp_net,
    spot_grid,
)
from defi_perps.venues.oracles import load_reference_venues, oracle_models

THIN = """
[assets.BTC]
aggregate = "median"
[[assets.BTC.venues]]
name = "a"
depth_usd = [2e3, 4e3, 8e3, 20e3, 40e3]
[[assets.BTC.venues]]
name = "b"
depth_usd = [3e3, 6e3, 12e3, 30e3, 60e3]
[[assets.BTC.venues]]
name = "c"
depth_usd = [5e3, 10e3, 20e3, 50e3, 100e3]
"""


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    return synthetic_book(4000, n_markets=3, seed=2)


@pytest.fixture(scope="module")
def table(book):  # type: ignore[no-untyped-def]
    rules = venue_rules("gmx-v2", book, 60.0)
    return manipulation_table(book, legs_from_book(book, "gmx-v2", None, "none"), load_reference_venues(),
                              liquidation_thresholds(book, rules))


def test_costs_and_liquidated_oi_grow_with_the_move(table) -> None:  # type: ignore[no-untyped-def]
    for row in table:
        for side in ("up", "down"):
            d = row["by_direction"][side]
            caps = [d["capital_to_move_usd"][move_key(x)] for x in MOVES]
            assert all(c is not None for c in caps) and caps == sorted(caps), (row["market"], side, caps)
            oi = [d["oi_liquidated_usd"][move_key(x)] for x in MOVES]
            assert oi == sorted(oi)


def test_capital_to_move_a_median_is_the_depth_of_its_cheapest_majority() -> None:
    assets = load_reference_venues()
    btc = assets["BTC"]
    grid = spot_grid(btc, "median", "none", 1, (0.01,), 60.0, oracle_models())
    # 3 of 5 venues to +1 %: the three thinnest 1 % depths (hold of one step: no re-buys)
    depth_1pct = sorted(v.depth_usd[1] for v in btc.venues)[:3]
    assert grid.venues_moved[0] == 3
    assert grid.capital[0] == pytest.approx(sum(depth_1pct), rel=0.02)


def test_oi_liquidated_comes_from_the_engine_thresholds(book, table) -> None:  # type: ignore[no-untyped-def]
    rules = venue_rules("gmx-v2", book, 60.0)
    thr = liquidation_thresholds(book, rules)
    m = 0
    p0 = book.price[m]
    sel = (book.market == m) & (book.side < 0) & (thr <= p0 * 1.10)
    assert table[m]["by_direction"]["up"]["oi_liquidated_usd"]["10%"] == pytest.approx(float((book.size[sel] * p0).sum()))


def test_pnl_cap_scales_profit_and_impact_costs() -> None:
    leg = PerpLeg(venue="gmx-v2", price=100.0, oi=(0.0, 0.0), oi_cap=(1e9, 1e9), max_leverage=50, fee=0.0,
                  pool_usd=(1e6, 1e6), max_pnl_factor=(0.5, 0.5))
    out = perp_net(leg, 1, np.array([0.1]), np.array([1e7]))
    assert out["gross"][0] == pytest.approx(5e5)        # $1M gain capped at 50 % of the $1M pool
    hit = perp_net(replace(leg, impact_neg=1e-9, impact_neg_exp=2.0, max_pnl_factor=(math.inf, math.inf)),
                   1, np.array([0.1]), np.array([1e6]))
    assert hit["impact_open"][0] == pytest.approx(1e-9 * 1e12)


def test_a_thin_market_pays_and_the_solved_defence_stops_it(book, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "thin.toml"
    f.write_text(THIN)
    assets = load_reference_venues(f)
    rules = venue_rules("gmx-v2", book, 60.0)
    legs = legs_from_book(book, "gmx-v2", None, "none")
    legs = [replace(leg, impact_neg=1e-10, impact_neg_exp=2.0) for leg in legs]
    rows = manipulation_table(book, legs, assets, liquidation_thresholds(book, rules))
    btc = rows[0]
    assert btc["profitable"] and btc["break_even_capital_usd"] is not None
    fence = btc["defence"]
    side = 1 if btc["direction"] == "up" else -1
    grid = spot_grid(assets["BTC"], "median", "none", side, tuple(sorted(set(np.round(np.geomspace(0.002, 3.0, 28), 6))
                                                                     | set(MOVES))), 60.0, oracle_models())
    i = 0 if side > 0 else 1
    capped = replace(legs[0], max_position=fence["oi_cap_usd"] - legs[0].oi[i])
    assert not best_attack(capped, side, grid)["profitable"]
    assert best_attack(replace(legs[0], max_position=1.5 * (fence["oi_cap_usd"] - legs[0].oi[i])), side, grid)["profitable"]
    assert not best_attack(replace(legs[0], impact_neg=fence["impact_factor"] * 1.01), side, grid)["profitable"]
    # a budget below break-even makes it unprofitable
    small = manipulation_table(book, legs, assets, liquidation_thresholds(book, rules),
                               budget=0.5 * btc["break_even_capital_usd"])
    assert not small[0]["profitable"]


def test_manipulation_cli_json_and_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, ["manipulation", "--synthetic", "2000", "--markets", "2", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    row = data["markets"][0]
    assert set(row["capital_to_move_usd"]) == {"1%", "5%", "10%", "25%"}
    assert {"market", "break_even_capital_usd", "profitable", "verdict", "oi_liquidated_usd"} <= set(row)
    again = CliRunner().invoke(main, ["manipulation", "--synthetic", "2000", "--markets", "2", "--json"])
    assert json.loads(again.stdout)["markets"] == data["markets"]
    for args, text in ((["--oracle", "magic"], "--oracle"), (["--capital", "-5"], "--capital"),
                       (["--reference-venues", str(tmp_path / "none.toml")], "does not exist")):
        bad = CliRunner().invoke(main, ["manipulation", "--synthetic", "500", *args])
        assert bad.exit_code != 0 and bad.output.startswith("Error") and text in bad.output
        assert "Traceback" not in bad.output and bad.output.count("\n") == 1
    f = tmp_path / "partial.toml"
    f.write_text('[assets.ZZZ]\n[[assets.ZZZ.venues]]\nname = "x"\ndepth_usd = [1, 2]\n')
    bad = CliRunner().invoke(main, ["manipulation", "--synthetic", "500", "--reference-venues", str(f)])
    assert bad.exit_code != 0 and "bands and depth_usd" in bad.output
    unknown = CliRunner().invoke(main, ["manipulation", "--synthetic", "500", "--markets", "3"])
    assert unknown.exit_code == 0
    r4 = CliRunner().invoke(main, ["manipulation", "--synthetic", "500", "--markets", "3", "--oracle", "twap", "--json"])
    twap = json.loads(r4.stdout)["markets"][0]["capital_to_move_usd"]["10%"]
    assert twap > data["markets"][0]["capital_to_move_usd"]["10%"]   # a TWAP must be held for its window


def test_attack_cli_json_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, ["attack", "--scenario", "jelly-2025", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"attacker_cost_usd", "attacker_profit_usd", "attacker_net_usd", "paid_by", "record_check"} <= set(d)
    assert {"insurance_fund", "pool", "backstop_vault", "broker", "adl", "venue", "uncovered",
            "liquidated_traders"} == set(d["paid_by"])
    s = CliRunner().invoke(main, ["attack", "--synthetic", "2000", "--market", "BTC", "--capital", "50M", "--paths",
                                  "4", "--volatility", "0.5", "--seed", "3", "--json"])
    assert s.exit_code == 0, s.output
    ds = json.loads(s.stdout)
    assert len(ds["details"]["per_path"]["bad_debt_usd"]) == 4 and ds["capital_usd"] == 50e6
    bad = CliRunner().invoke(main, ["attack", "--synthetic", "200", "--market", "NOPE", "--capital", "1M"])
    assert bad.exit_code != 0 and "--market" in bad.output and "Traceback" not in bad.output
    both = CliRunner().invoke(main, ["attack", "--scenario", "mango-2022", "--market", "BTC"])
    assert both.exit_code != 0 and both.output.startswith("Error")


def test_the_oracle_rule_is_applied(book) -> None:  # type: ignore[no-untyped-def]
    rules = venue_rules("gmx-v2", book, 60.0)
    legs = legs_from_book(book, "gmx-v2", None, "none")
    thr = liquidation_thresholds(book, rules)
    assets = load_reference_venues()
    plain = manipulation_table(book, legs, assets, thr, oracle="median")[0]
    hyperp = manipulation_table(book, legs, assets, thr, oracle="hyperp")[0]
    xpl = manipulation_table(book, legs, assets, thr, oracle="hyperp-xpl")[0]
    # post-XPL hyperp mark: the external price in the median holds it; the pre-XPL rule follows the venues
    assert all(v is None for v in hyperp["capital_to_move_usd"].values()) and not hyperp["profitable"]
    assert xpl["capital_to_move_usd"] == plain["capital_to_move_usd"]
    keeper = manipulation_table(book, legs, assets, thr, oracle="gmx-v2-keeper")[0]
    assert keeper["oracle"]["rule"] == "gmx-v2-keeper"


def test_too_little_capital_is_a_verdict_and_a_one_line_error() -> None:
    r = CliRunner().invoke(main, ["manipulation", "--synthetic", "1000", "--markets", "1", "--capital", "1k", "--json"])
    row = json.loads(r.stdout)["markets"][0]
    assert not row["profitable"] and "cannot move the oracle" in row["verdict"]
    bad = CliRunner().invoke(main, ["attack", "--synthetic", "1000", "--markets", "1", "--market", "BTC",
                                    "--capital", "1k"])
    assert bad.exit_code != 0 and bad.output.startswith("Error") and "smallest push" in bad.output
    held = CliRunner().invoke(main, ["attack", "--synthetic", "1000", "--markets", "1", "--market", "BTC",
                                     "--capital", "100M", "--oracle", "hyperp"])
    assert held.exit_code != 0 and "Traceback" not in held.output
