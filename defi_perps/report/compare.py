"""Render a venue comparison (the dict of :meth:`defi_perps.runs.compare.CompareRun.to_dict`).

Rendering only: the runs are :mod:`defi_perps.runs.compare` (one engine, one code path).
"""

from __future__ import annotations

from typing import Any

from defi_perps.report.style import usd as _usd  # one number style across commands

PAID_LABELS: dict[str, str] = {"insurance_fund": "insurance fund", "pool": "pool/LPs", "backstop_vault": "backstop vault",
                               "broker": "broker", "adl": "ADL'd traders", "venue": "venue",
                               "uncovered": "uncovered", "defaulter_guarantee_fund": "defaulter's GF",
                               "ccp_capital": "CCP capital", "mutualised_guarantee_fund": "mutualised GF",
                               "assessments": "assessments", "vm_gains_haircut": "VM-gains haircut"}
COUNTERPARTY_PARTY: dict[str, str] = {"pool": "pool", "broker": "broker", "book": "market",
                                      "clearing_house": "ccp_capital"}



def bearer_text(row: dict[str, Any]) -> str:
    """"pool/LPs 80% · ADL'd traders 20%": who paid the mean bad debt."""
    paid = row["paid_by"]
    tot = sum(paid.values())
    if tot <= 0:
        return "none"
    parts = sorted(((v / tot, PAID_LABELS[k]) for k, v in paid.items() if v > 0), reverse=True)
    return " · ".join(f"{k} {share:.0%}" for share, k in parts)


def counterparty_pnl(row: dict[str, Any]) -> tuple[str, float]:
    """The balance change of the venue's loss-absorbing counterparty (mean USD)."""
    parties = row["parties"]
    if row.get("fund", {}).get("kind") == "backstop_vault":
        return "backstop vault", parties["vault"]
    party = COUNTERPARTY_PARTY.get(row.get("counterparty", "book"), "market")
    if party == "market":
        return "insurance fund", parties["insurance"]
    return party, parties[party]


def oracle_lines(data: dict[str, Any]) -> list[str]:
    """One line per venue whose own oracle / mark rule strays from the exogenous price."""
    from defi_perps.runs.oracle_series import oracle_line

    out = []
    for row in data.get("venues", []):
        line = oracle_line(row.get("oracle"))
        if line:
            out.append(f"{row.get('venue')}: {line}")
    return out


def render_table(data: dict[str, Any], title: str) -> Any:
    from rich.table import Table

    t = Table(title=title, caption="USD, means across paths (p99 after '/'). Bad debt = loss beyond collateral, "
                                   "split by who paid it. Depth end = steps whose walk passed the depth curve's end.")
    cols = ("venue", "liq. notional\nmean / p99", "bad debt\nmean / p99", "ADL notional\nmean / p99", "ADL accts\nmean",
            "who paid the bad debt", "counterparty P&L\nmean", "margin top-up\npositions", "depth end\nsteps")
    for c in cols:
        t.add_column(c, justify="left" if c in ("venue", "who paid the bad debt") else "right")
    for row in data["venues"]:
        tails = row["tails"]
        label, cp = counterparty_pnl(row)
        t.add_row(row.get("display", row["venue"]),
                  f"{_usd(row['liquidated_notional_usd'])} / {_usd(tails['liquidated_notional_usd'].get('p99'))}",
                  f"{_usd(row['bad_debt_usd'])} / {_usd(tails['bad_debt_usd'].get('p99'))}",
                  f"{_usd(row['adl_notional_usd'])} / {_usd(tails['adl_notional_usd'].get('p99'))}",
                  f"{row['adl_accounts']:,.1f}", bearer_text(row), f"{label} {_usd(cp)}",
                  f"{row.get('margin_topup', {}).get('positions', 0):,}", f"{row['depth_capped']['count']:,}")
    return t


__all__ = ["bearer_text", "counterparty_pnl", "render_table"]
