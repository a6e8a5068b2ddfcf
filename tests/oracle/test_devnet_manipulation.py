"""`manipulation --snapshot` and `attack --snapshot` on a real devnet snapshot (anvil, no mocks)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from defi_perps.cli import main

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def indexed(devnet, tmp_path_factory):  # type: ignore[no-untyped-def]
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.gmx_v2 import index_gmx_v2

    db = f"sqlite:///{tmp_path_factory.mktemp('manip') / 'm.db'}"
    report, snap = index_gmx_v2(load_chain_file(devnet.chain_file), devnet.rpc_url, devnet.book.block_number, db)
    return db, report.snapshot_id, snap


def test_manipulation_table_uses_the_snapshot_parameters(indexed) -> None:  # type: ignore[no-untyped-def]
    db, sid, snap = indexed
    args = ["manipulation", "--snapshot", str(sid), "--db", db, "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    rows = data["markets"]
    assert len(rows) == len(snap.markets)
    assert data["book"]["block_number"] == snap.meta.block_number and data["book"]["chain_id"] == snap.meta.chain_id
    eth = next(x for x in rows if x["market"] == "WETH/USD [WETH-USDC]")
    # ETH/BTC impact factor override 9e-11, exponent 2 (protocols.md §1.3, devnet universe)
    assert eth["caps"]["impact_factor_negative"] == pytest.approx(9e-11)
    assert eth["caps"]["impact_exponent_negative"] == pytest.approx(2.0)
    for row in rows:
        assert row["caps"]["oi_cap_usd"]["long"] is not None and row["caps"]["oi_cap_usd"]["long"] > 0
        assert all(v is not None and v > 0 for v in row["capital_to_move_usd"].values())
        assert isinstance(row["profitable"], bool) and row["verdict"]
    again = CliRunner().invoke(main, args)
    assert json.loads(again.stdout)["markets"] == rows


def test_attack_on_a_snapshot_market_runs_the_engine(indexed) -> None:  # type: ignore[no-untyped-def]
    db, sid, _ = indexed
    r = CliRunner().invoke(main, ["attack", "--snapshot", str(sid), "--db", db, "--market", "PEPE", "--capital", "20M",
                                  "--paths", "3", "--volatility", "0.4", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["details"]["cascade_engine"] in {"numba", "reference"} and len(d["details"]["per_path"]["bad_debt_usd"]) == 3
    assert d["attacker_net_usd"] == pytest.approx(d["attacker_profit_usd"] - d["attacker_cost_usd"])
    bad = CliRunner().invoke(main, ["manipulation", "--snapshot", "999", "--db", db])
    assert bad.exit_code != 0 and bad.output.startswith("Error")


def test_attack_on_latest_is_stored_with_the_snapshot_id_and_reruns(indexed) -> None:  # type: ignore[no-untyped-def]
    """`--snapshot latest` is stored as the id it resolved to (a later snapshot does not change the
    rerun); the API's attack on the same snapshot gives the CLI's payload."""
    from defi_perps import api
    from defi_perps.runs.record import digest

    db, sid, _ = indexed
    r = CliRunner().invoke(main, ["attack", "--snapshot", "latest", "--db", db, "--market", "PEPE", "--capital", "20M",
                                  "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    runs = json.loads(CliRunner().invoke(main, ["runs", "list", "--kind", "attack", "--db", db, "--json"]).stdout)
    assert runs[0]["argv"][:3] == ["attack", "--snapshot", str(sid)] and runs[0]["snapshot_id"] == sid
    assert runs[0]["result_digest"] == digest(payload)
    rep = json.loads(CliRunner().invoke(main, ["runs", "rerun", str(runs[0]["id"]), "--db", db, "--json"]).stdout)
    assert rep["identical"] and rep["differences"] == []
    res = api.attack(api.load_snapshot(sid, db=db), market="PEPE", capital="20M")
    assert digest(res.payload) == digest(payload)
