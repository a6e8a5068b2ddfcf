"""Plain-Python reference twin of the kernel: the same model, the naive way, one account at a time.

Where the kernel sweeps a pointer over thresholds sorted per (market, side, tier), the twin checks
*every* open position at every cascade iteration (O(paths × steps × positions)), keeps each
position's remaining size and status explicitly in Python lists, ranks ADL candidates with
``sorted`` and books every party's balance by name. It visits positions in the same array order
and sums in the same order, so tests compare it with the kernel to a relative 1e-9
(``tests/engine/test_twin.py``). ``DEFI_PERPS_DISABLE_JIT=1`` makes
:func:`defi_perps.engine.api.simulate` run this instead of the kernel. Depth-curve arithmetic
(``depth.py``) is shared; it has its own tests.

Every rule, in the order the kernel applies it:

* trigger: equity (collateral + PnL − close fee in the trigger − accrued funding) below the
  maintenance requirement (flat, tiered, entry-notional, min collateral);
* decision: equity under ``backstop_mm_fraction`` × MM → the backstop vault takes the position at
  mark and keeps its equity; a position above ``partial_min_notional`` sends a
  ``partial_fraction`` slice and starts a cooldown during which it is liquidated in full if it
  triggers again; otherwise a full close. Under ``backstop_book_first`` (Hyperliquid's documented
  order: the book first, the backstop for what the book did not liquidate) a first trigger always
  goes to the book, the 2/3 test applies to a sliced position re-tested, and a liquidation order
  that would walk past the end of the step's depth curve fills in the book up to the curve's end
  while the vault takes the rest of the position at mark at once;
* execution at the iteration's average fill in the book (or at the oracle price less the capped
  protocol impact); fees (rate + fixed) to their destination; the remainder to the trader or, at
  a bankruptcy settlement, to the fund;
* bad debt: ADL first on negative equity (Hyperliquid), the fund down to its floor, the pool or the
  broker, ADL on the opposite side (queue by the venue's ranking, pro-rata, or pro-rata by PnL)
  at the bankruptcy price (covering the whole gap) or the mark (OKX: until the fund is low), and
  what is left is ``uncovered``;
* GMX v2's pnl-to-pool ADL at the oracle price, profit capped by the pool;
* a B-book broker's pass-through leg and its hedge of the net exposure through the depth;
* open positions and hedges marked at the final mark.
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine import nb as K
from defi_perps.engine.ccp_reference import ClearingState
from defi_perps.engine.liquidity import MakerState
from defi_perps.engine.codes import Absorber, AdlFill, AdlPolicy, AdlTrigger, Dest, Event, Exec, Party, Ranking
from defi_perps.engine.depth import MAX_DISTANCE, curve_end_depth, walk_distance, walk_integral
from defi_perps.engine.hedger_reference import HedgerTwin
from defi_perps.engine.rng import PyStream

T = K.Tot


def _sdist(q: float, mk, m: int, bd) -> float:
    """Signed distance walked by ``q`` USD on market ``m``'s curve; ``bd`` is this step's band depth."""
    d = walk_distance(abs(q), int(mk.depth_kind[m]), float(mk.depth_k[m]), float(mk.depth_a[m]), mk.band_x[m],
                      bd, int(mk.band_n[m]))
    return d if q >= 0.0 else -d


def _integ(q: float, mk, m: int, bd) -> float:
    return walk_integral(abs(q), int(mk.depth_kind[m]), float(mk.depth_k[m]), float(mk.depth_a[m]), mk.band_x[m],
                         bd, int(mk.band_n[m]))


def band_depth_at(mk, m: int, t: int):
    """Market ``m``'s band depth at step ``t``: the static curve times the schedule's row ``t``
    (held after its last row; a single row of ones = no schedule)."""
    sched = mk.depth_sched
    if sched.shape[0] <= 1:
        return mk.band_d[m]
    row = min(t, sched.shape[0] - 1)
    return np.array([float(mk.band_d[m, b]) * float(sched[row, b]) for b in range(mk.band_d.shape[1])])


def adl_score(ranking: int, so: float, q: float, e: float, cu: float, ct: float, rem: float, mark: float,
              rate: float, amount: float, seg_mark: int, phi: float) -> tuple[float, float]:
    """(score, PnL) of one candidate; the venues' formulas (see nb._adl_score for sources)."""
    qq = q * rem
    coll = rem * (cu + ct * mark)
    pnl = so * qq * (mark - e) - phi * qq
    equity = coll + pnl
    notional = qq * mark
    if ranking == Ranking.HYPERLIQUID:
        px = mark / e if so > 0.0 else e / mark   # a short's profit ratio is entry/mark (nb._adl_score)
        return (px * (notional / equity) if equity > 0.0 else 0.0), pnl
    if ranking == Ranking.BINANCE:
        mm = rate * notional - amount * rem if seg_mark == 1 else rate * qq * e
        pnl_pct = max(pnl, 0.0) / max(coll, 1.0)
        return (pnl_pct * (mm / equity) if equity > 0.0 else 0.0), pnl
    if ranking == Ranking.BITMEX:
        pct = so * (mark - e) / e
        lev = notional / equity if equity > 0.0 else 1e300
        return (pct * lev if pct > 0.0 else pct / lev), pnl
    if ranking == Ranking.OKX:
        if coll <= 0.0:
            return 0.0, pnl
        pct = pnl / coll
        lev = notional / equity if equity > 0.0 else 1e300
        return (pct * lev if pct > 0.0 else pct / lev), pnl
    return pnl, pnl


