"""``defi-perps adl``: the auto-deleveraging policy lab."""

from __future__ import annotations

from typing import Any

import click

from defi_perps.commands._common import FiniteFloat, emit_json, json_option

_REPLAY_HELP = """Replay ADL events from EVENT_CSV under several policies and compare them.

For each event and policy: total taken, the minimum needed, overshoot, what stays uncovered,
and who is hit (accounts, HHI, top-1 / top-k share, largest haircut as a fraction of PnL).

\b
EVENT_CSV: one row per candidate account (header required, '#' lines ignored):
  event,shortfall,account,side,size,entry,mark,equity[,pnl][,bankrupt_size][,fill_price][,score]
  event          id; rows with the same id form one event
  shortfall      USD to recover (same on every row of the event)
  side           long | short (the candidate's side)
  size           base units (> 0); entry, mark: USD prices (> 0)
  equity         account value in USD (collateral + PnL)
  pnl            optional; blank = side*size*(mark-entry)
  bankrupt_size  optional; size of the bankrupt position to match (queue-contract)
  fill_price     optional; price the ADL'd side closes at (queue-contract)
  score          optional; the venue's own ranking score (use --ranking score)

\b
Policies: queue, queue-contract, pro-rata-pnl, pro-rata-equity, risk-aware.
Example: defi-perps adl replay defi_perps/adl/examples/crash_short_winners.csv --venue hyperliquid
"""


@click.group(name="adl")
def adl() -> None:
    """Auto-deleveraging policy lab."""


@adl.command(name="replay", help=_REPLAY_HELP)
@click.argument("event_csv", type=click.Path(dir_okay=False))
@click.option("--policies", default="queue,queue-contract,pro-rata-pnl,pro-rata-equity,risk-aware", show_default=True,
              help="Comma-separated ADL policies.")
@click.option("--venue", default=None, help="Venue whose ADL ranking the queue policies use (default: bitmex-style).")
@click.option("--ranking", default=None, help="Override the queue ranking (binance, bitmex, bybit, okx, hyperliquid, pnl, score).")
@click.option("--risk-power", type=FiniteFloat(0, 20, example="2"), default=2.0, show_default=True,
              help="Exponent c of risk-aware weights λ^c (1 = levered pro-rata).")
@click.option("--top", "top_k", type=click.IntRange(1, 1000), default=5, show_default=True, help="k of the top-k share.")
@click.option("--accounts", "show_accounts", is_flag=True, help="Also print per-account haircuts.")
@json_option
def replay(event_csv: str, policies: str, venue: str | None, ranking: str | None, risk_power: float, top_k: int,
           show_accounts: bool, as_json: bool) -> None:
    from defi_perps.adl.events import load_events_csv
    from defi_perps.adl.policies import parse_policies, run_policy
    from defi_perps.venues.params import load_venue

    names = parse_policies(policies)
    params = load_venue(venue) if venue else None
    rank = ranking or (params.adl.ranking if params is not None and params.adl.ranking != "none" else "bitmex")
    events = load_events_csv(event_csv)
    out: list[dict[str, Any]] = []
    for ev in events:
        rows = []
        for name in names:
            res = run_policy(ev, name, ranking=rank, venue=params, risk_power=risk_power)
            rows.append({**res.summary(top_k), "accounts": res.per_account()})
        out.append({"event": ev.event, "shortfall": ev.shortfall, "candidates": len(ev.candidates),
                    "haircut_capacity": float(ev.candidates.endowment.sum()), "venue": venue, "ranking": rank,
                    "policies": rows})
    if as_json:
        emit_json({"events": out})
        return
    _render(out, top_k, show_accounts)


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def _render(out: list[dict[str, Any]], k: int, show_accounts: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped: don't squeeze the table into 80 columns
        console = Console(width=160)
    for ev in out:
        t = Table(title=f"ADL event {ev['event']}: shortfall {_usd(ev['shortfall'])} USD, {ev['candidates']} candidates, "
                        f"PnL capacity {_usd(ev['haircut_capacity'])} USD (queue ranking: {ev['ranking']})")
        for col in ("policy", "taken", "needed", "overshoot", "uncovered", "hit", "HHI", "top-1", f"top-{k}",
                    "max cut / PnL"):
            t.add_column(col, justify="left" if col == "policy" else "right")
        for r in ev["policies"]:
            t.add_row(r["policy"], _usd(r["taken"]), _usd(r["needed"]), _usd(r["overshoot"]), _usd(r["uncovered"]),
                      str(r["accounts_hit"]), f"{r['hhi']:.3f}", f"{r['top1_share']:.1%}", f"{r[f'top{k}_share']:.1%}",
                      f"{r['max_haircut_fraction']:.1%}")
        console.print(t)
        if show_accounts:
            for r in ev["policies"]:
                a = Table(title=f"{r['policy']}: per-account haircuts")
                for col in ("account", "haircut", "PnL", "closed size"):
                    a.add_column(col, justify="left" if col == "account" else "right")
                for row in r["accounts"]:
                    a.add_row(row["account"], _usd(row["haircut"]), _usd(row["endowment"]), f"{row['closed_size']:.6g}")
                console.print(a)
