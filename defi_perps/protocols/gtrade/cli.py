"""``defi-perps index gtrade``: the command body (the shared ``index`` command dispatches here)."""

from __future__ import annotations

from typing import Any

import click

from defi_perps.protocols.gtrade.summary import summarize


def render(summary: dict[str, Any]) -> None:
    """Terminal table of a gTrade snapshot summary (one line per pair, one per vault)."""
    click.echo(f"gTrade Diamond {summary['diamond']} (contracts version {summary['contracts_version']}), "
               f"block {summary['block_number']}: {summary['trades']} open trades, "
               f"{summary['pending_orders']} pending limit/stop orders")
    click.echo(f"{'pair':<10} {'price':>14} {'trades':>7} {'OI long $':>14} {'OI short $':>14} {'liq now':>8} "
               f"{'liq dist p10':>13} {'p50':>8}")
    for p in summary["pairs"]:
        d10 = "-" if p["liq_distance_p10"] is None else f"{100 * p['liq_distance_p10']:.2f}%"
        d50 = "-" if p["liq_distance_p50"] is None else f"{100 * p['liq_distance_p50']:.2f}%"
        click.echo(f"{p['pair']:<10} {p['price']:>14,.6g} {p['trades']:>7} {p['oi_long_usd']:>14,.0f} "
                   f"{p['oi_short_usd']:>14,.0f} {p['liquidatable_now']:>8} {d10:>13} {d50:>8}")
    for v in summary["vaults"]:
        click.echo(f"vault g{v['collateral']}: {v['total_assets']:,.2f} {v['collateral']} "
                   f"(${v['total_assets_usd']:,.0f}), share price {v['share_to_assets_price']:.6f}, "
                   f"collateralization {v['collateralization_p']:.2f}%, withdraw lock "
                   f"{v['withdraw_epochs_timelock']} epochs")
    if not summary["oi_matches_trades"]:
        click.echo("warning: the Diamond's pair open interest differs from the sum of the open trades", err=True)


def index_command(chain: Any, rpc_url: str | None, block: int | None, db_url: str | None, prices_path: str | None,
                  batch_size: int, parallel: int, retry: Any, as_json: bool) -> None:
    from defi_perps.commands._common import emit_json, progress_bar
    from defi_perps.protocols.gtrade.index import index_gtrade

    with progress_bar("trades", None) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(completed=done, total=total)

        report, snap = index_gtrade(chain, rpc_url, block, db_url, batch_size, retry, progress, parallel=parallel,
                                    prices_path=prices_path)
    if snap is None:
        from defi_perps.protocols.gtrade.store import load

        snap = load(db_url, report.snapshot_id)
    summary = summarize(snap)
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        emit_json({"index": report.to_dict(), "snapshot": summary})
        return
    render(summary)
    at = f"block {report.block_number} ({report.block_hash[:10]}…)"
    if report.created:
        click.echo(f"stored snapshot {report.snapshot_id}: {report.chain} {at}, {report.pairs} pairs, "
                   f"{report.trades} trades; RPC round trips {report.round_trips}, {report.elapsed_s:.2f}s")
    else:
        click.echo(f"{at} on {report.chain} is already stored as snapshot {report.snapshot_id}; nothing written")
