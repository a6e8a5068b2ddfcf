"""``defi-perps compare`` on a synthetic book: every venue, fixed seed, reproducible, readable."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.report.compare import compare
from defi_perps.venues.params import VENUE_NAMES, load_venue
from defi_perps.scenarios.setup import make_setup

# the shock grammar, horizon, step and depth stress are `simulate`'s (defi_perps.scenarios)
ARGS = ["compare", "--synthetic", "150", "--shock", "-35%@10m", "--horizon", "10m", "--volatility", "1.5", "--paths", "6",
        "--seed", "42"]


def test_compare_runs_every_venue_reproducibly() -> None:
    r1 = CliRunner().invoke(main, ARGS + ["--json"])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(main, ARGS + ["--json"])
    assert r1.output == r2.output                      # same seed -> identical figures
    out = json.loads(r1.output)
    assert [v["venue"] for v in out["venues"]] == list(VENUE_NAMES)
    assert out["seed"] == 42 and out["paths"] == 6
    for v in out["venues"]:
        m = v["metrics"]
        assert set(m["bad_debt"]) == {"mean", "p50", "p95", "p99", "max"}
        assert m["bad_debt"]["p99"] >= m["bad_debt"]["p50"] >= 0
        assert m["liquidated_positions"]["mean"] > 0
        assert sum(v["loss_bearers_mean_usd"].values()) == pytest.approx(m["bad_debt"]["mean"], rel=1e-9, abs=1e-6)
    r3 = CliRunner().invoke(main, ARGS[:-1] + ["43", "--json"])
    assert r3.output != r1.output                      # and another seed, other paths


def test_compare_table_is_one_row_per_venue() -> None:
    r = CliRunner().invoke(main, ARGS + ["--venues", "gmx-v2,hyperliquid,binance,bbook"])
    assert r.exit_code == 0, r.output
    for label in ("GMX v2 (GM pool)", "Hyperliquid", "Binance", "B-book broker", "who bears the loss"):
        assert label in r.output


def test_loss_bearers_differ_by_design() -> None:
    book = synthetic_book(200, n_markets=1, seed=3)
    venues = [load_venue(n) for n in ("gmx-v2", "gmx-v1", "bbook", "binance")]
    setup = make_setup(book, shock="-50%@10m", horizon="10m", depth_stress=0.05, volatility=1.5)
    res = {s.venue: s for s in compare(book, venues, setup, 4, 9)}
    assert res["gmx-v2"].bearers["pool/LPs"] > 0 and res["gmx-v2"].bearers["insurance fund"] == 0
    assert res["gmx-v1"].bearers["pool/LPs"] > 0
    assert res["bbook"].bearers["broker"] > 0
    assert res["binance"].bearers["insurance fund"] > 0


@pytest.mark.parametrize("args,msg", [
    (["compare", "--shock", "-20%@5m"], "give exactly one of --snapshot ID, --book FILE or --synthetic N"),
    (["compare", "--synthetic", "10", "--shock", "-20%@5m", "--replay", "x.csv"],
     "give at most one of --shock and --replay"),
    (["compare", "--synthetic", "10", "--shock", "drop=-0.2,steps=30"], "bad segment 'drop=-0.2'"),
    (["compare", "--synthetic", "10", "--shock", "-20%"], "bad segment '-20%'"),
    (["compare", "--synthetic", "10", "--shock", "DOGE:-5%@1m"], "not in the book"),
    (["compare", "--synthetic", "10", "--shock", "-20%@5m", "--horizon", "0m"], "--horizon"),
    (["compare", "--synthetic", "10", "--shock", "-20%@5m", "--depth-stress", "0"], "--depth-stress"),
    (["compare", "--synthetic", "10", "--shock", "-20%@5m", "--venues", "gmx-v2,ftx"], "unknown venue 'ftx'"),
    (["compare", "--book", "/nonexistent.csv", "--shock", "-20%@5m"], "does not exist"),
])
def test_bad_input_is_one_line(args: list[str], msg: str) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exit_code in (1, 2), r.output   # 2: click's usage error (a bad option value)
    assert r.output.startswith("Error: ") and msg in r.output and "Traceback" not in r.output
    assert r.output.count("\n") == 1


def test_workers_do_not_change_figures() -> None:
    one = CliRunner().invoke(main, ARGS + ["--venues", "binance,hyperliquid", "--workers", "1", "--json"])
    two = CliRunner().invoke(main, ARGS + ["--venues", "binance,hyperliquid", "--workers", "2", "--json"])
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert one.output == two.output


def test_compare_with_a_builtin_scenario() -> None:
    r = CliRunner().invoke(main, ["compare", "--synthetic", "120", "--markets", "4", "--scenario", "oct-10-2025", "--paths", "2",
                                  "--venues", "gmx-v2,binance", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["scenario"]["name"] == "oct-10-2025" and "oct-10-2025" in out["shock"]
    assert out["run"]["steps"] == 180 and out["run"]["step_seconds"] == 60.0     # the scenario's 3h of 1m steps
    assert all(v["metrics"]["liquidated_positions"]["mean"] > 0 for v in out["venues"])
    bad = CliRunner().invoke(main, ["compare", "--synthetic", "10", "--scenario", "nope"])
    assert bad.exit_code == 1 and "unknown scenario 'nope'" in bad.output


def test_engine_cross_check_runs_every_venue_through_the_numba_engine() -> None:
    r = CliRunner().invoke(main, ["compare", "--synthetic", "200", "--shock", "-30%@10m", "--horizon", "10m",
                                  "--volatility", "1.5", "--paths", "4", "--seed", "5", "--engine", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    eng = out["engine_cross_check"]["venues"]
    assert set(eng) == set(VENUE_NAMES)
    for v in out["venues"]:
        model = v["metrics"]["liquidated_notional"]["mean"]
        engine = eng[v["venue"]]["liquidated_notional_usd"]["mean"]
        # two independent implementations of the same liquidation rules on the same shock
        assert engine == pytest.approx(model, rel=0.25)


def test_simulated_adl_events_replay_under_every_policy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ev = tmp_path / "events.csv"
    r = CliRunner().invoke(main, ["compare", "--synthetic", "300", "--shock", "-45%@10m", "--horizon", "10m",
                                  "--volatility", "1.5", "--paths", "1", "--venues", "binance,hyperliquid", "--adl-events", str(ev), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["adl_events"]["rows"] > 0
    rep = CliRunner().invoke(main, ["adl", "replay", str(ev), "--venue", "binance", "--json"])
    assert rep.exit_code == 0, rep.output
    events = json.loads(rep.output)["events"]
    assert events and all(len(e["policies"]) == 5 for e in events)
    for e in events:
        for p in e["policies"]:
            if p["policy"] != "queue-contract":
                assert p["taken"] + p["uncovered"] == pytest.approx(e["shortfall"], rel=1e-9, abs=1e-6)


def test_engine_backend_fills_the_same_table_from_engine_outputs_and_the_adl_hook() -> None:
    args = ["compare", "--synthetic", "300", "--shock", "-40%@10m", "--horizon", "20m", "--depth-stress", "0.05",
            "--paths", "5", "--seed", "3", "--backend", "engine"]
    r1 = CliRunner().invoke(main, [*args, "--json"])
    assert r1.exit_code == 0, r1.output
    assert CliRunner().invoke(main, [*args, "--json"]).output == r1.output          # reproducible
    out = json.loads(r1.output)
    assert out["backend"] == "engine" and [v["venue"] for v in out["venues"]] == list(VENUE_NAMES)
    for v in out["venues"]:
        m = v["metrics"]
        # every USD of the engine's bad debt has a named bearer
        assert sum(v["loss_bearers_mean_usd"].values()) == pytest.approx(m["bad_debt"]["mean"], rel=1e-9, abs=1e-6)
        assert m["liquidated_positions"]["mean"] > 0
        hook = v["adl_hook"]
        assert hook["hook"] == "venue" and hook["venue"] == v["venue"]
        if m["adl_notional"]["mean"] > 0:
            assert m["adl_accounts"]["mean"] > 0
            assert hook["totals"]["allocated_notional"] == pytest.approx(hook["totals"]["engine_notional"], rel=1e-6)
    assert any(v["metrics"]["adl_accounts"]["mean"] > 0 for v in out["venues"])
    table = CliRunner().invoke(main, [*args, "--venues", "binance,gmx-v2"])
    assert table.exit_code == 0 and "engine backend" in table.output and "Binance" in table.output
    bad = CliRunner().invoke(main, [*args, "--engine"])
    assert bad.exit_code == 1 and "account backend" in bad.output


def test_engine_backend_matches_simulate_with_the_venue() -> None:
    common = ["--synthetic", "200", "--markets", "2", "--shock", "-40%@10m", "--horizon", "15m", "--depth-stress",
              "0.05", "--paths", "3", "--seed", "8", "--json"]
    c = CliRunner().invoke(main, ["compare", *common, "--backend", "engine", "--venues", "binance"])
    s = CliRunner().invoke(main, ["simulate", *common, "--venue", "binance"])
    assert c.exit_code == 0 and s.exit_code == 0, (c.output, s.output)
    cv, sv = json.loads(c.output)["venues"][0], json.loads(s.output)
    assert cv["metrics"]["bad_debt"]["mean"] == pytest.approx(sv["stats"]["bad_debt_usd"]["mean"], rel=1e-12)
    assert cv["metrics"]["adl_accounts"]["mean"] == pytest.approx(sv["adl_hook"]["adl_accounts_per_path"]["mean"])
