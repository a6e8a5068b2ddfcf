"""Benchmark (issue 13 §4/§6): PostgreSQL at scale — 1,000 snapshots × 20,000 positions; print ONE JSON line.

    python benchmarks/store_scale.py [--pg ADMIN_URL] [--snapshots 1000] [--positions 20000] [--writes 3]

``ADMIN_URL`` (default ``$DEFI_PERPS_BENCH_PG``, else ``$DEFI_PERPS_TEST_PG``) is any database on the
server; the benchmark creates its own database ``defi_perps_bench_<pid>`` there, migrates it to HEAD
(the indexes of every migration), and DROPS it at the end whatever happens: nothing is left behind.

1. ``write_first_s``: one 20,000-position snapshot through the store's writer (``save_snapshot``,
   COPY path) into the empty database; its summary is computed once (``indexer/summary.py``) and
   cached, as ``defi-perps index`` does.
2. The other snapshots are cloned from it on the server (one ``INSERT … SELECT`` per table and
   batch, each clone with its own block number and hash, every child row with the clone's id,
   block and hash): 20M position rows in minutes, not hours of Python.
3. With the tables full: ``write_full_s`` (median of ``--writes`` new 20,000-position snapshots
   through ``save_snapshot``), ``snapshots_list_s`` (``store.listing.list_snapshots``, warm, and the
   CLI in a fresh process), ``series_s`` (``indexer.series.series`` over every snapshot, warm, and the
   CLI), ``load_one_snapshot_s`` (``store.queries.load_snapshot`` of one 20,000-position snapshot
   out of 20M rows), the query plans of the series and listing queries, and the table sizes.
Figures from a shared machine are indicative; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "store"))

NOT_SNAPSHOT_DATA = ("run", "sweep_cell")     # tables with a snapshot_id that are not part of a snapshot


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _cli(args: list[str]) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "defi_perps", *args], capture_output=True, text=True, env=env,
                       timeout=600, check=False)
    if r.returncode != 0:
        raise SystemExit(f"defi-perps {' '.join(args)} failed: {r.stderr.strip()[-300:]}")
    return time.perf_counter() - t0, len(r.stdout)


def _columns(conn, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    return [r[0] for r in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND table_schema = 'public' "
        "ORDER BY ordinal_position"), {"t": table})]


def _chain(node: dict | None) -> str:  # type: ignore[type-arg]
    """A query plan's first-child chain: "Sort → Bitmap Heap Scan → Bitmap Index Scan using ix_…"."""
    names = []
    while node is not None:
        names.append(node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else ""))
        node = (node.get("Plans") or [None])[0]
    return " → ".join(names)


