"""numba rules of liquidity that withdraws: the market makers' quoted depth as state of the path.

Called from :mod:`defi_perps.engine.nb` (mirrored in :mod:`defi_perps.engine.reference`) only when
withdrawal is on (``mk.wd_par[WD_ON] > 0``). Parameters and their sources:
``defi_perps/engine/withdrawal.toml`` (loaded by :mod:`defi_perps.engine.liquidity`).

Per market ``m`` the makers quote a fraction ``w`` (0 < ``w_min`` ≤ ``w`` ≤ 1) of their normal depth.
Band ``b`` (distance ``x_b`` from mid) holds ``w ** e_b`` of its depth, ``e_b = min(1, (x_ref/x_b)^γ)``:
quotes near the mid go first, wide bands stay bid (Kaiko, incidents.md §1.5). This multiplies the
scenario's depth schedule. After each step's mark is known the makers update ``w`` for the next:

* realised volatility: ``v ← λ·v + (1 − λ)·r²`` with ``r`` the step's log change of the mark
  (``v`` starts at the normal variance ``σ_ref²``), ratio ``ρ_v = √v / σ_ref``;
* drawdown: makers take the other side of the step's liquidation flow ``q`` (USD, signed, walked
  at the step's pre-trade price ``P``): inventory ``−q/P`` tokens for cash ``q + I`` (``I`` the
  walk's slippage integral, so they buy below ``P``), unwind ``u`` of the inventory per step at the
  mark; P&L ``π = inventory·mark + cash``; drawdown ``d = (π̂ − π)/K`` against a high-water mark
  ``π̂`` that forgets at the recovery rate (``π̂ ← max(π, π̂ − ρ(π̂ − π))``) and the makers' capital
  ``K`` (``capital_multiple`` × the market's full-curve depth);
* pressure ``Π = k_vol·max(0, ρ_v − free_ratio) + k_dd·d``; target ``τ = exp(−Π)``;
* ADL against makers (their profitable, low-leverage hedges are what the queue hits, incidents.md
  §1.3): the step's ADL notional ``A`` on the market multiplies depth by ``exp(−k_adl·A/K)``;
* ``w ← max(w_min, min(w + ρ(1 − w), τ) · exp(−k_adl·A/K))``: depth falls at once to the target
  and recovers towards 1 at the rate ``ρ`` per step.

A single vol spike with ``λ = 0`` therefore takes ``w`` to ``exp(−k_vol(|r|/σ_ref − free_ratio))`` and
``1 − w`` then shrinks by ``(1 − ρ)`` per step (tests/liquidity/test_mechanics.py).

State per path: ``ls`` float64[M, N_LS] (columns below).
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine._jit import njit

# wd_par indices (MarketArrays.wd_par; built by engine/liquidity.py)
WD_ON, WD_LAMBDA, WD_SIGMA_REF, WD_FREE, WD_K_VOL, WD_K_DD, WD_K_ADL, WD_RECOVERY, WD_MIN, WD_UNWIND, WD_THIN = range(11)
N_WD_PAR = 11
# ls columns
LS_W, LS_VAR, LS_INV, LS_CASH, LS_PEAK, LS_PREV, LS_ADL = range(7)
N_LS = 7


@njit
def liquidity_state(price0, wd_par):
    """A fresh path's maker state: full depth, normal variance, no inventory."""
    n_m = price0.size
    ls = np.zeros((n_m, N_LS))
    for m in range(n_m):
        ls[m, LS_W] = 1.0
        ls[m, LS_VAR] = wd_par[WD_SIGMA_REF] * wd_par[WD_SIGMA_REF]
        ls[m, LS_PREV] = price0[m]
    return ls


@njit
def band_depth_now(band_now, band_d, sched, t: int, m: int, ls, wd_exp, wd_on: bool) -> None:
    """Market ``m``'s band depth at step ``t``: the static curve × the schedule's row × the makers'
    withdrawal ``w ** e_b``."""
    n_rows = sched.shape[0]
    row = t if t < n_rows else n_rows - 1
    w = ls[m, LS_W] if wd_on else 1.0
    for b in range(band_d.shape[1]):
        f = sched[row, b] if n_rows > 1 else 1.0
        if wd_on and w < 1.0:
            f *= w ** wd_exp[m, b]
        band_now[m, b] = band_d[m, b] * f


@njit
def liquidity_update(ls, m: int, mark: float, pre: float, q: float, integ: float, adl_total: float, wd_par,
                     cap: float) -> float:
    """The makers' reaction to step's outcome (see the module docstring); returns the new ``w``."""
    r = math.log(mark / ls[m, LS_PREV])
    ls[m, LS_PREV] = mark
    lam = wd_par[WD_LAMBDA]
    v = lam * ls[m, LS_VAR] + (1.0 - lam) * r * r
    ls[m, LS_VAR] = v
    ratio = math.sqrt(v) / wd_par[WD_SIGMA_REF]
    # inventory from the liquidation flow, marked at the mark; a share unwound at the mark
    if q != 0.0:
        ls[m, LS_INV] += -q / pre
        ls[m, LS_CASH] += q + integ
    u = wd_par[WD_UNWIND]
    inv = ls[m, LS_INV]
    if u > 0.0 and inv != 0.0:
        ls[m, LS_CASH] += u * inv * mark
        ls[m, LS_INV] = inv - u * inv
    pnl = ls[m, LS_INV] * mark + ls[m, LS_CASH]
    rho = wd_par[WD_RECOVERY]
    peak = ls[m, LS_PEAK]
    peak = max(pnl, peak - rho * (peak - pnl))
    ls[m, LS_PEAK] = peak
    dd = (peak - pnl) / cap
    pressure = wd_par[WD_K_VOL] * max(0.0, ratio - wd_par[WD_FREE]) + wd_par[WD_K_DD] * dd
    target = math.exp(-pressure)
    a = adl_total - ls[m, LS_ADL]
    ls[m, LS_ADL] = adl_total
    w = ls[m, LS_W]
    w = min(w + rho * (1.0 - w), target)
    if a > 0.0:
        w *= math.exp(-wd_par[WD_K_ADL] * a / cap)
    w = max(w, wd_par[WD_MIN])
    ls[m, LS_W] = w
    return w
