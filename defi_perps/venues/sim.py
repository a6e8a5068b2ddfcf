"""Run one book and one shock on one venue: liquidations, the loss waterfall and ADL, per path.

This is the venue-specific, account-level settlement layer. Per step and market it marks every
open position, finds those the venue's rule liquidates (:func:`_liquidatable`), executes them
(order-book venues walk the depth and move their own mark; oracle venues close at the oracle
price; Hyperliquid sends 20 % slices above $100k and hands positions below ⅔ MM to the
liquidator vault), charges the liquidation fee to its destination, and covers any bad debt by the
venue's waterfall:

``insurance fund / pool / vault / broker → ADL on the opposite side's profitable accounts → venue``

(Hyperliquid: ADL first when account value < 0, then the vault.) Bybit and OKX stop drawing the
fund at a 30 % drawdown from its peak and deleverage instead. ADL amounts follow each venue's fill
price — bankruptcy fill: the whole residual is taken from winners; mark fill (OKX, fund not
depleted): nothing is taken and the fund/venue keeps the loss; previous-mark fill (Hyperliquid):
the gap between the previous mark and the execution price — and are allocated over accounts by
an ADL policy from :mod:`defi_perps.adl` (``venue`` = the venue's own queue ranking). GMX v2 also
deleverages when a side's PnL-to-pool factor exceeds ``MAX_PNL_FACTOR_FOR_ADL``, closing its most
profitable positions at the oracle price until ``MIN_PNL_FACTOR_AFTER_ADL``, with realized profit
capped by ``MAX_PNL_FACTOR_FOR_TRADERS``. The B-book broker is the counterparty of everything,
passes (1 − α) through to an LP at once, and hedges the rest of its net exposure above a threshold
through the depth.

Modelling choices, stated once: positions are isolated (one margin per position; accounts are
used for ADL counts); all collateral is valued in USD at the book price; a position the venue
would not let open (leverage above its maximum) gets the minimum margin it allows
(``margin_topped_up``); ADL is applied in wealth space (amounts taken as above), closing the hit
positions in proportion at the mark. Every USD moves through :class:`~defi_perps.venues.ledger.Ledger`.

Engine note: the numba cascade engine (:mod:`defi_perps.engine`) works on aggregates per
(market, side, tier); the per-account pieces here (queue ranking, backstop takeover, broker
hedging, OKX's fill switch, Bybit's drawdown trigger) are why this layer exists. Venue TOMLs also
translate to the engine's :class:`~defi_perps.engine.rules.VenueRules` (:mod:`.rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.adl.events import AdlEvent, Candidates
from defi_perps.adl.policies import run_policy
from defi_perps.book.arrays import Book
from defi_perps.venues.ledger import Contract, Ledger
from defi_perps.venues.margin import maintenance_margin_array
from defi_perps.venues.params import VenueParams
from defi_perps.engine.inputs import DepthSpec
from defi_perps.venues.shock import impact_per_usd

METRICS: tuple[str, ...] = (
    "liquidated_notional", "liquidated_positions", "liquidation_fills", "bad_debt",
    "fund_paid", "pool_paid", "vault_paid", "broker_paid", "adl_paid", "venue_paid",
    "adl_notional", "adl_accounts", "profit_cap_haircut", "liquidation_fees",
    "fund_pnl", "pool_pnl", "vault_pnl", "broker_pnl", "venue_pnl", "market_pnl", "keeper_pnl", "trader_pnl",
    "collateral_revaluation", "ledger_residual",
)

_FEE_PARTY = {"insurance_fund": "fund", "pool": "pool", "keeper": "keeper", "liquidator_vault": "vault",
              "broker": "broker", "none": None}


@dataclass
class PathResult:
    metrics: dict[str, float]
    adl_hits: dict[str, float] = field(default_factory=dict)   # account -> USD taken by ADL


class VenueRun:
    """One venue on one book; call :meth:`run_path` per price path."""

    def __init__(self, params: VenueParams, book: Book, depth: DepthSpec | None = None, adl_policy: str = "venue",
                 step_seconds: float = 60.0) -> None:
        self.p = params
        self.book = book
        self.depth = depth if depth is not None else DepthSpec()
        self.perm = float(self.depth.permanent_fraction)
        self.adl_policy = adl_policy
        self.price0 = book.price.astype(np.float64)
        notional0 = book.size * book.entry_price
        coll = book.collateral_usd + book.collateral_tokens * self.price0[book.market]
        # A venue does not let a position open above its max leverage: top the margin up to its minimum.
        # GMX v2 on a real snapshot: the market's own on-chain factors override the TOML defaults.
        self.gmx = params.margin.kind == "gmx_v2"
        own_book = self.gmx and bool(np.isfinite(book.mm_rate).any())
        min_coll = notional0 / params.margin.max_leverage
        if params.margin.kind == "gmx_v1":   # the fixed liquidation fee makes tiny positions unopenable
            min_coll = np.maximum(min_coll, notional0 * params.margin.close_fee_rate + params.liquidation.fee_usd)
        if self.gmx:
            min_coll = np.maximum(min_coll, params.margin.min_collateral_usd)
        min_coll = min_coll * 1.0001
        self.topup = np.maximum(min_coll - coll, 0.0)
        if own_book:
            self.topup[:] = 0.0  # GMX positions on a GMX snapshot are taken as they are
        self.topped = int((self.topup > 0).sum())
        m_, liq_ = params.margin, params.liquidation
        self.mcf_m = self._override(book.mm_rate, m_.mmr)
        self.close_fee_m = self._override(book.close_fee_rate, m_.close_fee_rate)
        self.liq_fee_m = self._override(book.liq_fee_rate, liq_.fee_rate)
        self.min_coll_usd = float(np.nanmax(book.min_collateral_usd)) if self.gmx and np.isfinite(
            book.min_collateral_usd).any() else m_.min_collateral_usd
        a_ = params.adl
        self.max_adl_m = self._override(book.max_pnl_factor_adl, a_.max_pnl_factor_for_adl)
        self.min_adl_m = self._override(book.min_pnl_factor_after_adl, a_.min_pnl_factor_after_adl)
        self.cap_m = self._override(book.max_pnl_factor_traders, params.profit_cap.max_pnl_factor_for_traders)
        oi = book.open_interest()                           # [M, 2] USD
        self.oi0 = oi.sum(axis=1)
        # Book depth per 1 % move (USD), and impact per USD walked as a price fraction.
        # the engine's depth curve (stress included) at 1 % from mid (venues.shock.impact_per_usd)
        self.k_impact = impact_per_usd(book, self.depth)
        scale = params.insurance.initial_oi_fraction * float(self.oi0.sum())
        self.capital = {"fund": 0.0, "pool": 0.0, "vault": 0.0, "broker": 0.0}
        absorber = params.insurance.absorber
        key = {"insurance_fund": "fund", "pool": "pool", "liquidator_vault": "vault", "broker": "broker"}[absorber]
        self.capital[key] = scale
        # GMX pools per market and side (pnl-to-pool trigger): the book's pools if known, else split.
        pool_long = book.pool_long_tokens * self.price0
        pool_short = book.pool_short_usd.copy()
        unknown = (pool_long <= 0) | (pool_short <= 0)
        share = params.insurance.initial_oi_fraction * self.oi0 / 2
        self.pool_long_tokens = np.where(unknown, share / self.price0, book.pool_long_tokens)
        self.pool_short_usd = np.where(unknown, share, pool_short)
        steps_per_cooldown = params.liquidation.cooldown_s / step_seconds
        self.cooldown_steps = int(math.ceil(steps_per_cooldown)) if params.liquidation.cooldown_s > 0 else 0
        self.record_events = False
        self.events: list[dict[str, Any]] = []   # ADL events of the last path (rows of the adl CSV format)
        self.accounts = [book.account_names[a] if a < len(book.account_names) else str(a) for a in book.account]
        self._accounts_arr = np.array(self.accounts, dtype=object)

    def _override(self, values: np.ndarray, default: float) -> np.ndarray:
        """Per-market value from the book where set (GMX v2 snapshots), else the venue's default."""
        if not self.gmx:
            return np.full(values.shape, default, dtype=np.float64)
        return np.where(np.isnan(values), default, values).astype(np.float64)

    # ------------------------------------------------------------------------------------------
    def _ledger(self) -> Ledger:
        b = self.book
        cp = self.p.counterparty if self.p.counterparty != "book" else "market"
        led = Ledger((b.collateral_usd + self.topup).astype(np.float64), b.side.astype(np.float64),
                     b.size.astype(np.float64).copy(), b.entry_price.astype(np.float64).copy(),
                     b.market.astype(np.int64), cp, coll_tokens=b.collateral_tokens.astype(np.float64).copy(),
                     price0=self.price0)
        for k, v in self.capital.items():
            led.party[k] += v
        if self.p.bbook is not None:
            # The broker passes (1 − α) of every client position straight to an external LP.
            a = self.p.bbook.internalized_fraction
            for m in range(b.n_markets):
                net = float((b.side * b.size)[b.market == m].sum())
                if net != 0 and a < 1:
                    qty = abs(net) * (1 - a)
                    # clients net long -> broker is short to them, so it buys the pass-through from the LP
                    led.extra.append(Contract("broker", "market", m, qty, float(self.price0[m])) if net > 0
                                     else Contract("market", "broker", m, qty, float(self.price0[m])))
        return led

    def _mm(self, notional: np.ndarray, size: np.ndarray, market: np.ndarray | None = None) -> np.ndarray:
        m = self.p.margin
        mm = maintenance_margin_array(m, notional)
        if m.kind == "gmx_v2":
            mk = self.book.market if market is None else market
            # MCF on sizeInUsd plus the close fee (in the contract's test, isLiquidation=false)
            mm = notional * (self.mcf_m[mk] + self.close_fee_m[mk])
        if m.kind == "gmx_v1":
            mm = np.maximum(mm + self.p.liquidation.fee_usd, notional / m.max_leverage)
        return mm

    def _liquidatable(self, led: Ledger, mark: np.ndarray, blocked: np.ndarray) -> np.ndarray:
        open_ = led.size > 0
        eq = led.equity(mark)
        notional = led.size * mark[led.market]
        if self.gmx:
            # GMX v2 sizes MM on sizeInUsd (entry notional): remaining < size·mcf or <= 0 or < MIN_COLLATERAL_USD;
            # the close fee is charged on sizeDeltaUsd (= sizeInUsd for a full close).
            size_usd = led.size * led.entry
            mk = led.market
            rem = eq - size_usd * self.close_fee_m[mk]
            hit = (rem < size_usd * self.mcf_m[mk]) | (rem <= 0) | (rem < self.min_coll_usd)
        elif self.p.margin.kind == "gmx_v1":
            # VaultUtils.validateLiquidation: profit is not counted (remaining = collateral − loss);
            # liquidate if remaining < marginFees + liquidationFeeUsd; close if remaining·maxLeverage < size.
            size_usd = led.size * led.entry
            rem = led.cash + led.collateral_value(mark) + np.minimum(led.upnl(mark), 0.0)
            fees = size_usd * self.p.margin.close_fee_rate
            hit = (rem < fees + self.p.liquidation.fee_usd) | (rem * self.p.margin.max_leverage < size_usd)
        else:
            hit = eq < self._mm(notional, led.size)
        return np.flatnonzero(open_ & hit & ~blocked)

    # ------------------------------------------------------------------------------------------
    def run_path(self, ext: np.ndarray) -> PathResult:
        """``ext``: float64[steps + 1, M] external (oracle/index) price multipliers."""
        p = self.p
        led = self._ledger()
        m_count = self.book.n_markets
        impact_mult = np.ones(m_count)
        mark_prev = self.price0.copy()
        fund_peak = led.party["fund"]
        fund0 = led.party["fund"]
        blocked_until = np.full(led.size.size, -1, dtype=np.int64)
        self._pending: list[tuple[int, float, float, float, str]] = []
        self.events = []
        self._n_events = 0
        liquidated = np.zeros(led.size.size, dtype=bool)
        met = {k: 0.0 for k in METRICS}
        hits: dict[str, float] = {}
        wealth0 = led.total_wealth(self.price0)
        start = led.party_wealth(self.price0)
        start_traders = float(led.equity(self.price0).sum())
        book_exec = p.liquidation.execution == "book"
        fee_party = _FEE_PARTY[p.liquidation.fee_destination]
        mark = self.price0.copy()
        for t in range(1, ext.shape[0]):
            self._t = t
            oracle = self.price0 * ext[t]
            mark = oracle * impact_mult if book_exec else oracle.copy()
            for _ in range(64):  # cascade to a fixed point within the step
                blocked = blocked_until >= t
                idx = self._liquidatable(led, mark, blocked)
                if idx.size == 0:
                    break
                eq = led.equity(mark)
                notional = led.size * mark[led.market]
                mm = self._mm(notional, led.size)
                # Split into backstop takeovers, negative-equity (ADL-first) and normal fills.
                slices = np.ones(idx.size)
                if p.liquidation.partial_threshold_usd > 0:
                    big = notional[idx] > p.liquidation.partial_threshold_usd
                    slices[big] = p.liquidation.partial_fraction
                backstop = np.zeros(idx.size, dtype=bool)
                if p.liquidation.backstop_mm_fraction > 0:
                    backstop = (eq[idx] >= 0) & (eq[idx] < p.liquidation.backstop_mm_fraction * mm[idx])
                    slices[backstop] = 1.0
                # Aggregate book flow per market and side for the walk.
                exec_px = mark[led.market[idx]].copy()
                if book_exec:
                    flow = np.zeros((m_count, 2))
                    q_usd = slices * notional[idx]
                    book_sel = ~backstop
                    np.add.at(flow, (led.market[idx][book_sel], (led.side[idx][book_sel] < 0).astype(np.intp)),
                              q_usd[book_sel])
                    k = self.k_impact[led.market[idx]]
                    # a long's liquidation sells (walks bids down), a short's buys. Impact is linear in
                    # log price (walking X USD moves it by k·X), so prices stay positive however thin
                    # the book; the average fill of a walk is p·(e^{±kX} − 1)/(±kX).
                    walked = np.where(led.side[idx] > 0, flow[led.market[idx], 0], flow[led.market[idx], 1])
                    z = -led.side[idx] * k * walked
                    avg = np.where(np.abs(z) > 1e-12, np.expm1(z) / np.where(np.abs(z) > 1e-12, z, 1.0), 1.0 + z / 2)
                    exec_px = np.where(backstop, exec_px, exec_px * avg)
                    net_sell = flow[:, 0] - flow[:, 1]
                    impact_mult *= np.exp(-self.perm * self.k_impact * net_sell)
                for j, i in enumerate(idx):
                    self._liquidate(led, int(i), float(slices[j]), float(exec_px[j]), mark, mark_prev, bool(backstop[j]),
                                    float(mm[i]), fee_party, met, hits, fund0, fund_peak)
                    liquidated[i] = True
                    if slices[j] < 1.0 and self.cooldown_steps > 0:
                        blocked_until[i] = t + self.cooldown_steps - 1
                    fund_peak = max(fund_peak, led.party["fund"])
                self._flush_adl(led, mark, met, hits)
                if book_exec:
                    mark = oracle * impact_mult
            if p.adl.trigger == "pnl_to_pool":
                self._gmx_adl(led, mark, met, hits)
            if p.bbook is not None:
                self._hedge(led, mark, met)
            fund_peak = max(fund_peak, led.party["fund"])
            mark_prev = mark.copy()
        met["liquidated_positions"] = float(liquidated.sum())
        met["adl_accounts"] = float(len(hits))
        end = led.party_wealth(mark)
        for k in ("fund", "pool", "vault", "broker", "venue", "market", "keeper"):
            met[f"{k}_pnl"] = end[k] - start[k]
        met["trader_pnl"] = float(led.equity(mark).sum()) - start_traders
        met["collateral_revaluation"] = led.exogenous_at(mark)
        met["ledger_residual"] = led.total_wealth(mark) - wealth0 - met["collateral_revaluation"]
        return PathResult(met, hits)

    # ------------------------------------------------------------------------------------------
    def _liquidate(self, led: Ledger, i: int, frac: float, px: float, mark: np.ndarray, mark_prev: np.ndarray,
                   backstop: bool, mm_i: float, fee_party: str | None, met: dict[str, float], hits: dict[str, float],
                   fund0: float, fund_peak: float) -> None:
        p = self.p
        m = int(led.market[i])
        qty = led.size[i] * frac
        if backstop:
            # Hyperliquid: the liquidator vault takes the position at mark with the remaining margin
            # ("the maintenance margin is not returned").
            led.close(i, qty, float(mark[m]))
            led.extra.append(Contract("vault", led.counterparty, m, qty, float(mark[m])) if led.side[i] > 0
                             else Contract(led.counterparty, "vault", m, qty, float(mark[m])))
            led.transfer(i, "vault", max(led.cash[i], 0.0))
            met["liquidated_notional"] += qty * float(mark[m])
            met["liquidation_fills"] += 1
            return
        # Cash that backs this slice: the whole cash on a full close, pro-rata on a partial one.
        led.close(i, qty, px)
        met["liquidated_notional"] += qty * px
        met["liquidation_fills"] += 1
        if led.size[i] > 0:
            return  # partial slice: remaining position keeps all margin (its equity is re-checked)
        e = float(led.cash[i])
        if e > 0:
            fee = min(e, float(self.liq_fee_m[int(led.market[i])]) * qty * px + p.liquidation.fee_usd)
            if p.bbook is not None:
                fee = min(e, fee + p.bbook.spread_rate * qty * px)
            if fee_party is not None and fee > 0:
                led.transfer(i, fee_party, fee)
                met["liquidation_fees"] += fee
            if not p.liquidation.trader_keeps_remainder:
                # settled at the bankruptcy price: the surplus goes to the insurance fund
                led.transfer(i, "fund", float(led.cash[i]))
            return
        if e == 0:
            return
        deficit = -e
        met["bad_debt"] += deficit
        self._cover(led, i, deficit, qty, px, mark, mark_prev, met, hits, fund0, fund_peak)

    def _cover(self, led: Ledger, i: int, deficit: float, qty: float, px: float, mark: np.ndarray,
               mark_prev: np.ndarray, met: dict[str, float], hits: dict[str, float], fund0: float,
               fund_peak: float) -> None:
        """Cover trader ``i``'s deficit by the venue's waterfall. ADL requests are queued and settled
        per (market, side) once per cascade round by :meth:`_flush_adl` (one ranking per round)."""
        p = self.p
        left = deficit
        m = int(led.market[i])
        absorber = p.insurance.absorber
        if p.adl.trigger == "account_negative":
            # Hyperliquid: negative account value -> ADL at the previous mark, then the vault.
            gap = max(0.0, float(led.side[i]) * qty * (float(mark_prev[m]) - px))
            self._pending.append((i, min(gap, left), 0.0, left, "vault"))
            return
        if absorber == "insurance_fund":
            floor = 0.0
            if p.adl.trigger == "fund_drawdown":
                floor = (1 + p.adl.drawdown_ratio) * fund_peak
            avail = max(led.party["fund"] - floor, 0.0)
            pay = min(left, avail)
            led.transfer("fund", i, pay)
            met["fund_paid"] += pay
            left -= pay
        else:
            key = {"pool": "pool", "liquidator_vault": "vault", "broker": "broker"}[absorber]
            led.transfer(key, i, left)
            met[f"{key}_paid"] += left
            return
        if left <= 1e-9:
            return
        if p.adl.trigger in ("fund_depleted", "fund_drawdown"):
            fill = p.adl.fill
            if fill == "mark" and fund0 > 0 and led.party["fund"] / fund0 < p.adl.fill_bankruptcy_when_fund_below:
                fill = "bankruptcy"  # OKX: bankruptcy price once the fund is nearly depleted
            size_only = 0.0
            if fill == "mark":
                # ADL at mark takes nothing from winners: the positions are matched at mark and the
                # gap to bankruptcy stays with the fund, down to zero; past that, bankruptcy fill.
                pay = min(left, max(led.party["fund"], 0.0))
                led.transfer("fund", i, pay)
                met["fund_paid"] += pay
                size_only = qty * pay / left
                left -= pay
            self._pending.append((i, left, size_only, left, "venue"))
            return
        led.transfer("venue", i, left)
        met["venue_paid"] += left

    def _candidates(self, led: Ledger, opposite: float, m: int, mark: np.ndarray) -> tuple[np.ndarray, Candidates]:
        sel = np.flatnonzero((led.size > 0) & (led.side == opposite) & (led.market == m))
        if sel.size == 0:
            return sel, Candidates((), *(np.zeros(0) for _ in range(6)))
        upnl = led.side[sel] * led.size[sel] * (mark[m] - led.entry[sel])
        keep = upnl > 0
        sel = sel[keep]
        upnl = upnl[keep]
        eq = led.cash[sel] + led.coll_tokens[sel] * mark[m] + upnl
        c = Candidates(tuple(self._accounts_arr[sel]), led.side[sel], led.size[sel], led.entry[sel],
                       np.full(sel.size, mark[m]), eq, upnl)
        return sel, c

    def _flush_adl(self, led: Ledger, mark: np.ndarray, met: dict[str, float], hits: dict[str, float]) -> None:
        """Settle the queued ADL requests: per (market, bankrupt side), one policy run on the total
        amount; winners' haircuts go through the ``adl_clearing`` party to the bankrupt traders in
        proportion to what each needed; what ADL cannot take falls to the vault or the venue."""
        if not self._pending:
            return
        groups: dict[tuple[int, float], list[tuple[int, float, float, float, str]]] = {}
        for req in self._pending:
            i = req[0]
            groups.setdefault((int(led.market[i]), float(led.side[i])), []).append(req)
        self._pending = []
        ranking = self.p.adl.ranking if self.p.adl.ranking != "none" else "pnl"
        for (m, side), reqs in groups.items():
            total = sum(r[1] for r in reqs)
            size_only = sum(r[2] for r in reqs)
            sel, cands = self._candidates(led, -side, m, mark)
            taken = 0.0
            if sel.size and size_only > 0:
                # Fill at mark: winners' contracts are closed in the venue's rank order, no wealth taken.
                from defi_perps.adl.rankings import order as rank_order

                left = size_only
                for j in rank_order(cands, ranking, self.p):
                    if left <= 0:
                        break
                    dq = min(float(cands.size[j]), left)
                    led.close(int(sel[j]), dq, float(mark[m]))
                    met["adl_notional"] += dq * float(mark[m])
                    hits.setdefault(cands.account[j], 0.0)
                    left -= dq
                sel, cands = self._candidates(led, -side, m, mark)
            if sel.size and total > 0 and self.record_events:
                # several cascade rounds of one step can deleverage the same market and side: number them
                self._n_events += 1
                eid = (f"{self.p.name}-t{self._t}-{self.book.market_names[m]}-{'long' if side > 0 else 'short'}"
                       f"-{self._n_events}")
                for j in range(len(cands)):
                    self.events.append({"event": eid, "shortfall": total, "account": cands.account[j],
                                        "side": "long" if cands.side[j] > 0 else "short", "size": float(cands.size[j]),
                                        "entry": float(cands.entry[j]), "mark": float(cands.mark[j]),
                                        "equity": float(cands.equity[j]), "pnl": float(cands.pnl[j])})
            if sel.size and total > 0:
                policy = "queue" if self.adl_policy == "venue" else self.adl_policy
                res = run_policy(AdlEvent("sim", total, cands), policy, ranking=ranking, venue=self.p)
                for j in np.flatnonzero((res.haircut > 0) | (res.closed_size > 0)):
                    w = int(sel[j])
                    dq = float(min(res.closed_size[j], led.size[w]))
                    if dq > 0:
                        led.close(w, dq, float(mark[m]))
                        met["adl_notional"] += dq * float(mark[m])
                    x = float(res.haircut[j])
                    led.transfer(w, "adl_clearing", x)
                    hits[cands.account[j]] = hits.get(cands.account[j], 0.0) + x
                taken = res.taken
                met["adl_paid"] += taken
            for i, amount, _, need, after in reqs:
                share = taken * amount / total if total > 0 else 0.0
                led.transfer("adl_clearing", i, share)
                rest = need - share
                if rest > 1e-12:
                    led.transfer(after, i, rest)
                    met[f"{after}_paid"] += rest
            # the clearing account ends each round flat (rounding aside, swept to the venue)
            residue = led.party["adl_clearing"]
            if residue != 0.0:
                led.transfer("adl_clearing", "venue", residue)

    def _gmx_adl(self, led: Ledger, mark: np.ndarray, met: dict[str, float], hits: dict[str, float]) -> None:
        """GMX v2 AdlUtils: per market and side, pnl/pool > MAX_PNL_FACTOR_FOR_ADL → reduce profitable
        positions at the oracle price until the factor is back at MIN_PNL_FACTOR_AFTER_ADL. No order is
        enforced on-chain, so the selection is the ADL policy: the PnL to realize is allocated like a
        haircut (``venue``: largest profit first), and each position closes that share of its size.
        Realized profit is capped by MAX_PNL_FACTOR_FOR_TRADERS (scaled by cappedPoolPnl / poolPnl)."""
        policy = "queue" if self.adl_policy == "venue" else self.adl_policy
        for m in range(self.book.n_markets):
            for s in (1.0, -1.0):
                col = 0 if s > 0 else 1
                max_adl, min_after, cap = (float(self.max_adl_m[m, col]), float(self.min_adl_m[m, col]),
                                           float(self.cap_m[m, col]))
                pool_usd = self.pool_long_tokens[m] * mark[m] if s > 0 else self.pool_short_usd[m]
                on_side = (led.size > 0) & (led.side == s) & (led.market == m)
                if not on_side.any() or pool_usd <= 0:
                    continue
                side_pnl = float(led.upnl(mark)[on_side].sum())   # getPnl nets winners and losers of the side
                if side_pnl / pool_usd <= max_adl:
                    continue
                sel, cands = self._candidates(led, s, m, mark)
                if sel.size == 0:
                    continue
                res = run_policy(AdlEvent("gmx", side_pnl - min_after * pool_usd, cands), policy, ranking="gmx_v2",
                                 venue=self.p)
                scale = min(1.0, cap * pool_usd / side_pnl) if cap > 0 else 1.0
                for j in np.flatnonzero(res.closed_size > 0):
                    w = int(sel[j])
                    dq = float(min(res.closed_size[j], led.size[w]))
                    realized = led.close(w, dq, float(mark[m]))
                    if scale < 1.0 and realized > 0:
                        cut = realized * (1 - scale)
                        led.transfer(w, "pool", cut)
                        met["profit_cap_haircut"] += cut
                        hits[cands.account[j]] = hits.get(cands.account[j], 0.0) + cut
                    else:
                        hits.setdefault(cands.account[j], 0.0)
                    met["adl_notional"] += dq * float(mark[m])

    def _hedge(self, led: Ledger, mark: np.ndarray, met: dict[str, float]) -> None:
        """B-book: hedge the broker's net exposure above the threshold through the depth."""
        bb = self.p.bbook
        assert bb is not None
        for m in range(self.book.n_markets):
            sel = (led.market == m) & (led.size > 0)
            exposure = -float((led.side[sel] * led.size[sel]).sum())          # broker vs clients, tokens
            for c in led.extra:
                if c.market == m:
                    exposure += c.size if c.long == "broker" else (-c.size if c.short == "broker" else 0.0)
            threshold = bb.hedge_threshold_oi_fraction * self.oi0[m] / mark[m]
            if abs(exposure) <= threshold:
                continue
            qty = abs(exposure) - threshold
            buy = exposure < 0                                                # short exposure -> buy
            z = qty * mark[m] * self.k_impact[m] * (1 if buy else -1)
            px = float(mark[m] * (np.expm1(z) / z if abs(z) > 1e-12 else 1.0))
            led.extra.append(Contract("broker", "market", m, qty, px) if buy else Contract("market", "broker", m, qty, px))

