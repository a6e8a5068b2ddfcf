"""Terminal rendering of a gTrade snapshot summary (``snapshots show``, ``index gtrade``)."""

from __future__ import annotations

from typing import Any

import click


def render(summary: dict[str, Any]) -> None:
    """One line per pair, one per gToken vault."""
    t = summary["totals"]
    click.echo(f"gTrade snapshot {summary['snapshot_id']}: Diamond {summary['diamond']} (contracts version "
               f"{t['contracts_version']}), chain {summary['chain_id']}, block {summary['block_number']}: "
               f"{summary['positions']} open trades, {t['pending_orders']} pending limit/stop orders")
    click.echo(f"{'pair':<10} {'price':>18} {'trades':>7} {'OI long $':>16} {'OI short $':>16} {'liq now':>8} "
               f"{'liq dist p10':>13} {'p50':>9}")
    for p in summary["markets"]:
        d10 = "-" if p["liq_distance_p10"] is None else f"{100 * float(p['liq_distance_p10']):.2f}%"
        d50 = "-" if p["liq_distance_p50"] is None else f"{100 * float(p['liq_distance_p50']):.2f}%"
        click.echo(f"{p['pair']:<10} {p['price']:>18} {p['trades']:>7} {p['oi_long_usd']:>16} "
                   f"{p['oi_short_usd']:>16} {p['liquidatable_now']:>8} {d10:>13} {d50:>9}")
    for v in summary["vaults"]:
        click.echo(f"vault g{v['collateral']}: {v['total_assets']} {v['collateral']} (${v['total_assets_usd']}), "
                   f"share price {v['share_to_assets_price']}, collateralization {v['collateralization_p']} %, "
                   f"withdraw lock {v['withdraw_epochs_timelock']} epochs")
    if not t["oi_matches_trades"]:
        click.echo("warning: the Diamond's pair open interest differs from the sum of the open trades", err=True)
