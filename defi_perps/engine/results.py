"""Simulation results: per-path arrays plus cross-path statistics, serializable to JSON.

Statistics per metric: mean, standard deviation, quantiles (5/25/50/75/95/99 %), and for loss-like
metrics VaR and expected shortfall at 95 % and 99 % (VaR_a = the a-quantile of the per-path loss;
ES_a = the mean of the losses at or beyond VaR_a, computed on the sorted sample).

One output shape (``simulate --json`` and every ``compare --json`` venue row):
``venue``, ``rules`` (the rule record the kernel ran, codes by name), the means across paths of
``liquidated_notional_usd``, ``bad_debt_usd``, ``adl_notional_usd``, ``paid_by`` (who paid the bad
debt, USD: ``insurance_fund``, ``pool``, ``backstop_vault``, ``broker``, ``adl``, ``venue``,
``uncovered``; they sum to ``bad_debt_usd``), ``parties`` (every party's mean balance change; they
sum to zero), ``tails`` (p50/p95/p99, VaR/ES of the loss metrics) and ``depth_capped`` (walks that
went past the depth curve's end, per market).

Cascade amplification per path and market = (1 − min mark / start price) ÷ (1 − min exogenous
price / start price): how much further the price fell with liquidation selling than the shock
alone took it. Undefined (NaN, left out of the statistics) where the exogenous price never fell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine import nb
from defi_perps.engine.codes import Absorber, Party, names
from defi_perps.engine.rules import VenueRules

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PAID_BY: tuple[str, ...] = ("insurance_fund", "pool", "backstop_vault", "broker", "adl", "venue", "uncovered",
                           # a clearing house's waterfall (venue ccp), after the defaulter's own margin
                           "defaulter_guarantee_fund", "ccp_capital", "mutualised_guarantee_fund", "assessments",
                           "vm_gains_haircut")
PARTY_NAMES: tuple[str, ...] = tuple(names(Party)[i] for i in range(len(Party)))


def describe(values: np.ndarray, loss: bool = False) -> dict[str, Any]:
    """Mean, std, quantiles (and VaR/ES for losses) of a per-path sample; NaNs are dropped."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"n": 0}
    out: dict[str, Any] = {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std()),
                           "min": float(v.min()), "max": float(v.max())}
    qs = np.quantile(v, QUANTILES)
    out["quantiles"] = {f"p{round(q * 100)}": float(x) for q, x in zip(QUANTILES, qs)}
    if loss:
        srt = np.sort(v)
        for a in (0.95, 0.99):
            var = float(np.quantile(v, a))
            k = int(math.floor(a * v.size))
            tail = srt[min(k, v.size - 1):]
            out[f"var{round(a * 100)}"] = var
            out[f"es{round(a * 100)}"] = float(max(tail.mean(), var))
    return out


def tail(values: np.ndarray) -> dict[str, float]:
    d = describe(values, loss=True)
    if d.get("n", 0) == 0:
        return {}
    q = d["quantiles"]
    return {"p50": q["p50"], "p95": q["p95"], "p99": q["p99"], "var99": d["var99"], "es99": d["es99"],
            "max": d["max"]}


