"""Plain-Python twin of :mod:`defi_perps.engine.attack` (the curve, the push schedule, the unwind) and of
:mod:`defi_perps.engine.attack_vault` (a backstop vault holding and closing an inherited position).

Written independently of the kernel's helpers: distances by walking the bands, premiums by
summing band pieces, so a test comparing the two checks the kernel's arithmetic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from defi_perps.engine.attack import PushOutputs, PushPlan, SourceArrays
from defi_perps.engine.depth import MAX_DISTANCE


def _pieces(bx: list[float], bd: list[float]) -> list[tuple[float, float, float, float]]:
    """Linear pieces (d0, d1, x0, slope) of the band curve, the last extended to MAX_DISTANCE."""
    out, px, pd = [], 0.0, 0.0
    for x, d in zip(bx, bd):
        out.append((pd, d, px, (x - px) / (d - pd)))
        px, pd = x, d
    slope = bx[0] / bd[0] if len(bx) == 1 else (bx[-1] - bx[-2]) / (bd[-1] - bd[-2])
    cap = pd + (MAX_DISTANCE - px) / slope if px < MAX_DISTANCE else pd
    out.append((pd, cap, px, slope))
    return out


def distance(q: float, bx: list[float], bd: list[float]) -> float:
    if q <= 0:
        return 0.0
    for d0, d1, x0, c in _pieces(bx, bd):
        if q <= d1:
            return min(x0 + c * (q - d0), MAX_DISTANCE)
    return MAX_DISTANCE


def depth_within(x: float, bx: list[float], bd: list[float]) -> float:
    if x <= 0:
        return 0.0
    x = min(x, MAX_DISTANCE)
    pieces = _pieces(bx, bd)
    for d0, d1, x0, c in pieces[:-1]:
        if x <= x0 + c * (d1 - d0):
            return d0 + (x - x0) / c
    d0, _, x0, c = pieces[-1]
    return d0 + (x - x0) / c


def _integral(q: float, bx: list[float], bd: list[float], ask: bool) -> float:
    """∫₀^q f(x(u)) du with f = x/(1−x) (asks) or x (bids); x = MAX_DISTANCE past the curve."""
    total = 0.0
    for d0, d1, x0, c in _pieces(bx, bd):
        hi = min(q, d1)
        if hi > d0:
            du = hi - d0
            if ask:
                x1 = x0 + c * du
                total += (-math.log((1 - x1) / (1 - x0)) / c - du) if abs(c) >= 1e-300 else x0 / (1 - x0) * du
            else:
                total += du * (x0 + 0.5 * c * du)
        if q <= d1:
            return total
    last = _pieces(bx, bd)[-1][1]
    f = MAX_DISTANCE / (1 - MAX_DISTANCE) if ask else MAX_DISTANCE
    return total + f * (q - last)


def premium(s: float, bid_x: list[float], ask_x: list[float], bd: list[float]) -> float:
    return _integral(s, ask_x, bd, True) if s >= 0 else _integral(-s, bid_x, bd, False)


def offset(s: float, bid_x: list[float], ask_x: list[float], bd: list[float]) -> float:
    if s > 0:
        x = distance(s, ask_x, bd)
        return x / (1 - x)
    return -distance(-s, bid_x, bd) if s < 0 else 0.0


def coordinate(y: float, bid_x: list[float], ask_x: list[float], bd: list[float]) -> float:
    if y > 0:
        return depth_within(y / (1 + y), ask_x, bd)
    return -depth_within(-y, bid_x, bd) if y < 0 else 0.0


def push_sources(src: SourceArrays, plan: PushPlan, n_steps: int) -> PushOutputs:
    g_n, k_n = plan.target.shape
    curves = []
    for k in range(k_n):
        n = int(src.band_n[k])
        curves.append((list(src.bid_x[k, :n]), list(src.ask_x[k, :n]), list(src.band_d[k, :n])))
    ratio = np.ones((g_n, n_steps + 1, k_n))
    capital, prem_o, fee_o, bought_o, inv_o = (np.zeros(g_n) for _ in range(5))
    for g in range(g_n):
        s, inv = [0.0] * k_n, [0.0] * k_n
        prem = fees = gross = peak = 0.0
        push_end = int(plan.ramp[g] + plan.hold[g])
        unwind_end = push_end + int(plan.unwind[g])
        for t in range(1, n_steps + 1):
            s = [s[k] * (1.0 - src.arb[k]) for k in range(k_n)]
            for k in range(k_n):
                bx, ax, bd = curves[k]
                dq = 0.0
                if t <= push_end:
                    y = plan.target[g, k]
                    if y != 0.0:
                        dq = coordinate(y * min(1.0, t / plan.ramp[g]), bx, ax, bd) - s[k]
                        if (y > 0 and dq < 0) or (y < 0 and dq > 0):
                            dq = 0.0
                        if dq != 0.0 and plan.budget[g] < math.inf:
                            used = prem + fees + sum(abs(v) for v in inv)
                            room = max(plan.budget[g] - used, 0.0) / (1.0 + src.fee[k])
                            if abs(dq) > room:
                                dq = math.copysign(room, dq)
                        gross += abs(dq)
                elif t <= unwind_end:
                    dq = -inv[k] / (unwind_end - t + 1)
                if dq != 0.0:
                    prem += premium(s[k] + dq, bx, ax, bd) - premium(s[k], bx, ax, bd)
                    fees += src.fee[k] * abs(dq)
                    s[k] += dq
                    inv[k] += dq
                ratio[g, t, k] = 1.0 + offset(s[k], bx, ax, bd)
            peak = max(peak, prem + fees + sum(abs(v) for v in inv))
        capital[g], prem_o[g], fee_o[g], bought_o[g], inv_o[g] = peak, prem, fees, gross, sum(inv)
    return PushOutputs(ratio, capital, prem_o, fee_o, bought_o, inv_o)


def vault_holding(src: SourceArrays, plan: Any, mark: np.ndarray) -> Any:
    """Twin of :func:`defi_perps.engine.attack_vault.vault_holding` (the vault's takeover, marking and close)."""
    from defi_perps.engine.attack_vault import VaultOutputs

    g_n, t1 = mark.shape
    pnl = np.zeros((g_n, t1))
    loss, peak_o, slip_o, ext_o, held_o = (np.zeros(g_n) for _ in range(5))
    wiped = np.full(g_n, -1, np.int64)
    for g in range(g_n):
        k = int(plan.venue[g])
        n = int(src.band_n[k])
        bx, ax, bd = list(src.bid_x[k, :n]), list(src.ask_x[k, :n]), list(src.band_d[k, :n])
        side = float(plan.side[g])
        t0 = min(int(plan.start[g]), t1 - 1)
        m0 = float(mark[g, t0])
        qty = float(plan.notional[g]) / m0
        realised, s, slip, worst, peak = float(plan.kept[g]), 0.0, 0.0, 0.0, 0.0
        end = t0 + int(plan.unwind[g])
        for t in range(t0, t1):
            m = float(mark[g, t])
            if t0 < t <= end and qty > 0:
                s *= 1.0 - float(src.arb[k])
                dqty = qty / (end - t + 1)
                dq = -side * dqty * m
                cost = premium(s + dq, bx, ax, bd) - premium(s, bx, ax, bd) + float(src.fee[k]) * abs(dq)
                s += dq
                off = offset(s, bx, ax, bd)
                worst = off if side * off < side * worst else worst
                realised += side * dqty * (m - m0) - cost
                slip += cost
                qty -= dqty
            v = realised + side * qty * (m - m0)
            pnl[g, t] = v
            peak = max(peak, -v)
            if wiped[g] < 0 and -v >= float(plan.capital[g]):
                wiped[g] = t
        loss[g], peak_o[g], slip_o[g], ext_o[g], held_o[g] = -pnl[g, t1 - 1], peak, slip, worst, qty
    return VaultOutputs(pnl, loss, peak_o, slip_o, ext_o, held_o, wiped)
