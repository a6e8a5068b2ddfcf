"""The ONE place the oracle lab touches the engine's cascade API (re-point here after engine changes).

The attacker's stages (:mod:`defi_perps.engine.attack`, :mod:`defi_perps.engine.oracles`) turn
spot pushes into the venue's oracle series; the liquidations, bad debt and who absorbed it that
this oracle move causes come from the one simulator, :func:`defi_perps.engine.api.simulate`, fed
the oracle series as its deterministic path (``base_log``). Liquidation thresholds come from the
engine's own preparation (:func:`defi_perps.engine.inputs.prepare_positions`), so the table and the
cascade agree on who is liquidatable.

A named venue runs exactly as ``simulate --venue`` runs it: through
:func:`defi_perps.venues.engine_rules.venue_inputs` (margin top-up at admission, market-maker
accounts on order-book venues, each market's own maintenance table, GMX v2's exact thresholds), with
the lab's overrides on top. Overriding a maintenance field (``mm_rate``, ``mm_kind``, tiers) replaces
the venue's per-position maintenance and its admission top-up with the override (the lab's what-if:
e.g. JELLY's short with margin withdrawn below maintenance must stay below it).
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
    remaining: np.ndarray | None = None   # float64[N] each position's remaining fraction on path 0 (detail=True)


MM_FIELDS = frozenset({"mm_rate", "mm_kind", "tier_floor", "tier_rate", "tier_amount", "mm_on_entry_notional"})


@dataclass
class TargetRules:
    """A venue as the lab targets it: its parameters (None = the generic rule), the rules the
    engine reads for the book it was built on (``rules``, overrides applied) and the overrides, so
    each run re-admits its own book through ``venue_inputs``."""

    rules: Any
    params: Any = None
    step_seconds: float = 60.0
    overrides: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.rules.to_dict()

    def __getattr__(self, name: str) -> Any:   # rule fields read straight through (rules.mm_rate, …)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["rules"], name)

    def inputs(self, book: Book) -> tuple[Book, Any, Any, Any]:
        """(admitted book, rules, per-position maintenance, exact thresholds) for ``book``."""
        from defi_perps.engine.rules import make_rules

        over = dict(self.overrides or {})
        if self.params is None:
            return book, self.rules, None, None
        from defi_perps.venues.engine_rules import venue_inputs

        what_if = bool(MM_FIELDS & over.keys())
        # the lab's maintenance what-if replaces the venue's margin tables, and with them the
        # admission top-up they imply (a state built below maintenance on purpose stays so)
        vi = venue_inputs(self.params, book, self.step_seconds, top_up=not what_if)
        rules = make_rules(vi.rules, **over) if over else vi.rules
        if what_if:
            return vi.book, rules, None, None
        return vi.book, rules, vi.position_mm, vi.thresholds


def venue_rules(venue: str | None, book: Book, step_seconds: float, **overrides: Any) -> TargetRules:
    """The target of a named venue (TOML in defi_perps/venues/params) or the generic set, with
    ``overrides`` (engine rule fields, e.g. ``insurance_initial``)."""
    from defi_perps.engine.rules import GENERIC, make_rules

    if venue is None:
        return TargetRules(make_rules(GENERIC, **overrides) if overrides else GENERIC, None, step_seconds, overrides)
    from defi_perps.venues import load_venue
    from defi_perps.venues.engine_rules import venue_inputs

    params = load_venue(venue)
    base = venue_inputs(params, book, step_seconds).rules
    return TargetRules(make_rules(base, **overrides) if overrides else base, params, step_seconds, overrides)


def _target(rules: Any) -> TargetRules:
    return rules if isinstance(rules, TargetRules) else TargetRules(rules)


def liquidation_thresholds(book: Book, rules: Any) -> np.ndarray:
    """float64[N] each position's liquidation price (book order), as the engine computes it for the
    book the venue admits (top-ups applied; appended market-maker accounts left out)."""
    from defi_perps.engine.inputs import prepare_positions

    admitted, r, position_mm, exact = _target(rules).inputs(book)
    pos, order = prepare_positions(admitted, r, position_mm, exact)
    thr = np.empty(admitted.n_positions)
    thr[order] = pos.thr
    return thr[: book.n_positions]


def run_cascade(book: Book, rules: Any, log_path: np.ndarray, step_seconds: float, n_paths: int = 1,
                seed: int = 0, volatility: float | list[float] = 0.0, depth: dict[str, Any] | None = None,
                progress: Callable[[int], None] | None = None, engine: str = "auto",
                detail: bool = False) -> CascadeOutcome:
    """Run the engine on ``book`` with ``log_path`` float64[T + 1, M] (log of the venue's trigger
    price over its start; 0 = unmoved) as the deterministic path; ``volatility`` adds the engine's
    own market noise on top (0: one deterministic replay). ``detail`` keeps path 0's per-position
    remaining fractions (``remaining``, book order)."""
    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.engine.inputs import DepthSpec, PriceModel

    n_steps = log_path.shape[0] - 1
    model = PriceModel(volatility=volatility, beta=0.0, garch_alpha=0.0,
                       garch_beta=0.0)
    spec = DepthSpec(**(depth or {}))
    admitted, r, position_mm, exact = _target(rules).inputs(book)
    res = simulate(admitted, r, model=model, depth=spec, base_log=np.ascontiguousarray(log_path, np.float64),
                   config=SimulationConfig(n_paths=n_paths, n_steps=n_steps, step_seconds=step_seconds, seed=seed,
                                           n_detail=1 if detail else 0, max_events=64), progress=progress,
                                           engine=engine,
                   position_mm=position_mm, thresholds=exact)
    o, t = res.outputs, res.totals      # per-path totals by name (engine/nb.py Tot / totals_dt)
    return CascadeOutcome(
        liquidated_long=o.liq_notional[:, :, 0].sum(axis=1), liquidated_short=o.liq_notional[:, :, 1].sum(axis=1),
        liquidations=o.liq_count.sum(axis=(1, 2)).astype(np.float64),
        bad_debt=t["bad_debt"].copy(), insurance_paid=t["paid_fund"].copy(),
        pool_paid=t["paid_pool"].copy(), broker_paid=t["paid_broker"].copy(),
        adl_covered=t["paid_adl"].copy(), shortfall=t["uncovered"].copy(),
        backstop_notional=o.backstop_notional.sum(axis=(1, 2)), backstop_gain=t["backstop_gain"].copy(),
        final_mark=o.final_mark.copy(), max_mark=o.max_mark.copy(), min_mark=o.min_mark.copy(), engine=res.engine,
        rules=r.to_dict(), remaining=res.remaining()[0, : book.n_positions].copy() if detail else None)

def paid_by_from_cascade(c: CascadeOutcome, absorber_is_vault: bool) -> dict[str, np.ndarray]:
    """Bad debt of the cascade by bearer, keyed as the engine's ``compare`` output."""
    zero = np.zeros_like(c.bad_debt)
    return {"insurance_fund": zero if absorber_is_vault else c.insurance_paid,
            "backstop_vault": c.insurance_paid if absorber_is_vault else zero,
            "pool": c.pool_paid, "broker": c.broker_paid, "adl": c.adl_covered, "uncovered": c.shortfall}


__all__ = ["CascadeOutcome", "TargetRules", "liquidation_thresholds", "paid_by_from_cascade", "run_cascade", "venue_rules"]
