"""numba helpers: the step loop's test "does any sorted segment of this market trigger now?" in O(1).

Each (market, side, tier) segment is sorted so that its next position to trigger is at the
segment's pointer ``ptr[g]``; its threshold is ``thr[ptr[g]] + s·w_g·Φ`` (``rules.py``: accrual
``Φ`` of the side shifts the whole segment). The exact test scans every segment of the market,
which on tiered venues is dozens of segments (Binance: 54 per market, most of them empty or
exhausted) on every market-step, while a trigger happens on a few hundred steps of a path.

:func:`scan` runs the exact test and, when nothing triggers, caches per side the extreme next
threshold (``nxt``: the highest long threshold, the lowest short one) at the side's accrual then
(``phr``) and the range ``[wlo, whi]`` of the segments' weights ``w``. Every later threshold is
``cached + s·w·(Φ − phr)``, so the highest long one is at most
``nxt[m, 0] + max(wlo·d, whi·d)`` and the lowest short one at least ``nxt[m, 1] − max(wlo·d, whi·d)``
with ``d = Φ − phr``: :func:`may_trigger` tests those two bounds, and only when a bound reaches
the price does the step loop rescan. The bound is widened by a relative 1e-12 (rounding), so it
only ever sends a step to the exact test, never skips a trigger: results are bit-identical to the
full scan. The cache stays valid while the pointers and thresholds stay where they were; the
step loop marks a market for a rescan (``dirty``) after every cascade, the only code that moves
a pointer (anything new that moves a pointer or a threshold must do the same).
"""

from __future__ import annotations

import math

from defi_perps.engine._jit import njit

_TOL = 1e-12


@njit(inline="always")
def scan(m: int, g_lo: int, g_hi: int, pre: float, phi0: float, phi1: float, thr, ptr, seg_start, seg_side, seg_w,
         nxt, phr, wlo, whi) -> bool:
    """The exact test over segments ``[g_lo, g_hi)`` of market ``m``; True if one triggers at ``pre``.
    When none does, the bounds' cache for ``m`` is rebuilt at this accrual."""
    hi0 = -math.inf
    lo1 = math.inf
    wl0 = math.inf
    wh0 = -math.inf
    wl1 = math.inf
    wh1 = -math.inf
    for g in range(g_lo, g_hi):
        j = ptr[g]
        if j < seg_start[g + 1]:
            s = seg_side[g]
            w = seg_w[g]
            if s > 0:
                th = thr[j] + s * w * phi0
                if th >= pre:
                    return True
                hi0 = max(hi0, th)
                wl0 = min(wl0, w)
                wh0 = max(wh0, w)
            else:
                th = thr[j] + s * w * phi1
                if th <= pre:
                    return True
                lo1 = min(lo1, th)
                wl1 = min(wl1, w)
                wh1 = max(wh1, w)
    if wl0 > wh0:   # no open long segment: the bound stays -inf whatever the accrual
        wl0 = 0.0
        wh0 = 0.0
    if wl1 > wh1:
        wl1 = 0.0
        wh1 = 0.0
    nxt[m, 0] = hi0
    nxt[m, 1] = lo1
    phr[m, 0] = phi0
    phr[m, 1] = phi1
    wlo[m, 0] = wl0
    whi[m, 0] = wh0
    wlo[m, 1] = wl1
    whi[m, 1] = wh1
    return False


@njit(inline="always")
def may_trigger(m: int, pre: float, phi0: float, phi1: float, nxt, phr, wlo, whi) -> bool:
    """False only when no segment of market ``m`` can trigger at ``pre`` (the cached bounds)."""
    d = phi0 - phr[m, 0]
    up = nxt[m, 0] + max(wlo[m, 0] * d, whi[m, 0] * d)
    if up > -math.inf and up >= pre - _TOL * (abs(pre) + abs(up)):
        return True
    d = phi1 - phr[m, 1]
    lo = nxt[m, 1] - max(wlo[m, 1] * d, whi[m, 1] * d)
    return lo < math.inf and lo <= pre + _TOL * (abs(pre) + abs(lo))
