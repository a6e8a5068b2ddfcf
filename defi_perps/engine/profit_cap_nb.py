"""numba helper: a per-trade profit cap on the positions still open at the end of a path.

gTrade v8 (and v9.x until it was deprecated) capped every trade's PnL at ``MAX_PNL_P`` = +900 % of
its collateral (TradingCommonUtils ``getPnlPercent``; protocols/gtrade/math.py): the vault never
pays a trade more than 9 × its collateral, whatever the price does. In the engine only open
positions can be in profit at the end of a path (liquidations close losers, and a venue with a
per-trade cap has no ADL), so the cap acts where open positions are marked: the profit above
``cap × collateral`` stays with the counterparty instead of going to the trader.

Units as in ``nb.py``: USD, index tokens, USD per index token; ``phi`` is the accrued funding and
borrowing per index token (price units) per market and side; ``rem`` the remaining fraction of each
position (sorted order). The cap is on the position's collateral at the final mark (collateral held
in the index token moves with it), net of the fees the book already charged (``collateral_usd``).
Twin: :func:`defi_perps.engine.reference.open_profit_cap_haircut_reference`.
"""

from __future__ import annotations

from defi_perps.engine._jit import njit


@njit(cache=True)
def open_profit_cap_haircut_nb(qty, entry, coll_usd, coll_tok, seg_start, seg_market, seg_side, rem, final_mark,
                               phi, cap_multiple: float) -> float:
    """Total profit withheld by a cap of ``cap_multiple`` × collateral on each open position."""
    cut = 0.0
    for g in range(seg_market.size):
        m = seg_market[g]
        s = 1.0 if seg_side[g] > 0 else -1.0
        si = 0 if seg_side[g] > 0 else 1
        fin = final_mark[m]
        f = phi[m, si]
        for j in range(seg_start[g], seg_start[g + 1]):
            r = rem[j]
            if r <= 0.0:
                continue
            q = r * qty[j]
            pnl = s * q * (fin - entry[j]) - f * q
            cap = cap_multiple * r * (coll_usd[j] + coll_tok[j] * fin)
            if pnl > cap:
                cut += pnl - cap
    return cut