class _Path:
    """State of one path: every position's remaining fraction, pending slices, balances by party."""

    def __init__(self, p: int, seed: int, pos, mk, model, rules, out, n_detail: int, max_pending: int,
                 observer=None) -> None:
        self.p, self.pos, self.mk, self.model, self.r, self.out = p, pos, mk, model, rules, out
        self.observer = observer   # observer(event, candidates): every ADL event with its candidates
        n_m = len(mk.price0)
        self.n_m = n_m
        self.rng = PyStream(seed, p)
        n = len(pos.thr)
        self.rem = [1.0] * n
        self.seg_of = [0] * n
        for g in range(len(pos.seg_market)):
            for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
                self.seg_of[j] = g
        self.pending: list = [[[], []] for _ in range(n_m)]  # [m][si] -> [j, g, until, extra collateral]
        self.maxp = max_pending
        self.oi_q = [[float(mk.oi_qty[m, 0]), float(mk.oi_qty[m, 1])] for m in range(n_m)]
        self.oi_e = [[float(mk.oi_entry[m, 0]), float(mk.oi_entry[m, 1])] for m in range(n_m)]
        self.pool_tok = [float(v) for v in mk.pool_long_tok]
        self.pool_usd = [float(v) for v in mk.pool_short_usd]
        self.phi = [[0.0, 0.0] for _ in range(n_m)]
        self.hedge_q = [0.0] * n_m
        self.hedge_cost = [0.0] * n_m
        self.st = [0.0] * K.N_TOT
        self.st[T.FUND] = self.st[T.FUND_MIN] = self.st[T.FUND_PEAK] = float(rules.insurance_initial)
        self.par = [0.0] * len(Party)
        self.accounts_hit: set[int] = set()
        self.det_row = p if p < n_detail else -1
        self.fund_party = Party.VAULT if rules.bad_debt_absorber == Absorber.VAULT else Party.INSURANCE
        cp = int(rules.counterparty)
        self.cfee_party = Party.POOL if cp == Party.POOL else (Party.BROKER if cp == Party.BROKER else Party.VENUE)
        self.hj = int(pos.hedger_i[0])   # the hedger's short (-1: none) and its ledger
        self.h_market = int(pos.hedger_i[1])
        self.hed = HedgerTwin(pos, p) if self.hj >= 0 else None
        self.wd_on = float(mk.wd_par[0]) > 0.0   # liquidity that withdraws (engine/liquidity.py)
        self.makers = MakerState(mk.price0, mk.wd_par)
        self.ccp = ClearingState(mk.price0, rules) if rules.ccp else None   # engine/ccp_reference.py

    # -- helpers -----------------------------------------------------------------------------
    def side_segments(self, m: int, si: int) -> list[int]:
        n_seg_m = len(self.pos.seg_market) // self.n_m
        return [g for g in range(m * n_seg_m, (m + 1) * n_seg_m) if (int(self.pos.seg_side[g]) > 0) == (si == 0)]

    def equity_mm(self, g: int, j: int, m: int, s: float, mark: float, phi: float) -> tuple[float, float]:
        pos, mk = self.pos, self.mk
        q, e = float(pos.qty[j]), float(pos.entry[j])
        eq = (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * mark + s * q * (mark - e)
              - float(mk.close_fee_in_trigger[m]) * q * e - phi * q)
        if int(pos.seg_mark[g]) == 1:
            mm = float(pos.seg_rate[g]) * q * mark - float(pos.seg_amount[g])
        else:
            mm = float(pos.seg_rate[g]) * q * e
        return eq, max(mm, float(mk.min_coll[m]))

    def triggered(self, g: int, j: int, m: int, si: int, mark: float) -> bool:
        s = int(self.pos.seg_side[g])
        th = float(self.pos.thr[j]) + s * float(self.pos.seg_w[g]) * self.phi[m][si]
        return (s > 0 and th >= mark) or (s < 0 and th <= mark)

    def decide(self, g: int, j: int, m: int, si: int, mark: float, in_cooldown: bool, slot_free: bool,
               extra: float | None = None):
        r = self.r
        s = 1.0 if si == 0 else -1.0
        eq, mm = self.equity_mm(g, j, m, s, mark, self.phi[m][si])
        if extra is not None:   # a sliced position: its own equity, with the collateral a slice left
            eq = self.rem[j] * eq + extra
            mm = self.rem[j] * mm
        # under the book-first order the backstop takes, on the 2/3 test, only what the book was tried
        # on: a sliced position (``extra``) re-tested ("without successful liquidation through the book")
        tried = extra is not None or not r.backstop_book_first
        if tried and r.backstop_mm_fraction > 0.0 and eq < r.backstop_mm_fraction * mm:
            return True, 1.0, False
        if in_cooldown:
            return False, 1.0, False
        notional = float(self.pos.qty[j]) * self.rem[j] * mark
        if notional > r.partial_min_notional and r.partial_fraction < 1.0 and slot_free:
            return False, r.partial_fraction, True
        return False, 1.0, False

    def book_share(self, j: int, si: int, fr: float, mark: float, qcum: float, flow: float, q_end: float,
                   book_first: bool) -> tuple[float, float]:
        """(the book's share of the remaining size, the iteration's flow after this order). A liquidation
        order fills in the book up to the end of the depth curve (``q_end`` USD walked from the step's
        price, in the order's direction); what would walk past it the book cannot fill."""
        s = 1.0 if si == 0 else -1.0
        order = fr * self.rem[j] * float(self.pos.qty[j]) * mark
        share = 1.0
        if book_first:
            room = q_end + s * (qcum + flow)
            if order > room:
                share = max(room, 0.0) / order
        return share * fr, flow - s * share * order

    def pay_counterparty(self, amount: float) -> None:
        cp = int(self.r.counterparty)
        if cp == Party.BROKER:
            a = self.r.internalized_fraction
            self.par[Party.BROKER] -= a * amount
            self.par[Party.LP] -= (1.0 - a) * amount
        else:
            self.par[cp] -= amount

    def event(self, t, m, si, kind, notional, haircut, shortfall, qty, price, mark, fraction, positions):
        out, p = self.out, self.p
        k = int(out.n_events[p])
        if k < out.events.shape[1]:
            out.events[p, k] = (t, m, 1 if si == 0 else -1, kind, notional, haircut, shortfall, qty, price, mark,
                                fraction, positions)
        out.n_events[p] = k + 1

    # -- one liquidation close -----------------------------------------------------------------
    def settle(self, m: int, j: int, s: float, si: int, c: float, backstop: bool, mark: float, book_px: float,
               extra: float, is_slice: bool):
        pos, mk, r = self.pos, self.mk, self.r
        q, e = float(pos.qty[j]), float(pos.entry[j])
        if backstop:
            px = mark
        elif r.exec_mode == Exec.BOOK:
            px = book_px
        else:
            px = mark * (1.0 - s * min(r.liq_impact_factor * c * q * mark, float(mk.impact_cap[m])))
        cq = c * q
        coll = c * (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * px) + extra
        pnl = s * cq * (px - e)
        cfee = float(mk.close_fee[m]) * cq * e
        fund = self.phi[m][si] * cq
        equity = coll + pnl - cfee - fund
        notional = cq * px
        fee = to_fund = to_vault = payout = 0.0
        if backstop:
            to_vault = max(equity, 0.0)
            rest = min(equity, 0.0)
        else:
            fee = min(max(equity, 0.0), float(mk.liq_fee[m]) * notional + r.liq_fee_usd)
            rest = equity - fee
            if rest > 0.0:
                if r.keep_remainder or is_slice:
                    payout = rest   # a slice's remaining equity stays with the position
                else:
                    to_fund = rest
        bad = -rest if rest < 0.0 else 0.0
        return px, notional, pnl - fund, cfee, fee, to_fund, to_vault, payout - coll, bad, (payout if is_slice else 0.0)

    # -- ADL inside the path ---------------------------------------------------------------------
    def adl(self, kind: int, t: int, m: int, o: int, amount: float, resid: float, mark: float, fund: float) -> float:
        r, pos, st, out, p = self.r, self.pos, self.st, self.out, self.p
        if amount <= 0.0 or self.oi_q[m][o] <= 0.0:
            return resid
        so = 1.0 if o == 0 else -1.0
        ph = self.phi[m][o]
        cands: list[tuple[int, float, float]] = []   # (j, score, pnl)
        side_pnl = pos_pnl = 0.0
        for g in self.side_segments(m, o):
            for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
                if self.rem[j] <= 0.0:
                    continue
                sc, pnl = adl_score(int(r.adl_ranking), so, float(pos.qty[j]), float(pos.entry[j]),
                                    float(pos.coll_usd[j]), float(pos.coll_tok[j]), self.rem[j], mark,
                                    float(pos.seg_rate[g]), float(pos.seg_amount[g]), int(pos.seg_mark[g]), ph)
                cands.append((j, sc, pnl))
                side_pnl += pnl
                if pnl > 0.0:
                    pos_pnl += pnl
        if not cands:
            return resid
        bankrupt = kind == Event.ADL_BANKRUPT
        seen = None
        if self.observer is not None and bankrupt and resid > 0.0:
            seen = [{"position": j, "account": int(pos.acct[j]), "side": o, "size": self.rem[j] * float(pos.qty[j]),
                     "entry": float(pos.entry[j]), "mark": mark, "pnl": pnl,
                     "equity": self.rem[j] * (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * mark) + pnl}
                    for j, _, pnl in cands]
        policy = int(r.adl_policy)
        need = min(amount, self.oi_q[m][o]) if bankrupt else amount
        if policy == AdlPolicy.PRO_RATA_PNL and pos_pnl <= 0.0:
            policy = AdlPolicy.PRO_RATA
        if policy == AdlPolicy.PRO_RATA and not bankrupt and side_pnl <= 0.0:
            return resid
        close = [0.0] * len(cands)   # fraction of the original size closed, per candidate
        if policy == AdlPolicy.QUEUE:
            order = sorted(range(len(cands)), key=lambda i: -cands[i][1])   # stable: ties keep array order
            left = need
            for i in order:
                if left <= 0.0:
                    break
                j = cands[i][0]
                rem = self.rem[j]
                if bankrupt:
                    avail = rem * float(pos.qty[j])
                else:
                    avail = cands[i][2]
                    if avail <= 0.0:
                        continue
                if avail <= left:
                    close[i] = rem
                    left -= avail
                else:
                    close[i] = rem * (left / avail)
                    left = 0.0
        elif policy == AdlPolicy.PRO_RATA:
            f = min(need / self.oi_q[m][o] if bankrupt else need / side_pnl, 1.0)
            close = [self.rem[c[0]] * f for c in cands]
        else:
            if bankrupt:
                for i, (j, _, pnl) in enumerate(cands):
                    tok = min(self.rem[j] * float(pos.qty[j]), need * max(pnl, 0.0) / pos_pnl)
                    close[i] = tok / float(pos.qty[j])
            else:
                f = min(need / pos_pnl, 1.0)
                close = [self.rem[c[0]] * f if c[2] > 0.0 else 0.0 for c in cands]
        q_closed = e_closed = pnl_closed = win_closed = 0.0
        h_q = h_pnl = 0.0
        n_closed = 0
        oi_before = self.oi_q[m][o]
        for i, (j, _, pnl) in enumerate(cands):
            c = close[i]
            if c <= 0.0:
                continue
            rem = self.rem[j]
            frac = c / rem
            self.rem[j] = rem - c if c < rem else 0.0
            cq = c * float(pos.qty[j])
            q_closed += cq
            e_closed += cq * float(pos.entry[j])
            pnl_i = pnl * frac
            pnl_closed += pnl_i
            if pnl_i > 0.0:
                win_closed += pnl_i
            if j == self.hj:
                h_q, h_pnl = cq, pnl_i
            n_closed += 1
            a = int(pos.acct[j])
            if a not in self.accounts_hit:
                self.accounts_hit.add(a)
                st[T.ADL_ACCOUNTS] += 1.0
        if q_closed <= 0.0:
            return resid
        self.oi_q[m][o] -= q_closed
        self.oi_e[m][o] -= e_closed
        if self.oi_q[m][o] < 1e-12 * oi_before:
            self.oi_q[m][o] = 0.0
            self.oi_e[m][o] = 0.0
        ratio = 1.0
        if bankrupt:
            fill_code = int(r.adl_fill)
            if fill_code == AdlFill.MARK_UNLESS_FUND_LOW:
                fill_code = AdlFill.BANKRUPTCY if fund < r.fill_bankruptcy_below * r.insurance_initial else AdlFill.MARK
            if fill_code == AdlFill.MARK:
                haircut, fill = 0.0, mark
            else:
                haircut = resid
                fill = mark - so * resid / q_closed
            self.par[Party.ADL] += pnl_closed - haircut
            self.pay_counterparty(pnl_closed)
            st[T.PAID_ADL] += haircut
            resid -= haircut
            notional = q_closed * fill
            kind_code = Event.ADL_BANKRUPT
        else:
            pool = self.pool_tok[m] * mark if o == 0 else self.pool_usd[m]
            if win_closed > 0.0 and r.max_pnl_factor_traders < math.inf:
                ratio = min(1.0, r.max_pnl_factor_traders * pool / max(pos_pnl, 1e-300))
            haircut = win_closed * (1.0 - ratio)
            realized = pnl_closed - haircut
            if o == 0:
                self.pool_tok[m] -= realized / mark
            else:
                self.pool_usd[m] -= realized
            self.par[Party.ADL] += realized
            self.par[Party.POOL] -= realized
            st[T.PROFIT_CAP_HAIRCUT] += haircut
            fill = mark
            notional = q_closed * mark
            kind_code = Event.ADL_PNL_FACTOR
        if h_q > 0.0 and self.hed is not None:
            self.hed.on_adl(h_q, mark, so * h_q * (fill - mark) if bankrupt else -max(h_pnl, 0.0) * (1.0 - ratio), fill)
        st[T.ADL_NOTIONAL] += notional
        st[T.ADL_HAIRCUT] += haircut
        st[T.ADL_EVENTS] += 1.0
        st[T.ADL_POSITIONS] += n_closed
        out.adl_count[p, m, o] += 1
        out.adl_notional[p, m, o] += notional
        out.adl_haircut[p, m, o] += haircut
        self.event(t, m, o, kind_code, notional, haircut, resid, q_closed, fill, mark, q_closed / oi_before, n_closed)
        if seen is not None:
            self.observer({"path": p, "step": t, "market": m, "side": o, "shortfall": haircut + resid,
                           "bankrupt_size": need, "fill_price": fill, "taken": haircut}, seen)
        return resid

    # -- one market, one step ------------------------------------------------------------------
    def cascade(self, t: int, m: int, pre: float) -> tuple[float, float, float]:
        pos, r, st, out, p, par = self.pos, self.r, self.st, self.out, self.p, self.par
        n_seg_m = len(pos.seg_market) // self.n_m
        mark, qcum, i_cum = pre, 0.0, 0.0
        cap_left = float(self.mk.liq_cap[m])   # the market's liquidation window for this step
        # Hyperliquid: what a liquidation order cannot fill before its walk reaches the end of this
        # step's depth curve goes to the backstop vault (the book liquidation did not succeed)
        book_first = r.backstop_book_first and r.backstop_mm_fraction > 0.0 and r.exec_mode == Exec.BOOK
        q_end = curve_end_depth(int(self.mk.depth_kind[m]), float(self.mk.depth_k[m]), float(self.mk.depth_a[m]),
                                self.mk.band_x[m], self.bd, int(self.mk.band_n[m])) if book_first else math.inf
        for it in range(r.max_cascade_iterations):
            # pass 1: every open position is checked (naive scan), then the pending slices; the flow each
            # sends to the book is summed in the same order, so each order sees the depth left before it
            # [j, g, si, fraction of remaining, backstop, pending slot or -1 / -2 new, book's share of the
            # remaining size (< fraction: the vault takes the rest)]
            items = []
            flow = 0.0
            free = [self.maxp - len(self.pending[m][0]), self.maxp - len(self.pending[m][1])]
            pending_js = {e[0] for si in range(2) for e in self.pending[m][si]}
            for g in range(m * n_seg_m, (m + 1) * n_seg_m):
                si = 0 if int(pos.seg_side[g]) > 0 else 1
                for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
                    if self.rem[j] <= 0.0 or j in pending_js or not self.triggered(g, j, m, si, mark):
                        continue
                    if cap_left <= 0.0:
                        continue   # the window is used up this step: the position waits for the next
                    cap_left -= self.rem[j] * float(pos.qty[j])
                    bs, fr, newp = self.decide(g, j, m, si, mark, False, free[si] > 0)
                    if newp:
                        free[si] -= 1
                    cb = fr
                    if not bs:
                        cb, flow = self.book_share(j, si, fr, mark, qcum, flow, q_end, book_first)
                        if cb < fr and newp:
                            free[si] += 1   # the position finishes now: no slice waits
                            newp = False
                        if cb <= 0.0:
                            bs, fr, cb = True, 1.0, 1.0
                    items.append([j, g, si, fr, bs, -2 if newp else -1, cb])
            for si in range(2):
                for k, entry in enumerate(self.pending[m][si]):
                    j, g, until, extra = entry
                    if self.rem[j] <= 0.0:
                        continue
                    s = 1.0 if si == 0 else -1.0
                    eq, mm = self.equity_mm(g, j, m, s, mark, self.phi[m][si])
                    eq = self.rem[j] * eq + extra
                    mm = self.rem[j] * mm
                    if not eq <= max(mm, 0.0):
                        continue
                    bs, fr, _ = self.decide(g, j, m, si, mark, t <= until, True, extra)
                    cb = fr
                    if not bs:
                        cb, flow = self.book_share(j, si, fr, mark, qcum, flow, q_end, book_first)
                        if cb <= 0.0:
                            bs, fr, cb = True, 1.0, 1.0
                    items.append([j, g, si, fr, bs, k, cb])
            if not items:
                break
            st[T.ITERATIONS] += 1.0
            ext = flow if r.exec_mode == Exec.BOOK else flow * r.oracle_feedback
            qnew = qcum + ext
            if qnew != qcum:
                i_new = _integ(qnew, self.mk, m, self.bd)
                avg = (i_new - i_cum) / (qnew - qcum)
            else:
                i_new = i_cum
                avg = _sdist(qcum, self.mk, m, self.bd)
            book_px = pre * (1.0 + avg)
            # pass 2: execute
            bd, bq, n_liq, usd, bsn = [0.0, 0.0], [0.0, 0.0], [0, 0], [0.0, 0.0], [0.0, 0.0]
            gm = [0.0, 0.0]   # margin of the positions that went bankrupt (a clearing house's first layer)
            sums = {"cpty": 0.0, "cfee": 0.0, "fee": 0.0, "fund": 0.0, "vault": 0.0, "trader": 0.0}
            for j, g, si, fr, bs, k, cb in items:
                s = 1.0 if si == 0 else -1.0
                rem = self.rem[j]
                held = self.pending[m][si][k][3] if k >= 0 else 0.0
                split = not bs and cb < fr
                if split:   # the book fills ``cb`` of the remaining size; the vault takes the rest at mark
                    parts = [(cb * rem, False, held * cb, False), (rem - cb * rem, True, held * (1.0 - cb), False)]
                else:
                    parts = [(rem if fr >= 1.0 else fr * rem, bs, held * fr, fr < 1.0)]
                q = float(pos.qty[j])
                for c, bs_part, extra, is_slice in parts:
                    px, notional, cpty, cfee, fee, to_fund, to_vault, trader, bad, kept = self.settle(
                        m, j, s, si, c, bs_part, mark, book_px, extra, is_slice)
                    if j == self.hj and self.hed is not None:
                        self.hed.on_liq(c * q, mark, trader)
                    self.oi_q[m][si] -= c * q
                    self.oi_e[m][si] -= c * q * float(pos.entry[j])
                    for key, v in (("cpty", cpty), ("cfee", cfee), ("fee", fee), ("fund", to_fund),
                                   ("vault", to_vault), ("trader", trader)):
                        sums[key] += v
                    bd[si] += bad
                    if bad > 0.0:
                        bq[si] += c * q
                        gm[si] -= trader
                    n_liq[si] += 1
                    usd[si] += notional
                    if bs_part:
                        bsn[si] += notional
                self.rem[j] = 0.0 if fr >= 1.0 or split else rem - c
                if k == -2:
                    self.pending[m][si].append([j, g, t + r.partial_cooldown_steps, kept])
                elif k >= 0 and fr < 1.0 and not split:
                    self.pending[m][si][k][2] = t + r.partial_cooldown_steps
                    self.pending[m][si][k][3] = self.pending[m][si][k][3] - extra + kept
            for si in range(2):
                self.pending[m][si] = [e for e in self.pending[m][si] if self.rem[e[0]] > 0.0]
            # book the flows
            par[Party.TRADERS] += sums["trader"]
            self.pay_counterparty(sums["cpty"])
            par[self.cfee_party] += sums["cfee"]
            fund = st[T.FUND]
            dest = int(r.liq_fee_dest)
            fee_party = {Dest.INSURANCE: Party.INSURANCE, Dest.POOL: Party.POOL, Dest.BROKER: Party.BROKER,
                         Dest.VAULT: Party.VAULT}.get(dest, Party.VENUE)
            par[fee_party] += sums["fee"]
            if fee_party == self.fund_party:
                fund += sums["fee"]
            par[Party.VAULT] += sums["vault"]
            pool_absorbs = int(r.bad_debt_absorber) == Absorber.POOL
            if pool_absorbs:   # the seized surplus is the LPs' (nb.py says why)
                par[Party.POOL] += sums["fund"]
                self.pool_usd[m] += sums["fund"]
            else:
                par[Party.INSURANCE] += sums["fund"]
            if self.fund_party == Party.VAULT:
                fund += sums["vault"]
            elif not pool_absorbs:
                fund += sums["fund"]
            if int(r.counterparty) == Party.POOL:
                self.pool_usd[m] += -sums["cpty"] + sums["cfee"] + (sums["fee"] if dest == Dest.POOL else 0.0)
            st[T.LIQ_FEES] += sums["fee"]
            st[T.SURPLUS_TO_FUND] += sums["fund"]
            st[T.BACKSTOP_GAIN] += sums["vault"]
            st[T.FUND_PEAK] = max(st[T.FUND_PEAK], fund)
            # the waterfall
            trig = int(r.adl_trigger)
            for si in range(2):
                b = bd[si]
                if b <= 0.0:
                    continue
                o = 1 - si
                st[T.BAD_DEBT] += b
                out.bad_debt[p, m] += b
                resid = b
                if self.ccp is not None:
                    st[T.DEFAULTER_MARGIN] += gm[si]
                    resid = self.ccp.waterfall(resid, gm[si], mark, m, o, self.oi_q[m][o], par, st,
                                               T.PAID_DEFAULTER_GF)
                if trig == AdlTrigger.NEGATIVE_EQUITY:
                    resid = self.adl(Event.ADL_BANKRUPT, t, m, o, bq[si], resid, mark, fund)
                floor = (1.0 + r.fund_drawdown) * st[T.FUND_PEAK] if trig == AdlTrigger.FUND_DRAWDOWN else 0.0
                if resid > 0.0:
                    take = min(resid, max(fund - floor, 0.0))
                    fund -= take
                    par[self.fund_party] -= take
                    st[T.PAID_FUND] += take
                    resid -= take
                if resid > 0.0:
                    if r.bad_debt_absorber == Absorber.POOL:
                        par[Party.POOL] -= resid
                        self.pool_usd[m] -= resid
                        st[T.PAID_POOL] += resid
                        resid = 0.0
                    elif r.bad_debt_absorber == Absorber.BROKER:
                        par[Party.BROKER] -= resid
                        st[T.PAID_BROKER] += resid
                        resid = 0.0
                    elif trig in (AdlTrigger.FUND_EXHAUSTED, AdlTrigger.FUND_DRAWDOWN):
                        resid = self.adl(Event.ADL_BANKRUPT, t, m, o, bq[si] * resid / b, resid, mark, fund)
                if resid > 0.0 and trig == AdlTrigger.FUND_DRAWDOWN:
                    take = min(resid, max(fund, 0.0))
                    fund -= take
                    par[self.fund_party] -= take
                    st[T.PAID_FUND] += take
                    resid -= take
                    if resid > 0.0 and r.adl_fill == AdlFill.MARK_UNLESS_FUND_LOW:
                        resid = self.adl(Event.ADL_BANKRUPT, t, m, o, bq[si] * resid / b, resid, mark, fund)
                if resid > 0.0:
                    par[Party.UNCOVERED] -= resid
                    st[T.UNCOVERED] += resid
                    self.event(t, m, si, Event.SHORTFALL, 0.0, 0.0, resid, 0.0, mark, mark, 0.0, 0)
            st[T.FUND] = fund
            st[T.FUND_MIN] = min(st[T.FUND_MIN], fund)
            qcum, i_cum = qnew, i_new
            mark = pre * (1.0 + _sdist(qcum, self.mk, m, self.bd))
            for si in range(2):
                out.liq_count[p, m, si] += n_liq[si]
                out.liq_notional[p, m, si] += usd[si]
                out.backstop_notional[p, m, si] += bsn[si]
                if self.det_row >= 0:
                    out.det_liq_notional[self.det_row, t - 1, m, si] += usd[si]
                    out.det_liq_count[self.det_row, t - 1, m, si] += n_liq[si]
            st[T.LIQ_NOTIONAL] += usd[0] + usd[1]
            st[T.LIQUIDATIONS] += n_liq[0] + n_liq[1]
            st[T.BACKSTOP_NOTIONAL] += bsn[0] + bsn[1]
            if it == r.max_cascade_iterations - 1:
                st[T.NONCONVERGED] += 1.0
        return mark, qcum, i_cum

    def pnl_factor_check(self, t: int, m: int, mark: float) -> None:
        mk = self.mk
        for si in range(2):
            s = 1.0 if si == 0 else -1.0
            mx = float(mk.max_adl[m, si])
            pnl = s * (self.oi_q[m][si] * mark - self.oi_e[m][si])
            pool = self.pool_tok[m] * mark if si == 0 else self.pool_usd[m]
            if not mx < math.inf or pnl <= 0.0 or pool <= 0.0 or pnl <= mx * pool:
                continue
            mn = min(float(mk.min_adl[m, si]), mx)
            ratio = min(1.0, float(mk.max_traders[m, si]) * pool / pnl)
            x = (pnl - mn * pool) / (1.0 - mn * ratio) if mn * ratio < 1.0 else pnl
            self.adl(Event.ADL_PNL_FACTOR, t, m, si, min(x, pnl), 0.0, mark, self.st[T.FUND])

    def hedge(self, m: int, pre: float, qcum: float, i_cum: float, mark: float) -> float:
        r = self.r
        # the broker's own book: short its share of the clients' net position. The hedge covers the
        # part above the limit and never more than the client book (engine/broker.py says why)
        own = -r.internalized_fraction * (self.oi_q[m][0] - self.oi_q[m][1])
        lim = float(self.mk.hedge_limit[m]) / pre
        h = self.hedge_q[m]
        under = abs(own + h) > lim
        over = (h > 0.0 and own + h > 0.0) or (h < 0.0 and own + h < 0.0)
        if not (under or over):
            return mark
        if abs(own) <= lim:
            target = 0.0
        else:
            target = -(own - lim) if own > 0.0 else -(own + lim)
        dq = target - h
        if dq == 0.0:   # already at its target (e.g. both sides flat): no trade, as the kernel
            return mark
        q1 = qcum + dq * pre
        fill = pre * (1.0 + (_integ(q1, self.mk, m, self.bd) - i_cum) / (q1 - qcum))
        self.hedge_q[m] += dq
        self.hedge_cost[m] += dq * fill
        self.st[T.HEDGE_NOTIONAL] += abs(dq) * fill
        self.q_hedged = q1   # the flow walked after the broker's hedge (the hedger walks on from it)
        return pre * (1.0 + _sdist(q1, self.mk, m, self.bd))

    def run(self, n_steps: int, record_every: int) -> None:
        mk, model, out, p, r = self.mk, self.model, self.out, self.p, self.r
        n_m = self.n_m
        logx, h = [0.0] * n_m, [1.0] * n_m
        perm, trans = [0.0] * n_m, [0.0] * n_m
        for m in range(n_m):
            p0 = float(mk.price0[m])
            out.min_mark[p, m] = out.max_mark[p, m] = out.min_exog[p, m] = out.max_exog[p, m] = p0
            out.final_mark[p, m] = out.final_exog[p, m] = p0
            if self.det_row >= 0:
                out.det_mark[self.det_row, 0, m] = p0
                out.det_exog[self.det_row, 0, m] = p0
        ga, gb = float(model.garch_alpha), float(model.garch_beta)
        hedging = int(r.counterparty) == Party.BROKER and r.hedge_threshold < math.inf
        if hedging:   # the snapshot's hedge, in place before the path at the initial price
            for m in range(n_m):
                own = -r.internalized_fraction * (self.oi_q[m][0] - self.oi_q[m][1])
                lim = float(mk.hedge_limit[m]) / float(mk.price0[m])
                if abs(own) > lim:
                    self.hedge_q[m] = -(own - lim) if own > 0.0 else -(own + lim)
                    self.hedge_cost[m] = self.hedge_q[m] * float(mk.price0[m])
        for t in range(1, n_steps + 1):
            zf = self.rng.gauss()
            jump = 0.0
            if model.jump_prob > 0.0 and self.rng.uniform() < model.jump_prob:
                jump = model.jump_mean + model.jump_std * self.rng.gauss()
            for m in range(n_m):
                zi = self.rng.gauss()
                b = float(model.beta[m])
                e = b * zf + math.sqrt(1.0 - b * b) * zi
                sig = float(model.sigma[m]) * math.sqrt(h[m])
                logx[m] += float(model.mu[m]) - 0.5 * sig * sig + sig * e + b * jump
                h[m] = (1.0 - ga - gb) + ga * e * e + gb * h[m]
            for m in range(n_m):
                trans[m] *= float(mk.trans_decay[m])
                lx = logx[m] + float(model.base_log[t, m])
                x = float(mk.price0[m]) * math.exp(lx)
                pre = float(mk.price0[m]) * math.exp(lx + perm[m] + trans[m])
                self.phi[m][0] += float(mk.accrual[m, 0]) * pre
                self.phi[m][1] += float(mk.accrual[m, 1]) * pre
                self.bd = band_depth_at(mk, m, t)
                if self.wd_on:
                    sched = mk.depth_sched
                    row = min(t, sched.shape[0] - 1)
                    self.bd = np.array([float(mk.band_d[m, b]) * self.makers.depth_factor(
                        m, b, float(sched[row, b]), mk.wd_exp, True) for b in range(mk.band_d.shape[1])])
                halted = settle = False
                if self.ccp is not None:
                    halted, settle = self.ccp.gate(m, t, n_steps, pre)
                    self.st[T.HALT_STEPS] += 1.0 if halted else 0.0
                    self.st[T.LOCKED_AT_END] += 1.0 if halted and t == n_steps else 0.0
                if self.ccp is None or settle:
                    mark, qcum, i_cum = self.cascade(t, m, pre)
                else:
                    mark, qcum, i_cum = pre, 0.0, 0.0
                busy = mark != pre or qcum != 0.0
                liq_q, liq_i = qcum, i_cum   # the liquidations' own flow (what the makers react to)
                if hedging:
                    self.q_hedged = qcum
                    mark = self.hedge(m, pre, qcum, i_cum, mark)
                    qcum = self.q_hedged
                if self.hed is not None and m == self.h_market:
                    q0 = qcum
                    mark, qcum = self.hed.rehedge(t, pre, mark, qcum, mk, m, self.bd)
                    busy = busy or qcum != q0
                if (busy or hedging) and abs(mark / pre - 1.0) >= MAX_DISTANCE * (1.0 - 1e-12):
                    out.depth_capped[p, m] += 1
                    self.st[T.DEPTH_CAPPED] += 1.0
                if mark != pre:
                    lg = math.log(mark / pre)
                    perm[m] += float(mk.perm_frac[m]) * lg
                    trans[m] += (1.0 - float(mk.perm_frac[m])) * lg
                if r.adl_trigger == AdlTrigger.PNL_FACTOR:
                    self.pnl_factor_check(t, m, mark)
                if self.hed is not None and m == self.h_market:
                    self.hed.after_step(t, mark)
                if settle:
                    self.ccp.settled(m, t, mark)   # type: ignore[union-attr]
                    self.st[T.SETTLEMENTS] += 1.0
                if self.wd_on:
                    w = self.makers.update(m, mark, pre, liq_q, liq_i,
                                           float(out.adl_notional[p, m, 0] + out.adl_notional[p, m, 1]), mk.wd_par,
                                           float(mk.wd_cap[m]))
                    out.wd_min[p, m] = min(out.wd_min[p, m], w)
                    out.wd_thin[p, m] += 1 if w < float(mk.wd_par[10]) else 0
                    if self.det_row >= 0:
                        out.det_wd[self.det_row, t, m] = w
                out.min_mark[p, m] = min(out.min_mark[p, m], mark)
                out.max_mark[p, m] = max(out.max_mark[p, m], mark)
                out.min_exog[p, m] = min(out.min_exog[p, m], x)
                out.max_exog[p, m] = max(out.max_exog[p, m], x)
                out.final_mark[p, m] = mark
                out.final_exog[p, m] = x
                if self.det_row >= 0:
                    out.det_mark[self.det_row, t, m] = mark
                    out.det_exog[self.det_row, t, m] = x
            if t % record_every == 0:
                rr = t // record_every - 1
                if rr < out.insurance_path.shape[1]:
                    out.insurance_path[p, rr] = self.st[T.FUND]
        for m in range(n_m):
            fin = float(out.final_mark[p, m])
            for si in range(2):
                s = 1.0 if si == 0 else -1.0
                open_pnl = s * (self.oi_q[m][si] * fin - self.oi_e[m][si]) - self.phi[m][si] * self.oi_q[m][si]
                self.par[Party.TRADERS] += open_pnl
                self.pay_counterparty(open_pnl)
            v = self.hedge_q[m] * fin - self.hedge_cost[m]
            self.par[Party.BROKER] += v
            self.par[Party.MARKET] -= v
        if self.r.max_trade_gain < math.inf:   # per-trade profit cap (profit_cap_nb.py)
            cut = open_profit_cap_haircut_reference(self.pos, self.rem, out.final_mark[p], self.phi, self.r.max_trade_gain)
            self.par[Party.TRADERS] -= cut
            self.pay_counterparty(-cut)
            self.st[T.PROFIT_CAP_HAIRCUT] += cut
        if self.det_row >= 0:
            for j, v in enumerate(self.rem):
                out.det_rem[self.det_row, j] = v
        if self.hed is not None:
            self.hed.finish(out.hedger[p], float(out.final_mark[p, self.h_market]))
        for k in range(K.N_TOT):
            out.totals[p, k] = self.st[k]
        for k in range(len(Party)):
            out.parties[p, k] = self.par[k]


