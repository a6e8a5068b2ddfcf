"""The store: exact u256/i256 round trips, one-transaction snapshots, idempotent re-index, bad URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from defi_perps.exceptions import SnapshotNotFound, StoreError
from defi_perps.store import list_snapshots, load_snapshot, save_snapshot
from defi_perps.store.db import get_engine

from store_factory import make_snapshot

ROOT = Path(__file__).resolve().parents[2]


def _count(db_url: str, block: int) -> tuple[int, int]:
    with get_engine(db_url).connect() as c:
        snaps = c.execute(text("SELECT count(*) FROM snapshot WHERE block_number = :b"), {"b": block}).scalar_one()
        pos = c.execute(text("SELECT count(*) FROM snapshot_position WHERE block_number = :b"), {"b": block}).scalar_one()
    return int(snaps), int(pos)


def test_round_trip_is_exact(db_url: str, block: int) -> None:
    snap = make_snapshot(block)
    res = save_snapshot(db_url, snap, "devnet")
    assert res.created
    back = load_snapshot(db_url, res.snapshot_id)
    assert back.meta.id == res.snapshot_id
    assert back.positions == snap.positions          # every int, incl. 2**256-1 and -2**255
    assert back.markets == snap.markets
    assert back.prices == snap.prices and back.tokens == snap.tokens and back.globals == snap.globals
    assert back.markets[0].open_interest[0].open_interest_usd == 2**256 - 1
    assert back.positions[0].pending_impact_amount == -(2**255)
    assert any(i.id == res.snapshot_id and i.block_number == block for i in list_snapshots(db_url))


def test_every_row_has_chain_and_block(db_url: str, block: int) -> None:
    save_snapshot(db_url, make_snapshot(block, chain_id=424242))
    with get_engine(db_url).connect() as c:
        for table in ("snapshot_token", "snapshot_price", "snapshot_market", "snapshot_position",
                      "gmx_v2_market", "gmx_v2_open_interest", "gmx_v2_position", "gmx_v2_globals"):
            rows = c.execute(text(f"SELECT chain_id, block_number FROM {table} WHERE block_number = :b"),
                             {"b": block}).all()
            assert rows and all(r == (424242, block) for r in rows), table


def test_reindex_same_block_is_noop(db_url: str, block: int) -> None:
    first = save_snapshot(db_url, make_snapshot(block, 3))
    again = save_snapshot(db_url, make_snapshot(block, 5))  # different content, same key
    assert not again.created and again.snapshot_id == first.snapshot_id
    assert _count(db_url, block) == (1, 3)


def test_failure_inside_transaction_leaves_nothing(db_url: str, block: int) -> None:
    def boom(_session: object) -> None:
        raise RuntimeError("injected failure after all rows were inserted")

    with pytest.raises(RuntimeError):
        save_snapshot(db_url, make_snapshot(block, 50), _before_commit=boom)
    assert _count(db_url, block) == (0, 0)
    assert save_snapshot(db_url, make_snapshot(block, 2)).created  # and the block can still be stored


def test_sigkill_mid_write_leaves_nothing(db_url: str, block: int, tmp_path: Path) -> None:
    marker = tmp_path / "inside-transaction"
    script = textwrap.dedent(f"""
        import time, pathlib, sys
        sys.path.insert(0, {str(ROOT / 'tests' / 'store')!r})
        from store_factory import make_snapshot
        from defi_perps.store import save_snapshot
        def hang(session):
            pathlib.Path({str(marker)!r}).write_text("x")
            time.sleep(120)
        save_snapshot({db_url!r}, make_snapshot({block}, 2000), _before_commit=hang)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "writer exited before reaching the transaction"
            assert time.time() < deadline, "writer never reached the transaction"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    get_engine.cache_clear()  # a fresh connection, as the next CLI run would open
    assert _count(db_url, block) == (0, 0)
    assert save_snapshot(db_url, make_snapshot(block, 2)).created


def test_latest_and_missing_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(SnapshotNotFound, match="no snapshots stored"):
        load_snapshot(url, "latest")
    save_snapshot(url, make_snapshot(10))
    b = save_snapshot(url, make_snapshot(11))
    assert load_snapshot(url, "latest").meta.id == b.snapshot_id
    with pytest.raises(SnapshotNotFound):
        load_snapshot(url, 999)
    with pytest.raises(SnapshotNotFound):
        load_snapshot(url, "abc")


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "postgresql+psycopg://nobody@127.0.0.1:1/x"])
def test_bad_db_url_is_store_error(url: str) -> None:
    with pytest.raises(StoreError) as e:
        list_snapshots(url)
    assert "\n" not in str(e.value)


def test_bad_db_url_cli_one_line() -> None:
    r = subprocess.run([sys.executable, "cli.py", "snapshots", "list", "--db", "nonsense://"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error:")
