"""Terminal rendering of `defi-perps manipulation` and `defi-perps attack` results (rendering only)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def usd(x: float | None) -> str:
    if x is None:
        return "—"
    a = abs(x)
    s = (f"${a / 1e9:.2f}B" if a >= 1e9 else f"${a / 1e6:.2f}M" if a >= 1e6 else f"${a / 1e3:.1f}k" if a >= 1e3
         else f"${a:.0f}")
    return ("-" if x < 0 else "") + s


def _console() -> Console:
    c = Console()
    return c if c.is_terminal else Console(width=220)


def render_manipulation(data: dict[str, Any]) -> None:
    console = _console()
    book = data["book"]
    title = (f"Oracle manipulation — {book.get('source') or 'book'} — venue {data['venue']} — "
             f"reference venues: {data['reference_venues']}")
    t = Table(title=title, show_lines=False)
    for col in ("market", "oracle", "dir", "move 1%", "5%", "10%", "25%", "OI liq. @10%", "best net", "break-even",
                "verdict"):
        t.add_column(col, overflow="fold")
    for r in data["markets"]:
        cap = r["capital_to_move_usd"]
        o = r["oracle"]
        rule = o["aggregate"] + ("" if o["rule"] == "none" else f" → {o['rule']}")
        t.add_row(r["market"], f"{rule} of {len(o['venues'])}", r["direction"], usd(cap["1%"]), usd(cap["5%"]),
                  usd(cap["10%"]), usd(cap["25%"]), usd(r["oi_liquidated_usd"]["10%"]), usd(r["best_profit_usd"]),
                  usd(r["break_even_capital_usd"]), r["verdict"])
    console.print(t)
    console.print("capital = peak spot USD to move and hold the oracle (cheapest set of venues); "
                  "built-in depths are estimates — pass --reference-venues FILE with measured depth.")


def render_attack(data: dict[str, Any]) -> None:
    console = _console()
    t = Table(title=f"Attack — {data['name']} — {data.get('description', '')}")
    t.add_column("figure")
    t.add_column("model")
    t.add_column("record")
    rec = data.get("record", {})
    pm = rec.get("price_move")
    rec_move = "—" if not pm else (f"{pm[0] * 100:+.0f}%" if pm[0] == pm[1] else f"{pm[0] * 100:+.0f}% to {pm[1] * 100:+.0f}%")
    rows = [("oracle move", f"{data['oracle_move'] * 100:+.1f}%", rec_move),
            ("attacker cost", usd(data["attacker_cost_usd"]), usd(rec.get("attacker_cost_usd"))),
            ("attacker profit (gross)", usd(data["attacker_profit_usd"]), usd(rec.get("attacker_profit_usd"))),
            ("attacker net", usd(data["attacker_net_usd"]), usd(rec.get("attacker_net_usd"))),
            ("liquidated notional", usd(data["liquidated_notional_usd"]), usd(rec.get("liquidated_notional_usd")))]
    for key, value in data["paid_by"].items():
        if value:
            rows.append((f"paid by {key}", usd(value), usd(rec.get(f"paid_by.{key}"))))
    for row in rows:
        t.add_row(*row)
    console.print(t)
    for check in data.get("record_check", []):
        mark = "ok " if check["within_order_of_magnitude"] else "OFF"
        if check["figure"] == "payer":
            console.print(f"{mark} largest payer: model {check['model']} vs record {check['record']}")
        elif check["figure"] == "oracle_move":
            console.print(f"{mark} oracle move: model {check['model'] * 100:+.0f}% vs record {check['record'] * 100:+.0f}%")
        else:
            console.print(f"{mark} {check['figure']}: model {usd(check['model'])} vs record {usd(check['record'])} "
                          f"(ratio {check['ratio']:.2g})")
    if "profitable" in data:
        console.print("verdict: " + ("the attack pays" if data["profitable"] else
                                     "no profitable attack within the capital and the venue's caps (best shown)"))
    fix = data.get("with_fix")
    if fix:
        console.print(f"with the venue's later fix: oracle move {fix['oracle_move'] * 100:+.1f}%, attacker net "
                      f"{usd(fix['attacker_net_usd'])}, liquidated {usd(fix['liquidated_notional_usd'])}")
    if data.get("defence"):
        console.print("defence: " + ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                                              for k, v in data["defence"].items()))
