"""numba kernel: Monte Carlo of liquidation cascades, O(paths × (steps + positions)).

Only NumPy arrays, NamedTuples of arrays and scalars go in (see ``inputs.py``); outputs are
preallocated by :mod:`defi_perps.engine.api` (``Outputs``) and filled row by row, one row per
path, so ``prange`` iterations never share memory. Each path draws from its own SplitMix64
stream (``rng.py``): results are bit-for-bit reproducible for a seed and a thread count, and in
practice independent of the thread count (no cross-path reduction happens inside the kernel).

Units: float64 USD, USD per index token, index tokens; rates are fractions (see ``rules.py``).

One path, one step, one market:

1. exogenous price ``X``: GBM + common jump + GARCH(1,1), factor-correlated, times the
   deterministic base path (shock/replay); mark ``= X·exp(permanent + transient impact)``;
2. funding/borrowing accrues per token (``Φ``), shifting each segment's thresholds uniformly;
3. cascade fixed point (≤ ``max_cascade_iterations``): a pointer per segment sweeps the sorted
   thresholds to find newly liquidatable positions at the current mark (pending partial slices
   are checked too), their closing flow walks the depth from the step's cumulative flow, the mark
   moves, repeat until nothing new triggers. Positions close at the iteration's average fill
   (book), at the oracle price less capped protocol impact (oracle), or at mark (backstop);
4. loss beyond collateral → bad debt → ADL (negative equity) / insurance fund / pool / broker →
   ADL (fund exhausted) → residual shortfall recorded for the ADL hook;
5. the step's impact splits into permanent and transient parts; pnl-to-pool ADL is checked.

Roundoff: totals are sums of many float64 terms in sweep order; the plain-Python twin
(``reference.py``) visits positions in the same order (the kernel adds liquidated notional per
cascade iteration, the twin per position), and tests compare the two to a relative 1e-9.

Speed notes (measured, see ``benchmarks/engine.py``): the helpers are ``inline="always"``; the
arrays inside the NamedTuples are unpacked into locals once per call, because reading
``pos.qty[j]`` or binding ``out`` to an inlined call inside a hot loop costs an atomic refcount per
array; a step whose next thresholds are not crossed skips the cascade entirely.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from defi_perps.engine._jit import njit, prange
from defi_perps.engine.depth import walk_distance, walk_integral
from defi_perps.engine.exogenous import exog_step
from defi_perps.engine.rng import path_state

# indices into the per-path scalar array ``Outputs.scalars``
ST_INSURANCE = 0        # insurance fund balance (final)
ST_INSURANCE_MIN = 1
ST_BAD_DEBT = 2         # total loss beyond collateral
ST_INSURANCE_PAID = 3   # bad debt paid by the insurance fund
ST_POOL_PAID = 4        # bad debt borne by the pool (LPs)
ST_BROKER_PAID = 5      # bad debt borne by a B-book broker
ST_SHORTFALL = 6        # residual shortfall handed to the ADL hook (not absorbed, not ADL'd)
ST_FEE_INSURANCE = 7
ST_FEE_POOL = 8
ST_FEE_VENUE = 9
ST_BACKSTOP_GAIN = 10   # equity kept by the backstop vault
ST_NONCONVERGED = 11    # steps whose cascade hit max_cascade_iterations
ST_ADL_COVERED = 12     # bad debt covered by ADL haircuts
ST_POOL_PNL = 13        # pool's realised gain from liquidated traders (oracle venues) minus ADL payouts
ST_ITERATIONS = 14      # cascade iterations that liquidated something (cost diagnostics)
N_SCALARS = 15

# event kinds
EV_ADL_BANKRUPT = 1     # opposite side deleveraged against bankrupt positions
EV_ADL_PNL_FACTOR = 2   # side reduced because pnl-to-pool exceeded its maximum
EV_SHORTFALL = 3        # unabsorbed shortfall recorded (no ADL could cover it)

event_dt = np.dtype([("step", np.int32), ("market", np.int16), ("side", np.int8), ("kind", np.int8),
                     ("notional", np.float64), ("haircut", np.float64), ("shortfall", np.float64),
                     # for account-level ADL hooks (defi_perps.venues.adl_hook): index tokens closed, fill
                     # price, mark at the event, fraction of the side's open size closed, and the market's
                     # mark extremes so far (which positions the cascade had already liquidated)
                     ("qty", np.float64), ("price", np.float64), ("mark", np.float64), ("fraction", np.float64),
                     ("mark_lo", np.float64), ("mark_hi", np.float64)], align=True)


class Outputs(NamedTuple):
    liq_count: np.ndarray          # int64[P, M, 2] liquidation events (a partial slice counts once)
    liq_notional: np.ndarray       # float64[P, M, 2] notional closed by liquidations, at fill price
    backstop_notional: np.ndarray  # float64[P, M, 2]
    adl_count: np.ndarray          # int64[P, M, 2] (side = the side deleveraged)
    adl_notional: np.ndarray       # float64[P, M, 2]
    adl_haircut: np.ndarray        # float64[P, M, 2] profit taken from the deleveraged side
    bad_debt: np.ndarray           # float64[P, M]
    min_mark: np.ndarray           # float64[P, M]
    max_mark: np.ndarray           # float64[P, M]
    final_mark: np.ndarray         # float64[P, M]
    min_exog: np.ndarray           # float64[P, M]
    max_exog: np.ndarray           # float64[P, M]
    final_exog: np.ndarray         # float64[P, M]
    scalars: np.ndarray            # float64[P, N_SCALARS]
    insurance_path: np.ndarray     # float64[P, R] fund balance every ``record_every`` steps
    events: np.ndarray             # event_dt[P, E] first E ADL/shortfall events of each path
    n_events: np.ndarray           # int64[P] all events (may exceed E)
    det_liq_notional: np.ndarray   # float64[D, T, M, 2] per-step detail for the first D paths
    det_liq_count: np.ndarray      # int64[D, T, M, 2]
    det_mark: np.ndarray           # float64[D, T + 1, M]
    det_exog: np.ndarray           # float64[D, T + 1, M]


@njit(inline="always")
def _signed_distance(q: float, kind: int, k: float, a: float, bx, bd, nb_: int) -> float:
    d = walk_distance(abs(q), kind, k, a, bx, bd, nb_)
    return d if q >= 0.0 else -d


@njit(inline="always")
def _integral(q: float, kind: int, k: float, a: float, bx, bd, nb_: int) -> float:
    return walk_integral(abs(q), kind, k, a, bx, bd, nb_)


@njit
def _record_event(out, p: int, t: int, m: int, si: int, kind: int, notional: float, haircut: float,
                  shortfall: float, qty: float, price: float, mark: float, fraction: float) -> None:
    k = out.n_events[p]
    if k < out.events.shape[1]:
        ev = out.events[p, k]
        ev["step"] = t
        ev["market"] = m
        ev["side"] = 1 if si == 0 else -1
        ev["kind"] = kind
        ev["notional"] = notional
        ev["haircut"] = haircut
        ev["shortfall"] = shortfall
        ev["qty"] = qty
        ev["price"] = price
        ev["mark"] = mark
        ev["fraction"] = fraction
        ev["mark_lo"] = min(out.min_mark[p, m], mark)
        ev["mark_hi"] = max(out.max_mark[p, m], mark)
    out.n_events[p] = k + 1


@njit
def _adl_bankrupt(rules, out, p: int, t: int, m: int, o: int, q_adl: float, resid: float, mark: float,
                  prev_mark: float, scale, oi_q, oi_e, st) -> float:
    """Deleverage side ``o`` of market ``m`` against ``q_adl`` bankrupt tokens; return what remains."""
    if oi_q[m, o] <= 0.0 or q_adl <= 0.0:
        return resid
    qa = min(q_adl, oi_q[m, o])
    f = qa / oi_q[m, o]
    so = 1.0 if o == 0 else -1.0
    if rules.adl_fill == 0:      # bankruptcy price: the haircut covers the shortfall exactly
        lost = resid
        fill = mark - so * lost / qa
    elif rules.adl_fill == 1:    # mark: no haircut
        lost = 0.0
        fill = mark
    else:                        # previous mark
        fill = prev_mark
        lost = so * qa * (mark - fill)
    gain = max(lost, 0.0)
    cover = min(gain, resid)
    st[ST_INSURANCE] += gain - cover   # a haircut beyond the shortfall stays with the venue's fund
    st[ST_ADL_COVERED] += cover
    resid -= cover
    scale[m, o] *= 1.0 - f
    oi_q[m, o] *= 1.0 - f
    oi_e[m, o] *= 1.0 - f
    out.adl_count[p, m, o] += 1
    out.adl_notional[p, m, o] += qa * fill
    out.adl_haircut[p, m, o] += lost
    _record_event(out, p, t, m, o, 1, qa * fill, lost, resid, qa, fill, mark, f)
    return resid


@njit(inline="always")
def _position_state(q: float, e: float, cu: float, ct: float, seg_mark: int, rate: float, amount: float, s: float,
                    sc: float, rem: float, mark: float, phi_ms: float, fee_trig: float, min_coll: float) -> tuple:
    """Equity and maintenance at ``mark`` of the remaining fraction of a position (trigger terms)."""
    frac = sc * rem
    eq = frac * (cu + ct * mark + s * q * (mark - e) - fee_trig * q * e - phi_ms * q)
    if seg_mark == 1:
        mm = frac * (rate * q * mark - amount)
    else:
        mm = frac * rate * q * e
    mm = max(mm, frac * min_coll)
    return eq, mm


@njit(inline="always")
def _first_slice(q: float, e: float, cu: float, ct: float, seg_mark: int, rate: float, amount: float, s: float,
                 sc: float, mark: float, phi_ms: float, fee_trig: float, min_coll: float, use_backstop: bool,
                 backstop_fraction: float, partial_min: float, partial_fraction: float, free_slots: int) -> tuple:
    """How a position that has just triggered is closed: (to the backstop?, fraction closed now).

    Pass 1 (flow into the book) and pass 2 (execution) of a cascade round must take the same
    decision for the same position, so both call this. Scalars only: no arrays cross the call.
    """
    backstop = False
    if use_backstop:
        eq, mm = _position_state(q, e, cu, ct, seg_mark, rate, amount, s, sc, 1.0, mark, phi_ms, fee_trig, min_coll)
        backstop = eq < backstop_fraction * mm
    sl = 1.0
    if not backstop and q * sc * mark > partial_min and partial_fraction < 1.0 and free_slots > 0:
        sl = partial_fraction
    return backstop, sl


@njit(inline="always")
def _cascade(p: int, t: int, m: int, pre: float, prev_mark: float, pos, mk, rules, ptr, it_lo,
             pend_idx, pend_seg, pend_rem, pend_next, pend_n, pend_hit, scale, oi_q, oi_e, pool_tok,
             pool_usd, phi, st, out, det_row: int, fs, ints) -> float:
    # unpack once: reading arrays out of the NamedTuples inside the loops costs a refcount per access
    thr_ = pos.thr
    qty_ = pos.qty
    entry_ = pos.entry
    cu_ = pos.coll_usd
    ct_ = pos.coll_tok
    seg_start = pos.seg_start
    seg_side = pos.seg_side
    seg_w = pos.seg_w
    seg_mark = pos.seg_mark
    seg_rate = pos.seg_rate
    seg_amount = pos.seg_amount
    fee_trig = mk.close_fee_in_trigger[m]
    min_coll = mk.min_coll[m]
    close_fee = mk.close_fee[m]
    liq_fee = mk.liq_fee[m]
    impact_cap = mk.impact_cap[m]
    dkind = mk.depth_kind[m]
    dk = mk.depth_k[m]
    da = mk.depth_a[m]
    bx = mk.band_x[m]
    bdp = mk.band_d[m]
    nbands = mk.band_n[m]
    exec_mode = rules.exec_mode
    liq_impact_factor = rules.liq_impact_factor
    liq_fee_dest = rules.liq_fee_dest
    backstop_fraction = rules.backstop_mm_fraction
    partial_min = rules.partial_min_notional
    partial_fraction = rules.partial_fraction
    backstop_notional = out.backstop_notional
    n_seg_m = pos.seg_market.size // mk.price0.size
    g_lo = m * n_seg_m
    g_hi = g_lo + n_seg_m
    maxp = pend_idx.shape[2]
    use_backstop = rules.backstop_mm_fraction > 0.0   # equity/MM at trigger only matter for a backstop
    # per-path scratch (views; no allocation): bad debt, bankrupt size and liquidated USD per side;
    # free pending slots, pending count at iteration start and liquidation count per side
    bd = fs[0:2]
    bk_q = fs[2:4]
    acc_usd = fs[4:6]
    free = ints[0:2]
    n_old = ints[2:4]
    acc_n = ints[4:6]
    mark = pre
    qcum = 0.0
    i_cum = 0.0
    for it in range(rules.max_cascade_iterations):
        # ---- pass 1: what triggers at this mark, and the flow it sends to the book
        flow = 0.0
        n_new = 0
        for si in range(2):
            free[si] = maxp - pend_n[m, si]
        for g in range(g_lo, g_hi):
            s = seg_side[g]
            si = 0 if s > 0 else 1
            shift = s * seg_w[g] * phi[m, si]
            it_lo[g] = ptr[g]
            j = ptr[g]
            end = seg_start[g + 1]
            while j < end:
                th = thr_[j] + shift
                if (s > 0 and th >= mark) or (s < 0 and th <= mark):
                    backstop, sl = _first_slice(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g],
                                                seg_amount[g], s, scale[m, si], mark, phi[m, si], fee_trig, min_coll,
                                                use_backstop, backstop_fraction, partial_min, partial_fraction, free[si])
                    if sl < 1.0:
                        free[si] -= 1
                    if not backstop:
                        flow -= s * sl * scale[m, si] * qty_[j] * mark
                    n_new += 1
                    j += 1
                else:
                    break
            ptr[g] = j
        for si in range(2):
            s = 1.0 if si == 0 else -1.0
            for k in range(pend_n[m, si]):
                pend_hit[m, si, k] = False
                if pend_next[m, si, k] > t or pend_rem[m, si, k] <= 0.0:
                    continue
                g = pend_seg[m, si, k]
                j = pend_idx[m, si, k]
                th = thr_[j] + s * seg_w[g] * phi[m, si]
                if (s > 0 and th >= mark) or (s < 0 and th <= mark):
                    pend_hit[m, si, k] = True
                    rem = pend_rem[m, si, k]
                    eq, mm = _position_state(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g], seg_amount[g], s,
                                                 scale[m, si], rem, mark, phi[m, si], fee_trig, min_coll)
                    backstop = backstop_fraction > 0.0 and eq < backstop_fraction * mm
                    sl = rem
                    if not backstop and qty_[j] * scale[m, si] * rem * mark > partial_min:
                        sl = min(partial_fraction, rem)
                    if not backstop:
                        flow -= s * sl * scale[m, si] * qty_[j] * mark
                    n_new += 1
        if n_new == 0:
            break
        st[ST_ITERATIONS] += 1.0
        # ---- the flow walks the depth; fills at the average over the walk
        ext = flow if rules.exec_mode == 0 else flow * rules.oracle_feedback
        qnew = qcum + ext
        if qnew != qcum:
            i_new = _integral(qnew, dkind, dk, da, bx, bdp, nbands)
            avg = (i_new - i_cum) / (qnew - qcum)
        else:
            i_new = i_cum
            avg = _signed_distance(qcum, dkind, dk, da, bx, bdp, nbands)
        book_px = pre * (1.0 + avg)
        # ---- pass 2: execute (same order and decisions as pass 1)
        bd[0] = 0.0
        bd[1] = 0.0
        bk_q[0] = 0.0
        bk_q[1] = 0.0
        for si in range(2):
            free[si] = maxp - pend_n[m, si]
        n_old[0] = pend_n[m, 0]
        n_old[1] = pend_n[m, 1]
        for g in range(g_lo, g_hi):
            s = seg_side[g]
            si = 0 if s > 0 else 1
            for j in range(it_lo[g], ptr[g]):
                backstop, sl = _first_slice(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g],
                                            seg_amount[g], s, scale[m, si], mark, phi[m, si], fee_trig, min_coll,
                                            use_backstop, backstop_fraction, partial_min, partial_fraction, free[si])
                if sl < 1.0:
                    free[si] -= 1
                    k = pend_n[m, si]
                    pend_idx[m, si, k] = j
                    pend_seg[m, si, k] = g
                    pend_rem[m, si, k] = 1.0 - sl
                    pend_next[m, si, k] = t + rules.partial_cooldown_steps
                    pend_hit[m, si, k] = False
                    pend_n[m, si] = k + 1
                _execute(p, m, s, si, sl, backstop, mark, book_px, qty_[j], entry_[j], cu_[j], ct_[j], close_fee, liq_fee,
                         impact_cap, phi[m, si], exec_mode, liq_impact_factor, liq_fee_dest, scale, oi_q, oi_e,
                         pool_usd, st, backstop_notional, bd, bk_q, acc_n, acc_usd)
        for si in range(2):
            s = 1.0 if si == 0 else -1.0
            for k in range(n_old[si]):
                if not pend_hit[m, si, k]:
                    continue
                g = pend_seg[m, si, k]
                j = pend_idx[m, si, k]
                rem = pend_rem[m, si, k]
                eq, mm = _position_state(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g], seg_amount[g], s,
                                                 scale[m, si], rem, mark, phi[m, si], fee_trig, min_coll)
                backstop = backstop_fraction > 0.0 and eq < backstop_fraction * mm
                sl = rem
                if not backstop and qty_[j] * scale[m, si] * rem * mark > partial_min:
                    sl = min(partial_fraction, rem)
                _execute(p, m, s, si, sl, backstop, mark, book_px, qty_[j], entry_[j], cu_[j], ct_[j], close_fee, liq_fee,
                         impact_cap, phi[m, si], exec_mode, liq_impact_factor, liq_fee_dest, scale, oi_q, oi_e,
                         pool_usd, st, backstop_notional, bd, bk_q, acc_n, acc_usd)
                rem -= sl
                pend_rem[m, si, k] = rem if rem > 1e-12 else 0.0
                pend_next[m, si, k] = t + rules.partial_cooldown_steps
            # drop finished slices, keeping order
            w = 0
            for k in range(pend_n[m, si]):
                if pend_rem[m, si, k] > 0.0:
                    pend_idx[m, si, w] = pend_idx[m, si, k]
                    pend_seg[m, si, w] = pend_seg[m, si, k]
                    pend_rem[m, si, w] = pend_rem[m, si, k]
                    pend_next[m, si, w] = pend_next[m, si, k]
                    w += 1
            pend_n[m, si] = w
        # ---- losses beyond collateral
        for si in range(2):
            b = bd[si]
            if b <= 0.0:
                continue
            o = 1 - si
            st[ST_BAD_DEBT] += b
            out.bad_debt[p, m] += b
            resid = b
            if rules.adl_trigger == 3:      # negative equity: deleverage first (Hyperliquid)
                resid = _adl_bankrupt(rules, out, p, t, m, o, bk_q[si], resid, mark, prev_mark, scale, oi_q,
                                      oi_e, st)
            if resid > 0.0:
                take = min(max(st[ST_INSURANCE], 0.0), resid)
                st[ST_INSURANCE] -= take
                st[ST_INSURANCE_PAID] += take
                resid -= take
            if resid > 0.0:
                if rules.bad_debt_absorber == 1:
                    st[ST_POOL_PAID] += resid
                    resid = 0.0
                elif rules.bad_debt_absorber == 2:
                    st[ST_BROKER_PAID] += resid
                    resid = 0.0
                elif rules.adl_trigger == 1:
                    resid = _adl_bankrupt(rules, out, p, t, m, o, bk_q[si] * resid / b, resid, mark, prev_mark,
                                          scale, oi_q, oi_e, st)
            if resid > 0.0:
                st[ST_SHORTFALL] += resid
                _record_event(out, p, t, m, si, 3, 0.0, 0.0, resid, 0.0, mark, mark, 0.0)
        st[ST_INSURANCE_MIN] = min(st[ST_INSURANCE_MIN], st[ST_INSURANCE])
        qcum = qnew
        i_cum = i_new
        mark = pre * (1.0 + _signed_distance(qcum, dkind, dk, da, bx, bdp, nbands))
        for si in range(2):
            if acc_n[si] > 0:
                out.liq_count[p, m, si] += acc_n[si]
                out.liq_notional[p, m, si] += acc_usd[si]
                if det_row >= 0:
                    out.det_liq_notional[det_row, t - 1, m, si] += acc_usd[si]
                    out.det_liq_count[det_row, t - 1, m, si] += acc_n[si]
            acc_n[si] = 0
            acc_usd[si] = 0.0
        if it == rules.max_cascade_iterations - 1:
            st[ST_NONCONVERGED] += 1.0
    return mark


@njit(inline="always")
def _execute(p: int, m: int, s: float, si: int, sl: float, backstop: bool, mark: float, book_px: float, q: float,
             e: float, cu: float, ct: float, close_fee: float, liq_fee: float, impact_cap: float, phi_msi: float,
             exec_mode: int, liq_impact_factor: float, liq_fee_dest: int, scale, oi_q, oi_e, pool_usd, st,
             backstop_notional, bd, bk_q, acc_n, acc_usd) -> None:
    """Close ``sl`` (fraction of the original size) of a position and book every flow it causes.

    Only scalars and plain arrays come in: binding a NamedTuple of arrays (``out``, ``rules``) to an
    inlined call increfs every array in it, which cost more than the arithmetic here.
    """
    frac = scale[m, si] * sl
    if backstop:
        px = mark
    elif exec_mode == 0:
        px = book_px
    else:
        slip = min(liq_impact_factor * frac * q * mark, impact_cap)
        px = mark * (1.0 - s * slip)
    coll = frac * (cu + ct * px)
    equity = coll + frac * (s * q * (px - e) - close_fee * q * e - phi_msi * q)
    notional = frac * q * px
    fee = 0.0
    if backstop:
        backstop_notional[p, m, si] += notional
        if equity > 0.0:
            st[ST_BACKSTOP_GAIN] += equity   # "the maintenance margin is not returned"
        rest = min(equity, 0.0)
    else:
        fee = min(max(equity, 0.0), liq_fee * notional)
        if liq_fee_dest == 0:
            st[ST_FEE_INSURANCE] += fee
            st[ST_INSURANCE] += fee
        elif liq_fee_dest == 1:
            st[ST_FEE_POOL] += fee
        else:
            st[ST_FEE_VENUE] += fee
        rest = equity - fee
    if rest < 0.0:
        bd[si] += -rest
        bk_q[si] += frac * q
    if exec_mode == 1:
        # the pool is the counterparty: it keeps the collateral the trader lost (and pool fees)
        gain = coll - max(rest, 0.0) - fee + (fee if liq_fee_dest == 1 else 0.0)
        if backstop:
            gain = 0.0
        pool_usd[m] += gain
        st[ST_POOL_PNL] += gain
    oi_q[m, si] -= frac * q
    oi_e[m, si] -= frac * q * e
    acc_n[si] += 1
    acc_usd[si] += notional


@njit
def _pnl_factor_adl(p: int, t: int, m: int, mark: float, mk, scale, oi_q, oi_e, pool_tok, pool_usd, st,
                    out) -> None:
    for si in range(2):
        s = 1.0 if si == 0 else -1.0
        mx = mk.max_adl[m, si]
        if not (mx < np.inf):
            continue
        pnl = s * (oi_q[m, si] * mark - oi_e[m, si])
        pool = pool_tok[m] * mark if si == 0 else pool_usd[m]
        if pnl <= 0.0 or pool <= 0.0 or pnl <= mx * pool:
            continue
        mn = min(mk.min_adl[m, si], mx)
        f = (pnl - mn * pool) / (pnl * (1.0 - mn)) if mn < 1.0 else 1.0
        f = min(max(f, 0.0), 1.0)
        capped = min(pnl, mk.max_traders[m, si] * pool)
        realized = f * capped
        haircut = f * (pnl - capped)
        if si == 0:
            pool_tok[m] -= realized / mark
        else:
            pool_usd[m] -= realized
        st[ST_POOL_PNL] -= realized
        qty = f * oi_q[m, si]
        notional = qty * mark
        scale[m, si] *= 1.0 - f
        oi_q[m, si] *= 1.0 - f
        oi_e[m, si] *= 1.0 - f
        out.adl_count[p, m, si] += 1
        out.adl_notional[p, m, si] += notional
        out.adl_haircut[p, m, si] += haircut
        _record_event(out, p, t, m, si, 2, notional, haircut, 0.0, qty, mark, mark, f)


@njit
def simulate_path(p: int, seed: int, n_steps: int, record_every: int, n_detail: int, max_pending: int, pos, mk,
                  model, rules, out) -> None:
    """Simulate global path ``p`` into row ``p`` of ``out``."""
    n_m = mk.price0.size
    n_s = pos.seg_market.size
    n_seg_m = n_s // n_m
    state = np.empty(1, np.uint64)
    state[0] = path_state(seed, p)
    ptr = pos.seg_start[:-1].copy()
    it_lo = np.zeros(n_s, np.int64)
    pend_idx = np.zeros((n_m, 2, max_pending), np.int64)
    pend_seg = np.zeros((n_m, 2, max_pending), np.int64)
    pend_rem = np.zeros((n_m, 2, max_pending))
    pend_next = np.zeros((n_m, 2, max_pending), np.int64)
    pend_hit = np.zeros((n_m, 2, max_pending), np.bool_)
    pend_n = np.zeros((n_m, 2), np.int64)
    scale = np.ones((n_m, 2))
    oi_q = mk.oi_qty.copy()
    oi_e = mk.oi_entry.copy()
    pool_tok = mk.pool_long_tok.copy()
    pool_usd = mk.pool_short_usd.copy()
    phi = np.zeros((n_m, 2))
    logx = np.zeros(n_m)
    h = np.ones(n_m)
    perm = np.zeros(n_m)
    trans = np.zeros(n_m)
    prev = mk.price0.copy()
    st = np.zeros(N_SCALARS)
    st[ST_INSURANCE] = rules.insurance_initial
    st[ST_INSURANCE_MIN] = rules.insurance_initial
    det_row = p if p < n_detail else -1
    # scratch reused by every cascade (no allocation inside the step loop)
    fs = np.zeros(6)
    ints = np.zeros(6, np.int64)
    for m in range(n_m):
        out.min_mark[p, m] = mk.price0[m]
        out.max_mark[p, m] = mk.price0[m]
        out.min_exog[p, m] = mk.price0[m]
        out.max_exog[p, m] = mk.price0[m]
        if det_row >= 0:
            out.det_mark[det_row, 0, m] = mk.price0[m]
            out.det_exog[det_row, 0, m] = mk.price0[m]
    ga = model.garch_alpha
    gb = model.garch_beta
    # unpack once (see _cascade): per-step reads go to local arrays
    price0 = mk.price0
    trans_decay = mk.trans_decay
    accrual = mk.accrual
    perm_frac = mk.perm_frac
    mu = model.mu
    sigma = model.sigma
    beta = model.beta
    base_log = model.base_log
    thr_ = pos.thr
    seg_start = pos.seg_start
    seg_side = pos.seg_side
    seg_w = pos.seg_w
    min_mark = out.min_mark
    max_mark = out.max_mark
    min_exog = out.min_exog
    max_exog = out.max_exog
    final_mark = out.final_mark
    final_exog = out.final_exog
    det_mark = out.det_mark
    det_exog = out.det_exog
    ins_path = out.insurance_path
    for t in range(1, n_steps + 1):
        # the exogenous step is shared with exogenous.py (other models reuse the same paths)
        exog_step(state, mu, sigma, beta, ga, gb, model.jump_prob, model.jump_mean, model.jump_std, logx, h, n_m)
        for m in range(n_m):
            trans[m] *= trans_decay[m]
            x = price0[m] * math.exp(logx[m] + base_log[t, m])
            pre = x * math.exp(perm[m] + trans[m])
            phi[m, 0] += accrual[m, 0] * pre
            phi[m, 1] += accrual[m, 1] * pre
            # fast path: most steps trigger nothing; skip the cascade call (and its argument passing)
            busy = pend_n[m, 0] > 0 or pend_n[m, 1] > 0
            if not busy:
                for g in range(m * n_seg_m, (m + 1) * n_seg_m):
                    j = ptr[g]
                    if j < seg_start[g + 1]:
                        s = seg_side[g]
                        th = thr_[j] + s * seg_w[g] * phi[m, 0 if s > 0 else 1]
                        if (s > 0 and th >= pre) or (s < 0 and th <= pre):
                            busy = True
                            break
            if not busy:
                mark = pre
            else:
                mark = _cascade(p, t, m, pre, prev[m], pos, mk, rules, ptr, it_lo, pend_idx, pend_seg, pend_rem,
                                pend_next, pend_n, pend_hit, scale, oi_q, oi_e, pool_tok, pool_usd, phi, st, out,
                                det_row, fs, ints)
            if mark != pre:
                lg = math.log(mark / pre)
                perm[m] += perm_frac[m] * lg
                trans[m] += (1.0 - perm_frac[m]) * lg
            if rules.adl_trigger == 2:
                _pnl_factor_adl(p, t, m, mark, mk, scale, oi_q, oi_e, pool_tok, pool_usd, st, out)
            min_mark[p, m] = min(min_mark[p, m], mark)
            max_mark[p, m] = max(max_mark[p, m], mark)
            min_exog[p, m] = min(min_exog[p, m], x)
            max_exog[p, m] = max(max_exog[p, m], x)
            final_mark[p, m] = mark
            final_exog[p, m] = x
            if det_row >= 0:
                det_mark[det_row, t, m] = mark
                det_exog[det_row, t, m] = x
            prev[m] = mark
        if t % record_every == 0:
            r = t // record_every - 1
            if r < ins_path.shape[1]:
                ins_path[p, r] = st[ST_INSURANCE]
    if n_steps == 0:
        for m in range(n_m):
            final_mark[p, m] = price0[m]
            final_exog[p, m] = price0[m]
    for k in range(N_SCALARS):
        out.scalars[p, k] = st[k]


@njit(parallel=True)
def simulate_chunk(p_lo: int, p_hi: int, seed: int, n_steps: int, record_every: int, n_detail: int,
                   max_pending: int, pos, mk, model, rules, out) -> None:
    """Paths ``[p_lo, p_hi)`` in parallel; each writes only its own rows of ``out``."""
    for i in prange(p_hi - p_lo):
        simulate_path(p_lo + i, seed, n_steps, record_every, n_detail, max_pending, pos, mk, model, rules, out)
