"""Render a hedger run (the dict of :meth:`defi_perps.runs.hedger.HedgerRun.to_dict`). Rendering only."""

from __future__ import annotations

from typing import Any

from defi_perps.report.style import pct, usd


def render_hedger(data: dict[str, Any]) -> Any:
    """The P&L-by-cause table, one column per venue, then what happened to the short and why."""
    from rich.table import Table

    venues = data["venues"]
    first = venues[0]
    run = data["run"]
    lat = data["parameters"]["latency"]
    t = Table(title=f"Delta-neutral hedger on {first['market']}: {usd(first['hedge_notional_usd'])} spot long + perp "
                    f"short — {data['shock']} — {run['paths']} paths, seed {run['seed']}, latency {lat}, "
                    f"re-hedge via {data['parameters']['route']}")
    t.add_column("mean per path (USD)")
    for v in venues:
        t.add_column(v["display"], justify="right")
    for key, label in data["causes"].items():
        t.add_row(label, *[usd(v["pnl_by_cause_usd"][key]) for v in venues])
    t.add_row("= total P&L", *[usd(v["total_pnl_usd"]) for v in venues])
    t.add_row("  of which unhedged (spot + perp MTM)", *[usd(v["unhedged_pnl_usd"]) for v in venues])
    t.add_section()
    t.add_row("short closed by ADL", *[f"{usd(v['adl_closed_notional_usd'])} ({pct(v['adl_closed_fraction'])})"
                                        for v in venues])
    t.add_row("paths where ADL hit it", *[f"{v['paths_adl_hit']} / {run['paths']}" for v in venues])
    t.add_row("paths where it was liquidated", *[f"{v['paths_liquidated']} / {run['paths']}" for v in venues])
    t.add_row("peak unhedged notional", *[usd(v["peak_unhedged_notional_usd"]) for v in venues])
    t.add_row("unhedged time", *[f"{v['unhedged_seconds']:,.0f} s" for v in venues])
    t.add_row("funding received (APR)", *[pct(v["funding"]["apr"], 2) for v in venues])
    t.add_row("venue ADL on the short side", *[usd(v["venue_adl_short_notional_usd"]) for v in venues])
    return t


def render_compare_hedger(h: dict[str, Any]) -> Any:
    """``compare --hedge``: one row per venue."""
    from rich.table import Table

    t = Table(title=f"Delta-neutral hedger: {usd(h['hedge_notional_usd'])} spot long + perp short at "
                    f"{h['leverage']:g}x, re-hedge after {h['latency']} — mean P&L per path (USD)",
              caption=h["note"])
    t.add_column("venue")
    for label in h["causes"].values():
        t.add_column(label, justify="right")
    for c in ("total", "ADL'd", "peak unhedged", "unhedged s"):
        t.add_column(c, justify="right")
    for v in h["venues"]:
        t.add_row(v["display"], *[usd(v["pnl_by_cause_usd"][k]) for k in h["causes"]], usd(v["total_pnl_usd"]),
                  usd(v["adl_closed_notional_usd"]), usd(v["peak_unhedged_notional_usd"]),
                  f"{v['unhedged_seconds']:,.0f}")
    return t


def why_lines(data: dict[str, Any]) -> list[str]:
    return [f"{v['display']}: {v['why']}" for v in data["venues"]]


__all__ = ["render_compare_hedger", "render_hedger", "why_lines"]