def clone(url: str, template_id: int, n: int, batch: int, progress) -> float:  # type: ignore[no-untyped-def]
    """``n`` copies of snapshot ``template_id`` (blocks template+1 …), server-side; returns seconds."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    t0 = time.perf_counter()
    with eng.connect() as c:
        snap_cols = [x for x in _columns(c, "snapshot") if x != "id"]
        # every table that hangs off a snapshot (found in the schema, so a migration's new table is cloned too)
        tables = [r[0] for r in c.execute(text(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'snapshot_id' AND "
            "table_schema = 'public' ORDER BY table_name")) if r[0] not in NOT_SNAPSHOT_DATA]
        child = {t: [x for x in _columns(c, t) if x != "id"] for t in tables}
    done = 0
    while done < n:
        k = min(batch, n - done)
        with eng.begin() as c:
            sel = ", ".join("s.block_number + g" if col == "block_number" else
                            "'0x' || lpad(to_hex(s.block_number + g), 64, '0')" if col == "block_hash" else
                            f"s.{col}" for col in snap_cols)
            c.execute(text("CREATE TEMP TABLE clone_map (id bigint, block_number bigint, block_hash text) "
                           "ON COMMIT DROP"))
            c.execute(text(f"WITH new AS (INSERT INTO snapshot ({', '.join(snap_cols)}) SELECT {sel} FROM snapshot s, "
                           f"generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g WHERE s.id = :t RETURNING id, block_number, block_hash) "
                           "INSERT INTO clone_map SELECT * FROM new"),
                      {"a": done + 1, "b": done + k, "t": template_id})
            for table, cols in child.items():
                pick = ", ".join(f"m.{col}" if col in ("block_number", "block_hash") else
                                 "m.id" if col == "snapshot_id" else f"x.{col}" for col in cols)
                c.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {pick} FROM {table} x "
                               f"CROSS JOIN clone_map m WHERE x.snapshot_id = :t"), {"t": template_id})
        done += k
        progress(done)
    with eng.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()
    eng.dispose()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("DEFI_PERPS_BENCH_PG") or os.environ.get("DEFI_PERPS_TEST_PG"))
    ap.add_argument("--snapshots", type=int, default=1000)
    ap.add_argument("--positions", type=int, default=20_000)
    ap.add_argument("--writes", type=int, default=3)
    ap.add_argument("--batch", type=int, default=50, help="snapshots cloned per transaction")
    a = ap.parse_args()
    if not a.pg:
        raise SystemExit("give --pg postgresql+psycopg://USER@HOST:PORT/DB (or set $DEFI_PERPS_TEST_PG)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    import signal

    # a TERM (a timeout, a kill) still runs the `finally` below that drops the benchmark's database
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin_url = make_url(a.pg)
    name = f"defi_perps_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    out: dict = {"benchmark": "store_scale", "database": "postgresql", "snapshots": a.snapshots,
                 "positions_per_snapshot": a.positions, "cpus": os.cpu_count(),
                 "machine_note": "shared machine (7 engineers on 2 cores): indicative; compare within one run"}
    try:
        from store_factory import MKT, make_snapshot

        from defi_perps.indexer.series import series
        from defi_perps.indexer.summary import summarize
        from defi_perps.store.db import get_engine
        from defi_perps.store.listing import list_snapshots
        from defi_perps.store.migrate import HEAD
        from defi_perps.store.queries import load_snapshot
        from defi_perps.store.summaries import store_summary
        from defi_perps.store.writer import save_snapshot

        get_engine(url)                       # migrate to HEAD
        out["schema"] = HEAD
        base = 10**9
        template = make_snapshot(base, n_positions=a.positions)
        t0 = time.perf_counter()
        first = save_snapshot(url, template).snapshot_id
        out["write_first_s"] = round(time.perf_counter() - t0, 3)
        store_summary(url, first, summarize(load_snapshot(url, first)))
        last = [0]

        def progress(done: int) -> None:
            if done - last[0] >= 100 or done == a.snapshots - 1:
                print(f"cloned {done}/{a.snapshots - 1}", file=sys.stderr, flush=True)
                last[0] = done

        c0 = _cpu()
        out["clone_s"] = round(clone(url, first, a.snapshots - 1, a.batch, progress), 1)
        out["clone_client_cpu_s"] = round(_cpu() - c0, 2)
        eng = create_engine(url)
        with eng.connect() as c:
            n_pos = c.execute(text("SELECT count(*) FROM snapshot_position")).scalar()
            out["rows"] = {"snapshot": c.execute(text("SELECT count(*) FROM snapshot")).scalar(),
                           "snapshot_position": n_pos}
            out["table_bytes"] = {t: c.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar()
                                  for t in ("snapshot", "snapshot_position", "snapshot_summary")}
        # writes into the full tables (the store's COPY path)
        times = []
        for i in range(a.writes):
            snap = make_snapshot(base + 10**6 + i, n_positions=a.positions)
            t0 = time.perf_counter()
            r = save_snapshot(url, snap)
            times.append(time.perf_counter() - t0)
            store_summary(url, r.snapshot_id, summarize(load_snapshot(url, r.snapshot_id)))
        out["write_full_s"] = {"median": round(statistics.median(times), 3), "all": [round(x, 3) for x in times]}
        # the read paths, warm (in-process) and as the CLI in a fresh process
        list_snapshots(url)
        t0 = time.perf_counter()
        rows = list_snapshots(url)
        out["snapshots_list_s"] = {"warm": round(time.perf_counter() - t0, 4), "rows": len(rows)}
        s = series(url, MKT, None)
        t0 = time.perf_counter()
        s = series(url, MKT, None)
        out["series_s"] = {"warm": round(time.perf_counter() - t0, 4), "rows": len(s.rows), "metrics": len(s.metrics)}
        out["snapshots_list_s"]["cli_fresh_process"] = round(_cli(["snapshots", "list", "--db", url, "--json"])[0], 3)
        out["series_s"]["cli_fresh_process"] = round(_cli(["series", "--market", MKT, "--db", url, "--json"])[0], 3)
        t0 = time.perf_counter()
        load_snapshot(url, first + a.snapshots // 2)
        out["load_one_snapshot_s"] = round(time.perf_counter() - t0, 3)
        with eng.connect() as c:
            plans = {}
            for key, q in (("series_snapshots", "SELECT id, chain_id, data_store, block_number, block_timestamp, "
                            "block_hash FROM snapshot WHERE protocol = 'gmx_v2' AND price_source = 'chainlink' "
                            "AND block_number >= 1000000500 ORDER BY block_number, id"),
                           ("series_summaries", "SELECT snapshot_id, body FROM snapshot_summary WHERE summary_key = "
                            "'x' AND snapshot_id IN (5, 6, 7)"),
                           ("load_positions", f"SELECT * FROM snapshot_position WHERE snapshot_id = {first + 7}"),
                           ("snapshots_list", "SELECT id FROM snapshot ORDER BY id")):
                plans[key] = _chain(c.execute(text(f"EXPLAIN (FORMAT JSON) {q}")).scalar()[0]["Plan"])
            # the planner's choice on a 1,000-row table is a sequential scan; the index serves the
            # same query once the table is large enough (shown with sequential scans disabled)
            c.execute(text("SET enable_seqscan = off"))
            plan = c.execute(text("EXPLAIN (FORMAT JSON) SELECT id FROM snapshot WHERE protocol = 'gmx_v2' AND "
                                  "price_source = 'chainlink' AND block_number >= 1000000500 ORDER BY block_number, "
                                  "id")).scalar()
            plans["series_snapshots_seqscan_off"] = _chain(plan[0]["Plan"])
            c.execute(text("RESET enable_seqscan"))
            out["plans"] = plans
        eng.dispose()
    finally:
        from defi_perps.store.db import get_engine as _ge

        _ge.cache_clear()
        import gc

        gc.collect()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        out["dropped"] = name
    print(json.dumps(out))


if __name__ == "__main__":
    main()
