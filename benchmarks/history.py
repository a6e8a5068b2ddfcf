"""Benchmark (issue 13 §6): historical indexing, sweeps on Dask, PostgreSQL writes and series queries;
print ONE JSON line.

    python benchmarks/history.py [--positions N] [--blocks B] [--pg URL] [--sweep-cells C] [--paths P]

- ``history``: a devnet of N positions whose state changes every few blocks; index B consecutive
  blocks with the real history indexer (workers 1 and 2): blocks per second, wall and CPU seconds.
- ``sweep``: C grid cells of a synthetic book on a LocalCluster of 1 and of 2 workers (1 numba
  thread each; the numba cache is warmed first): cells per second and the scaling efficiency
  (speed-up on 2 workers / 2).
- ``postgres`` (with --pg or $DEFI_PERPS_TEST_PG): writing one 20,000-position snapshot (COPY path),
  and ``series`` over all snapshots of the history run (read from the summary cache).
Figures from a shared machine are indicative; quote the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "store"))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_history(n_positions: int, n_blocks: int, db_url: str | None) -> dict:
    from defi_perps.config import load_chain_file
    from defi_perps.devnet import start_devnet
    from defi_perps.indexer.history import Every, index_history

    h = start_devnet(positions=n_positions, seed=21)
    try:
        first = h.block_number()
        keys = sorted(h.positions)
        for i in range(n_blocks - 1):
            if i % 5 == 0:
                h.set_price("WETH", str(2000 + 10 * i))
            elif i % 5 == 2:
                p = h.positions[keys[i]]
                h.update_position(keys[i], size_in_usd=p.size_in_usd * 2)
            else:
                h.mine(1)
        last = h.block_number()
        chain = load_chain_file(h.chain_file)
        out: dict = {"positions": n_positions, "blocks": last - first + 1}
        for workers in (1, 2):
            url = db_url or f"sqlite:///{tempfile.mkdtemp()}/h.db"   # a fresh store per run: every block written
            c0, t0 = _cpu(), time.perf_counter()
            rep = index_history(chain, h.rpc_url, first, last, Every(blocks=1), url, workers=workers)
            wall = time.perf_counter() - t0
            assert not rep.failed and len(rep.stored) == last - first + 1
            out[f"workers_{workers}"] = {"wall_s": round(wall, 2), "cpu_s": round(_cpu() - c0, 2),
                                         "blocks_per_s": round(len(rep.stored) / wall, 2)}
        out["db_for_series"] = url
        return out
    finally:
        h.stop()


def bench_sweep(cells: int, paths: int) -> dict:
    from defi_perps.runs.sweep import BookRef, parse_grid, run_sweep

    ref = BookRef(synthetic=2000, markets=4, book_seed=0)
    values = ",".join(f"{0.01 + 0.01 * i:.2f}" for i in range(cells))
    grid = parse_grid([f"depth_stress={values}"])
    run_sweep(ref, ["oct-10-2025"], parse_grid(["depth_stress=0.5"]), paths, 0,
              f"sqlite:///{tempfile.mkdtemp()}/w.db", workers=1)     # warm numba's on-disk cache
    out: dict = {"cells": cells, "paths": paths, "book_positions": 2000}
    for w in (1, 2):
        t0 = time.perf_counter()
        rep = run_sweep(ref, ["oct-10-2025"], grid, paths, 0, f"sqlite:///{tempfile.mkdtemp()}/s{w}.db", workers=w)
        wall = time.perf_counter() - t0
        assert rep.computed == cells
        out[f"workers_{w}"] = {"wall_s": round(wall, 2), "cells_per_s": round(cells / wall, 3)}
    out["scaling_efficiency_2"] = round(out["workers_1"]["wall_s"] / out["workers_2"]["wall_s"] / 2, 3)
    return out


def bench_pg(pg: str, series_db: str) -> dict:
    from store_factory import make_snapshot

    from defi_perps.indexer.series import series
    from defi_perps.store.writer import save_snapshot

    snap = make_snapshot(random.randrange(10**12, 10**13), n_positions=20_000)
    t0 = time.perf_counter()
    save_snapshot(pg, snap)
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = series(series_db, "WETH/USD [WETH-USDC]", None)
    q = time.perf_counter() - t0
    return {"write_20000_positions_s": round(write, 3), "series_query_s": round(q, 4), "series_rows": len(s.rows),
            "series_db": "sqlite (the history run's)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=100)
    ap.add_argument("--sweep-cells", type=int, default=8)
    ap.add_argument("--paths", type=int, default=200)
    ap.add_argument("--pg", default=os.environ.get("DEFI_PERPS_TEST_PG"))
    a = ap.parse_args()
    out: dict = {"benchmark": "history", "machine_note": "shared CPUs: indicative; compare ratios within one run",
                 "cpus": os.cpu_count()}
    out["history"] = hist = bench_history(a.positions, a.blocks, None)
    out["sweep"] = bench_sweep(a.sweep_cells, a.paths)
    if a.pg:
        out["postgres"] = bench_pg(a.pg, hist.pop("db_for_series"))
    else:
        hist.pop("db_for_series")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
