"""``defi-perps hedger`` and ``compare --hedge`` from the command line, the stored run and its rerun,
one-line errors, and the Python API (``defi_perps.api.hedger``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from defi_perps.cli import main

ARGS = ["--synthetic", "1500", "--scenario", "oct-10-2025", "--leverage", "20", "--latency", "30s..5m",
        "--paths", "12", "--seed", "3"]


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    from defi_perps.store.db import get_engine

    get_engine.cache_clear()
    return f"sqlite:///{tmp_path / 'runs.db'}"


def _json(args: list[str]) -> dict:
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_json_carries_the_pnl_by_cause_and_the_rules(db):
    d = _json(["hedger", "--venue", "hyperliquid", *ARGS, "--db", db, "--json"])
    for key in ("adl_closed_notional_usd", "peak_unhedged_notional_usd", "unhedged_seconds", "pnl_by_cause_usd",
                "total_pnl_usd", "venue", "parameters", "run", "scenario"):
        assert key in d, key
    assert set(d["pnl_by_cause_usd"]) == {"spot_mtm", "perp_mtm", "adl_vs_market", "liquidation_vs_market",
                                          "rehedge_slippage", "funding", "fees"}
    assert sum(d["pnl_by_cause_usd"].values()) == pytest.approx(d["total_pnl_usd"], rel=1e-9, abs=1e-9)
    v = d["venues"][0]
    assert v["rules"]["adl_trigger"] == "negative_equity" and v["venue_sources"]
    # funding: the scenario's (oct-10-2025: shorts receive ~40 %/yr before the crash, the engine's rate)
    assert v["funding"]["apr"] == pytest.approx(0.40) and v["funding"]["source"] == "oct-10-2025"
    assert d["parameters"]["latency_s"] == [30.0, 300.0]


def test_funding_defaults_to_the_venues_rule_without_a_scenario_rate(db):
    args = ["--synthetic", "500", "--shock", "-10%@10m", "--horizon", "1h", "--paths", "2", "--db", db, "--json"]
    d = _json(["hedger", "--venue", "hyperliquid", "--venue", "gmx-v1", *args])
    hl, gmx = d["venues"]
    assert hl["funding"]["apr"] == pytest.approx(0.0001 / 8 * 24 * 365)   # 0.01 %/8 h, paid hourly at 1/8
    assert "hyperliquid.gitbook.io" in hl["funding"]["source"]
    assert gmx["funding"]["apr"] == 0.0 and "give --funding-apr" in gmx["funding"]["basis"]
    given = _json(["hedger", "--venue", "gmx-v1", "--funding-apr", "0.05", *args])
    assert given["venues"][0]["funding"] == {"apr": 0.05, "source": "--funding-apr"}


def test_several_venues_side_by_side_and_the_table(db):
    d = _json(["hedger", "--venue", "hyperliquid", "--venue", "gmx-v1", *ARGS, "--db", db, "--json"])
    assert [v["venue"] for v in d["venues"]] == ["hyperliquid", "gmx-v1"]
    assert "adl_closed_notional_usd" not in d          # several venues: the numbers are per venue
    r = CliRunner().invoke(main, ["hedger", "--venue", "hyperliquid", "--venue", "gmx-v1", *ARGS, "--db", db])
    assert r.exit_code == 0, r.output
    for text in ("spot mark-to-market", "ADL close price vs market", "re-hedge slippage", "peak unhedged notional",
                 "why — GMX v1", "never deleveraged"):
        assert text in r.output, text


def test_the_run_is_stored_and_reruns_bit_for_bit(db):
    _json(["hedger", "--venue", "hyperliquid", "--venue", "binance", *ARGS, "--db", db, "--json"])
    runs = _json(["runs", "list", "--db", db, "--json"])
    run = runs[0] if isinstance(runs, list) else runs["runs"][0]
    assert run["kind"] == "hedger"
    # the README's `runs list --kind …` filter takes the hedger's kind like the others
    assert [r["id"] for r in _json(["runs", "list", "--kind", "hedger", "--db", db, "--json"])] == [run["id"]]
    shown = _json(["runs", "show", str(run["id"]), "--db", db, "--json"])
    assert set(shown["venues"]) == {"hyperliquid", "binance"}       # both venues' parameters are stored
    rr = _json(["runs", "rerun", str(run["id"]), "--db", db, "--json"])
    assert rr["identical"], rr


@pytest.mark.parametrize("args, needle", [
    (["--latency", "3x"], "--latency"),
    (["--latency", "5m..30s"], "upper end"),
    (["--latency", "30s..1m..2m"], "--latency"),
    (["--hedge", "-5"], "--hedge"),
    (["--hedge", "nan"], "--hedge"),
    (["--leverage", "0.5"], "--leverage"),
    (["--venue", "nowhere"], "--venue"),
    (["--market", "ZZZ"], "--market"),
])
def test_bad_input_is_one_line_and_non_zero(db, args, needle):
    base = ["hedger", "--synthetic", "200", "--paths", "2", "--db", db]
    if "--venue" not in args:
        base += ["--venue", "hyperliquid"]
    r = CliRunner().invoke(main, base + args)
    assert r.exit_code != 0
    lines = [x for x in r.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], r.output
    assert "Traceback" not in r.output


def test_compare_gains_the_hedger_rows(db):
    d = _json(["compare", "--synthetic", "1500", "--scenario", "oct-10-2025", "--venues", "hyperliquid,gmx-v1",
               "--paths", "8", "--seed", "3", "--hedge", "5e4", "--hedge-leverage", "20", "--db", db, "--json"])
    h = d["hedger"]
    assert h["hedge_notional_usd"] == 5e4 and len(h["venues"]) == 2
    for v in h["venues"]:
        assert sum(v["pnl_by_cause_usd"].values()) == pytest.approx(v["total_pnl_usd"], rel=1e-9, abs=1e-9)
    # the same numbers as `defi-perps hedger` on the same book, scenario and seed
    one = _json(["hedger", "--venue", "hyperliquid", "--synthetic", "1500", "--scenario", "oct-10-2025",
                 "--paths", "8", "--seed", "3", "--hedge", "5e4", "--leverage", "20", "--db", db, "--json"])
    assert one["total_pnl_usd"] == h["venues"][0]["total_pnl_usd"]
    r = CliRunner().invoke(main, ["compare", "--synthetic", "500", "--venues", "hyperliquid", "--paths", "4",
                                  "--hedge", "5e4", "--db", db])
    assert r.exit_code == 0 and "Delta-neutral hedger" in r.output, r.output


def test_python_api_returns_dataframes(db):
    from defi_perps import api

    book = api.synthetic_book(1500, markets=4, seed=3)
    res = api.hedger(book, venues=["hyperliquid", "binance"], scenario="oct-10-2025", leverage=20.0,
                     latency="30s..5m", paths=12, seed=3)
    df = res.to_pandas()
    assert len(df) == 24 and set(df["venue"]) == {"hyperliquid", "binance"}
    causes = ["spot_mtm", "perp_mtm", "adl_vs_market", "liquidation_vs_market", "rehedge_slippage", "funding", "fees"]
    assert (df[causes].sum(axis=1) - df["total_pnl_usd"]).abs().max() < 1e-6
    s = res.summary()
    assert list(s["venue"]) == ["hyperliquid", "binance"]
    # the API and the CLI give the same numbers
    cli = _json(["hedger", "--venue", "hyperliquid", "--venue", "binance", *ARGS, "--db", db, "--json"])
    assert [v["total_pnl_usd"] for v in cli["venues"]] == pytest.approx(list(s["total_pnl_usd"]), rel=1e-12)
    fig = res.plot()
    assert fig is not None


def test_the_figure_groups_causes_by_venue(tmp_path):
    from defi_perps.report import figures
    from defi_perps.runs.hedger import figure_causes

    row = {"pnl_by_cause_usd": {"spot_mtm": -500.0, "perp_mtm": 300.0, "adl_vs_market": -50.0,
                                "liquidation_vs_market": 0.0, "rehedge_slippage": -3.0, "funding": 2.0, "fees": -1.0},
           "total_pnl_usd": -252.0}
    causes = figure_causes(row)
    assert causes["unhedged (spot + perp MTM)"] == -200.0 and causes["total"] == -252.0
    assert sum(v for k, v in causes.items() if k != "total") == pytest.approx(-252.0)
    path = figures.draw("hedger_pnl", {"venues": [{"name": "Hyperliquid", "causes": causes},
                                                  {"name": "Binance USDⓈ-M", "causes": causes}]},
                        tmp_path / "h.png", [1])
    assert path.stat().st_size > 10_000


def test_the_audit_progress_total_counts_the_hedger_sections_runs() -> None:
    # one unit per hedger venue run (runs/hedger.AUDIT_VENUES that the audit runs), or the bar overruns
    from defi_perps.runs.audit import AuditRequest, planned_steps

    base = 1 + 1 + 2 * (1 + 3) + 3 + 1          # index, one scenario, a 2×3 grid, three venues, report
    req = AuditRequest(venues=["gmx-v2", "hyperliquid", "binance"], shocks=(-0.1, -0.2), depth_stresses=(1, 0.5, 0.1))
    assert planned_steps(req, 1, 3) == base + 2
    req = AuditRequest(venues=["gmx-v2"], shocks=(-0.1, -0.2), depth_stresses=(1, 0.5, 0.1))
    assert planned_steps(req, 1, 1) == base - 2 + 1       # no audit venue: the hedger runs on the first one
