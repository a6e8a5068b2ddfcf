"""``defi-perps series`` and ``api.series`` over a devnet history (issue 13 §2)."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from defi_perps import api
from defi_perps.cli import main
from defi_perps.config import load_chain_file
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.indexer.history import Every, index_history
from defi_perps.indexer.summary import summarize

pytestmark = pytest.mark.anvil
ETH = "WETH/USD [WETH-USDC]"
METRICS = "oi_long,oi_short,pnl_to_pool_long,pnl_to_pool_short,pool_value,liq_10pct,price"


@pytest.fixture(scope="module")
def indexed(history_devnet, tmp_path_factory):  # type: ignore[no-untyped-def]
    h, first, last = history_devnet
    db = f"sqlite:///{tmp_path_factory.mktemp('series') / 's.db'}"
    rep = index_history(load_chain_file(h.chain_file), h.rpc_url, first, last, Every(blocks=1), db)
    assert not rep.failed
    return h, first, last, db


def test_series_equals_the_exact_summary_at_each_block(indexed) -> None:  # type: ignore[no-untyped-def]
    h, first, last, db = indexed
    r = CliRunner().invoke(main, ["series", "--market", ETH, "--metrics", METRICS, "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["series"]
    assert [x["block_number"] for x in s["rows"]] == list(range(first, last + 1))
    assert s["units"]["oi_long"] == "USD" and s["units"]["pnl_to_pool_long"] == "ratio"
    chain = load_chain_file(h.chain_file)
    for row in s["rows"]:
        _, snap = index_gmx_v2(chain, h.rpc_url, row["block_number"], store=False)
        m = next(x for x in summarize(replace(snap, meta=replace(snap.meta, id=0)))["markets"]
                 if x["market"] == s["market"])
        assert row["oi_long"] == m["oi_long_usd"] and row["oi_short"] == m["oi_short_usd"]
        assert row["pool_value"] == m["pool_value_usd"] and row["price"] == m["price_usd"]
        assert row["pnl_to_pool_long"] == m["pnl_to_pool_long"]
        assert row["liq_10pct_long"] == m["liquidation_move_long"]["10%"]
        assert row["liq_10pct_short"] == m["liquidation_move_short"]["10%"]
    # the WETH price moved 2100 → 1500 inside the range: the series sees it
    assert len({row["price"] for row in s["rows"]}) >= 2


def test_series_files_range_and_api(indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _h, first, last, db = indexed
    out = tmp_path
    r = CliRunner().invoke(main, ["series", "--market", ETH, "--metrics", METRICS, "--from", str(first + 2),
                                  "--to", str(last - 1), "--db", db, "--csv", str(out / "s.csv"),
                                  "--png", str(out / "s.png")])
    assert r.exit_code == 0, r.output
    assert "oi_long" in r.output and "units:" in r.output
    rows = list(csv.DictReader((out / "s.csv").open()))
    assert [int(x["block_number"]) for x in rows] == list(range(first + 2, last))
    assert (out / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = CliRunner().invoke(main, ["series", "--market", ETH, "--db", db, "--parquet", str(out / "s.parquet")])
    assert r.exit_code == 0, r.output
    pq = pd.read_parquet(out / "s.parquet")
    df = api.series(ETH, METRICS, db=db)
    assert len(df) == len(pq) == last - first + 1
    assert df["oi_long"].dtype == "float64" and str(df["time"].dt.tz) == "UTC"
    js = json.loads(CliRunner().invoke(main, ["series", "--market", ETH, "--metrics", "oi_long", "--db", db,
                                             "--json"]).stdout)["series"]["rows"]
    assert df["oi_long"].tolist() == [float(x["oi_long"]) for x in js] == pq["oi_long"].tolist()


def test_series_errors(indexed) -> None:  # type: ignore[no-untyped-def]
    _, _, _, db = indexed
    for args, needle in ((["--market", "NOPE"], "market 'NOPE'"),
                         (["--market", "WETH"], "ambiguous"), (["--market", ETH, "--metrics", "oi_sideways"],
                                                                   "unknown metric"),
                         (["--market", ETH, "--from", "yesterday"], "--from"),
                         (["--market", ETH, "--from", "999999999"], "no stored snapshots")):
        r = CliRunner().invoke(main, ["series", *args, "--db", db])
        assert r.exit_code != 0 and needle in r.output and "Traceback" not in r.output, (args, r.output)
