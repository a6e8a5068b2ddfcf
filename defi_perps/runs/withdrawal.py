"""How much of a cascade liquidity withdrawal caused: the same book, setup, venue and seed with the
makers' depth withdrawing (``--withdrawal on``) and without (the counterfactual), side by side.

Every path draws the same exogenous prices in both runs (stream ``(seed, p)``), so the difference is
withdrawal's alone. Per market, with ``move = mean over paths of (1 − lowest mark / start price)``:
``withdrawal_share_of_move = (move_on − move_off) / move_on`` (0 where the price never fell; it can be
negative if less depth somehow left the price higher), and the same for liquidated notional.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from defi_perps.engine.results import SimulationResult


def _share(on: float, off: float) -> float:
    return (on - off) / on if on > 0 else 0.0


def withdrawal_share(on: SimulationResult, off: SimulationResult) -> dict[str, Any]:
    """The on-vs-off figures (JSON-ready) attached to the ``on`` result's ``withdrawal`` block."""
    p0 = on.book.price
    shares: dict[str, float] = {}
    liq_shares: dict[str, float] = {}
    detail: dict[str, Any] = {}
    for m, name in enumerate(on.book.market_names):
        move_on = float(np.mean(1.0 - on.outputs.min_mark[:, m] / p0[m]))
        move_off = float(np.mean(1.0 - off.outputs.min_mark[:, m] / p0[m]))
        liq_on = float(on.outputs.liq_notional[:, m, :].sum(axis=1).mean())
        liq_off = float(off.outputs.liq_notional[:, m, :].sum(axis=1).mean())
        shares[name] = _share(move_on, move_off)
        liq_shares[name] = _share(liq_on, liq_off)
        detail[name] = {"price_drop_on": move_on, "price_drop_off": move_off,
                        "liquidated_notional_on_usd": liq_on, "liquidated_notional_off_usd": liq_off,
                        "bad_debt_on_usd": float(on.outputs.bad_debt[:, m].mean()),
                        "bad_debt_off_usd": float(off.outputs.bad_debt[:, m].mean())}
    liq_on = float(on.totals["liq_notional"].mean())
    liq_off = float(off.totals["liq_notional"].mean())
    return {"withdrawal_share_of_move": shares, "withdrawal_share_of_liquidated_notional": liq_shares,
            "withdrawal_share_of_liquidated_notional_total": _share(liq_on, liq_off),
            "counterfactual": {"liquidated_notional_on_usd": liq_on, "liquidated_notional_off_usd": liq_off,
                               "bad_debt_on_usd": float(on.totals["bad_debt"].mean()),
                               "bad_debt_off_usd": float(off.totals["bad_debt"].mean()),
                               "adl_notional_on_usd": float(on.totals["adl_notional"].mean()),
                               "adl_notional_off_usd": float(off.totals["adl_notional"].mean()),
                               "markets": detail}}


__all__ = ["withdrawal_share"]
