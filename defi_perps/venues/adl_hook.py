"""The venue's ADL policy as the engine's ADL hook: account-level allocation of engine ADL events.

The cascade kernel deleverages a side *pro-rata on aggregates* and records every ADL event
(``defi_perps.engine.nb.event_dt``: path, step, market, deleveraged side, index tokens closed
``qty``, fill ``price``, ``mark``, profit taken ``haircut``, fraction of the side closed, and the
market's mark extremes so far). :class:`VenueAdlHook` runs after the simulation (O(events ×
positions of the side)) and spreads each event over the book's positions on the deleveraged side
with the venue's ADL ranking or a chosen policy from :mod:`defi_perps.adl`:

- ``venue`` (default): the venue's production mechanism, a contract-space queue: close ``qty``
  tokens in the venue's ranking order (``adl.ranking`` of its TOML, :mod:`defi_perps.adl.rankings`;
  every open position of the side is in the queue, as the venues rank losing positions too) at the
  event's fill price; each closed unit loses ``side·(mark − fill)``, so closed sizes sum to the
  engine's ``qty`` and haircuts to its haircut whenever the open positions hold ``qty`` (the
  difference, if the reconstruction below misses some, is reported as ``unmatched_size``).
- ``queue``, ``pro-rata-pnl``, ``pro-rata-equity``, ``risk-aware``: wealth-space policies on the same
  haircut (PnL only, ``x_i ≤ max(PnL_i, 0)``): they take ``min(haircut, Σ PnL⁺)``; the rest is
  reported as uncovered, and ``overshoot`` (taken − the minimum needed) is what the venue's
  contract-space queue takes beyond it.

GMX's pnl-to-pool ADL (kind 2) fills at the oracle price (no haircut per unit); its haircut is the
``MAX_PNL_FACTOR_FOR_TRADERS`` cap, spread over the closed positions in proportion to the profit
they realise (``AdlUtils``/``PositionUtils`` scale realised profit by ``cappedPoolPnl / poolPnl``).

Candidates at an event: positions of that market and side that the cascade had not liquidated —
a long is still open while its liquidation threshold (the engine's, from
:func:`~defi_perps.engine.inputs.prepare_positions`) stays below the lowest mark so far, a short
while it stays above the highest — minus what earlier events on the same path took from them.
Approximations, stated once: funding/borrowing shifts of the thresholds and partially sliced
positions are ignored here; the allocation is a re-ranking after the fact and does not feed back
into the engine's path (the aggregate quantities the engine carries are the same).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from defi_perps.adl.events import AdlEvent, Candidates
from defi_perps.adl.policies import POLICIES, run_policy
from defi_perps.adl.rankings import order
from defi_perps.book.arrays import Book
from defi_perps.engine.adl import RecordShortfall
from defi_perps.exceptions import ConfigError
from defi_perps.venues.params import VenueParams

if TYPE_CHECKING:
    from defi_perps.engine.results import SimulationResult

HOOK_POLICIES: tuple[str, ...] = ("venue",) + POLICIES
EV_ADL_BANKRUPT = 1
EV_ADL_PNL_FACTOR = 2


class VenueAdlHook:
    """``hook(result) -> dict``: allocate the engine's ADL events over accounts (see module doc).

    After a call, :attr:`records` holds one dict per allocated event and :attr:`allocations` the
    per-position arrays (``closed``, ``haircut``, candidate indices into the book) of each event.
    """

    name = "venue"

    def __init__(self, params: VenueParams, book: Book, policy: str = "venue", keep_events: int = 200) -> None:
        if policy not in HOOK_POLICIES:
            raise ConfigError(f"unknown ADL policy {policy!r}; choose from {', '.join(HOOK_POLICIES)}")
        self.params = params
        self.book = book
        self.policy = policy
        self.ranking = params.adl.ranking if params.adl.ranking != "none" else "pnl"
        self.keep_events = keep_events
        self.records: list[dict[str, Any]] = []
        self.allocations: list[dict[str, np.ndarray]] = []
        self.accounts_per_path = np.zeros(0)   # distinct accounts hit by ADL, per path (after a call)
        names = book.account_names
        self._labels = np.array([names[a] if a < len(names) else str(int(a)) for a in book.account], dtype=object)

    # ------------------------------------------------------------------------------------------
    def _candidates(self, m: int, side: int, ev: np.void, thr: np.ndarray,
                    taken: dict[int, float]) -> tuple[np.ndarray, Candidates, np.ndarray]:
        b = self.book
        sel = np.flatnonzero((b.market == m) & (b.side == side))
        # still open at the event: the mark never crossed the position's threshold
        sel = sel[thr[sel] < ev["mark_lo"]] if side > 0 else sel[thr[sel] > ev["mark_hi"]]
        left = b.size[sel] - np.array([taken.get(int(i), 0.0) for i in sel]) if taken else b.size[sel].copy()
        keep = left > 1e-12 * np.maximum(b.size[sel], 1e-300)
        sel, left = sel[keep], left[keep]
        frac = left / b.size[sel]
        mark = float(ev["mark"])
        pnl = side * left * (mark - b.entry_price[sel])
        equity = frac * (b.collateral_usd[sel] + b.collateral_tokens[sel] * mark) + pnl
        cands = Candidates(tuple(self._labels[sel]), np.full(sel.size, float(side)), left, b.entry_price[sel].copy(),
                           np.full(sel.size, mark), equity, pnl)
        return sel, cands, left

    def _venue_queue(self, cands: Candidates, qty: float) -> np.ndarray:
        """Close ``qty`` tokens in the venue's ranking order (every open position of the side is in
        the queue, losing ones ranked by the venue's own score too), the last one partially."""
        closed = np.zeros(len(cands))
        left = qty
        for j in order(cands, self.ranking, self.params):
            if left <= 0.0:
                break
            dq = min(float(cands.size[j]), left)
            closed[j] = dq
            left -= dq
        return closed

    def _allocate(self, kind: int, ev: np.void, cands: Candidates) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
        """Per candidate: (closed size, haircut), the minimum needed, and policy details."""
        qty, price, mark = float(ev["qty"]), float(ev["price"]), float(ev["mark"])
        w = np.maximum(cands.pnl, 0.0)
        if kind == EV_ADL_BANKRUPT:
            if self.policy == "venue":
                closed = self._venue_queue(cands, qty)
                # each closed unit loses side·(mark − fill): Σ = the engine's haircut
                haircut = closed * cands.side * (mark - price)
                needed = float(min(max(float(ev["haircut"]), 0.0), w.sum()))
                return closed, haircut, needed, {"policy": "venue queue (contract space)",
                                                 "unmatched_size": max(0.0, qty - float(closed.sum())),
                                                 "principal_taken": float(np.maximum(haircut - w, 0.0).sum())}
            event = AdlEvent("engine", max(float(ev["haircut"]), 0.0), cands, bankrupt_size=qty, fill_price=price)
            res = run_policy(event, self.policy, ranking=self.ranking, venue=self.params)
            return res.closed_size, res.haircut, res.needed, {"policy": self.policy, **res.extra}
        # pnl-to-pool (GMX): close qty at the oracle price; realised profit capped pro-rata
        if self.policy == "venue":
            closed = self._venue_queue(cands, qty)
            extra: dict[str, Any] = {"policy": "venue queue (contract space)",
                                     "unmatched_size": max(0.0, qty - float(closed.sum()))}
        else:
            target = float(w.sum()) * float(ev["fraction"])
            res = run_policy(AdlEvent("engine", target, cands), self.policy, ranking=self.ranking, venue=self.params)
            closed = res.closed_size
            extra = {"policy": self.policy, "profit_to_realise": target}
        realised = closed * np.maximum(cands.side * (cands.mark - cands.entry), 0.0)
        cap = max(float(ev["haircut"]), 0.0)
        haircut = cap * realised / realised.sum() if realised.sum() > 0 else np.zeros_like(realised)
        return closed, haircut, cap, extra

    def __call__(self, result: SimulationResult) -> dict[str, Any]:
        from defi_perps.engine.inputs import prepare_positions

        base = RecordShortfall()(result)
        out = result.outputs
        b = self.book
        pos, order = prepare_positions(b, result.rules)
        thr = np.empty(b.n_positions)
        thr[order] = pos.thr
        self.records, self.allocations = [], []
        n_paths = out.events.shape[0]
        accounts_per_path = np.zeros(n_paths)
        notional_per_path = np.zeros(n_paths)
        by_account: dict[str, list[float]] = {}
        totals = dict(engine_qty=0.0, allocated_qty=0.0, engine_notional=0.0, allocated_notional=0.0,
                      engine_haircut=0.0, allocated_haircut=0.0, needed=0.0, overshoot=0.0, uncovered=0.0,
                      unmatched_size=0.0, principal_taken=0.0)
        n_alloc = 0
        for p in range(n_paths):
            k_max = int(min(out.n_events[p], out.events.shape[1]))
            taken: dict[int, float] = {}
            hit: set[str] = set()
            for k in range(k_max):
                ev = out.events[p, k]
                kind = int(ev["kind"])
                if kind not in (EV_ADL_BANKRUPT, EV_ADL_PNL_FACTOR) or ev["qty"] <= 0:
                    continue
                m, side = int(ev["market"]), int(ev["side"])
                sel, cands, _ = self._candidates(m, side, ev, thr, taken)
                if sel.size == 0:
                    closed = haircut = np.zeros(0)
                    needed, extra = 0.0, {"policy": self.policy}
                else:
                    closed, haircut, needed, extra = self._allocate(kind, ev, cands)
                for j in np.flatnonzero(closed > 0):
                    taken[int(sel[j])] = taken.get(int(sel[j]), 0.0) + float(closed[j])
                touched = np.flatnonzero((closed > 0) | (haircut > 0))
                names = {str(self._labels[sel[j]]) for j in touched}
                hit |= names
                price = float(ev["price"])
                for j in touched:
                    row = by_account.setdefault(str(self._labels[sel[j]]), [0.0, 0.0, 0.0])
                    row[0] += float(closed[j]) * price
                    row[1] += float(haircut[j])
                    row[2] += 1.0
                eng_h = float(ev["haircut"])
                rec = {"path": p, "step": int(ev["step"]), "market": b.market_names[m],
                       "side": "long" if side > 0 else "short",
                       "kind": "adl_bankrupt" if kind == EV_ADL_BANKRUPT else "adl_pnl_factor",
                       "fill_price": price, "mark": float(ev["mark"]),
                       "engine_qty": float(ev["qty"]), "allocated_qty": float(closed.sum()),
                       "engine_notional": float(ev["notional"]), "allocated_notional": float(closed.sum()) * price,
                       "engine_haircut": eng_h, "allocated_haircut": float(haircut.sum()),
                       "needed": float(needed), "overshoot": max(0.0, float(haircut.sum()) - float(needed)),
                       "uncovered": max(0.0, max(eng_h, 0.0) - float(haircut.sum())),
                       "unmatched_size": float(extra.get("unmatched_size", max(0.0, float(ev["qty"]) - closed.sum()))),
                       "principal_taken": float(extra.get("principal_taken", 0.0)),
                       "candidates": int(sel.size), "accounts_hit": len(names), "policy": extra.get("policy")}
                self.records.append(rec)
                self.allocations.append({"positions": sel, "closed": closed, "haircut": haircut})
                n_alloc += 1
                for key in totals:
                    totals[key] += rec[key]
                notional_per_path[p] += rec["allocated_notional"]
            accounts_per_path[p] = len(hit)
        self.accounts_per_path = accounts_per_path
        from defi_perps.engine.results import describe

        top = sorted(by_account.items(), key=lambda kv: (-kv[1][0], kv[0]))[:10]
        adl_kinds = base["events_by_kind"]["adl_bankrupt"] + base["events_by_kind"]["adl_pnl_factor"]
        return {
            **base,
            "hook": "venue",
            "venue": self.params.name,
            "adl_policy": self.policy,
            "ranking": self.ranking,
            "adl_events_allocated": n_alloc,
            "adl_events_not_recorded": int(max(0, int(out.n_events.sum()) - int(base["events_recorded"]))),
            "adl_events_recorded": int(adl_kinds),
            "adl_accounts_per_path": describe(accounts_per_path),
            "adl_notional_allocated_per_path_usd": describe(notional_per_path, loss=True),
            "distinct_accounts_hit": len(by_account),
            "totals": totals,
            "top_accounts": [{"account": a, "notional_usd": v[0], "haircut_usd": v[1], "events": int(v[2])}
                             for a, v in top],
            "events": self.records[: self.keep_events],
        }


__all__ = ["HOOK_POLICIES", "VenueAdlHook"]
