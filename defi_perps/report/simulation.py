"""Concise rich terminal summary of a :class:`~defi_perps.engine.results.SimulationResult`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


from defi_perps.report.style import console as _console
from defi_perps.report.style import usd as _usd  # one number style across commands


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def render_summary(result_dict: dict[str, Any], console: Console | None = None) -> None:
    """Print the run line, loss metrics with VaR/ES, and one row per market."""
    console = console or _console()   # wide when piped: tables are not cut to 80 columns
    run, book, stats = result_dict["run"], result_dict["book"], result_dict["stats"]
    scen = result_dict.get("scenario") or {}
    console.print(f"rules: [bold]{result_dict.get('venue', 'generic')}[/bold] · ADL policy "
                  f"{result_dict.get('adl_policy', 'venue')} · {result_dict.get('shock', '')}")
    console.print(
        f"[bold]{book['source']}[/bold]: {book['positions']:,} positions, {len(book['markets'])} markets · "
        f"{run['paths']:,} paths × {run['steps']:,} steps of {run['step_seconds']:g}s · seed {run['seed']} · "
        f"{run['engine']}" + (f" · scenario {scen.get('name')}" if scen.get("name") else "")
        + (f" · shock {scen.get('shock')}" if scen.get("shock") and not scen.get("name") else ""))
    t = Table(title="Across paths", title_justify="left", show_edge=False)
    for col in ("metric", "mean", "p50", "p95", "VaR99", "ES99", "max"):
        t.add_column(col, justify="right" if col != "metric" else "left")
    rows = [("liquidated notional", "liquidated_notional_usd"), ("bad debt", "bad_debt_usd"),
            ("insurance fund / vault paid", "insurance_paid_usd"), ("pool (LPs) paid", "pool_paid_usd"),
            ("broker paid", "broker_paid_usd"), ("ADL notional", "adl_notional_usd"),
            ("ADL haircut", "adl_haircut_usd"), ("uncovered", "shortfall_usd")]
    for label, key in rows:
        d = stats[key]
        if d.get("n", 0) == 0 or (d.get("max") == 0 and key not in {"liquidated_notional_usd", "bad_debt_usd"}):
            continue
        t.add_row(label, _usd(d["mean"]), _usd(d["quantiles"]["p50"]), _usd(d["quantiles"]["p95"]),
                  _usd(d.get("var99")), _usd(d.get("es99")), _usd(d["max"]))
    console.print(t)
    mt = Table(title="Per market (means across paths)", title_justify="left", show_edge=False)
    for col in ("market", "exogenous drop", "drop with cascade", "amplification p50", "liquidated long",
                "liquidated short", "bad debt"):
        mt.add_column(col, justify="right" if col != "market" else "left")
    for name, m in stats["markets"].items():
        amp = m["cascade_amplification"]
        mt.add_row(name, _pct(m["exogenous_min_price_drop"].get("mean")), _pct(m["min_price_drop"].get("mean")),
                   f"{amp['quantiles']['p50']:.2f}×" if amp.get("n") else "–",
                   _usd(m["liquidated_notional_long_usd"].get("mean")),
                   _usd(m["liquidated_notional_short_usd"].get("mean")), _usd(m["bad_debt_usd"].get("mean")))
    console.print(mt)
    ins = stats["insurance_fund_final_usd"]
    paid = result_dict.get("paid_by", {})
    who = " · ".join(f"{k} {_usd(v)}" for k, v in paid.items() if v > 0) or "nobody (no bad debt)"
    console.print(f"bad debt paid by (means): {who}")
    from defi_perps.runs.oracle_series import oracle_line

    line = oracle_line(result_dict.get("oracle"))
    if line:
        console.print(line, markup=False)
    cap = result_dict.get("depth_capped", {})
    if cap.get("count"):
        console.print(f"[yellow]depth curve's end passed in {cap['count']:,} market-steps on {cap['paths']:,} paths "
                      f"({', '.join(cap['markets'])}): prices there sit at the −99 % floor of the walk[/yellow]")
    topup = (result_dict.get("venue_info") or {}).get("margin_topup") or {}
    if topup.get("positions"):
        console.print(f"margin topped up at admission: {topup['positions']:,} positions, notional "
                      f"{_usd(topup['notional_usd'])}, collateral added {_usd(topup['collateral_added_usd'])}")
    console.print(f"insurance fund / vault final: mean {_usd(ins.get('mean'))}, min over paths {_usd(ins.get('min'))} · "
                  f"ADL accounts per path: mean {result_dict.get('adl_accounts', 0.0):.1f} · "
                  f"cascade steps hitting the iteration bound: {stats['cascade_steps_not_converged'].get('max', 0):g}")
