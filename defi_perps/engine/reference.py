"""Plain-Python reference twin of the kernel: the same model, the naive way.

Where the kernel sweeps a pointer over thresholds sorted per (market, side, tier), the twin checks
*every* open position at every cascade iteration (O(paths × steps × positions)), keeps each
position's status explicitly, and uses Python floats and :class:`~defi_perps.engine.rng.PyStream`
(pure-integer SplitMix64). It visits positions in the same array order and sums in the same
order, so tests compare it with the kernel to a relative 1e-9 (``tests/engine/test_twin.py``).
``DEFI_PERPS_DISABLE_JIT=1`` makes :func:`defi_perps.engine.api.simulate` run this instead of
the kernel. Depth-curve arithmetic (``depth.py``) is shared; it has its own tests.
"""

from __future__ import annotations

import math

from defi_perps.engine import nb as K
from defi_perps.engine.depth import walk_distance, walk_integral
from defi_perps.engine.rng import PyStream

OPEN, PENDING, CLOSED = 0, 1, 2


def _sdist(q: float, mk, m: int) -> float:
    d = walk_distance(abs(q), int(mk.depth_kind[m]), float(mk.depth_k[m]), float(mk.depth_a[m]), mk.band_x[m],
                      mk.band_d[m], int(mk.band_n[m]))
    return d if q >= 0.0 else -d


def _integ(q: float, mk, m: int) -> float:
    return walk_integral(abs(q), int(mk.depth_kind[m]), float(mk.depth_k[m]), float(mk.depth_a[m]), mk.band_x[m],
                         mk.band_d[m], int(mk.band_n[m]))


