"""``defi-perps series``: one market's risk metrics over stored snapshots (table, CSV/Parquet, PNG, JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from defi_perps.commands._common import db_option, emit_json, json_option
from defi_perps.exceptions import InputError


@click.command("series", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--market", required=True, metavar="M",
              help="Market id (GMX v2: market token address; Hyperliquid: perp index), full name or unique index "
                   "symbol (ETH).")
@click.option("--protocol", default=None, metavar="NAME", help="Only snapshots of this protocol (gmx-v2, hyperliquid, …).")
@click.option("--metrics", default=None, metavar="LIST",
              help="Comma list. Every protocol: price, oi_long, oi_short, collateral_long, collateral_short, "
                   "positions_long, positions_short (default: price,oi_*,positions_*). GMX v2 also (its default "
                   "oi_long,oi_short,pnl_to_pool_long,pnl_to_pool_short,pool_value,liq_10pct): pool_value, "
                   "pnl_to_pool_*, adl_threshold_*, liquidatable_now_*, liq_{1,10,50}pct[_long|_short]. "
                   "x = x_long,x_short.")
@click.option("--from", "from_", default=None, metavar="BLOCK|DATE", help="First block number or ISO date (UTC).")
@click.option("--to", "to", default=None, metavar="BLOCK|DATE", help="Last block number or ISO date (UTC).")
@click.option("--chain-id", type=click.IntRange(1, 2**63 - 1), default=None, help="Only snapshots of this chain.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write the series as CSV (exact decimal strings).")
@click.option("--parquet", "parquet_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Write the series as Parquet (float64 columns, UTC time).")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Plot the series (one panel per unit).")
@db_option
@json_option
def series(market: str, protocol: str | None, metrics: str | None, from_: str | None, to: str | None, chain_id: int | None,
           csv_path: Path | None, parquet_path: Path | None, png_path: Path | None, db_url: str | None,
           as_json: bool) -> None:
    """One market's price, open interest, positions (and the protocol's own figures: GMX v2 pnl-to-pool, pool
    value, liquidation distance) over stored snapshots of any protocol."""
    from defi_perps.indexer.series import series as compute

    if csv_path and parquet_path:
        raise InputError("--csv and --parquet are exclusive: one table file per run")
    for p in (csv_path, parquet_path, png_path):
        if p is not None and not p.parent.exists():
            raise InputError(f"folder {p.parent} does not exist")
    if protocol is not None:
        from defi_perps.protocols import registry

        registry.get(protocol)           # an unknown protocol: one line, before the store is read
    s = compute(db_url, market, metrics, from_, to, chain_id, protocol)
    if csv_path is not None:
        import csv

        with csv_path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["snapshot_id", "block_number", "block_timestamp", "block_hash", "time",
                                              *s.metrics])
            w.writeheader()
            w.writerows(s.rows)
    if parquet_path is not None:
        s.to_pandas().to_parquet(parquet_path, index=False)
    if png_path is not None:
        from defi_perps.report.series import png

        png(s, png_path)
    if as_json:
        emit_json({"series": s.to_dict(), "files": {k: str(v) for k, v in (("csv", csv_path), ("parquet", parquet_path),
                                                                             ("png", png_path)) if v is not None}})
        return
    from defi_perps.report.series import table

    table(s)
    for what, p in (("CSV", csv_path), ("Parquet", parquet_path), ("PNG", png_path)):
        if p is not None:
            click.echo(f"wrote {what} {p}")
