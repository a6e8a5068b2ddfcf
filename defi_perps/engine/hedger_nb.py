"""The delta-neutral hedger inside the kernel (twin: :mod:`.hedger_reference`).

A market maker holds a spot long of ``spot0`` index tokens and a perp short of the same size on
the venue being simulated. The short is a real position of the book the kernel runs (its sorted
index is ``hedger_i[HI.J]``): it has its own collateral, so its own leverage, maintenance and place in
the venue's ADL ranking, and in-path ADL or a liquidation can close it like any account's. The
kernel hooks in three places, each a few lines in ``nb.py``:

* ``_adl`` and ``_cascade`` call :func:`on_adl` / :func:`on_liq` when they close the hedger's
  short: the tokens closed, their value at the mark of that moment, and what the close paid
  against the mark (the ADL fill's haircut; the liquidation's fill, fees and kept remainder);
* the step loop calls :func:`rehedge` on the hedger's market after the cascade (and the B-book
  broker's hedge): once the latency since the first unhedged step has passed, the hedger sells
  what is unhedged (spot, or perp on another venue: ``Route``) through the market's depth curve
  *at that step* (the depth schedule applied), walking on from the liquidity the step's cascade
  already took; the sale moves the mark like any other flow;
* after the step (GMX's pnl-to-pool ADL included) :func:`after_step` books funding on the open
  shorts and the unhedged notional; :func:`finish` marks everything at the path's final mark.

P&L by cause (USD, per path; they sum to ``TOTAL``), everything valued at the venue's mark:

* ``SPOT_MTM``: the spot long's change in value (a sold part up to the sale, at the mark then);
* ``PERP_MTM``: the shorts' change in value at the mark (a closed part up to its close); spot and
  perp MTM cancel while hedged, so their sum is the loss from being unhedged;
* ``ADL_VS_MARKET``: what the ADL fill paid against the mark (a bankruptcy / previous-mark fill
  above the mark takes the short's profit; GMX's profit cap likewise);
* ``LIQ_VS_MARKET``: what a liquidation of the short paid against the mark (fill, fees, remainder);
* ``REHEDGE_SLIPPAGE``: the re-hedge's average fill through the depth against the mark;
* ``FUNDING``: what the shorts receive (+) or pay, ``funding_step × open short × mark`` per step;
* ``FEES``: the re-hedge's taker fee.

Latency is in whole steps (``latency[p]``, at least 1, per path: fixed, or drawn by
:mod:`defi_perps.runs.hedger` from the run's seed); unhedged time is counted in steps at the end of
each step and reported in seconds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from defi_perps.engine._jit import njit
from defi_perps.engine.depth import walk_distance, walk_integral


class _Route(NamedTuple):
    SPOT: int = 0   # sell the unhedged spot (the hedge shrinks)
    PERP: int = 1   # sell perp on another venue (the hedge is restored, off this venue's ADL)


class _H(NamedTuple):
    """Columns of ``Outputs.hedger`` (one row per path): results first, then the path's state."""

    SPOT_MTM: int = 0
    PERP_MTM: int = 1
    ADL_VS_MARKET: int = 2
    LIQ_VS_MARKET: int = 3
    REHEDGE_SLIPPAGE: int = 4
    FUNDING: int = 5
    FEES: int = 6
    TOTAL: int = 7
    ADL_QTY: int = 8            # tokens of the short closed by ADL
    ADL_NOTIONAL: int = 9       # at the ADL fill price
    ADL_FIRST_STEP: int = 10    # step of the first ADL close (0: none)
    ADL_CLOSES: int = 11        # ADL calls that closed part of it
    LIQ_QTY: int = 12
    LIQ_FIRST_STEP: int = 13
    REHEDGE_QTY: int = 14
    REHEDGE_NOTIONAL: int = 15  # at the re-hedge fill
    REHEDGES: int = 16
    PEAK_UNHEDGED_USD: int = 17
    UNHEDGED_STEPS: int = 18
    FINAL_PERP_QTY: int = 19    # short still open on the venue
    FINAL_OTHER_QTY: int = 20   # re-hedge short on another venue
    FINAL_SPOT_QTY: int = 21
    # state of the path (scratch)
    S_ADL_Q: int = 22           # this step's ADL closes: tokens, value at mark, vs mark, value at fill, count
    S_ADL_MARKV: int = 23
    S_ADL_VS: int = 24
    S_ADL_FILLV: int = 25
    S_ADL_N: int = 26
    S_LIQ_Q: int = 27           # this step's liquidation closes: tokens, value at mark, trader's change
    S_LIQ_MARKV: int = 28
    S_LIQ_TRADER: int = 29
    V_QTY: int = 30             # short open on the venue (tokens)
    OTHER_QTY: int = 31
    SPOT_QTY: int = 32
    DUE: int = 33               # step at which the pending re-hedge executes (0: none)
    PERP_CLOSED: int = 34       # Σ closed tokens × (entry − mark at the close)
    SPOT_SOLD: int = 35         # Σ sold tokens × (mark at the sale − start price)
    OTHER_CASH: int = 36        # Σ re-hedge short tokens × mark at the re-hedge


