"""``defi-perps snapshots list|show``: what the store holds, and a per-market risk summary."""

from __future__ import annotations

from dataclasses import asdict

import click

from defi_perps.commands._common import db_option, emit_json, json_option


@click.group("snapshots", context_settings={"help_option_names": ["-h", "--help"]})
def snapshots() -> None:
    """List and summarize stored snapshots."""


@snapshots.command("list")
@db_option
@json_option
def list_cmd(db_url: str | None, as_json: bool) -> None:
    """Every stored snapshot: id, chain, block, counts."""
    from defi_perps.store.queries import list_snapshots

    rows = list_snapshots(db_url)
    if as_json:
        emit_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo("no snapshots stored yet")
        return
    from rich.table import Table

    from defi_perps.indexer.summary import console

    t = Table()
    for col in ("id", "chain", "chain id", "protocol", "block", "block time", "markets", "positions", "prices", "stored at"):
        t.add_column(col)
    import datetime as dt

    for r in rows:
        when = dt.datetime.fromtimestamp(r.block_timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        t.add_row(str(r.id), r.chain_name or "-", str(r.chain_id), r.protocol, str(r.block_number), when,
                  str(r.market_count), str(r.position_count), r.price_source, r.created_at)
    console().print(t)


@snapshots.command("show")
@click.argument("snapshot_id", metavar="ID|latest")
@db_option
@json_option
def show_cmd(snapshot_id: str, db_url: str | None, as_json: bool) -> None:
    """Per market: price, pool value, OI, pnl-to-pool vs the ADL threshold, positions, liquidation distance."""
    from defi_perps.indexer.summary import render, summarize
    from defi_perps.store.queries import load_snapshot

    summary = summarize(load_snapshot(db_url, snapshot_id))
    if as_json:
        emit_json(summary)
    else:
        render(summary)