def simulate_chunk_reference(p_lo: int, p_hi: int, n_chunks: int, seed: int, n_steps: int, record_every: int,
                             n_detail: int, max_pending: int, pos, mk, model, rules, out, observer=None,
                             p_base: int = 0) -> None:
    """Same signature and outputs as :func:`defi_perps.engine.nb.simulate_chunk`; ``observer``
    (twin only) sees every ADL event and its candidates, for the ADL policy lab."""
    for p in range(p_lo, p_hi):
        path = _Path(p, seed, pos, mk, model, rules, out, n_detail, max_pending, observer)
        if p_base:   # row p holds global path p_base + p (its random stream)
            path.rng = PyStream(seed, p_base + p)
        path.run(n_steps, record_every)


def open_profit_cap_haircut_reference(pos, rem, final_mark, phi, cap_multiple: float) -> float:
    """Twin of :func:`defi_perps.engine.profit_cap_nb.open_profit_cap_haircut_nb`: the profit above
    ``cap_multiple`` × collateral on every position still open at the final mark."""
    cut = 0.0
    for g in range(len(pos.seg_market)):
        m = int(pos.seg_market[g])
        s = 1.0 if pos.seg_side[g] > 0 else -1.0
        f = float(phi[m][0 if s > 0 else 1])
        fin = float(final_mark[m])
        for j in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1])):
            if rem[j] <= 0.0:
                continue
            q = rem[j] * float(pos.qty[j])
            pnl = s * q * (fin - float(pos.entry[j])) - f * q
            cap = cap_multiple * rem[j] * (float(pos.coll_usd[j]) + float(pos.coll_tok[j]) * fin)
            if pnl > cap:
                cut += pnl - cap
    return cut