Route = _Route()
H = _H()
N_H = len(H)
N_RESULT = H.FINAL_SPOT_QTY + 1
CAUSES: tuple[str, ...] = ("spot_mtm", "perp_mtm", "adl_vs_market", "liquidation_vs_market", "rehedge_slippage",
                           "funding", "fees")


class _HI(NamedTuple):
    """Integer inputs (``PositionArrays.hedger_i``, int64[3])."""

    J: int = 0        # sorted index of its perp short (``inputs.prepare_positions`` order); -1: no hedger
    MARKET: int = 1
    ROUTE: int = 2


class _HF(NamedTuple):
    """Float inputs (``PositionArrays.hedger_f``, float64[6])."""

    SPOT0: int = 0          # spot long, index tokens
    QTY: int = 1            # the short's size (tokens)
    ENTRY: int = 2          # the short's entry price
    PRICE0: int = 3         # the market's price at the start (spot cost basis)
    FEE: int = 4            # taker fee of the re-hedge (fraction of notional)
    FUNDING_STEP: int = 5   # funding the short receives per step, fraction of notional (< 0: pays)


HI = _HI()
HF = _HF()
# the kernel reads three flat arrays (a nested NamedTuple cannot cross numba's prange boundary):
# hedger_i int64[3], hedger_f float64[6], hedger_lat int64[P] (re-hedge latency per path, steps >= 1)
NO_HEDGER_I = np.array([-1, -1, Route.SPOT], np.int64)
NO_HEDGER_F = np.zeros(len(HF))
NO_HEDGER_LAT = np.ones(1, np.int64)


@njit
def start(hf, hd, p: int) -> None:
    hd[p, H.V_QTY] = hf[HF.QTY]
    hd[p, H.SPOT_QTY] = hf[HF.SPOT0]


@njit
def on_adl(hd, p: int, q: float, mark: float, vs_mark: float, fill: float) -> None:
    """ADL closed ``q`` tokens of the hedger's short at ``fill`` while the mark was ``mark``."""
    hd[p, H.S_ADL_Q] += q
    hd[p, H.S_ADL_MARKV] += q * mark
    hd[p, H.S_ADL_VS] += vs_mark
    hd[p, H.S_ADL_FILLV] += q * fill
    hd[p, H.S_ADL_N] += 1.0


@njit
def on_liq(hd, p: int, q: float, mark: float, trader: float) -> None:
    """A liquidation closed ``q`` tokens of the short; ``trader`` is the position's change (``_settle``)."""
    hd[p, H.S_LIQ_Q] += q
    hd[p, H.S_LIQ_MARKV] += q * mark
    hd[p, H.S_LIQ_TRADER] += trader


@njit
def _absorb(hf, lat, hd, p: int, t: int) -> None:
    """Book this step's closes of the short; the first unhedged step starts the latency clock."""
    aq = hd[p, H.S_ADL_Q]
    lq = hd[p, H.S_LIQ_Q]
    if aq <= 0.0 and lq <= 0.0:
        return
    e = hf[HF.ENTRY]
    if aq > 0.0:
        hd[p, H.ADL_QTY] += aq
        hd[p, H.ADL_NOTIONAL] += hd[p, H.S_ADL_FILLV]
        hd[p, H.ADL_VS_MARKET] += hd[p, H.S_ADL_VS]
        hd[p, H.ADL_CLOSES] += hd[p, H.S_ADL_N]
        hd[p, H.PERP_CLOSED] += aq * e - hd[p, H.S_ADL_MARKV]
        if hd[p, H.ADL_FIRST_STEP] == 0.0:
            hd[p, H.ADL_FIRST_STEP] = t
    if lq > 0.0:
        at_mark = lq * e - hd[p, H.S_LIQ_MARKV]
        hd[p, H.LIQ_QTY] += lq
        hd[p, H.PERP_CLOSED] += at_mark
        hd[p, H.LIQ_VS_MARKET] += hd[p, H.S_LIQ_TRADER] - at_mark
        if hd[p, H.LIQ_FIRST_STEP] == 0.0:
            hd[p, H.LIQ_FIRST_STEP] = t
    v = hd[p, H.V_QTY] - aq - lq
    hd[p, H.V_QTY] = v if v > 1e-12 * hf[HF.QTY] else 0.0
    for k in range(H.S_ADL_Q, H.S_LIQ_TRADER + 1):
        hd[p, k] = 0.0
    if hd[p, H.DUE] == 0.0:
        hd[p, H.DUE] = t + lat[p]


