"""`defi-perps audit gtrade|hyperliquid --chain devnet` end to end: `devnet up --protocols gmx-v2,P` in a
subprocess (a private home, a free port), then the audit through the CLI with a small run (one
scenario, two venues, 16 paths): it indexes through the registry's job, stresses the book on the
protocol's own rules (Hyperliquid's are the order book's: its depth grid is run once), and lists the
GMX v2-only parts as not run, with why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.protocols.test_devnet_protocols_cli import _cli


# (protocol, its title, the plug-in summary's market-name and position-count columns)
CASES = [("gtrade", "gTrade", "pair", "trades"), ("hyperliquid", "Hyperliquid", "coin", "positions")]


@pytest.mark.parametrize(("protocol", "title", "name_col", "count_col"), CASES, ids=[c[0] for c in CASES])
def test_audit_on_the_devnet_writes_the_report_and_says_what_it_skipped(tmp_path: Path, protocol: str, title: str,
                                                                        name_col: str, count_col: str) -> None:
    from defi_perps.devnet.anvil import find_anvil, free_port
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil()
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    port = str(free_port())
    home = tmp_path / "home"
    db = f"sqlite:///{tmp_path / 'd.db'}"
    out = tmp_path / "report"
    env = {"DEFI_PERPS_DEVNET_RPC_URL": f"http://127.0.0.1:{port}"}
    try:
        r = _cli(home, "devnet", "up", "--port", port, "--positions", "120", "--accounts", "40",
                 "--protocols", f"gmx-v2,{protocol}", "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        r = _cli(home, "audit", protocol, "--chain", "devnet", "--db", db, "--out", str(out), "--scenarios",
                 "oct-10-2025", "--venues", f"{protocol},binance", "--paths", "16", "--seed", "3", "--json", env=env)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        printed = json.loads(r.stdout)
        assert printed["report_html"] == str(out / "report.html")

        s = json.loads((out / "summary.json").read_text())
        assert s["protocol"] == protocol and s["snapshot"]["protocol"] == protocol.replace("-", "_")
        assert s["snapshot"]["positions"] == info["parts"][protocol.replace("-", "_")]["positions"] > 0
        assert s["index"]["created"] is True
        # the stress suite runs the snapshot's own protocol's rules (simulate's default venue)
        stress = s["sections"]["stress"]["data"]["scenarios"]["oct-10-2025"]
        assert stress["venue"] == protocol and stress["paths"] == 16
        assert [v["venue"] for v in s["sections"]["venues"]["data"]["venues"]] == [protocol, "binance"]
        assert set(s["sections"]) >= {"health", "stress", "venues"}
        assert "manipulation" not in s["sections"]
        # the GMX v2-only parts are listed with a reason, never silently left out
        skipped = {k["key"]: k["reason"] for k in s["sections_skipped"]}
        assert set(skipped) >= {"manipulation", "health.pnl_to_pool_vs_adl"}
        for key in ("manipulation", "health.pnl_to_pool_vs_adl"):
            assert skipped[key].startswith("GMX v2 only:") and title in skipped[key]
        html = (out / "report.html").read_text()
        assert "Not in this report" in html and "GMX v2 only:" in html

        # the health section is the shared summary: the book's OI beside the plug-in's own exact table
        tables = {p.name for p in (out / "tables").iterdir()}
        assert {"health_markets.csv", "health_protocol_markets.csv", "stress_scenarios.csv", "venues.csv"} <= tables
        import pandas as pd

        own = pd.read_csv(out / "tables" / "health_protocol_markets.csv")
        assert name_col in own.columns and int(own[count_col].sum()) == s["snapshot"]["positions"]
        health = pd.read_csv(out / "tables" / "health_markets.csv")
        assert int(health["positions_long"].sum() + health["positions_short"].sum()) == s["snapshot"]["positions"]
        grid = pd.read_csv(out / "tables" / "stress_grid.csv")
        assert not grid.duplicated(["venue", "shock", "depth_stress", "market"]).any()
        assert set(grid["venue"]) == {protocol, "hyperliquid"}
        assert not (out / "figures" / "pnl_to_pool_vs_adl.png").exists()
        assert (out / "figures" / "oi_liquidated_vs_move.png").stat().st_size > 0

        # a protocol that is not registered stops in one line, nothing indexed
        r = _cli(home, "audit", "gtrade-v9", "--chain", "devnet", "--db", db, env=env)
        assert r.returncode != 0 and "unknown protocol 'gtrade-v9'" in r.stderr and "Traceback" not in r.stderr
    finally:
        _cli(home, "devnet", "down")
