"""``defi-perps snapshots list|show|export|diff``: what the store holds, a per-market risk summary,
a book file of a snapshot, and what changed between two snapshots.

Read-only: these commands never create a database (store/db.py) and never import web3 or the RPC
layer, so they answer in well under a second.
"""

from __future__ import annotations

from dataclasses import asdict

import click

from defi_perps.commands._common import db_option, emit_json, json_option


@click.group("snapshots", context_settings={"help_option_names": ["-h", "--help"]})
def snapshots() -> None:
    """List, summarize, export and compare stored snapshots."""


def _prices(r) -> str:  # type: ignore[no-untyped-def]
    if r.price_label:
        return f"{r.price_label} ({r.price_source.split(':')[-1][:8]})"
    return r.price_source


@snapshots.command("list")
@db_option
@json_option
def list_cmd(db_url: str | None, as_json: bool) -> None:
    """Every stored snapshot: id, chain, block (number and hash), prices, counts."""
    from defi_perps.store.db import NoDatabase
    from defi_perps.store.listing import list_snapshots

    try:
        rows = list_snapshots(db_url)
    except NoDatabase:
        rows = []
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo("no snapshots stored yet")
        return
    from rich.table import Table

    from defi_perps.indexer.summary import console

    t = Table()
    for col in ("id", "chain", "chain id", "protocol", "block", "block hash", "block time", "markets", "positions",
                "prices", "stored at"):
        t.add_column(col)
    import datetime as dt

    for r in rows:
        when = dt.datetime.fromtimestamp(r.block_timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        t.add_row(str(r.id), r.chain_name or "-", str(r.chain_id), r.protocol, str(r.block_number),
                  r.block_hash[:12] + "…", when, str(r.market_count), str(r.position_count), _prices(r), r.created_at)
    console().print(t)


@snapshots.command("show")
@click.argument("snapshot_id", metavar="ID|latest")
@db_option
@json_option
def show_cmd(snapshot_id: str, db_url: str | None, as_json: bool) -> None:
    """Per market: price, pool value, OI, pnl-to-pool vs the ADL threshold, positions, liquidation distance."""
    from defi_perps.store.summaries import cached_summary, store_summary

    from defi_perps.protocols import registry

    sid, summary = cached_summary(db_url, snapshot_id)
    if summary is None:   # computed once per snapshot (and per version of the code that computes it)
        from defi_perps.store.queries import load_snapshot

        snap = load_snapshot(db_url, sid)
        summary = registry.get(snap.meta.protocol).summarize(snap)
        store_summary(db_url, sid, summary)
    if as_json:
        emit_json(summary)
    else:
        registry.get(str(summary.get("protocol", "gmx_v2"))).render(summary)


@snapshots.command("export")
@click.argument("snapshot_id", metavar="ID|latest")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="Book file format (default: from the file's suffix, else csv).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write the book file (`simulate --book FILE` reads it).")
@db_option
@json_option
def export_cmd(snapshot_id: str, fmt: str | None, output: str, db_url: str | None, as_json: bool) -> None:
    """Write a snapshot's positions as a book file (CSV or Parquet) that `simulate --book` reads back.

    One row per open position: market, side, size (index tokens), entry price, collateral (USD net of
    pending borrowing fees, or index tokens), the market's mark price and the position's account; the
    market's maintenance rate (MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION) goes in mm_rate.
    """
    from pathlib import Path

    from defi_perps.book.files import write_book_file
    from defi_perps.book.snapshot import from_snapshot
    from defi_perps.store.queries import load_snapshot

    if fmt is None:
        fmt = "parquet" if Path(output).suffix.lower() in (".parquet", ".pq") else "csv"
    snap = load_snapshot(db_url, snapshot_id)
    book = from_snapshot(snap)   # any protocol: dispatched through its plug-in
    write_book_file(book, output, fmt, market_mm=True)
    info = {"snapshot_id": snap.meta.id, "file": output, "format": fmt, "positions": book.n_positions,
            "markets": book.n_markets, "chain_id": snap.meta.chain_id, "block_number": snap.meta.block_number,
            "block_hash": snap.meta.block_hash, "price_source": snap.meta.price_source}
    if as_json:
        emit_json(info)
    else:
        click.echo(f"wrote {book.n_positions} positions in {book.n_markets} markets of snapshot {snap.meta.id} "
                   f"(chain {snap.meta.chain_id}, block {snap.meta.block_number}) to {output} ({fmt})")


@snapshots.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--top", default=20, show_default=True, type=click.IntRange(0, 1_000_000),
              help="List this many of the positions that changed most (by |Δ size $|); counts cover all.")
@db_option
@json_option
def diff_cmd(a: str, b: str, top: int, db_url: str | None, as_json: bool) -> None:
    """From snapshot A to B of one deployment (any protocol): positions opened/closed/changed, per market
    price, OI and collateral per side, plus the protocol's own figures (GMX v2: pool value, pnl-to-pool)."""
    from defi_perps.indexer.diff import diff_snapshots, render_diff
    from defi_perps.store.queries import load_snapshot

    d = diff_snapshots(load_snapshot(db_url, a), load_snapshot(db_url, b), top=top)
    if as_json:
        emit_json(d)
    else:
        render_diff(d)
