"""One terminal line per venue: how much of the move and of the liquidations withdrawal caused."""

from __future__ import annotations

from typing import Any


def withdrawal_lines(row: dict[str, Any], label: str | None = None) -> list[str]:
    """``"withdrawal (hyperliquid): 31% of BTC's drop (-15.2% vs -10.5% without), …"`` from one
    result's ``withdrawal`` block; nothing when withdrawal was off."""
    wd = row.get("withdrawal") or {}
    if not wd.get("on") or "withdrawal_share_of_move" not in wd:
        return []
    markets = wd["counterfactual"]["markets"]
    parts = []
    for name, share in wd["withdrawal_share_of_move"].items():
        d = markets[name]
        parts.append(f"{share:.0%} of {name}'s drop ({-d['price_drop_on']:.1%} vs {-d['price_drop_off']:.1%} "
                     f"without)")
    liq = wd["withdrawal_share_of_liquidated_notional_total"]
    who = label or row.get("venue", "")
    return [f"withdrawal ({who}): " + ", ".join(parts) + f"; {liq:.0%} of liquidated notional"]


__all__ = ["withdrawal_lines"]
