"""Reference venues and the attacker's spot pushes (numba stage; twin: :mod:`.attack_reference`).

A market's oracle sources are venues with their own depth curves (``DEPTH_BANDS`` from
:mod:`defi_perps.engine.depth`: cumulative USD at band distances, linear in between, the last
band's slope beyond). Each source's state is one number, its **curve coordinate** ``s``: the net
USD (at the fair price) that the book has absorbed since it was at fair (``s > 0``: asks taken,
price above fair). Its price is ``fair·(1 + offset(s))`` with

* bids (``s < 0``): ``offset = −x`` where ``x = walk_distance(|s|)`` (depth.py, ≤ 99 %);
* asks (``s > 0``): ``offset = x/(1 − x)`` on bands whose distances were mapped ``y → y/(1+y)``:
  the same band depths at the same prices, but an ask-side walk can exceed +100 % (MNGO rose
  ~+1,300–2,300 %, incidents.md §2.1 row 5) while ``x`` stays below depth.py's cap.

Trading ``dq`` USD (``> 0`` buy) at coordinate ``s`` costs the **premium** ``P(s + dq) − P(s)``
beyond fair value, ``P(s) = ∫₀ˢ offset(u) du`` (bids: depth.py's ``walk_integral``; asks: the
closed form of ``∫ x/(1−x) du`` on each linear band piece), plus ``fee·|dq|``. Selling back into a
pushed book earns premium back; selling below fair costs it — the unwind loss.

Each step: arbitrageurs pull every source back, ``s ← s·(1 − arb)`` (``arb`` = fraction of the
displacement removed per step, from a half-life); then the attacker trades. Push phase
(``ramp + hold`` steps): buy (or sell) what brings each source to ``target·min(1, t/ramp)``
(signed fraction), never trading against the push, within the spot ``budget``; unwind phase
(``unwind`` steps): sell the inventory back in equal slices. The perp leg, caps and who pays are
arithmetic on these outputs in :mod:`defi_perps.runs.attack`; the venue's oracle is the
aggregation of the moved source prices (:mod:`defi_perps.engine.oracles`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from defi_perps.engine._jit import njit, prange
from defi_perps.engine.depth import (
    DEPTH_BANDS,
    MAX_DISTANCE,
    walk_distance,
    walk_integral,
)


class SourceArrays(NamedTuple):
    """K reference venues of one market (bands padded to B columns)."""

    bid_x: np.ndarray      # float64[K, B] band distances (fractions below mid)
    ask_x: np.ndarray      # float64[K, B] ask band distances mapped y → y/(1+y)
    band_d: np.ndarray     # float64[K, B] cumulative USD depth at each band (both sides)
    band_n: np.ndarray     # int64[K]
    fee: np.ndarray        # float64[K] taker fee
    arb: np.ndarray        # float64[K] fraction of a displacement arbitraged away per step
    weight: np.ndarray     # float64[K] weight in the oracle


class PushPlan(NamedTuple):
    """G push schedules on the same sources."""

    target: np.ndarray     # float64[G, K] signed target displacement per source (0: left alone)
    budget: np.ndarray     # float64[G] spot capital cap, USD (inf: none)
    ramp: np.ndarray       # int64[G] steps to reach the target (>= 1)
    hold: np.ndarray       # int64[G] steps held at the target after the ramp
    unwind: np.ndarray     # int64[G] steps to sell the inventory back (0: kept, valued at fair)


class PushOutputs(NamedTuple):
    ratio: np.ndarray      # float64[G, T + 1, K] source price / fair
    capital: np.ndarray    # float64[G] peak capital deployed (|inventory| + premium + fees)
    premium: np.ndarray    # float64[G] net premium paid beyond fair value
    fees: np.ndarray       # float64[G]
    bought: np.ndarray     # float64[G] gross USD traded in the push phase
    inventory: np.ndarray  # float64[G] inventory left at the end (fair USD, signed)


def make_sources(bands: list[list[float]], depth_usd: list[list[float]], fee: list[float], arb: list[float],
                 weight: list[float]) -> SourceArrays:
    """Pack K venues' band curves (distances as fractions, cumulative USD depth, both increasing)."""
    k_n = len(bands)
    b_n = max(len(b) for b in bands)
    bid_x = np.ones((k_n, b_n))
    ask_x = np.ones((k_n, b_n))
    band_d = np.ones((k_n, b_n))
    for k in range(k_n):
        y = np.asarray(bands[k], np.float64)
        d = np.asarray(depth_usd[k], np.float64)
        n = y.size
        bid_x[k, :n] = y
        ask_x[k, :n] = y / (1.0 + y)
        band_d[k, :n] = d
        bid_x[k, n:] = y[-1]
        ask_x[k, n:] = y[-1] / (1.0 + y[-1])
        band_d[k, n:] = d[-1]
    return SourceArrays(bid_x=bid_x, ask_x=ask_x, band_d=band_d,
                        band_n=np.array([len(b) for b in bands], np.int64),
                        fee=np.asarray(fee, np.float64), arb=np.asarray(arb, np.float64),
                        weight=np.asarray(weight, np.float64))


