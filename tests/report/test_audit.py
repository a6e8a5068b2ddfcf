"""`defi-perps audit` on the devnet: the report folder, its numbers against the store, stored runs."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.engine.results import PAID_BY

pytestmark = pytest.mark.anvil


def _png_ok(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.load()     # decodes every pixel
    arr = np.asarray(img.convert("L"))
    assert arr.std() > 5, "a blank figure"
    return img.size


def test_report_folder_is_complete(audited) -> None:  # type: ignore[no-untyped-def]
    s, out = audited.summary, audited.out
    assert s["schema_version"] == 1
    assert s["snapshot"]["block_number"] == audited.block and s["snapshot"]["chain_id"] == 31337
    assert {"health", "stress", "venues"} <= set(s["sections"])
    # figures the issue names, each a real PNG, each citing the runs it was drawn from
    want = {"pnl_to_pool_vs_adl", "oi_liquidated_vs_move", "fan_oct-10-2025", "cascade_amplification",
            "insurance_fund_over_time", "who_pays_by_venue", "adl_haircut_distribution"}
    figs = {name: f for sec in s["sections"].values() for name, f in sec["figures"].items()}
    assert want <= set(figs)
    for name, f in figs.items():
        w, h = _png_ok((out / f["file"]).read_bytes())
        assert w > 400 and h > 250, name
        if name != "pnl_to_pool_vs_adl":          # exact contract math, not a simulation
            assert f["run_ids"], name
    # every table as CSV and Parquet with the same rows
    for sec in s["sections"].values():
        for name, t in sec["tables"].items():
            csv, pq = pd.read_csv(out / t["csv"]), pd.read_parquet(out / t["parquet"])
            assert len(csv) == len(pq) == int(t["rows"]) > 0, name
            assert list(csv.columns) == list(pq.columns)
    # findings first, each with a meaning
    assert len(s["findings"]) >= 5
    for f in s["findings"]:
        assert f["label"] and f["display"] and len(f["meaning"]) > 20
    # the venue rows in the issue-7 shape, machine-readable
    rows = s["sections"]["venues"]["data"]["venues"]
    assert [r["venue"] for r in rows] == ["gmx-v2", "hyperliquid", "binance"]
    for r in rows:
        assert {"rules", "liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd", "paid_by", "tail"} <= set(r)
        assert set(r["paid_by"]) == set(PAID_BY)   # a clearing house's layers included (engine/results.py)
        assert sum(r["paid_by"].values()) == pytest.approx(r["bad_debt_usd"], rel=1e-9, abs=1e-6)
    # every section's producer is in this version (none skipped)
    assert s["sections_skipped"] == []
    # the hedger section: P&L by cause per venue, its figure, each venue a stored hedger run
    hed = s["sections"]["hedger"]["data"]
    assert [r["venue"] for r in hed["venues"]] == ["hyperliquid", "binance"]
    for r in hed["venues"]:
        causes = [k for k in r if k.endswith("_usd") and k[:-4] in ("spot_mtm", "perp_mtm", "adl_vs_market",
                                                                    "liquidation_vs_market", "rehedge_slippage",
                                                                    "funding", "fees")]
        assert len(causes) == 7
        assert sum(r[k] for k in causes) == pytest.approx(r["total_pnl_usd"], rel=1e-9, abs=1e-6)
        assert r["run_id"] is not None
    assert (audited.out / "figures/hedger_pnl_by_cause.png").is_file()
    assert (audited.out / "tables/hedger.csv").is_file()
    # the oracle-manipulation section: one row per market of the snapshot, with its figure
    man = s["sections"]["manipulation"]["data"]
    assert man["venue"] == "gmx-v2" and len(man["markets"]) == len({r["market"] for r in man["markets"]})
    for r in man["markets"]:
        assert set(r["capital_to_move_usd"]) == {"1%", "5%", "10%", "25%"} and isinstance(r["profitable"], bool)
    assert (audited.out / "figures/manipulation_cost_profit.png").is_file()
    assert (audited.out / "tables/manipulation.csv").is_file()


def test_numbers_agree_with_the_store_and_the_book(audited) -> None:  # type: ignore[no-untyped-def]
    from defi_perps.book import load_snapshot_book
    from defi_perps.indexer.summary import summarize
    from defi_perps.store.queries import load_snapshot

    out = audited.out
    sid = audited.summary["snapshot"]["snapshot_id"]
    health = pd.read_parquet(out / "tables/health_markets.parquet")
    exact = {m["name"]: m for m in summarize(load_snapshot(audited.db, sid))["markets"]}
    for row in health.itertuples():
        assert row.oi_long_usd == float(exact[row.market]["oi_long_usd"])
        assert row.pnl_to_pool_short == float(exact[row.market]["pnl_to_pool_short"])
    # the pnl-to-pool curve at zero move equals the exact summary (same contract math)
    from defi_perps.runs.audit_inputs import pnl_to_pool_curves

    for c in pnl_to_pool_curves(audited.db, sid, (-10, 0, 10)):
        assert c["long"][1] == pytest.approx(float(exact[c["market"]]["pnl_to_pool_long"]), abs=5e-5)
        # shorts gain as the price falls
        assert c["short"][0] > c["short"][1] > c["short"][2]
    # liquidated share of OI is liquidated notional over the book's OI, and bounded by it
    book = load_snapshot_book(audited.db, sid)
    oi = dict(zip(book.market_names, book.open_interest().sum(axis=1)))
    scen = pd.read_parquet(out / "tables/stress_scenarios.parquet")
    for row in scen.itertuples():
        assert row.open_interest_usd == pytest.approx(oi[row.market], rel=1e-12)
        assert 0 <= row.liquidated_share_of_oi <= 1.0 + 1e-9
    grid = pd.read_parquet(out / "tables/stress_grid.parquet")
    g = grid[(grid.venue == "gmx-v2")].groupby("shock")["liquidated_mean_usd"].sum().sort_index()
    # a deeper fall liquidates at least as much (monotone in the shock on the protocol's rules)
    assert np.all(np.diff(g.to_numpy()[::-1]) >= -1e-6 * g.max())
    # GMX v2 fills at the oracle: depth stress cannot change its numbers; on an order book it amplifies
    hl = grid[grid.venue == "hyperliquid"]
    assert hl["amplification_p50"].max() >= 1.0
    venues = pd.read_parquet(out / "tables/venues.parquet").set_index("venue")
    paid = venues[[c for c in venues.columns if c.startswith("paid_by_")]].sum(axis=1)
    # every dollar of bad debt is attributed to exactly one party (or "uncovered")
    np.testing.assert_allclose(paid.to_numpy(), venues["bad_debt_usd"].to_numpy(), rtol=1e-9, atol=1e-6)
    assert venues.loc["gmx-v2", "paid_by_pool_usd"] == pytest.approx(venues.loc["gmx-v2", "bad_debt_usd"])


def test_html_is_self_contained_and_cites_runs(audited) -> None:  # type: ignore[no-untyped-def]
    html = (audited.out / "report.html").read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(" not in html
    imgs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    figs = {n: f for sec in audited.summary["sections"].values() for n, f in sec["figures"].items()}
    assert len(imgs) == len(figs)
    files = {(audited.out / f["file"]).read_bytes() for f in figs.values()}
    for b64 in imgs:
        assert base64.b64decode(b64) in files
    # findings come before the first section, and each figure names its runs
    assert html.index('id="findings"') < html.index('id="health"') < html.index('id="stress"')
    for f in figs.values():
        for rid in f["run_ids"][:1]:
            assert f"#{rid}" in html


def test_runs_are_stored_and_the_audit_reruns_bit_for_bit(audited) -> None:  # type: ignore[no-untyped-def]
    s = audited.summary
    r = CliRunner().invoke(main, ["runs", "list", "--parent", str(s["audit_run_id"]), "--db", audited.db, "--json"])
    assert r.exit_code == 0, r.output
    kids = json.loads(r.stdout)
    assert sorted(k["id"] for k in kids) == s["child_runs"]
    assert all(k["kind"] == k["argv"][0] for k in kids)
    assert {k["kind"] for k in kids} == {"simulate", "manipulation", "hedger"}   # every figure's source is a stored run
    sims = [k for k in kids if k["kind"] == "simulate"]
    show = CliRunner().invoke(main, ["runs", "show", str(sims[0]["id"]), "--db", audited.db, "--json"])
    run = json.loads(show.stdout)
    assert run["snapshot_id"] == s["snapshot"]["snapshot_id"] and run["block_hash"] == s["snapshot"]["block_hash"]
    assert run["threads"] == s["threads"] and run["code_version"]
    for name, params in run["venues"].items():
        assert params["sources"], name          # venue parameters are stored with their sources
    rr = CliRunner().invoke(main, ["runs", "rerun", str(s["audit_run_id"]), "--db", audited.db, "--json"])
    assert rr.exit_code == 0, rr.output
    rep = json.loads(rr.stdout)
    assert rep["identical"] and rep["digest"] == s["result_digest"]
    assert len(rep["children"]) == len(s["child_runs"])


def test_rerun_says_exactly_what_differs(audited) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from defi_perps.store.db import get_engine
    from defi_perps.store.runs import RunRow

    kid = audited.summary["child_runs"][-1]      # a venue-comparison run
    with Session(get_engine(audited.db)) as ses:
        row = ses.get(RunRow, kid)
        saved = (row.result_digest, row.code_digest, row.venues_json)
        venues = json.loads(row.venues_json)
        name = next(iter(venues))
        venues[name]["liquidation"]["fee_rate"] = 0.123
        row.result_digest, row.code_digest, row.venues_json = "0" * 64, "f" * 64, json.dumps(venues)
        ses.add(row)
        ses.commit()
    try:
        r = CliRunner().invoke(main, ["runs", "rerun", str(kid), "--db", audited.db])
        assert r.exit_code == 1
        assert "DIFFERS" in r.output
        assert "code version: stored" in r.output
        assert f"venue {name} parameter liquidation.fee_rate: stored 0.123" in r.output
    finally:
        with Session(get_engine(audited.db)) as ses:
            row = ses.get(RunRow, kid)
            row.result_digest, row.code_digest, row.venues_json = saved
            ses.add(row)
            ses.commit()


def test_simulate_and_compare_runs_are_stored(audited, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = audited.db
    sid = str(audited.summary["snapshot"]["snapshot_id"])
    scen = tmp_path / "my.toml"
    scen.write_text('name = "mine"\nshock = "*:-12%@10m"\nhorizon = "1h"\n')
    r = CliRunner().invoke(main, ["simulate", "--snapshot", sid, "--scenario", str(scen), "--venue", "gmx-v2",
                                  "--paths", "12", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    c = CliRunner().invoke(main, ["compare", "--snapshot", sid, "--shock", "*:-10%@10m", "--horizon", "30m",
                                  "--venues", "gmx-v2,binance", "--paths", "8", "--db", db,
                                  "--json"])
    assert c.exit_code == 0, c.output
    runs = json.loads(CliRunner().invoke(main, ["runs", "list", "--db", db, "--limit", "2", "--json"]).stdout)
    comp, sim = runs[0], runs[1]
    assert comp["kind"] == "compare" and sim["kind"] == "simulate"
    shown = json.loads(CliRunner().invoke(main, ["runs", "show", str(sim["id"]), "--db", db, "--json"]).stdout)
    assert shown["scenario"]["text"] == scen.read_text()     # the scenario file's contents are stored
    # the scenario file changes after the run: the rerun uses the stored text, reproduces, and says so
    scen.write_text('name = "mine"\nshock = "*:-50%@10m"\nhorizon = "1h"\n')
    rr = CliRunner().invoke(main, ["runs", "rerun", str(sim["id"]), "--db", db])
    assert rr.exit_code == 0, rr.output
    assert "reproduced bit for bit" in rr.output
    rc = CliRunner().invoke(main, ["runs", "rerun", str(comp["id"]), "--db", db, "--json"])
    assert rc.exit_code == 0 and json.loads(rc.stdout)["identical"], rc.output
