"""Liquidity depth curves and the price impact of market orders walking them.

A market's depth is ``D(x)``: the USD notional resting within fractional distance ``x`` of mid on
one side of the book (symmetric for bids and asks). A market order of ``Q`` USD walks the book to
``x = D⁻¹(Q)``; its average fill is at distance ``I(Q)/Q`` with ``I(Q) = ∫₀^Q D⁻¹(u) du``.

Curve kinds (per market):

* ``DEPTH_LINEAR``: ``D = k·x`` → ``x = Q/k``, ``I = Q²/(2k)``;
* ``DEPTH_POWER``: ``D = k·x^a`` → ``x = (Q/k)^(1/a)``, ``I = Q·x·a/(a+1)``;
* ``DEPTH_BANDS``: cumulative depth at band distances (e.g. ±0.5/1/2/5/10 %, the bands Kaiko
  reports, incidents.md §1.5), linear in between, the last band's slope beyond it.

``stress`` multiplies depth (0.02 = market makers withdraw 98 % of depth, incidents.md §1.5).
Distances are capped at ``MAX_DISTANCE`` so a price never reaches zero.
The impact of a step's flow splits into a permanent part (``permanent_fraction``) and a transient
part that decays geometrically with ``transient_half_life_steps`` (market parameters in
:class:`~defi_perps.engine.inputs.DepthSpec`).
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine._jit import njit

DEPTH_LINEAR = 0
DEPTH_POWER = 1
DEPTH_BANDS = 2
MAX_DISTANCE = 0.99
DEFAULT_BANDS = (0.005, 0.01, 0.02, 0.05, 0.10)


@njit
def walk_distance(q: float, kind: int, k: float, a: float, bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """Fractional distance from mid reached by a market order of ``q`` ≥ 0 USD."""
    if q <= 0.0:
        return 0.0
    if kind == DEPTH_LINEAR:
        x = q / k
    elif kind == DEPTH_POWER:
        x = (q / k) ** (1.0 / a)
    else:
        x = 0.0
        prev_x = 0.0
        prev_d = 0.0
        found = False
        for j in range(nb):
            if q <= bd[j]:
                x = prev_x + (q - prev_d) * (bx[j] - prev_x) / (bd[j] - prev_d)
                found = True
                break
            prev_x = bx[j]
            prev_d = bd[j]
        if not found:
            # beyond the last band: continue with the last band's slope
            if nb == 1:
                slope = bx[0] / bd[0]
            else:
                slope = (bx[nb - 1] - bx[nb - 2]) / (bd[nb - 1] - bd[nb - 2])
            x = bx[nb - 1] + (q - bd[nb - 1]) * slope
    return min(x, MAX_DISTANCE)


@njit
def curve_end_depth(kind: int, k: float, a: float, bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """USD a market order can fill before its walk reaches the curve's end (``MAX_DISTANCE`` from
    mid): the inverse of :func:`walk_distance` at ``MAX_DISTANCE``. An order beyond it walks past
    the end of the depth curve (nb.py counts those steps as ``depth_capped``); Hyperliquid's
    backstop takes what a liquidation order cannot fill there (rules.py, ``backstop_mm_fraction``)."""
    if kind == DEPTH_LINEAR:
        return k * MAX_DISTANCE
    if kind == DEPTH_POWER:
        return k * MAX_DISTANCE ** a
    prev_x = 0.0
    prev_d = 0.0
    for j in range(nb):
        if bx[j] >= MAX_DISTANCE:
            return prev_d + (MAX_DISTANCE - prev_x) * (bd[j] - prev_d) / (bx[j] - prev_x)
        prev_x = bx[j]
        prev_d = bd[j]
    # beyond the last band: the last band's slope, as walk_distance extends it
    if nb == 1:
        slope = bx[0] / bd[0]
    else:
        slope = (bx[nb - 1] - bx[nb - 2]) / (bd[nb - 1] - bd[nb - 2])
    return bd[nb - 1] + (MAX_DISTANCE - bx[nb - 1]) / slope


@njit
def walk_integral(q: float, kind: int, k: float, a: float, bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """``∫₀^q distance(u) du`` (USD × fraction): the total slippage cost of walking ``q`` USD."""
    if q <= 0.0:
        return 0.0
    if kind == DEPTH_LINEAR:
        x = q / k
        if x <= MAX_DISTANCE:
            return 0.5 * q * x
        qc = MAX_DISTANCE * k
        return 0.5 * qc * MAX_DISTANCE + (q - qc) * MAX_DISTANCE
    if kind == DEPTH_POWER:
        x = (q / k) ** (1.0 / a)
        if x <= MAX_DISTANCE:
            return q * x * a / (a + 1.0)
        qc = k * MAX_DISTANCE ** a
        return qc * MAX_DISTANCE * a / (a + 1.0) + (q - qc) * MAX_DISTANCE
    # bands: sum trapezoids of distance over depth
    total = 0.0
    prev_x = 0.0
    prev_d = 0.0
    for j in range(nb + 1):
        if j < nb:
            nx = bx[j]
            nd = bd[j]
        else:
            if nb == 1:
                slope = bx[0] / bd[0]
            else:
                slope = (bx[nb - 1] - bx[nb - 2]) / (bd[nb - 1] - bd[nb - 2])
            nd = prev_d + (MAX_DISTANCE - prev_x) / slope if prev_x < MAX_DISTANCE else prev_d
            nx = MAX_DISTANCE
        if nx > MAX_DISTANCE:
            nd = prev_d + (MAX_DISTANCE - prev_x) * (nd - prev_d) / (nx - prev_x)
            nx = MAX_DISTANCE
        if q <= nd:
            xq = prev_x + (q - prev_d) * (nx - prev_x) / (nd - prev_d) if nd > prev_d else nx
            return total + 0.5 * (prev_x + xq) * (q - prev_d)
        total += 0.5 * (prev_x + nx) * (nd - prev_d)
        prev_x = nx
        prev_d = nd
        if nx >= MAX_DISTANCE:
            break
    return total + (q - prev_d) * MAX_DISTANCE


def decay_per_step(half_life_steps: float) -> float:
    """Per-step multiplier of the transient impact for a half-life in steps (0 → no transient)."""
    if half_life_steps <= 0 or not math.isfinite(half_life_steps):
        return 0.0 if half_life_steps <= 0 else 1.0
    return 0.5 ** (1.0 / half_life_steps)
