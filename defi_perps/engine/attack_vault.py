"""A backstop vault holding an inherited position (numba stage; twin: :func:`.attack_reference.vault_holding`).

When a venue's backstop (Hyperliquid's liquidator vault, HLP) takes over a position below 2/3 of
maintenance, the vault holds it: it is marked at the venue's price each step and, when the vault
closes it, the sale walks a reference venue's depth curve (:mod:`defi_perps.engine.attack`'s curve:
the coordinate, premium and arbitrage of the push stage, with the mark as the venue's fair price).

Per schedule ``g`` (prange): the vault takes over ``side`` (+1 long, −1 short) of ``notional`` USD
at step ``start`` at the mark ``mark[g, start]`` and keeps ``kept`` USD of the position's equity
(the maintenance margin not returned). From the next step it closes the position in equal slices
over ``unwind`` steps (0: held to the end, marked), each slice priced at the mark plus the curve's
offset at the venue's coordinate; between slices arbitrageurs pull the venue back
(``s ← s·(1 − arb)``). Its P&L at step t:

    pnl(t) = kept + Σ_slices [side·q_i·(m_i − m_start) − premium_i − fee_i] + side·q_held·(m_t − m_start)

with quantities in USD at the start mark (``q = notional / m_start``), and the vault is wiped out
at the first step where −pnl ≥ ``capital``. JELLY (Mar 2025): the vault held the inherited short
while spot was pumped; POPCAT (Nov 2025): it sold inherited longs into the thin book
(incidents.md §2.1 rows 10, 14).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from defi_perps.engine._jit import njit, prange
from defi_perps.engine.attack import SourceArrays, offset_at, premium_at


class VaultPlan(NamedTuple):
    """G takeovers (one per schedule)."""

    side: np.ndarray       # float64[G] +1 inherited long, −1 inherited short
    notional: np.ndarray   # float64[G] USD at the takeover mark
    kept: np.ndarray       # float64[G] equity the vault kept at takeover, USD
    capital: np.ndarray    # float64[G] the vault's capital, USD (inf: never wiped out)
    start: np.ndarray      # int64[G] takeover step
    unwind: np.ndarray     # int64[G] steps to close the position (0: held and marked to the end)
    venue: np.ndarray      # int64[G] reference venue the close walks


class VaultOutputs(NamedTuple):
    pnl: np.ndarray        # float64[G, T + 1] vault P&L on the holding (0 before the takeover)
    loss: np.ndarray       # float64[G] −pnl at the last step
    peak_loss: np.ndarray  # float64[G] max over steps of −pnl
    slippage: np.ndarray   # float64[G] premium + fees lost closing into the venue vs the mark
    extreme: np.ndarray    # float64[G] the venue's most adverse price offset while closing (0: held)
    held: np.ndarray       # float64[G] notional still held at the end (USD at the start mark)
    wiped_step: np.ndarray  # int64[G] first step with −pnl ≥ capital (−1: never)


def make_vault_plan(side: np.ndarray | float, notional: np.ndarray | float, kept: np.ndarray | float = 0.0,
                    capital: np.ndarray | float = np.inf, start: np.ndarray | int = 0, unwind: np.ndarray | int = 0,
                    venue: np.ndarray | int = 0) -> VaultPlan:
    n = np.broadcast(np.asarray(side), np.asarray(notional), np.asarray(kept), np.asarray(capital),
                     np.asarray(start), np.asarray(unwind), np.asarray(venue)).shape
    g = int(np.prod(n)) if n else 1

    def f(v: np.ndarray | float) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float64), (g,)))

    def i(v: np.ndarray | int) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.int64), (g,)))

    return VaultPlan(side=np.sign(f(side)), notional=f(notional), kept=f(kept), capital=f(capital),
                     start=np.maximum(i(start), 0), unwind=np.maximum(i(unwind), 0), venue=i(venue))


@njit(parallel=True)
def vault_holding(src: SourceArrays, plan: VaultPlan, mark: np.ndarray) -> VaultOutputs:
    """Hold / close each takeover of ``plan`` along ``mark`` float64[G, T + 1] (the venue's price
    over a reference, any scale) on the sources ``src`` (prange over schedules)."""
    bid_x = src.bid_x
    ask_x = src.ask_x
    band_d = src.band_d
    band_n = src.band_n
    fee = src.fee
    arb = src.arb
    side_a = plan.side
    notional_a = plan.notional
    kept_a = plan.kept
    capital_a = plan.capital
    start_a = plan.start
    unwind_a = plan.unwind
    venue_a = plan.venue
    g_n, t1 = mark.shape
    pnl = np.zeros((g_n, t1))
    loss = np.zeros(g_n)
    peak_loss = np.zeros(g_n)
    slippage = np.zeros(g_n)
    extreme = np.zeros(g_n)
    held = np.zeros(g_n)
    wiped = np.full(g_n, -1, np.int64)
    for g in prange(g_n):
        k = venue_a[g]
        bx = bid_x[k]
        ax = ask_x[k]
        bd = band_d[k]
        nb = band_n[k]
        side = side_a[g]
        t0 = min(start_a[g], t1 - 1)
        m0 = mark[g, t0]
        qty = notional_a[g] / m0          # USD at the start mark
        realised = kept_a[g]
        s = 0.0                           # the venue's curve coordinate, USD at its fair (the mark)
        slip = 0.0
        worst = 0.0
        end = t0 + unwind_a[g]
        peak = 0.0
        for t in range(t0, t1):
            m = mark[g, t]
            if t > t0 and t <= end and qty > 0.0:
                s *= 1.0 - arb[k]
                dqty = qty / (end - t + 1)
                dq = -side * dqty * m         # the close: a long sells (dq < 0), a short buys
                cost = premium_at(s + dq, bx, ax, bd, nb) - premium_at(s, bx, ax, bd, nb) + fee[k] * abs(dq)
                s += dq
                off = offset_at(s, bx, ax, bd, nb)
                if side * off < side * worst:
                    worst = off
                realised += side * dqty * (m - m0) - cost
                slip += cost
                qty -= dqty
            v = realised + side * qty * (m - m0)
            pnl[g, t] = v
            if -v > peak:
                peak = -v
            if wiped[g] < 0 and -v >= capital_a[g]:
                wiped[g] = t
        loss[g] = -pnl[g, t1 - 1]
        peak_loss[g] = peak
        slippage[g] = slip
        extreme[g] = worst
        held[g] = qty
    return VaultOutputs(pnl, loss, peak_loss, slippage, extreme, held, wiped)


__all__ = ["VaultOutputs", "VaultPlan", "make_vault_plan", "vault_holding"]