@dataclass
class SimulationResult:
    book: Book
    rules: VenueRules
    config: Any
    model: Any
    depth: Any
    outputs: nb.Outputs
    record_every: int
    engine: str
    scenario: dict[str, Any] = field(default_factory=dict)
    position_order: np.ndarray | None = None
    threads: int | None = None
    venue: str = "generic"
    venue_info: dict[str, Any] = field(default_factory=dict)   # display name, sources, margin top-up, …
    withdrawal: Any = None     # engine.liquidity.Withdrawal the run used (None: depth did not withdraw)
    withdrawal_share: dict[str, Any] | None = None   # runs/withdrawal.py: on vs off on the same seed

    # -- per-path views ----------------------------------------------------------------
    @property
    def totals(self) -> np.ndarray:
        """``totals_dt[P]`` record array: per-path totals by name (``result.totals["bad_debt"]``)."""
        return self.outputs.totals.view(nb.totals_dt).reshape(-1)

    @property
    def bad_debt(self) -> np.ndarray:
        return self.totals["bad_debt"]

    @property
    def shortfall(self) -> np.ndarray:
        return self.totals["uncovered"]

    @property
    def insurance_final(self) -> np.ndarray:
        return self.totals["fund"]

    def liquidated_notional(self) -> np.ndarray:
        return self.totals["liq_notional"]

    def paid_by(self) -> dict[str, np.ndarray]:
        """Per path, who paid the bad debt (USD); the parts sum to ``bad_debt``."""
        t = self.totals
        zero = np.zeros(t.size)
        vault = self.rules.bad_debt_absorber == Absorber.VAULT
        return {"insurance_fund": zero if vault else t["paid_fund"].copy(),
                "pool": t["paid_pool"].copy(), "backstop_vault": t["paid_fund"].copy() if vault else zero,
                "broker": t["paid_broker"].copy(), "adl": t["paid_adl"].copy(), "venue": zero.copy(),
                "uncovered": t["uncovered"].copy(),
                "defaulter_guarantee_fund": t["paid_defaulter_gf"].copy(), "ccp_capital": t["paid_ccp_capital"].copy(),
                "mutualised_guarantee_fund": t["paid_guarantee_fund"].copy(),
                "assessments": t["paid_assessments"].copy(), "vm_gains_haircut": t["paid_vm_haircut"].copy()}

    def parties(self) -> dict[str, np.ndarray]:
        """Per path, every party's balance change (USD); they sum to zero on every path."""
        return {name: self.outputs.parties[:, i].copy() for i, name in enumerate(PARTY_NAMES)}

    def remaining(self) -> np.ndarray:
        """float64[D, N] each position's remaining fraction at the end of the first D (detail) paths,
        in the book's order (0: liquidated or ADL'd in full)."""
        d = self.outputs.det_rem
        out = np.ones_like(d)
        if self.position_order is not None and d.size:
            out[:, self.position_order] = d
        return out

    def amplification(self) -> np.ndarray:
        """float64[P, M] cascade amplification (NaN where the exogenous price never fell)."""
        p0 = self.book.price[None, :]
        drop_c = 1.0 - self.outputs.min_mark / p0
        drop_x = 1.0 - self.outputs.min_exog / p0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(drop_x > 1e-12, drop_c / drop_x, np.nan)

    # -- the one output shape -------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        t = self.totals
        paid = self.paid_by()
        capped = self.outputs.depth_capped
        capped_markets = [self.book.market_names[m] for m in range(self.book.n_markets) if capped[:, m].any()]
        return {
            "venue": self.venue,
            "rules": self.rules.to_dict(),
            "liquidated_notional_usd": float(t["liq_notional"].mean()),
            "liquidations": float(t["liquidations"].mean()),
            "bad_debt_usd": float(t["bad_debt"].mean()),
            "adl_notional_usd": float(t["adl_notional"].mean()),
            "adl_accounts": float(t["adl_accounts"].mean()),
            "adl_haircut_usd": float(t["adl_haircut"].mean()),
            "paid_by": {k: float(v.mean()) for k, v in paid.items()},
            "parties": {k: float(v.mean()) for k, v in self.parties().items()},
            "fund": {"initial_usd": float(self.rules.insurance_initial), "final_mean_usd": float(t["fund"].mean()),
                     "min_usd": float(t["fund_min"].min()),
                     "kind": "backstop_vault" if self.rules.bad_debt_absorber == Absorber.VAULT else "insurance_fund"},
            "backstop_notional_usd": float(t["backstop_notional"].mean()),
            "liquidation_fees_usd": float(t["liq_fees"].mean()),
            "hedge_notional_usd": float(t["hedge_notional"].mean()),
            "tails": {"liquidated_notional_usd": tail(t["liq_notional"]), "bad_debt_usd": tail(t["bad_debt"]),
                      "adl_notional_usd": tail(t["adl_notional"]), "uncovered_usd": tail(t["uncovered"])},
            "depth_capped": {"count": int(capped.sum()), "paths": int((capped.sum(axis=1) > 0).sum()),
                             "markets": capped_markets},
            "cascade_steps_not_converged": float(t["nonconverged"].sum()),
            **self._ccp_summary(), **self._withdrawal_summary(),
        }

    def _ccp_summary(self) -> dict[str, Any]:
        """A clearing house's settlement, halts and waterfall (venue ccp; engine/ccp_nb.py)."""
        if not self.rules.ccp:
            return {}
        t = self.totals
        layers = ("defaulter_guarantee_fund", "ccp_capital", "mutualised_guarantee_fund", "assessments",
                  "vm_gains_haircut")
        paid = self.paid_by()
        return {"clearing_house": {
            "settlements_mean": float(t["settlements"].mean()), "halted_market_steps_mean": float(t["halt_steps"].mean()),
            # beyond the hard limit at the end: not closed out, so a loss past margin there is not yet a default
            "locked_markets_at_end_mean": float(t["locked_at_end"].mean()),
            "defaulter_margin_usd": float(t["defaulter_margin"].mean()),
            "waterfall_usd": {k: float(paid[k].mean()) for k in layers},
            "uncovered_usd": float(t["uncovered"].mean()), "adl_notional_usd": float(t["adl_notional"].mean())}}

    def _withdrawal_summary(self) -> dict[str, Any]:
        """The makers' near-mid depth over the path (withdrawal on) and, when a counterfactual ran,
        how much of the move and of the liquidations withdrawal caused (runs/withdrawal.py)."""
        if self.withdrawal is None:
            return {"withdrawal": {"on": False}}
        o = self.outputs
        step_min = self.config.step_seconds / 60.0
        per_market = {name: {"near_mid_depth_min": describe(o.wd_min[:, m]),
                             "near_mid_thin_minutes": describe(o.wd_thin[:, m] * step_min)}
                      for m, name in enumerate(self.book.market_names)}
        out: dict[str, Any] = {"on": True, "params": self.withdrawal.to_dict(), "markets": per_market}
        if self.withdrawal_share is not None:
            out.update(self.withdrawal_share)
        return {"withdrawal": out}

    def stats(self) -> dict[str, Any]:
        o = self.outputs
        t = self.totals
        per_market: dict[str, Any] = {}
        amp = self.amplification()
        for m, name in enumerate(self.book.market_names):
            p0 = self.book.price[m]
            per_market[name] = {
                "start_price": float(p0),
                "liquidated_notional_long_usd": describe(o.liq_notional[:, m, 0], loss=True),
                "liquidated_notional_short_usd": describe(o.liq_notional[:, m, 1], loss=True),
                "liquidations_long": describe(o.liq_count[:, m, 0]),
                "liquidations_short": describe(o.liq_count[:, m, 1]),
                "bad_debt_usd": describe(o.bad_debt[:, m], loss=True),
                "adl_notional_usd": describe(o.adl_notional[:, m, :].sum(axis=1), loss=True),
                "min_price_drop": describe(1.0 - o.min_mark[:, m] / p0, loss=True),
                "exogenous_min_price_drop": describe(1.0 - o.min_exog[:, m] / p0, loss=True),
                "final_price": describe(o.final_mark[:, m]),
                "cascade_amplification": describe(amp[:, m]),
                "depth_capped_steps": describe(o.depth_capped[:, m]),
            }
        paid = self.paid_by()
        return {
            "bad_debt_usd": describe(t["bad_debt"], loss=True),
            "shortfall_usd": describe(t["uncovered"], loss=True),
            "liquidated_notional_usd": describe(t["liq_notional"], loss=True),
            "liquidations": describe(t["liquidations"]),
            "backstop_notional_usd": describe(t["backstop_notional"], loss=True),
            "adl_notional_usd": describe(t["adl_notional"], loss=True),
            "adl_haircut_usd": describe(t["adl_haircut"], loss=True),
            "adl_accounts": describe(t["adl_accounts"]),
            "insurance_fund_final_usd": describe(t["fund"]),
            "insurance_fund_min_usd": describe(t["fund_min"]),
            "insurance_paid_usd": describe(paid["insurance_fund"] + paid["backstop_vault"], loss=True),
            "pool_paid_usd": describe(paid["pool"], loss=True),
            "broker_paid_usd": describe(paid["broker"], loss=True),
            "liquidation_fees_usd": describe(t["liq_fees"]),
            "cascade_steps_not_converged": describe(t["nonconverged"]),
            "markets": per_market,
        }

    def per_path(self) -> dict[str, Any]:
        o = self.outputs
        t = self.totals
        return {
            "totals": {name: t[name] for name in nb.totals_dt.names or ()},
            "paid_by": self.paid_by(), "parties": self.parties(),
            "liquidated_notional_usd": o.liq_notional, "liquidations": o.liq_count,
            "adl_notional_usd": o.adl_notional, "adl_haircut_usd": o.adl_haircut,
            "min_price": o.min_mark, "final_price": o.final_mark, "exogenous_min_price": o.min_exog,
            "cascade_amplification": self.amplification(), "insurance_fund_path_usd": o.insurance_path,
            # per-step detail for the first ``n_detail`` paths: [path, step, market, side]
            "detail_liquidated_notional_by_step_usd": o.det_liq_notional,
            "detail_liquidations_by_step": o.det_liq_count,
            "detail_mark": o.det_mark, "detail_exogenous_price": o.det_exog,
        }

    def events_summary(self) -> dict[str, Any]:
        o = self.outputs
        n_kept = np.minimum(o.n_events, o.events.shape[1])
        kinds = np.concatenate([o.events[p, : n_kept[p]]["kind"] for p in range(o.events.shape[0])]) \
            if o.events.size else np.zeros(0, np.int8)
        return {"events_total": int(o.n_events.sum()), "events_recorded": int(n_kept.sum()),
                "adl_bankrupt": int(np.count_nonzero(kinds == 1)), "adl_pnl_factor": int(np.count_nonzero(kinds == 2)),
                "shortfall": int(np.count_nonzero(kinds == 3)),
                "paths_with_uncovered": int(np.count_nonzero(self.totals["uncovered"] > 0))}

    def to_dict(self, include_paths: bool = False) -> dict[str, Any]:
        """JSON-ready dict (numpy values become lists/floats; NaN becomes null)."""
        cfg = self.config
        out: dict[str, Any] = {
            **self.summary(),
            "venue_info": self.venue_info,
            "book": self.book.summary(),
            "run": {"paths": cfg.n_paths, "steps": cfg.n_steps, "step_seconds": cfg.step_seconds,
                    "seed": cfg.seed, "engine": self.engine, "threads": self.threads,
                    "insurance_record_every_steps": self.record_every},
            "scenario": self.scenario,
            "stats": self.stats(),
            "events": self.events_summary(),
            "mean_step_liquidated_notional_usd": self.step_profile().tolist(),
        }
        if include_paths:
            out["per_path"] = _lists(self.per_path())
        return _clean(out)

    def step_profile(self) -> np.ndarray:
        """Mean over the detail paths of liquidated notional per step (all markets and sides)."""
        d = self.outputs.det_liq_notional
        if d.shape[0] == 0:
            return np.zeros(0)
        return d.sum(axis=(2, 3)).mean(axis=0)


def _lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj
