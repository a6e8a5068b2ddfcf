"""Render a carry run (the dict of :func:`defi_perps.runs.carry.run_carry`). Rendering only."""

from __future__ import annotations

from typing import Any

from defi_perps.report.style import usd


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


def render_carry(data: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title=f"{data['venue']} {data['market']} — delta-neutral carry vs ADL risk — {data['scenario']}")
    t.add_column("")
    t.add_column("before shock", justify="right")
    t.add_column("after shock", justify="right")
    b, a = data["carry"]["before_shock"], data["carry"]["after_shock"]
    for key, label in (("funding_apr", "funding received"), ("fees_apr", "− fees"), ("financing_apr", "− financing"),
                       ("carry_apr", "= carry")):
        t.add_row(label, _pct(b[key]), _pct(a[key]))
    sh, calm = data["break_even"]["shock"], data["break_even"]["calm"]
    t.add_row("break-even carry (mean loss)", _pct(calm["break_even_carry_apr"]) + " calm",
              _pct(sh["break_even_carry_apr"]) + " shock")
    t.add_row("break-even carry (ES99 loss)", _pct(calm["break_even_carry_apr_es99"]) + " calm",
              _pct(sh["break_even_carry_apr_es99"]) + " shock")
    t.add_row("verdict", data["verdict_before"], data["verdict_after"])
    t.add_section()
    t.add_row("hedge ADL'd (mean)", "", usd(sh["adl_closed_notional_usd"]))
    t.add_row("paths where ADL hit the hedge", "", f"{sh['paths_hedger_adld']} / {data['run']['paths']}")
    for k, label in (("adl_fill", "loss: ADL fill"), ("unhedged_spot", "loss: unhedged spot"),
                     ("rehedge_slippage", "loss: re-hedge slippage"), ("rehedge_fee", "loss: re-hedge fee"),
                     ("liquidation", "loss: liquidation of the short")):
        if k in sh["loss_by_cause_usd"]:
            t.add_row(label, "", usd(sh["loss_by_cause_usd"][k]))
    c = data["seed_claim"]
    t.add_section()
    t.add_row("seed's claim: carry ~4%/yr", _pct(c["carry_apr"]),
              f"{c['verdict']} (margin {_pct(c['margin_apr'])})")
    return t


__all__ = ["render_carry"]
