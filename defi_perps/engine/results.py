"""Simulation results: per-path arrays plus cross-path statistics, serializable to JSON.

Statistics per metric: mean, standard deviation, quantiles (5/25/50/75/95/99 %), and for loss-like
metrics VaR and expected shortfall at 95 % and 99 % (VaR_a = the a-quantile of the per-path loss;
ES_a = the mean of the losses at or beyond VaR_a, computed on the sorted sample).

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
from defi_perps.engine.rules import VenueRules

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


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
    adl: dict[str, Any] = field(default_factory=dict)

    # -- per-path views ----------------------------------------------------------------
    @property
    def bad_debt(self) -> np.ndarray:
        return self.outputs.scalars[:, nb.ST_BAD_DEBT]

    @property
    def shortfall(self) -> np.ndarray:
        return self.outputs.scalars[:, nb.ST_SHORTFALL]

    @property
    def insurance_final(self) -> np.ndarray:
        return self.outputs.scalars[:, nb.ST_INSURANCE]

    def liquidated_notional(self) -> np.ndarray:
        return self.outputs.liq_notional.sum(axis=(1, 2))

    def amplification(self) -> np.ndarray:
        """float64[P, M] cascade amplification (NaN where the exogenous price never fell)."""
        p0 = self.book.price[None, :]
        drop_c = 1.0 - self.outputs.min_mark / p0
        drop_x = 1.0 - self.outputs.min_exog / p0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(drop_x > 1e-12, drop_c / drop_x, np.nan)

    # -- aggregates ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        o = self.outputs
        names = self.book.market_names
        per_market: dict[str, Any] = {}
        amp = self.amplification()
        for m, name in enumerate(names):
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
            }
        s = o.scalars
        return {
            "bad_debt_usd": describe(s[:, nb.ST_BAD_DEBT], loss=True),
            "shortfall_usd": describe(s[:, nb.ST_SHORTFALL], loss=True),
            "liquidated_notional_usd": describe(self.liquidated_notional(), loss=True),
            "liquidations": describe(o.liq_count.sum(axis=(1, 2))),
            "backstop_notional_usd": describe(o.backstop_notional.sum(axis=(1, 2)), loss=True),
            "adl_notional_usd": describe(o.adl_notional.sum(axis=(1, 2)), loss=True),
            "adl_haircut_usd": describe(o.adl_haircut.sum(axis=(1, 2)), loss=True),
            "insurance_fund_final_usd": describe(s[:, nb.ST_INSURANCE]),
            "insurance_fund_min_usd": describe(s[:, nb.ST_INSURANCE_MIN]),
            "insurance_paid_usd": describe(s[:, nb.ST_INSURANCE_PAID], loss=True),
            "pool_paid_usd": describe(s[:, nb.ST_POOL_PAID], loss=True),
            "broker_paid_usd": describe(s[:, nb.ST_BROKER_PAID], loss=True),
            "liquidation_fees_usd": describe(s[:, nb.ST_FEE_INSURANCE] + s[:, nb.ST_FEE_POOL] + s[:, nb.ST_FEE_VENUE]),
            "cascade_steps_not_converged": describe(s[:, nb.ST_NONCONVERGED]),
            "markets": per_market,
        }

    def per_path(self) -> dict[str, Any]:
        o, s = self.outputs, self.outputs.scalars
        return {
            "bad_debt_usd": s[:, nb.ST_BAD_DEBT], "shortfall_usd": s[:, nb.ST_SHORTFALL],
            "insurance_fund_final_usd": s[:, nb.ST_INSURANCE], "insurance_fund_min_usd": s[:, nb.ST_INSURANCE_MIN],
            "liquidated_notional_usd": o.liq_notional, "liquidations": o.liq_count,
            "adl_notional_usd": o.adl_notional, "adl_haircut_usd": o.adl_haircut,
            "min_price": o.min_mark, "final_price": o.final_mark, "exogenous_min_price": o.min_exog,
            "cascade_amplification": self.amplification(), "insurance_fund_path_usd": o.insurance_path,
            # per-step detail for the first ``n_detail`` paths: [path, step, market, side]
            "detail_liquidated_notional_by_step_usd": o.det_liq_notional,
            "detail_liquidations_by_step": o.det_liq_count,
            "detail_mark": o.det_mark, "detail_exogenous_price": o.det_exog,
        }

    def to_dict(self, include_paths: bool = False) -> dict[str, Any]:
        """JSON-ready dict (numpy values become lists/floats; NaN becomes null)."""
        cfg = self.config
        out: dict[str, Any] = {
            "book": self.book.summary(),
            "run": {"paths": cfg.n_paths, "steps": cfg.n_steps, "step_seconds": cfg.step_seconds,
                    "seed": cfg.seed, "engine": self.engine, "threads": self.threads,
                    "insurance_record_every_steps": self.record_every},
            "scenario": self.scenario,
            "rules": self.rules.to_dict(),
            "stats": self.stats(),
            "adl_hook": self.adl,
            "mean_step_liquidated_notional_usd": self.step_profile().tolist(),
        }
        if include_paths:
            out["paths"] = {k: np.asarray(v).tolist() for k, v in self.per_path().items()}
        return _clean(out)

    def step_profile(self) -> np.ndarray:
        """Mean over the detail paths of liquidated notional per step (all markets and sides)."""
        d = self.outputs.det_liq_notional
        if d.shape[0] == 0:
            return np.zeros(0)
        return d.sum(axis=(2, 3)).mean(axis=0)


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
