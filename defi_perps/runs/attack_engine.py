"""The ONE place the oracle lab touches the engine's cascade API (re-point here after engine changes).

The attacker's stages (:mod:`defi_perps.engine.attack`, :mod:`defi_perps.engine.oracles`) turn
spot pushes into the venue's oracle series; the liquidations, bad debt and who absorbed it that
this oracle move causes come from the one simulator, :func:`defi_perps.engine.api.simulate`, fed
the oracle series as its deterministic path (``base_log``). Liquidation thresholds come from the
engine's own preparation (:func:`defi_perps.engine.inputs.prepare_positions`), so the table and the
cascade agree on who is liquidatable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book


@dataclass
class CascadeOutcome:
    """Per-path figures of one engine run (float64[P] each, USD)."""

    liquidated_long: np.ndarray
    liquidated_short: np.ndarray
    liquidations: np.ndarray
    bad_debt: np.ndarray
    insurance_paid: np.ndarray
    pool_paid: np.ndarray
    broker_paid: np.ndarray
    adl_covered: np.ndarray
    shortfall: np.ndarray
    backstop_notional: np.ndarray
    backstop_gain: np.ndarray
    final_mark: np.ndarray        # [P, M]
    max_mark: np.ndarray
    min_mark: np.ndarray
    engine: str
    rules: dict[str, Any]


def venue_rules(venue: str | None, book: Book, step_seconds: float, **overrides: Any) -> Any:
    """Engine rules of a named venue (TOML in defi_perps/venues/params) or the generic set, with
    ``overrides`` (engine rule fields, e.g. ``insurance_initial``)."""
    from defi_perps.engine.rules import GENERIC, make_rules

    if venue is None:
        base = GENERIC
    else:
        from defi_perps.venues import load_venue
        from defi_perps.venues.rules import engine_rules_for

        base = engine_rules_for(load_venue(venue), book, step_seconds)
    return make_rules(base, **overrides) if overrides else base


def liquidation_thresholds(book: Book, rules: Any) -> np.ndarray:
    """float64[N] each position's liquidation price (book order), as the engine computes it."""
    from defi_perps.engine.inputs import prepare_positions

    pos, order = prepare_positions(book, rules)
    thr = np.empty(book.n_positions)
    thr[order] = pos.thr
    return thr


def run_cascade(book: Book, rules: Any, log_path: np.ndarray, step_seconds: float, n_paths: int = 1,
                seed: int = 0, volatility: float | list[float] = 0.0, depth: dict[str, Any] | None = None,
                progress: Callable[[int], None] | None = None, engine: str = "auto") -> CascadeOutcome:
    """Run the engine on ``book`` with ``log_path`` float64[T + 1, M] (log of the venue's trigger
    price over its start; 0 = unmoved) as the deterministic path; ``volatility`` adds the engine's
    own market noise on top (0: one deterministic replay)."""
    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.engine.inputs import DepthSpec, PriceModel

    n_steps = log_path.shape[0] - 1
    model = PriceModel(volatility=volatility, beta=0.0, garch_alpha=0.0,
                       garch_beta=0.0)
    spec = DepthSpec(**(depth or {}))
    res = simulate(book, rules, model=model, depth=spec, base_log=np.ascontiguousarray(log_path, np.float64),
                   config=SimulationConfig(n_paths=n_paths, n_steps=n_steps, step_seconds=step_seconds, seed=seed,
                                           n_detail=0, max_events=64), progress=progress, engine=engine)
    o, t = res.outputs, res.totals      # per-path totals by name (engine/nb.py Tot / totals_dt)
    return CascadeOutcome(
        liquidated_long=o.liq_notional[:, :, 0].sum(axis=1), liquidated_short=o.liq_notional[:, :, 1].sum(axis=1),
        liquidations=o.liq_count.sum(axis=(1, 2)).astype(np.float64),
        bad_debt=t["bad_debt"].copy(), insurance_paid=t["paid_fund"].copy(),
        pool_paid=t["paid_pool"].copy(), broker_paid=t["paid_broker"].copy(),
        adl_covered=t["paid_adl"].copy(), shortfall=t["uncovered"].copy(),
        backstop_notional=o.backstop_notional.sum(axis=(1, 2)), backstop_gain=t["backstop_gain"].copy(),
        final_mark=o.final_mark.copy(), max_mark=o.max_mark.copy(), min_mark=o.min_mark.copy(), engine=res.engine,
        rules=rules.to_dict())

def paid_by_from_cascade(c: CascadeOutcome, absorber_is_vault: bool) -> dict[str, np.ndarray]:
    """Bad debt of the cascade by bearer, keyed as the engine's ``compare`` output."""
    zero = np.zeros_like(c.bad_debt)
    return {"insurance_fund": zero if absorber_is_vault else c.insurance_paid,
            "backstop_vault": c.insurance_paid if absorber_is_vault else zero,
            "pool": c.pool_paid, "broker": c.broker_paid, "adl": c.adl_covered, "uncovered": c.shortfall}


__all__ = ["CascadeOutcome", "liquidation_thresholds", "paid_by_from_cascade", "run_cascade", "venue_rules"]
