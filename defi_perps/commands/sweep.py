"""``defi-perps sweep``: a scenario × parameter grid on Dask, each cell stored, reruns compute only what is missing."""

from __future__ import annotations

import click

from defi_perps.commands._common import (
    db_option,
    emit_json,
    json_option,
    markets_option,
    paths_option,
    progress_bar,
    seed_option,
    snapshot_option,
    synthetic_option,
)
from defi_perps.exceptions import InputError


@click.command("sweep", context_settings={"help_option_names": ["-h", "--help"]})
@snapshot_option("snapshot_id")
@synthetic_option("synthetic_n")
@markets_option("n_markets")
@click.option("--scenarios", required=True, metavar="LIST",
              help="Comma list of built-in scenarios or TOML files (oct-10-2025, jelly-2025, …).")
@click.option("--grid", "grid", multiple=True, metavar="NAME=V1,V2",
              help="A grid axis (repeatable): depth_stress, volatility, venue, adl_policy.")
@paths_option()
@seed_option()
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler, e.g. tcp://HOST:8786 (default: a LocalCluster).")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="LocalCluster worker processes (1 numba thread each).")
@db_option
@json_option
def sweep(snapshot_id: int | str | None, synthetic_n: int | None, n_markets: int, scenarios: str, grid: tuple[str, ...],
          n_paths: int, seed: int, scheduler: str | None, workers: int, db_url: str | None, as_json: bool) -> None:
    """Run every scenario × grid cell through the engine on Dask; results stored per cell."""
    from defi_perps.runs.sweep import BookRef, parse_grid, run_sweep

    if (snapshot_id is None) == (synthetic_n is None):
        raise InputError("give exactly one of --snapshot ID, --synthetic N")
    if scheduler is not None and not scheduler.strip().startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise InputError(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:8786")
    g = parse_grid(list(grid))
    if snapshot_id is not None:
        from defi_perps.store.queries import load_snapshot

        snap = load_snapshot(db_url, snapshot_id)
        m = snap.meta
        ref = BookRef(snapshot_id=m.id, db_url=db_url, provenance=(("chain_id", m.chain_id),
                                                                   ("block_number", m.block_number),
                                                                   ("block_hash", m.block_hash)))
    else:
        ref = BookRef(synthetic=synthetic_n, markets=n_markets, book_seed=seed)
    names = [s.strip() for s in scenarios.split(",") if s.strip()]
    with progress_bar("sweep cells", None) as bar:
        rep = run_sweep(ref, names, g, n_paths, seed, db_url, scheduler, workers,
                        progress=lambda d, t: bar.update(completed=d, total=t))
    if as_json:
        emit_json({"sweep": rep.to_dict()})
        return
    from rich.table import Table

    from defi_perps.indexer.summary import console

    axes = sorted({k for c in rep.cells for k in c["cell"]})
    t = Table(title=f"sweep on {rep.book}: {len(rep.cells)} cells, {rep.computed} computed, {rep.reused} stored "
                    f"({rep.scheduler or 'nothing to compute'})")
    for col in (*axes, "liquidated $ (mean)", "bad debt $ (mean)", "status"):
        t.add_column(col, justify="right")
    for c in rep.cells:
        sm = c["summary"]    # per-path means (engine/results.py summary)
        t.add_row(*(str(c["cell"].get(a, "")) for a in axes), _money(sm.get("liquidated_notional_usd")),
                  _money(sm.get("bad_debt_usd")), c["status"])
    console().print(t)
    click.echo(f"{rep.elapsed_s:.1f}s; {rep.computed} cells computed")


def _money(v: object) -> str:
    try:
        return f"{float(v):,.0f}"   # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