def make_plan(target: np.ndarray, budget: np.ndarray | float = math.inf, ramp: np.ndarray | int = 1,
              hold: np.ndarray | int = 0, unwind: np.ndarray | int = 1) -> PushPlan:
    target = np.ascontiguousarray(np.atleast_2d(target), np.float64)
    g = target.shape[0]

    def ints(v: np.ndarray | int) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.int64), (g,)))

    return PushPlan(target=target, budget=np.ascontiguousarray(np.broadcast_to(np.asarray(budget, np.float64), (g,))),
                    ramp=np.maximum(ints(ramp), 1), hold=ints(hold), unwind=ints(unwind))


def arb_per_step(half_life_steps: float) -> float:
    """Fraction of a displacement removed per step for an arbitrage half-life (inf → none)."""
    if not half_life_steps > 0:
        return 1.0
    if math.isinf(half_life_steps):
        return 0.0
    return 1.0 - 0.5 ** (1.0 / half_life_steps)


@njit(inline="always")
def _tail_slope(bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """Distance per USD beyond the last band: the last band's slope (as depth.py extends it)."""
    if nb == 1:
        return bx[0] / bd[0]
    return (bx[nb - 1] - bx[nb - 2]) / (bd[nb - 1] - bd[nb - 2])


@njit(inline="always")
def depth_at(x: float, bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """Cumulative depth (USD) within distance ``x`` on a band curve: the inverse of walk_distance."""
    if x <= 0.0:
        return 0.0
    prev_x = 0.0
    prev_d = 0.0
    for j in range(nb):
        if x <= bx[j]:
            return prev_d + (x - prev_x) * (bd[j] - prev_d) / (bx[j] - prev_x)
        prev_x = bx[j]
        prev_d = bd[j]
    slope = _tail_slope(bx, bd, nb)
    x = min(x, MAX_DISTANCE)
    return bd[nb - 1] + (x - bx[nb - 1]) / slope


@njit(inline="always")
def _piece(u_a: float, u_b: float, x_a: float, c: float) -> float:
    """∫ x/(1−x) du over [u_a, u_b] where x = x_a + c·(u − u_a)."""
    du = u_b - u_a
    if du <= 0.0:
        return 0.0
    if abs(c) < 1e-300:
        return x_a / (1.0 - x_a) * du
    x_b = x_a + c * du
    return -math.log((1.0 - x_b) / (1.0 - x_a)) / c - du


@njit(inline="always")
def ask_premium(s: float, bx: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """``∫₀ˢ x/(1−x) du`` on the ask bands (s ≥ 0): premium of buying s USD from fair."""
    total = 0.0
    prev_x = 0.0
    prev_d = 0.0
    for j in range(nb):
        c = (bx[j] - prev_x) / (bd[j] - prev_d)
        if s <= bd[j]:
            return total + _piece(prev_d, s, prev_x, c)
        total += _piece(prev_d, bd[j], prev_x, c)
        prev_x = bx[j]
        prev_d = bd[j]
    slope = _tail_slope(bx, bd, nb)
    d_cap = prev_d + (MAX_DISTANCE - prev_x) / slope if prev_x < MAX_DISTANCE else prev_d
    if s <= d_cap:
        return total + _piece(prev_d, s, prev_x, slope)
    total += _piece(prev_d, d_cap, prev_x, slope)
    return total + MAX_DISTANCE / (1.0 - MAX_DISTANCE) * (s - d_cap)


@njit(inline="always")
def premium_at(s: float, bid_x: np.ndarray, ask_x: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """``P(s) = ∫₀ˢ offset(u) du`` (both sides; ≥ 0)."""
    if s >= 0.0:
        return ask_premium(s, ask_x, bd, nb)
    return walk_integral(-s, DEPTH_BANDS, 1.0, 1.0, bid_x, bd, nb)


@njit(inline="always")
def offset_at(s: float, bid_x: np.ndarray, ask_x: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """Price / fair − 1 at curve coordinate ``s``."""
    if s > 0.0:
        x = walk_distance(s, DEPTH_BANDS, 1.0, 1.0, ask_x, bd, nb)
        return x / (1.0 - x)
    if s < 0.0:
        return -walk_distance(-s, DEPTH_BANDS, 1.0, 1.0, bid_x, bd, nb)
    return 0.0


@njit(inline="always")
def coordinate_for(y: float, bid_x: np.ndarray, ask_x: np.ndarray, bd: np.ndarray, nb: int) -> float:
    """Curve coordinate at which the price is ``fair·(1 + y)``."""
    if y > 0.0:
        return depth_at(y / (1.0 + y), ask_x, bd, nb)
    if y < 0.0:
        return -depth_at(-y, bid_x, bd, nb)
    return 0.0


@njit(parallel=True)
def push_sources(src: SourceArrays, plan: PushPlan, n_steps: int) -> PushOutputs:
    """Run every schedule of ``plan`` for ``n_steps`` steps on the sources (prange over schedules)."""
    bid_x = src.bid_x
    ask_x = src.ask_x
    band_d = src.band_d
    band_n = src.band_n
    fee = src.fee
    arb = src.arb
    target = plan.target
    budget = plan.budget
    ramp = plan.ramp
    hold = plan.hold
    unwind = plan.unwind
    g_n, k_n = target.shape
    ratio = np.ones((g_n, n_steps + 1, k_n))
    capital = np.zeros(g_n)
    premium = np.zeros(g_n)
    fees = np.zeros(g_n)
    bought = np.zeros(g_n)
    inventory = np.zeros(g_n)
    for g in prange(g_n):
        s = np.zeros(k_n)
        inv = np.zeros(k_n)
        prem = 0.0
        fee_sum = 0.0
        gross = 0.0
        peak = 0.0
        push_end = ramp[g] + hold[g]
        unwind_end = push_end + unwind[g]
        for t in range(1, n_steps + 1):
            for k in range(k_n):
                s[k] *= 1.0 - arb[k]
            for k in range(k_n):
                bx = bid_x[k]
                ax = ask_x[k]
                bd = band_d[k]
                nb = band_n[k]
                dq = 0.0
                if t <= push_end:
                    y = target[g, k]
                    if y != 0.0:
                        goal = coordinate_for(y * min(1.0, t / ramp[g]), bx, ax, bd, nb)
                        dq = goal - s[k]
                        if (y > 0.0 and dq < 0.0) or (y < 0.0 and dq > 0.0):
                            dq = 0.0
                        if dq != 0.0 and budget[g] < math.inf:
                            used = prem + fee_sum
                            for i in range(k_n):
                                used += abs(inv[i])
                            room = max(budget[g] - used, 0.0) / (1.0 + fee[k])
                            if abs(dq) > room:
                                dq = math.copysign(room, dq)
                        gross += abs(dq)
                elif t <= unwind_end:
                    dq = -inv[k] / (unwind_end - t + 1)
                if dq != 0.0:
                    prem += premium_at(s[k] + dq, bx, ax, bd, nb) - premium_at(s[k], bx, ax, bd, nb)
                    fee_sum += fee[k] * abs(dq)
                    s[k] += dq
                    inv[k] += dq
                ratio[g, t, k] = 1.0 + offset_at(s[k], bx, ax, bd, nb)
            used = prem + fee_sum
            for i in range(k_n):
                used += abs(inv[i])
            peak = max(peak, used)
        capital[g] = peak
        premium[g] = prem
        fees[g] = fee_sum
        bought[g] = gross
        left = 0.0
        for i in range(k_n):
            left += inv[i]
        inventory[g] = left
    return PushOutputs(ratio, capital, premium, fees, bought, inventory)


__all__ = [
    "PushOutputs",
    "PushPlan",
    "SourceArrays",
    "arb_per_step",
    "ask_premium",
    "coordinate_for",
    "depth_at",
    "make_plan",
    "make_sources",
    "offset_at",
    "premium_at",
    "push_sources",
]
