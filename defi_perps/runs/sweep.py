"""Scenario × parameter sweeps: every grid cell runs the one engine through ``run_simulate``; Dask
(``dask.distributed``) only schedules the cells (a LocalCluster by default, a scheduler by address).
The engine never imports Dask, and this module imports it only inside :func:`run_sweep`.

A cell's key is the digest of everything that determines its numbers: the book reference (snapshot
id with chain, block and hash, or the synthetic book's size, markets and seed), the scenario, the grid
values, paths, seed, numba threads (1 per cell: cells are the parallel unit) and the code digest. A
rerun computes only the keys not yet stored; each cell is stored in its own transaction as it lands.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from defi_perps.exceptions import InputError

# grid parameter -> parser of one value
GRID_KEYS: dict[str, Callable[[str], Any]] = {
    "depth_stress": float, "volatility": float, "venue": str, "adl_policy": str,
}


def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, list[Any]]:
    """``--grid depth_stress=0.01,0.05`` (repeatable) → {"depth_stress": [0.01, 0.05]}."""
    import math

    out: dict[str, list[Any]] = {}
    for it in items:
        if "=" not in it:
            raise InputError(f"--grid {it!r}: expected NAME=V1,V2,… (names: {', '.join(GRID_KEYS)})")
        name, _, vals = it.partition("=")
        name = name.strip().replace("-", "_")
        if name not in GRID_KEYS:
            raise InputError(f"--grid {name!r}: unknown parameter; known: {', '.join(GRID_KEYS)}")
        if name in out:
            raise InputError(f"--grid {name!r} given twice")
        parsed = []
        for v in (x.strip() for x in vals.split(",")):
            if not v:
                continue
            try:
                x = GRID_KEYS[name](v)
            except ValueError:
                raise InputError(f"--grid {name}: {v!r} is not a number") from None
            if isinstance(x, float) and (not math.isfinite(x) or x <= 0 and name == "depth_stress" or x < 0):
                raise InputError(f"--grid {name}: {v!r} is out of range (finite, > 0 for depth_stress, >= 0 else)")
            if x not in parsed:
                parsed.append(x)
        if not parsed:
            raise InputError(f"--grid {name}: no values")
        out[name] = parsed
    return out


@dataclass(frozen=True)
class BookRef:
    """Which book every cell runs: a stored snapshot or a seeded synthetic book (rebuilt in each worker)."""

    snapshot_id: int | None = None
    synthetic: int | None = None
    markets: int = 4
    book_seed: int = 0
    db_url: str | None = None
    provenance: tuple[tuple[str, Any], ...] = ()      # chain id, block number and hash of a snapshot

    def source(self) -> str:
        if self.snapshot_id is not None:
            return f"snapshot {self.snapshot_id}"
        return f"synthetic {self.synthetic} ({self.markets} markets, seed {self.book_seed})"

    def identity(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source()}
        d.update(dict(self.provenance))
        return d


@lru_cache(maxsize=4)
def _book(ref: BookRef) -> Any:
    # one load per worker process and book (cells on one worker share it)
    from defi_perps.book import load_snapshot_book, synthetic_book

    if ref.snapshot_id is not None:
        return load_snapshot_book(ref.db_url, ref.snapshot_id)
    assert ref.synthetic is not None
    return synthetic_book(ref.synthetic, n_markets=ref.markets, seed=ref.book_seed)


def run_cell(ref: BookRef, cell: dict[str, Any], n_paths: int, seed: int) -> dict[str, Any]:
    """One cell through runs/simulate.py (the engine), on 1 numba thread: the summary and its digest."""
    from defi_perps.runs.record import canonical, digest
    from defi_perps.runs.simulate import run_simulate
    from defi_perps.scenarios.setup import make_setup

    t0 = time.perf_counter()
    book = _book(ref)
    setup = make_setup(book, scenario=cell["scenario"], depth_stress=cell.get("depth_stress"),
                       volatility=cell.get("volatility"))
    run = run_simulate(book, setup, cell.get("venue"), n_paths=n_paths, seed=seed,
                       adl_policy=cell.get("adl_policy", "venue"), threads=1)
    summary = canonical(run.summary())
    return {"summary": summary, "result_digest": digest(canonical(run.to_dict(include_paths=True))),
            "elapsed_s": time.perf_counter() - t0}


def cells_of(scenarios: list[str], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(grid)
    out = []
    for sc in scenarios:
        for combo in itertools.product(*(grid[n] for n in names)):
            out.append({"scenario": sc, **dict(zip(names, combo))})
    return out


@dataclass
class SweepReport:
    book: str
    cells: list[dict[str, Any]] = field(default_factory=list)   # cell, key, computed|stored, summary digest
    computed: int = 0
    reused: int = 0
    scheduler: str = ""
    workers: int = 0
    elapsed_s: float = 0.0
    n_paths: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"book": self.book, "scheduler": self.scheduler, "workers": self.workers, "paths": self.n_paths,
                "seed": self.seed, "threads_per_cell": 1, "cells_total": len(self.cells),
                "computed": self.computed, "reused": self.reused, "elapsed_s": round(self.elapsed_s, 3),
                "cells_per_s": round(self.computed / self.elapsed_s, 3) if self.elapsed_s > 0 else 0.0,
                "engine": "defi_perps.runs.simulate.run_simulate (numba engine, 1 thread per cell)",
                "cells": self.cells}


def _key_of(ref: BookRef, cell: dict[str, Any], n_paths: int, seed: int, code: str) -> tuple[str, str]:
    from defi_perps.runs.record import digest

    sweep = digest({"book": ref.identity(), "paths": n_paths, "seed": seed, "threads": 1, "code": code})
    return digest({"sweep": sweep, "cell": cell}), sweep


def run_sweep(ref: BookRef, scenarios: list[str], grid: dict[str, list[Any]], n_paths: int, seed: int,
              db_url: str | None = None, scheduler: str | None = None, workers: int = 2,
              serial: bool = False, progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """Compute the missing cells (on Dask, or in this process when ``serial``) and store each one."""
    from defi_perps.runs.record import code_version
    from defi_perps.store.sweeps import store_cell, stored_cells

    t0 = time.perf_counter()
    if not scenarios:
        raise InputError("--scenarios names no scenario")
    cells = cells_of(scenarios, grid)
    # validate every cell's scenario and venue here, once, before any worker starts: a scenario whose
    # markets the book lacks is refused in one line here, not in every worker (each logging a traceback)
    book = _book(ref)
    from defi_perps.scenarios.setup import make_setup
    from defi_perps.venues.params import load_venue

    for sc in scenarios:
        make_setup(book, scenario=sc)
    for v in grid.get("venue", []):
        if v.strip().lower() != "generic":
            load_venue(v)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    _, code = code_version()
    keyed = [(c, *_key_of(ref, c, n_paths, seed, code)) for c in cells]
    have = stored_cells(db_url, [k for _, k, _ in keyed])
    rep = SweepReport(ref.source(), n_paths=n_paths, seed=seed)
    todo = [(c, k, s) for c, k, s in keyed if k not in have]
    done = len(keyed) - len(todo)
    results: dict[str, dict[str, Any]] = {k: {"summary": have[k]["summary"], "result_digest": have[k]["result_digest"],
                                              "status": "stored"} for _, k, _ in keyed if k in have}

    def land(c: dict[str, Any], k: str, s: str, res: dict[str, Any]) -> None:
        nonlocal done
        prov = dict(ref.provenance)
        store_cell(db_url, {"cell_key": k, "sweep_key": s, "book_source": ref.source(),
                            "snapshot_id": ref.snapshot_id, "chain_id": prov.get("chain_id"),
                            "block_number": prov.get("block_number"), "block_hash": prov.get("block_hash"),
                            "scenario": c["scenario"], "venue": str(c.get("venue", "")), "params": c,
                            "n_paths": n_paths, "seed": seed, "threads": 1, "code_digest": code,
                            "result_digest": res["result_digest"], "summary": res["summary"],
                            "elapsed_s": res["elapsed_s"]})
        results[k] = {**res, "status": "computed"}
        done += 1
        if progress is not None:
            progress(done, len(keyed))

    if progress is not None:
        progress(done, len(keyed))
    if todo and serial:
        rep.scheduler = "serial (this process)"
        for c, k, s in todo:
            land(c, k, s, run_cell(ref, c, n_paths, seed))
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        try:
            if scheduler:
                client = Client(scheduler, timeout="10s")
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
        except OSError as err:
            raise InputError(f"cannot reach the Dask scheduler {scheduler or '(local cluster)'}: {err}") from None
        try:
            rep.scheduler = scheduler or f"LocalCluster ({workers} workers × 1 thread)"
            rep.workers = len(client.scheduler_info().get("workers", {}))
            futs = {client.submit(run_cell, ref, c, n_paths, seed, key=f"cell-{k[:16]}", pure=False): (c, k, s)
                    for c, k, s in todo}
            for f in as_completed(futs):
                c, k, s = futs[f]
                land(c, k, s, f.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    rep.computed, rep.reused = len(todo), len(keyed) - len(todo)
    for c, k, _ in keyed:
        r = results[k]
        rep.cells.append({"cell": c, "key": k[:16], "status": r["status"], "result_digest": r["result_digest"],
                          "summary": r["summary"]})
    rep.elapsed_s = time.perf_counter() - t0
    return rep
