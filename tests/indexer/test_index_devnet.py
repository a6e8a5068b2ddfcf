"""The GMX v2 indexer against the real devnet chain (anvil): exact read-back, history, CLI, idempotency."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.config import load_chain_file
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.store import load_snapshot

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]


def _prices_without_time(prices):  # type: ignore[no-untyped-def]
    # the devnet book does not record each round's updatedAt; everything else must match exactly
    return {dataclasses.replace(p, updated_at=None) for p in prices}


def test_every_seeded_position_reads_back_exactly(shared_devnet, db: str) -> None:  # type: ignore[no-untyped-def]
    h = shared_devnet
    chain = load_chain_file(h.chain_file)
    report, snap = index_gmx_v2(chain, h.rpc_url, h.book.block_number, db, batch_size=97)
    assert report.created and report.block_number == h.book.block_number
    assert {p.key: p for p in snap.positions} == {p.key: p for p in h.book.positions}
    assert set(snap.markets) == set(h.book.markets)
    assert set(snap.tokens) == set(h.book.tokens)
    assert _prices_without_time(snap.prices) == _prices_without_time(h.book.prices)
    # far fewer round trips than calls: one multicall per 97 positions, one per 97 of the two
    # per-account fee reads (pro tier, referral code), plus a handful (referral chain: 3 small rounds)
    n_accounts = len({p.account for p in h.book.positions})
    assert report.round_trips <= 10 + -(-len(h.book.positions) // 97) + -(-2 * n_accounts // 97) + 6
    # and the store gives back the same records
    back = load_snapshot(db, report.snapshot_id)
    assert back.positions == snap.positions and back.markets == snap.markets and back.prices == snap.prices


def test_cli_index_is_idempotent_and_summarized(shared_devnet, db: str) -> None:  # type: ignore[no-untyped-def]
    h = shared_devnet
    args = ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--block", str(h.book.block_number), "--db", db,
            "--json"]
    r1 = CliRunner().invoke(main, args)
    assert r1.exit_code == 0, r1.output
    out1 = json.loads(r1.stdout)
    assert out1["index"]["created"] and out1["index"]["positions"] == len(h.book.positions)
    assert out1["index"]["round_trips"] > 0 and out1["index"]["positions_per_s"] > 0
    m = out1["snapshot"]["markets"]
    assert len(m) == len(h.book.markets)
    assert sum(x["positions_long"] + x["positions_short"] for x in m) == len(h.book.positions)
    assert all(set(x["liquidation_move_long"]) == {"1%", "10%", "50%"} for x in m)
    r2 = CliRunner().invoke(main, args)
    out2 = json.loads(r2.stdout)
    assert not out2["index"]["created"] and out2["index"]["snapshot_id"] == out1["index"]["snapshot_id"]
    listed = json.loads(CliRunner().invoke(main, ["snapshots", "list", "--db", db, "--json"]).stdout)
    assert [s["block_number"] for s in listed] == [h.book.block_number]
    shown = CliRunner().invoke(main, ["snapshots", "show", "latest", "--db", db, "--json"])
    assert shown.exit_code == 0
    s = json.loads(shown.stdout)
    assert s["positions"] == len(h.book.positions)
    assert {x["market"] for x in s["markets"]} == {mk.market_token for mk in h.book.markets}
    human = CliRunner().invoke(main, ["snapshots", "show", str(out1["index"]["snapshot_id"]), "--db", db])
    assert human.exit_code == 0 and "pool value" in human.output


def test_historical_block_ignores_later_changes(private_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = private_devnet
    chain = load_chain_file(h.chain_file)
    before = {p.key: p for p in h.positions.values()}
    block_b = h.block_number()
    weth = h.addresses["tokens"]["WETH"]
    _, snap_b0 = index_gmx_v2(chain, h.rpc_url, block_b, store=False)
    # change a price, one position and remove another after block B
    h.set_price("WETH", "1234.5")
    k1, k2 = sorted(before)[:2]
    changed = h.update_position(k1, size_in_usd=before[k1].size_in_usd * 2, collateral_amount=1)
    h.remove_position(k2)
    h.mine(2)
    db = f"sqlite:///{tmp_path / 'hist.db'}"
    rep_b, snap_b = index_gmx_v2(chain, h.rpc_url, block_b, db)
    assert rep_b.block_number == block_b
    assert {p.key: p for p in snap_b.positions} == before
    assert snap_b.markets == snap_b0.markets and snap_b.prices == snap_b0.prices
    _, now = index_gmx_v2(chain, h.rpc_url, None, db)
    now_pos = {p.key: p for p in now.positions}
    assert now_pos[k1] == changed and k2 not in now_pos
    weth_now = next(p for p in now.prices if p.token == weth)
    assert weth_now.price_min == 12345 * 10**11      # $1234.5 per WETH (18 decimals): usd * 10**12
    assert next(p for p in snap_b.prices if p.token == weth).price_min != weth_now.price_min


def test_price_file_overrides_feeds(private_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = private_devnet
    usdc = h.addresses["tokens"]["USDC"]
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({usdc: {"min": "0.999", "max": "1.001"}}))
    rep, snap = index_gmx_v2(load_chain_file(h.chain_file), h.rpc_url, None, prices_path=str(f), store=False)
    p = next(p for p in snap.prices if p.token == usdc)
    assert (p.price_min, p.price_max, p.source) == (999 * 10**21, 1001 * 10**21, "file")
    assert snap.meta.price_source.startswith("file:")


# ---- one-line errors, exit != 0, no traceback --------------------------------------------------
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def _one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def _chain_variant(h, tmp_path: Path, **changes: str) -> Path:  # type: ignore[no-untyped-def]
    text = Path(h.chain_file).read_text()
    for old, new in changes.items():
        text = text.replace(old, new)
    p = tmp_path / "variant.toml"
    p.write_text(text)
    return p


def test_error_chain_id_mismatch(shared_devnet, tmp_path: Path, db: str) -> None:  # type: ignore[no-untyped-def]
    f = _chain_variant(shared_devnet, tmp_path, **{"chain_id = 31337": "chain_id = 42161"})
    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(f), "--rpc", shared_devnet.rpc_url, "--db", db),
                    "31337", "42161")


def test_error_unknown_protocol(shared_devnet, db: str) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(_run("index", "gmx-v9", "--chain-file", str(shared_devnet.chain_file), "--db", db),
                    "unknown protocol", "gmx-v9")


def test_error_malformed_address(shared_devnet, tmp_path: Path, db: str) -> None:  # type: ignore[no-untyped-def]
    ds = shared_devnet.addresses["data_store"]
    f = _chain_variant(shared_devnet, tmp_path, **{f'data_store = "{ds}"': 'data_store = "0xNOTANADDRESS"'})
    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(f), "--db", db), "0xNOTANADDRESS")


def test_error_wrong_position_layout(shared_devnet, tmp_path: Path, db: str) -> None:  # type: ignore[no-untyped-def]
    f = _chain_variant(shared_devnet, tmp_path, **{'position_layout = "v2.2"': 'position_layout = "v2.1"'})
    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(f), "--db", db), "position_layout", "v2.1")


def test_error_unreachable_rpc(shared_devnet, db: str) -> None:  # type: ignore[no-untyped-def]
    from defi_perps.devnet.anvil import free_port

    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(shared_devnet.chain_file), "--rpc",
                         f"http://127.0.0.1:{free_port()}", "--db", db), "cannot reach RPC")


@pytest.mark.parametrize("block, needle", [("99999999", "beyond the chain head"), ("-5", ">= 0"),
                                           ("abc", "block number"), ("0", "before")])
def test_error_bad_block(shared_devnet, db: str, block: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(shared_devnet.chain_file), "--block", block,
                         "--db", db), needle)


def test_error_bad_price_file(shared_devnet, tmp_path: Path, db: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "p.json"
    f.write_text("{oops")
    _one_line_error(_run("index", "gmx-v2", "--chain-file", str(shared_devnet.chain_file), "--prices", str(f),
                         "--db", db), "not valid JSON")


def test_postgres_store_through_the_cli(shared_devnet) -> None:  # type: ignore[no-untyped-def]
    import os

    url = os.environ.get("DEFI_PERPS_TEST_PG")
    if not url:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    h = shared_devnet
    _forget_devnet_snapshot(url, h)
    args = ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--block", str(h.book.block_number), "--db", url,
            "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    sid = json.loads(r.stdout)["index"]["snapshot_id"]
    back = load_snapshot(url, sid)
    assert {p.key: p for p in back.positions} == {p.key: p for p in h.book.positions}
    assert set(back.markets) == set(h.book.markets)
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert not again["index"]["created"] and again["index"]["snapshot_id"] == sid


def _forget_devnet_snapshot(url: str, h) -> None:  # type: ignore[no-untyped-def]
    """Devnets are deterministic (same addresses, same block), so an earlier run against this shared
    PostgreSQL may have stored this very key; remove it so this run really writes."""
    from sqlalchemy import text

    from defi_perps.store.db import get_engine

    with get_engine(url).begin() as c:
        ids = [r[0] for r in c.execute(text(
            "SELECT id FROM snapshot WHERE chain_id = :c AND block_number = :b AND lower(data_store) = lower(:d)"),
            {"c": h.chain_id, "b": h.book.block_number, "d": h.data_store})]
        for sid in ids:
            for t in ("snapshot_position", "gmx_v2_open_interest", "snapshot_market", "snapshot_price",
                      "snapshot_token", "snapshot_summary", "gmx_v2_account", "gmx_v2_market", "gmx_v2_position",
                      "gmx_v2_globals"):
                c.execute(text(f"DELETE FROM {t} WHERE snapshot_id = :s"), {"s": sid})
            c.execute(text("DELETE FROM snapshot WHERE id = :s"), {"s": sid})


def test_progress_reports_positions_read(shared_devnet) -> None:  # type: ignore[no-untyped-def]
    h = shared_devnet
    seen: list[tuple[int, int]] = []
    index_gmx_v2(load_chain_file(h.chain_file), h.rpc_url, h.book.block_number, store=False, batch_size=400,
                 progress=lambda done, total: seen.append((done, total)))
    n = len(h.book.positions)
    assert seen[0] == (0, n) and seen[-1] == (n, n)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_record_of_a_stored_block_holds_every_request_its_replay_needs(shared_devnet, db: str,
                                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # `index --record DIR` of a block the database already holds must still send (and record) every read,
    # or a replay of DIR into another database fails on the first missing answer
    h = shared_devnet
    base = ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--block", str(h.book.block_number), "--json"]
    assert CliRunner().invoke(main, [*base, "--db", db]).exit_code == 0
    rec = tmp_path / "rec"
    r = CliRunner().invoke(main, [*base, "--db", db, "--record", str(rec)])
    assert r.exit_code == 0, r.output
    assert not json.loads(r.stdout)["index"]["created"]          # the store is unchanged
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r2 = CliRunner().invoke(main, [*base, "--db", other, "--replay", str(rec)])
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["index"]["positions"] == len(h.book.positions)
