"""Historical indexing on a devnet whose state changes between blocks (issue 13 §1)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.config import load_chain_file
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.indexer.history import Every, index_history, plan_blocks
from defi_perps.store import load_snapshot
from defi_perps.store.listing import list_snapshots

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.meta.block_number == b.meta.block_number and a.meta.block_hash == b.meta.block_hash
    assert {p.key: p for p in a.positions} == {p.key: p for p in b.positions}
    assert a.markets == b.markets and a.prices == b.prices and a.tokens == b.tokens
    assert a.accounts == b.accounts and a.globals == b.globals


def test_every_block_equals_a_direct_read(history_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h, first, last = history_devnet
    chain = load_chain_file(h.chain_file)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    rep = index_history(chain, h.rpc_url, first, last, Every(blocks=1), db, workers=2)
    assert not rep.failed and [s["block"] for s in rep.stored] == list(range(first, last + 1))
    states = set()
    for s in rep.stored:
        stored = load_snapshot(db, s["snapshot_id"])
        _, direct = index_gmx_v2(chain, h.rpc_url, s["block"], store=False)
        _same(stored, direct)
        states.add((tuple(sorted((p.key, p.size_in_usd) for p in stored.positions)),
                    tuple(sorted((p.token, p.price_min) for p in stored.prices))))
    assert len(states) >= 4          # the range really saw the state change
    # a rerun skips everything (the whole range is inside the reorg buffer: each hash re-checked)
    again = index_history(chain, h.rpc_url, first, last, Every(blocks=1), db)
    assert not again.stored and again.skipped == list(range(first, last + 1))
    assert again.rechecked == last - first + 1 and not again.reorged
    # with no buffer, nothing is re-read at all
    assert index_history(chain, h.rpc_url, first, last, Every(blocks=1), db, reorg_buffer=0).rechecked == 0
    assert len(list_snapshots(db)) == last - first + 1


def test_every_n_blocks_and_cli_json(history_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h, first, last = history_devnet
    db = f"sqlite:///{tmp_path / 'h.db'}"
    args = ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--from-block", str(first), "--to-block",
            str(last), "--every", "3", "--db", db, "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["history"]
    assert [s["block"] for s in out["snapshots"]] == list(range(first, last + 1, 3))
    assert out["written"] == out["planned"] and out["blocks_per_s"] > 0
    # the summary is cached per block: series reads it without recomputing
    from defi_perps.store.summaries import cached_summary

    assert all(cached_summary(db, s["snapshot_id"])[1] is not None for s in out["snapshots"])


def test_every_duration_by_binary_search(devnet_factory) -> None:  # type: ignore[no-untyped-def]
    h = devnet_factory(positions=10, accounts=5, seed=3)
    from defi_perps.devnet.anvil import rpc
    from defi_perps.rpc.client import RpcClient

    start = h.block_number()
    rpc(h.rpc_url, "anvil_mine", [hex(24), hex(600)])          # 24 blocks 10 minutes apart: 4 hours
    end = h.block_number()
    c = RpcClient(h.rpc_url)
    ts = {n: int(c.get_block(n)["timestamp"], 16) for n in range(start, end + 1)}
    got = plan_blocks(c, start, end, Every.parse("1h"))
    c.close()
    # reference: for each hour after the first block's time, the first block at or after it
    want = [start]
    t = ts[start] + 3600
    while t <= ts[end]:
        b = min(n for n in ts if ts[n] >= t)
        if b != want[-1]:
            want.append(b)
        t += 3600
    assert got == want and len(got) == 5


def test_kill_mid_range_then_resume(devnet_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = devnet_factory(positions=200, accounts=60, seed=5)
    first = h.block_number()
    h.mine(99)                      # a 100-block history (issue 13: done when)
    last = h.block_number()
    dbfile = tmp_path / "k.db"
    args = [sys.executable, "cli.py", "index", "gmx-v2", "--chain-file", str(h.chain_file), "--from-block",
            str(first), "--to-block", str(last), "--workers", "1", "--db", f"sqlite:///{dbfile}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stored() -> int:
        try:
            with sqlite3.connect(dbfile, timeout=5) as c:
                return int(c.execute("SELECT count(*) FROM snapshot").fetchone()[0])
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 120
    while stored() < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the range finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_killed = stored()
    assert 5 <= n_killed < last - first + 1
    r = subprocess.run(args + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["history"]
    assert out["written"] == last - first + 1 - n_killed and out["skipped"] == n_killed
    with sqlite3.connect(dbfile) as c:
        blocks = [b for (b,) in c.execute("SELECT block_number FROM snapshot ORDER BY block_number")]
        # every stored snapshot is whole: its positions are all there
        counts = dict(c.execute("SELECT snapshot_id, count(*) FROM snapshot_position GROUP BY snapshot_id").fetchall())
        declared = dict(c.execute("SELECT id, position_count FROM snapshot").fetchall())
    assert blocks == list(range(first, last + 1))          # no gap, no duplicate
    assert counts == declared


def test_bad_ranges_are_one_line_errors(history_devnet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h, first, last = history_devnet
    db = f"sqlite:///{tmp_path / 'e.db'}"
    base = ["index", "gmx-v2", "--chain-file", str(h.chain_file), "--db", db]
    for extra, needle in ((["--from-block", str(last), "--to-block", str(first)], "after"),
                          (["--from-block", str(first), "--to-block", str(last + 10**6)], "beyond the chain head"),
                          (["--from-block", str(first), "--to-block", str(last), "--every", "0"], "--every"),
                          (["--from-block", str(first), "--to-block", str(last), "--every", "1y"], "--every"),
                          (["--from-block", str(first)], "both"),
                          (["--block", "3", "--from-block", "1", "--to-block", "2"], "exclusive")):
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code != 0 and needle in r.output, (extra, r.output)
        assert "Traceback" not in r.output
    assert not Path(tmp_path / "e.db").exists() or list_snapshots(db) == []


def test_reorg_inside_the_buffer_is_indexed_again(devnet_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A reorg (anvil evm_revert, then other blocks at the same numbers) inside the reorg buffer is
    found by hash and indexed as new snapshots; outside the buffer (reorg_buffer=0) it is trusted."""
    from defi_perps.devnet.anvil import rpc

    h = devnet_factory(positions=20, accounts=8, seed=9)
    chain = load_chain_file(h.chain_file)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    snap_id = rpc(h.rpc_url, "evm_snapshot", [])
    first = h.block_number() + 1
    h.set_price("WETH", "2500")
    h.mine(2)
    last = h.block_number()
    a = index_history(chain, h.rpc_url, first, last, Every(blocks=1), db)
    assert len(a.stored) == last - first + 1
    rpc(h.rpc_url, "evm_revert", [snap_id])
    h.set_price("WETH", "1700")          # other blocks at the same numbers
    h.mine(2)
    assert h.block_number() == last
    trusted = index_history(chain, h.rpc_url, first, last, Every(blocks=1), db, reorg_buffer=0)
    assert not trusted.stored and not trusted.reorged
    b = index_history(chain, h.rpc_url, first, last, Every(blocks=1), db)
    assert [r["block"] for r in b.reorged] == list(range(first, last + 1))
    assert [s["block"] for s in b.stored] == list(range(first, last + 1))
    new = load_snapshot(db, b.stored[0]["snapshot_id"])
    old = load_snapshot(db, a.stored[0]["snapshot_id"])
    assert new.meta.block_hash != old.meta.block_hash and new.prices != old.prices   # both kept, never mixed