@njit
def rehedge(hi, hf, lat, hd, p: int, t: int, pre: float, mark: float, qcum: float, kind: int, k: float, a: float, bx,
            bd_now, band_d, sched, nb_: int) -> tuple:
    """(mark, flow walked) after the hedger's re-hedge at step ``t``, if one is due. ``bd_now`` is the
    market's band-depth row the step uses; with a depth schedule it is (re)written from ``band_d`` ×
    the schedule's row ``t`` here, so the walk sees this step's depth whatever the cascade did."""
    _absorb(hf, lat, hd, p, t)
    due = hd[p, H.DUE]
    if due == 0.0 or t < due:
        return mark, qcum
    hd[p, H.DUE] = 0.0
    u = hd[p, H.SPOT_QTY] - hd[p, H.V_QTY] - hd[p, H.OTHER_QTY]
    if u <= 1e-12 * hf[HF.SPOT0]:
        return mark, qcum
    if sched.shape[0] > 1:
        row = t if t < sched.shape[0] else sched.shape[0] - 1
        for b in range(band_d.shape[0]):
            bd_now[b] = band_d[b] * sched[row, b]
    i0 = walk_integral(abs(qcum), kind, k, a, bx, bd_now, nb_)
    q1 = qcum - u * mark
    i1 = walk_integral(abs(q1), kind, k, a, bx, bd_now, nb_)
    fill = pre * (1.0 + (i1 - i0) / (q1 - qcum))
    hd[p, H.REHEDGE_SLIPPAGE] += u * (fill - mark)
    hd[p, H.FEES] -= hf[HF.FEE] * u * fill
    hd[p, H.REHEDGE_QTY] += u
    hd[p, H.REHEDGE_NOTIONAL] += u * fill
    hd[p, H.REHEDGES] += 1.0
    if hi[HI.ROUTE] == Route.SPOT:
        hd[p, H.SPOT_QTY] -= u
        hd[p, H.SPOT_SOLD] += u * (mark - hf[HF.PRICE0])
    else:
        hd[p, H.OTHER_QTY] += u
        hd[p, H.OTHER_CASH] += u * mark
    d = walk_distance(abs(q1), kind, k, a, bx, bd_now, nb_)
    return pre * (1.0 - d if q1 < 0.0 else 1.0 + d), q1


@njit
def after_step(hf, lat, hd, p: int, t: int, mark: float) -> None:
    """End of the hedger market's step: closes booked, funding on the open shorts, unhedged time."""
    _absorb(hf, lat, hd, p, t)
    hd[p, H.FUNDING] += hf[HF.FUNDING_STEP] * (hd[p, H.V_QTY] + hd[p, H.OTHER_QTY]) * mark
    u = hd[p, H.SPOT_QTY] - hd[p, H.V_QTY] - hd[p, H.OTHER_QTY]
    if u > 1e-12 * hf[HF.SPOT0]:
        hd[p, H.UNHEDGED_STEPS] += 1.0
        hd[p, H.PEAK_UNHEDGED_USD] = max(hd[p, H.PEAK_UNHEDGED_USD], u * mark)


@njit
def finish(hf, hd, p: int, fin: float) -> None:
    """Mark what is open at the path's final mark and add the causes up."""
    spot = hd[p, H.SPOT_QTY]
    v = hd[p, H.V_QTY]
    other = hd[p, H.OTHER_QTY]
    hd[p, H.SPOT_MTM] = spot * (fin - hf[HF.PRICE0]) + hd[p, H.SPOT_SOLD]
    hd[p, H.PERP_MTM] = hd[p, H.PERP_CLOSED] + v * (hf[HF.ENTRY] - fin) + hd[p, H.OTHER_CASH] - other * fin
    tot = 0.0
    for k in range(H.TOTAL):
        tot += hd[p, k]
    hd[p, H.TOTAL] = tot
    hd[p, H.FINAL_PERP_QTY] = v
    hd[p, H.FINAL_OTHER_QTY] = other
    hd[p, H.FINAL_SPOT_QTY] = spot


__all__ = ["CAUSES", "H", "HF", "HI", "N_H", "N_RESULT", "NO_HEDGER_F", "NO_HEDGER_I", "NO_HEDGER_LAT", "Route", "after_step", "finish", "on_adl",
           "on_liq", "rehedge", "start"]