class _Path:
    """State and outputs of one path (plain Python lists and floats)."""

    def __init__(self, p: int, seed: int, pos, mk, model, rules, out, n_detail: int, max_pending: int) -> None:
        self.p, self.pos, self.mk, self.model, self.rules, self.out = p, pos, mk, model, rules, out
        n_m = len(mk.price0)
        self.n_m = n_m
        self.rng = PyStream(seed, p)
        self.status = [OPEN] * len(pos.thr)
        self.seg_of = [0] * len(pos.thr)
        for g in range(len(pos.seg_market)):
            for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
                self.seg_of[j] = g
        self.pending = [[[], []] for _ in range(n_m)]  # [m][si] -> list of [j, g, rem, next, hit]
        self.maxp = max_pending
        self.scale = [[1.0, 1.0] for _ in range(n_m)]
        self.oi_q = [[float(mk.oi_qty[m, 0]), float(mk.oi_qty[m, 1])] for m in range(n_m)]
        self.oi_e = [[float(mk.oi_entry[m, 0]), float(mk.oi_entry[m, 1])] for m in range(n_m)]
        self.pool_tok = [float(v) for v in mk.pool_long_tok]
        self.pool_usd = [float(v) for v in mk.pool_short_usd]
        self.phi = [[0.0, 0.0] for _ in range(n_m)]
        self.st = [0.0] * K.N_SCALARS
        self.st[K.ST_INSURANCE] = float(rules.insurance_initial)
        self.st[K.ST_INSURANCE_MIN] = float(rules.insurance_initial)
        self.det_row = p if p < n_detail else -1

    # -- trigger terms -------------------------------------------------------------------
    def state(self, g: int, j: int, m: int, s: float, sc: float, rem: float, mark: float, phi: float):
        pos, mk = self.pos, self.mk
        q = float(pos.qty[j])
        frac = sc * rem
        eq = frac * (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * mark + s * q * (mark - float(pos.entry[j]))
                     - float(mk.close_fee_in_trigger[m]) * q * float(pos.entry[j]) - phi * q)
        if int(pos.seg_mark[g]) == 1:
            mm = frac * (float(pos.seg_rate[g]) * q * mark - float(pos.seg_amount[g]))
        else:
            mm = frac * float(pos.seg_rate[g]) * q * float(pos.entry[j])
        mm = max(mm, frac * float(mk.min_coll[m]))
        return eq, mm

    def triggered(self, g: int, j: int, m: int, si: int, mark: float) -> bool:
        s = int(self.pos.seg_side[g])
        th = float(self.pos.thr[j]) + s * float(self.pos.seg_w[g]) * self.phi[m][si]
        return (s > 0 and th >= mark) or (s < 0 and th <= mark)

    def decide(self, g, j, m, si, s, rem, mark, new, free):
        """(slice, backstop, takes_slot) for a triggered position."""
        r = self.rules
        eq, mm = self.state(g, j, m, s, self.scale[m][si], rem, mark, self.phi[m][si])
        backstop = r.backstop_mm_fraction > 0.0 and eq < r.backstop_mm_fraction * mm
        q = float(self.pos.qty[j])
        if new:
            if not backstop and q * self.scale[m][si] * mark > r.partial_min_notional \
                    and r.partial_fraction < 1.0 and free[si] > 0:
                return r.partial_fraction, backstop, True
            return 1.0, backstop, False
        sl = rem
        if not backstop and q * self.scale[m][si] * rem * mark > r.partial_min_notional:
            sl = min(r.partial_fraction, rem)
        return sl, backstop, False

    # -- one liquidation -----------------------------------------------------------------
    def execute(self, t, m, g, j, s, si, sl, backstop, mark, book_px, bd, bk_q):
        pos, mk, r, out, st, p = self.pos, self.mk, self.rules, self.out, self.st, self.p
        q = float(pos.qty[j])
        frac = self.scale[m][si] * sl
        if backstop:
            px = mark
        elif r.exec_mode == 0:
            px = book_px
        else:
            slip = min(r.liq_impact_factor * frac * q * mark, float(mk.impact_cap[m]))
            px = mark * (1.0 - s * slip)
        coll = frac * (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * px)
        equity = coll + frac * (s * q * (px - float(pos.entry[j])) - float(mk.close_fee[m]) * q * float(pos.entry[j])
                                - self.phi[m][si] * q)
        notional = frac * q * px
        fee = 0.0
        if backstop:
            out.backstop_notional[p, m, si] += notional
            if equity > 0.0:
                st[K.ST_BACKSTOP_GAIN] += equity
            rest = min(equity, 0.0)
        else:
            fee = min(max(equity, 0.0), float(mk.liq_fee[m]) * notional)
            if r.liq_fee_dest == 0:
                st[K.ST_FEE_INSURANCE] += fee
                st[K.ST_INSURANCE] += fee
            elif r.liq_fee_dest == 1:
                st[K.ST_FEE_POOL] += fee
            else:
                st[K.ST_FEE_VENUE] += fee
            rest = equity - fee
        if rest < 0.0:
            bd[si] += -rest
            bk_q[si] += frac * q
        if r.exec_mode == 1:
            gain = 0.0 if backstop else coll - max(rest, 0.0) - fee + (fee if r.liq_fee_dest == 1 else 0.0)
            self.pool_usd[m] += gain
            st[K.ST_POOL_PNL] += gain
        self.oi_q[m][si] -= frac * q
        self.oi_e[m][si] -= frac * q * float(pos.entry[j])
        out.liq_count[p, m, si] += 1
        out.liq_notional[p, m, si] += notional
        if self.det_row >= 0:
            out.det_liq_notional[self.det_row, t - 1, m, si] += notional
            out.det_liq_count[self.det_row, t - 1, m, si] += 1

    def event(self, t, m, si, kind, notional, haircut, shortfall, qty, price, mark, fraction):
        out, p = self.out, self.p
        k = int(out.n_events[p])
        if k < out.events.shape[1]:
            out.events[p, k] = (t, m, 1 if si == 0 else -1, kind, notional, haircut, shortfall, qty, price, mark,
                                fraction, min(float(out.min_mark[p, m]), mark), max(float(out.max_mark[p, m]), mark))
        out.n_events[p] = k + 1

    def adl_bankrupt(self, t, m, o, q_adl, resid, mark, prev_mark):
        if self.oi_q[m][o] <= 0.0 or q_adl <= 0.0:
            return resid
        r, out, p, st = self.rules, self.out, self.p, self.st
        qa = min(q_adl, self.oi_q[m][o])
        f = qa / self.oi_q[m][o]
        so = 1.0 if o == 0 else -1.0
        if r.adl_fill == 0:
            lost = resid
            fill = mark - so * lost / qa
        elif r.adl_fill == 1:
            lost = 0.0
            fill = mark
        else:
            fill = prev_mark
            lost = so * qa * (mark - fill)
        gain = max(lost, 0.0)
        cover = min(gain, resid)
        st[K.ST_INSURANCE] += gain - cover
        st[K.ST_ADL_COVERED] += cover
        resid -= cover
        self.scale[m][o] *= 1.0 - f
        self.oi_q[m][o] *= 1.0 - f
        self.oi_e[m][o] *= 1.0 - f
        out.adl_count[p, m, o] += 1
        out.adl_notional[p, m, o] += qa * fill
        out.adl_haircut[p, m, o] += lost
        self.event(t, m, o, 1, qa * fill, lost, resid, qa, fill, mark, f)
        return resid

    # -- one market, one step ------------------------------------------------------------
    def cascade(self, t: int, m: int, pre: float, prev_mark: float) -> float:
        pos, r, st, out, p = self.pos, self.rules, self.st, self.out, self.p
        n_seg_m = len(pos.seg_market) // self.n_m
        segs = range(m * n_seg_m, (m + 1) * n_seg_m)
        mark, qcum = pre, 0.0
        for it in range(r.max_cascade_iterations):
            # naive scan: every open position of the market is checked
            new = []  # (g, j, si, s)
            for g in segs:
                s = int(pos.seg_side[g])
                si = 0 if s > 0 else 1
                for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
                    if self.status[j] == OPEN and self.triggered(g, j, m, si, mark):
                        new.append((g, j, si, s))
            hits = [[], []]
            for si in range(2):
                for entry in self.pending[m][si]:
                    entry[4] = False
                    if entry[3] > t or entry[2] <= 0.0:
                        continue
                    if self.triggered(entry[1], entry[0], m, si, mark):
                        entry[4] = True
                        hits[si].append(entry)
            if not new and not hits[0] and not hits[1]:
                break
            st[K.ST_ITERATIONS] += 1.0
            free = [self.maxp - len(self.pending[m][0]), self.maxp - len(self.pending[m][1])]
            flow = 0.0
            for g, j, si, s in new:
                sl, backstop, slot = self.decide(g, j, m, si, s, 1.0, mark, True, free)
                if slot:
                    free[si] -= 1
                if not backstop:
                    flow -= s * sl * self.scale[m][si] * float(pos.qty[j]) * mark
            for si in range(2):
                s = 1.0 if si == 0 else -1.0
                for entry in hits[si]:
                    sl, backstop, _ = self.decide(entry[1], entry[0], m, si, s, entry[2], mark, False, free)
                    if not backstop:
                        flow -= s * sl * self.scale[m][si] * float(pos.qty[entry[0]]) * mark
            ext = flow if r.exec_mode == 0 else flow * r.oracle_feedback
            qnew = qcum + ext
            if qnew != qcum:
                avg = (_integ(qnew, self.mk, m) - _integ(qcum, self.mk, m)) / (qnew - qcum)
            else:
                avg = _sdist(qcum, self.mk, m)
            book_px = pre * (1.0 + avg)
            bd, bk_q = [0.0, 0.0], [0.0, 0.0]
            free = [self.maxp - len(self.pending[m][0]), self.maxp - len(self.pending[m][1])]
            for g, j, si, s in new:
                sl, backstop, slot = self.decide(g, j, m, si, s, 1.0, mark, True, free)
                if slot:
                    free[si] -= 1
                    self.pending[m][si].append([j, g, 1.0 - sl, t + r.partial_cooldown_steps, False])
                    self.status[j] = PENDING
                else:
                    self.status[j] = CLOSED
                self.execute(t, m, g, j, float(s), si, sl, backstop, mark, book_px, bd, bk_q)
            for si in range(2):
                s = 1.0 if si == 0 else -1.0
                for entry in hits[si]:
                    sl, backstop, _ = self.decide(entry[1], entry[0], m, si, s, entry[2], mark, False, free)
                    self.execute(t, m, entry[1], entry[0], s, si, sl, backstop, mark, book_px, bd, bk_q)
                    rem = entry[2] - sl
                    entry[2] = rem if rem > 1e-12 else 0.0
                    entry[3] = t + r.partial_cooldown_steps
                    if entry[2] <= 0.0:
                        self.status[entry[0]] = CLOSED
                self.pending[m][si] = [e for e in self.pending[m][si] if e[2] > 0.0]
            for si in range(2):
                b = bd[si]
                if b <= 0.0:
                    continue
                o = 1 - si
                st[K.ST_BAD_DEBT] += b
                out.bad_debt[p, m] += b
                resid = b
                if r.adl_trigger == 3:
                    resid = self.adl_bankrupt(t, m, o, bk_q[si], resid, mark, prev_mark)
                if resid > 0.0:
                    take = min(max(st[K.ST_INSURANCE], 0.0), resid)
                    st[K.ST_INSURANCE] -= take
                    st[K.ST_INSURANCE_PAID] += take
                    resid -= take
                if resid > 0.0:
                    if r.bad_debt_absorber == 1:
                        st[K.ST_POOL_PAID] += resid
                        resid = 0.0
                    elif r.bad_debt_absorber == 2:
                        st[K.ST_BROKER_PAID] += resid
                        resid = 0.0
                    elif r.adl_trigger == 1:
                        resid = self.adl_bankrupt(t, m, o, bk_q[si] * resid / b, resid, mark, prev_mark)
                if resid > 0.0:
                    st[K.ST_SHORTFALL] += resid
                    self.event(t, m, si, 3, 0.0, 0.0, resid, 0.0, mark, mark, 0.0)
            st[K.ST_INSURANCE_MIN] = min(st[K.ST_INSURANCE_MIN], st[K.ST_INSURANCE])
            qcum = qnew
            mark = pre * (1.0 + _sdist(qcum, self.mk, m))
            if it == r.max_cascade_iterations - 1:
                st[K.ST_NONCONVERGED] += 1.0
        return mark

    def pnl_factor_adl(self, t: int, m: int, mark: float) -> None:
        mk, out, p, st = self.mk, self.out, self.p, self.st
        for si in range(2):
            s = 1.0 if si == 0 else -1.0
            mx = float(mk.max_adl[m, si])
            if not mx < math.inf:
                continue
            pnl = s * (self.oi_q[m][si] * mark - self.oi_e[m][si])
            pool = self.pool_tok[m] * mark if si == 0 else self.pool_usd[m]
            if pnl <= 0.0 or pool <= 0.0 or pnl <= mx * pool:
                continue
            mn = min(float(mk.min_adl[m, si]), mx)
            f = (pnl - mn * pool) / (pnl * (1.0 - mn)) if mn < 1.0 else 1.0
            f = min(max(f, 0.0), 1.0)
            capped = min(pnl, float(mk.max_traders[m, si]) * pool)
            realized = f * capped
            haircut = f * (pnl - capped)
            if si == 0:
                self.pool_tok[m] -= realized / mark
            else:
                self.pool_usd[m] -= realized
            st[K.ST_POOL_PNL] -= realized
            qty = f * self.oi_q[m][si]
            notional = qty * mark
            self.scale[m][si] *= 1.0 - f
            self.oi_q[m][si] *= 1.0 - f
            self.oi_e[m][si] *= 1.0 - f
            out.adl_count[p, m, si] += 1
            out.adl_notional[p, m, si] += notional
            out.adl_haircut[p, m, si] += haircut
            self.event(t, m, si, 2, notional, haircut, 0.0, qty, mark, mark, f)

    def run(self, n_steps: int, record_every: int) -> None:
        mk, model, out, p = self.mk, self.model, self.out, self.p
        n_m = self.n_m
        logx, h = [0.0] * n_m, [1.0] * n_m
        perm, trans = [0.0] * n_m, [0.0] * n_m
        prev = [float(v) for v in mk.price0]
        for m in range(n_m):
            p0 = float(mk.price0[m])
            out.min_mark[p, m] = out.max_mark[p, m] = out.min_exog[p, m] = out.max_exog[p, m] = p0
            out.final_mark[p, m] = out.final_exog[p, m] = p0
            if self.det_row >= 0:
                out.det_mark[self.det_row, 0, m] = p0
                out.det_exog[self.det_row, 0, m] = p0
        ga, gb = float(model.garch_alpha), float(model.garch_beta)
        for t in range(1, n_steps + 1):
            zf = self.rng.normal()
            jump = 0.0
            if model.jump_prob > 0.0 and self.rng.uniform() < model.jump_prob:
                jump = model.jump_mean + model.jump_std * self.rng.normal()
            for m in range(n_m):
                zi = self.rng.normal()
                b = float(model.beta[m])
                e = b * zf + math.sqrt(1.0 - b * b) * zi
                sig = float(model.sigma[m]) * math.sqrt(h[m])
                logx[m] += float(model.mu[m]) - 0.5 * sig * sig + sig * e + b * jump
                h[m] = (1.0 - ga - gb) + ga * e * e + gb * h[m]
            for m in range(n_m):
                trans[m] *= float(mk.trans_decay[m])
                x = float(mk.price0[m]) * math.exp(logx[m] + float(model.base_log[t, m]))
                pre = x * math.exp(perm[m] + trans[m])
                self.phi[m][0] += float(mk.accrual[m, 0]) * pre
                self.phi[m][1] += float(mk.accrual[m, 1]) * pre
                mark = self.cascade(t, m, pre, prev[m])
                if mark != pre:
                    lg = math.log(mark / pre)
                    perm[m] += float(mk.perm_frac[m]) * lg
                    trans[m] += (1.0 - float(mk.perm_frac[m])) * lg
                if self.rules.adl_trigger == 2:
                    self.pnl_factor_adl(t, m, mark)
                out.min_mark[p, m] = min(out.min_mark[p, m], mark)
                out.max_mark[p, m] = max(out.max_mark[p, m], mark)
                out.min_exog[p, m] = min(out.min_exog[p, m], x)
                out.max_exog[p, m] = max(out.max_exog[p, m], x)
                out.final_mark[p, m] = mark
                out.final_exog[p, m] = x
                if self.det_row >= 0:
                    out.det_mark[self.det_row, t, m] = mark
                    out.det_exog[self.det_row, t, m] = x
                prev[m] = mark
            if t % record_every == 0:
                rr = t // record_every - 1
                if rr < out.insurance_path.shape[1]:
                    out.insurance_path[p, rr] = self.st[K.ST_INSURANCE]
        for k in range(K.N_SCALARS):
            out.scalars[p, k] = self.st[k]


def simulate_chunk_reference(p_lo: int, p_hi: int, seed: int, n_steps: int, record_every: int, n_detail: int,
                             max_pending: int, pos, mk, model, rules, out) -> None:
    """Same signature and outputs as :func:`defi_perps.engine.nb.simulate_chunk`."""
    for p in range(p_lo, p_hi):
        _Path(p, seed, pos, mk, model, rules, out, n_detail, max_pending).run(n_steps, record_every)
