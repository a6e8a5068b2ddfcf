"""Snapshot identity (issue 8 §3, §5, §8; issue 14 §3, §5): a reorg or another chain at the same block
number, or a --prices what-if at an indexed block, is a new snapshot, never a stale hit; export and
diff; read-only commands never create a database; two index runs at once on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from click.testing import CliRunner

from defi_perps.book.files import read_book_file
from defi_perps.book.snapshot import from_snapshot
from defi_perps.cli import main
from defi_perps.config import load_chain_file
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.store import list_snapshots, load_snapshot

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]


def _rpc(url: str, method: str, params: list) -> object:  # type: ignore[type-arg]
    return requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()["result"]


def test_reorg_at_the_same_number_is_a_new_snapshot(private_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = private_devnet
    chain = load_chain_file(h.chain_file)
    db = f"sqlite:///{tmp_path / 'reorg.db'}"
    snap_id = _rpc(h.rpc_url, "evm_snapshot", [])
    h.mine(1)
    n = h.block_number()
    first, _ = index_gmx_v2(chain, h.rpc_url, n, db)
    assert _rpc(h.rpc_url, "evm_revert", [snap_id])
    h.set_price("WETH", "2222.5")                 # another block n: same number, other hash and state
    while h.block_number() < n:
        h.mine(1)
    second, snap = index_gmx_v2(chain, h.rpc_url, n, db)
    assert second.created and second.snapshot_id != first.snapshot_id
    assert second.block_hash != first.block_hash and second.block_number == first.block_number == n
    (warn,) = [w for w in second.warnings if "hash" in w]
    assert first.block_hash[:12] in warn and second.block_hash[:12] in warn and "\n" not in warn
    stored = {s.id: s.block_hash for s in list_snapshots(db)}
    assert stored == {first.snapshot_id: first.block_hash, second.snapshot_id: second.block_hash}
    # every row of the new snapshot carries its block's hash, and its state is the new block's
    back = load_snapshot(db, second.snapshot_id)
    assert back.meta.block_hash == second.block_hash and back.prices == snap.prices
    assert load_snapshot(db, first.snapshot_id).prices != back.prices


def test_another_devnet_at_the_same_block_number_is_not_a_stale_hit(devnet_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'two.db'}"
    a = devnet_factory(positions=40, accounts=20, seed=1)
    b = devnet_factory(positions=40, accounts=20, seed=2)
    n = min(a.book.block_number, b.book.block_number)
    ra, sa = index_gmx_v2(load_chain_file(a.chain_file), a.rpc_url, n, db)
    rb, sb = index_gmx_v2(load_chain_file(b.chain_file), b.rpc_url, n, db)
    assert ra.created and rb.created and ra.snapshot_id != rb.snapshot_id
    assert {p.key for p in load_snapshot(db, rb.snapshot_id).positions} == {p.key for p in sb.positions}
    assert {p.key for p in sa.positions} != {p.key for p in sb.positions}


def test_prices_what_if_at_an_indexed_block_is_distinct_and_labelled(shared_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = shared_devnet
    chain = load_chain_file(h.chain_file)
    db = f"sqlite:///{tmp_path / 'whatif.db'}"
    usdc = h.addresses["tokens"]["USDC"]
    f = tmp_path / "depeg.json"
    f.write_text(json.dumps({usdc: {"min": "0.95", "max": "0.96"}}))
    base, _ = index_gmx_v2(chain, h.rpc_url, h.book.block_number, db)
    what_if, snap = index_gmx_v2(chain, h.rpc_url, h.book.block_number, db, prices_path=str(f))
    assert what_if.created and what_if.snapshot_id != base.snapshot_id
    assert what_if.price_source.startswith("file:sha256:") and what_if.price_label == "file depeg.json"
    again, _ = index_gmx_v2(chain, h.rpc_url, h.book.block_number, db, prices_path=str(f))
    assert not again.created and again.snapshot_id == what_if.snapshot_id
    copy = tmp_path / "copy.json"            # the same prices under another name: the same what-if
    copy.write_bytes(f.read_bytes())
    assert index_gmx_v2(chain, h.rpc_url, h.book.block_number, db, prices_path=str(copy))[0].snapshot_id == \
        what_if.snapshot_id
    f.write_text(json.dumps({usdc: {"min": "0.90", "max": "0.91"}}))   # edited: another what-if
    assert index_gmx_v2(chain, h.rpc_url, h.book.block_number, db, prices_path=str(f))[0].created
    listed = json.loads(CliRunner().invoke(main, ["snapshots", "list", "--db", db, "--json"]).stdout)
    assert [s["price_label"] for s in listed] == [None, "file depeg.json", "file depeg.json"]
    assert len({s["price_source"] for s in listed}) == 3


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_reads_back_as_the_same_book(shared_devnet, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    h = shared_devnet
    db = f"sqlite:///{tmp_path / 'exp.db'}"
    rep, _ = index_gmx_v2(load_chain_file(h.chain_file), h.rpc_url, h.book.block_number, db)
    out = tmp_path / f"book.{fmt}"
    r = CliRunner().invoke(main, ["snapshots", "export", str(rep.snapshot_id), "--format", fmt, "-o", str(out),
                                  "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["positions"] == len(h.book.positions)
    ref = from_snapshot(load_snapshot(db, rep.snapshot_id))
    back = read_book_file(out)
    names = [back.market_names[i] for i in back.market]
    assert names == [ref.market_names[i] for i in ref.market]
    for arr in ("side", "size", "entry_price", "collateral_usd", "collateral_tokens"):
        assert np.array_equal(getattr(back, arr), getattr(ref, arr)), arr      # bit for bit
    assert np.array_equal(back.price[back.market], ref.price[ref.market])
    assert [back.account_names[i] for i in back.account] == [ref.account_names[i] for i in ref.account]
    assert np.array_equal(back.position_mm_rate, ref.mm_rate[ref.market])   # the market's maintenance rate


def test_diff_counts_opened_closed_changed(private_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = private_devnet
    chain = load_chain_file(h.chain_file)
    db = f"sqlite:///{tmp_path / 'diff.db'}"
    a, sa = index_gmx_v2(chain, h.rpc_url, None, db)
    keys = sorted(p.key for p in sa.positions)
    gone, grown = keys[0], keys[1]
    h.remove_position(gone)
    before = next(p for p in sa.positions if p.key == grown)
    h.update_position(grown, size_in_usd=before.size_in_usd * 2)
    h.mine(1)
    b, _ = index_gmx_v2(chain, h.rpc_url, None, db)
    r = CliRunner().invoke(main, ["snapshots", "diff", str(a.snapshot_id), str(b.snapshot_id), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["positions"]["opened"] == 0 and d["positions"]["closed"] == 1 and d["positions"]["changed"] == 1
    by = {m["market"]: m for m in d["markets"]}
    gone_market = next(p.market for p in sa.positions if p.key == gone)
    assert by[gone_market]["positions"]["closed"] == 1
    human = CliRunner().invoke(main, ["snapshots", "diff", str(a.snapshot_id), str(b.snapshot_id), "--db", db])
    assert human.exit_code == 0 and "closed" in human.output


def test_read_only_commands_never_create_a_database(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    db = f"sqlite:///{path}"
    env = {**os.environ, "DEFI_PERPS_HOME": str(tmp_path / "home")}
    for args, ok in ((["snapshots", "list"], True), (["snapshots", "show", "latest"], False),
                     (["snapshots", "export", "1", "-o", str(tmp_path / "x.csv")], False),
                     (["snapshots", "diff", "1", "2"], False), (["db", "status"], False)):
        r = subprocess.run([sys.executable, "cli.py", *args, "--db", db], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
        assert (r.returncode == 0) == ok, (args, r.stderr)
        assert "Traceback" not in r.stderr
        if not ok:
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not path.exists(), args
        assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("args, needle", [
    (["snapshots", "show", "99999999999999999999999999"], "2**63-1"),
    (["snapshots", "show", "0"], "2**63-1"),
    (["snapshots", "list", "--db", "sqlite:////nonexistent-folder-xyz/a.db"], "does not exist"),
])
def test_bad_store_inputs_are_one_line_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    env = {**os.environ, "DEFI_PERPS_HOME": str(tmp_path)}
    db = [] if "--db" in args else ["--db", f"sqlite:///{tmp_path / 'x.db'}"]
    if db:    # a database with one snapshot, so the id is what is wrong
        sys.path.insert(0, str(ROOT / "tests" / "store"))
        from store_factory import make_snapshot

        from defi_perps.store import save_snapshot

        save_snapshot(db[1], make_snapshot(1))
    r = subprocess.run([sys.executable, "cli.py", *args, *db], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_unwritable_home_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "DEFI_PERPS_HOME": str(blocker / "home")}
    env.pop("DEFI_PERPS_DB", None)
    r = subprocess.run([sys.executable, "cli.py", "snapshots", "list"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "DEFI_PERPS_HOME" in lines[0], r.stderr


def _pg_fresh() -> tuple[str, object] | None:
    base = os.environ.get("DEFI_PERPS_TEST_PG")
    if not base:
        return None
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"idx_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base).set(database=name).render_as_string(hide_password=False), (admin, name)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_index_runs_at_once_on_a_fresh_database(shared_devnet, tmp_path: Path, backend: str) -> None:  # type: ignore[no-untyped-def]
    cleanup = None
    if backend == "sqlite":
        db = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        got = _pg_fresh()
        if got is None:
            pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
        db, cleanup = got
    h = shared_devnet
    env = {**os.environ, "DEFI_PERPS_HOME": str(tmp_path)}
    try:
        procs = [subprocess.Popen([sys.executable, "cli.py", "index", "gmx-v2", "--chain-file", str(h.chain_file),
                                   "--block", str(h.book.block_number), "--db", db, "--json"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_out, err) in zip(procs, outs):
            assert p.returncode == 0, err
        created = sorted(json.loads(o)["index"]["created"] for o, _ in outs)
        assert created == [False, True]
        assert len({json.loads(o)["index"]["snapshot_id"] for o, _ in outs}) == 1
    finally:
        if cleanup is not None:
            from sqlalchemy import text

            from defi_perps.store.db import get_engine

            get_engine.cache_clear()
            admin, name = cleanup  # type: ignore[misc]
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_show_reads_a_cached_summary_equal_to_the_computed_one(shared_devnet, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from defi_perps.indexer.summary import summarize
    from defi_perps.store import summaries
    from defi_perps.store.db import get_engine

    h = shared_devnet
    db = f"sqlite:///{tmp_path / 'cache.db'}"
    r = CliRunner().invoke(main, ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--block",
                                  str(h.book.block_number), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    sid = json.loads(r.stdout)["index"]["snapshot_id"]
    _, cached = summaries.cached_summary(db, sid)        # index stored it
    computed = json.loads(json.dumps(summarize(load_snapshot(db, sid))))
    assert cached == computed
    shown = json.loads(CliRunner().invoke(main, ["snapshots", "show", str(sid), "--db", db, "--json"]).stdout)
    assert shown == computed
    # another version of the code that computes it: a new key, computed again and cached beside it
    real_key = summaries.summary_key()
    monkeypatch.setattr(summaries, "summary_key", lambda: "other-code")
    assert summaries.cached_summary(db, sid)[1] is None
    again = json.loads(CliRunner().invoke(main, ["snapshots", "show", "latest", "--db", db, "--json"]).stdout)
    assert again == computed
    with get_engine(db).connect() as c:
        rows = c.execute(text("SELECT summary_key, chain_id, block_number, block_hash FROM snapshot_summary")).all()
    assert {k for k, *_ in rows} == {"other-code", real_key}
    assert all(r[1:] == (h.chain_id, h.book.block_number, shown["block_hash"]) for r in rows)
