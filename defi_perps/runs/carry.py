"""Funding carry of a delta-neutral hedger (spot long + perp short) net of fees, financing and the
expected ADL/tail loss the engine simulates on a scenario: ``defi-perps carry``.

Carry (per year, fractions of the hedge notional N; simple annualisation)::

    carry_apr = funding_apr − fees_apr − financing_apr × (1 + 1/L)

``funding_apr`` is what the short receives: a given APR, or the mean of a funding CSV through the
venue's rule (:mod:`defi_perps.venues.funding`); ``fees_apr = 4 × fee × 365 d / holding`` (open and
close both legs once per holding period); financing is the cost of the capital tied up: the spot
leg (N) plus the perp margin (N / L).

Break-even carry (the method, precisely). The hedger's perp short (notional N, leverage L, its own
account ``hedger``) is added to the book on the hedged market and the scenario runs through the one
engine on the venue's rules with the kernel's hedger agent (:mod:`defi_perps.engine.hedger_nb`, the
same run as ``defi-perps hedger``, :func:`defi_perps.runs.hedger.run_hedger_venue`): in-path ADL
selects the short by the venue's ranking like any account, a rising path can liquidate it, and what
was closed is re-hedged (a perp short on another venue) once ``latency`` has passed (rounded up to
whole steps, at least one), through the market's depth at that step. The hedger's loss on path p is
minus the agent's P&L without funding (the carry counts funding as an APR apart; the agent runs at
zero funding), by cause, everything valued at the venue's mark:

* ``adl_fill``: what the ADL fill took against the mark (a bankruptcy / previous-mark fill above it);
* ``unhedged_spot``: spot and perp mark-to-market, which cancel while hedged: the loss while the
  spot is unhedged, at the depth-impacted mark;
* ``rehedge_slippage`` and ``rehedge_fee``: the re-hedge's fill through the depth against the mark,
  and its taker ``fee``;
* ``liquidation``: a liquidation of the short against the mark (fill, fees, kept remainder).

``break_even_carry_apr = shocks_per_year × E[loss] / N`` — the net carry at which the expected
ADL/tail loss per year eats the carry; ``..._es99`` uses the 99 % expected shortfall instead of the
mean. It is computed on the scenario ("shock") and on the same horizon with no deterministic shock
("calm": the stochastic part only). ``shocks_per_year`` is a modelling choice (default 1: the
catalogue in incidents.md has about one market-wide cascade a year).

Not modelled: the hedger topping up its margin (a short that loses is liquidated, never topped up).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.results import describe
from defi_perps.exceptions import InputError
from defi_perps.runs.hedger import HEDGE_OI_SHARE, HedgerInputs, market_index, run_hedger_venue
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues import funding as fu

SEED_CLAIM_APR = 0.04   # incidents.md §1.5: "Funding-arb yields < 4%" [UNVERIFIED]
MAX_CARRY_PATHS = 2000


@dataclass(frozen=True)
class CarryInputs:
    venue: str
    market: str | None = None
    hedge_usd: float | None = None              # default: HEDGE_OI_SHARE of the market's open interest
    leverage: float = 10.0
    funding_apr: float | None = None            # before the shock
    funding_after_apr: float | None = None      # after it (default: the same)
    funding_csv: Path | None = None
    fee: float = 0.0005
    holding_days: float = 30.0
    financing_apr: float = 0.0
    latency_s: float = 60.0
    shocks_per_year: float = 1.0

    def check(self) -> None:
        for name in ("hedge_usd", "leverage", "holding_days", "shocks_per_year"):
            v = getattr(self, name)
            if v is None:
                continue
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"--{name.replace('_', '-')} must be a positive number (got {v!r})")
        for name in ("fee", "financing_apr", "latency_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"--{name.replace('_', '-')} must be a finite number >= 0 (got {v!r})")
        if self.fee >= 0.1:
            raise InputError(f"--fees {self.fee} is a fraction per trade (0.0005 = 5 bp); 10 % or more is not a fee")


def funding_from_csv(path: Path, venue: str) -> tuple[float, dict[str, Any]]:
    """Mean funding APR of a CSV with a ``timestamp`` column and one of ``funding_rate`` (per the
    venue's interval, as venues publish it), ``premium`` (interval-average premium index, 8 h units:
    the venue's formula is applied) or ``funding_apr``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise InputError(f"funding CSV {path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"funding CSV {path}: cannot be read ({err})") from None
    if not rows:
        raise InputError(f"funding CSV {path} has no rows")
    cols = set(rows[0])
    kind = next((c for c in ("funding_rate", "premium", "funding_apr") if c in cols), None)
    if kind is None or "timestamp" not in cols:
        raise InputError(f"funding CSV {path} needs columns timestamp and one of funding_rate, premium, funding_apr")
    vals = []
    for i, r in enumerate(rows, start=2):
        try:
            v = float(r[kind])
        except (TypeError, ValueError):
            raise InputError(f"funding CSV {path} line {i}: {kind} {r[kind]!r} is not a number") from None
        if not math.isfinite(v):
            raise InputError(f"funding CSV {path} line {i}: {kind} is not finite")
        vals.append(v)
    if kind == "funding_apr":
        return float(np.mean(vals)), {"csv": str(path), "column": kind, "rows": len(vals)}
    rule = fu.rule_for(venue)
    rates = [rule.rate(v) for v in vals] if kind == "premium" else vals
    return rule.apr(float(np.mean(rates))), {"csv": str(path), "column": kind, "rows": len(vals),
                                             "rule": dataclasses.asdict(rule)}


def carry_apr(funding_apr: float, inp: CarryInputs) -> dict[str, float]:
    fees = 4.0 * inp.fee * 365.0 / inp.holding_days
    financing = inp.financing_apr * (1.0 + 1.0 / inp.leverage)
    return {"funding_apr": funding_apr, "fees_apr": fees, "financing_apr": financing,
            "carry_apr": funding_apr - fees - financing}


@dataclass
class HedgerLoss:
    """The hedger's loss per path on one scenario, by cause (USD, positive = a loss), from the kernel's
    hedger agent (:mod:`defi_perps.engine.hedger_nb`)."""

    closed_fraction: np.ndarray      # of the short, closed by ADL or a liquidation
    adl_fill: np.ndarray             # what the ADL fill took against the mark
    unhedged: np.ndarray             # spot + perp mark-to-market: the loss while unhedged
    rehedge_fee: np.ndarray          # the re-hedge's taker fee
    rehedge_slippage: np.ndarray | None = None   # the re-hedge's fill through the depth against the mark
    liquidation: np.ndarray | None = None        # a liquidation of the short against the mark
    adl_fraction: np.ndarray | None = None       # of the short, closed by ADL alone
    venue_info: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        tot = self.adl_fill + self.unhedged + self.rehedge_fee
        for extra in (self.rehedge_slippage, self.liquidation):
            if extra is not None:
                tot = tot + extra
        return tot


def _hedge(inp: CarryInputs) -> float:
    if inp.hedge_usd is None:
        raise InputError("internal: the hedge notional is resolved by run_carry")
    return float(inp.hedge_usd)


def hedger_loss(book: Book, setup: RunSetup, inp: CarryInputs, market: int, n_paths: int, seed: int) -> HedgerLoss:
    """The hedger's loss on ``setup``'s scenario: the book plus its short (account ``hedger``) through
    the one engine on the venue's rules, with the kernel's hedger agent re-hedging after the latency
    through the depth (:func:`defi_perps.runs.hedger.run_hedger_venue`). Funding is set to zero in
    the path: the carry counts it as an APR apart, so the loss is the shock's alone."""
    latency = max(inp.latency_s, 0.001)   # the agent rounds up to whole steps, at least one
    hinp = HedgerInputs(market=book.market_names[market], hedge_usd=_hedge(inp), leverage=inp.leverage,
                        latency=f"{latency:.3f}s", route="perp", fee=inp.fee, funding_apr=0.0)
    run = run_hedger_venue(book, setup, inp.venue, hinp, n_paths=n_paths, seed=seed)
    pp = run.per_path()
    adl = pp["adl_closed_fraction"]
    return HedgerLoss(closed_fraction=adl + pp["liquidated_fraction"], adl_fill=-pp["adl_vs_market"],
                      unhedged=-(pp["spot_mtm"] + pp["perp_mtm"]), rehedge_fee=-pp["fees"],
                      rehedge_slippage=-pp["rehedge_slippage"], liquidation=-pp["liquidation_vs_market"],
                      adl_fraction=adl, venue_info=run.result.venue_info)


def _no_shock(setup: RunSetup) -> RunSetup:
    from defi_perps.scenarios.scenario import Scenario

    return dataclasses.replace(setup, scenario=Scenario(name="", origin="carry: calm baseline"), base_log=None,
                               depth_multiplier=None)


def break_even(loss: HedgerLoss, inp: CarryInputs) -> dict[str, Any]:
    hedge = _hedge(inp)
    tot = loss.total
    d = describe(tot, loss=True)
    mean = float(tot.mean())
    adl = loss.adl_fraction if loss.adl_fraction is not None else loss.closed_fraction
    causes = {"adl_fill": float(loss.adl_fill.mean()), "unhedged_spot": float(loss.unhedged.mean()),
              "rehedge_fee": float(loss.rehedge_fee.mean())}
    if loss.rehedge_slippage is not None:
        causes["rehedge_slippage"] = float(loss.rehedge_slippage.mean())
    if loss.liquidation is not None:
        causes["liquidation"] = float(loss.liquidation.mean())
    return {"break_even_carry_apr": inp.shocks_per_year * mean / hedge,
            "break_even_carry_apr_es99": inp.shocks_per_year * float(d.get("es99", mean)) / hedge,
            "expected_loss_usd": mean,
            "loss_by_cause_usd": causes,
            "adl_closed_fraction": describe(adl),
            "adl_closed_notional_usd": float((adl * hedge).mean()),
            "forced_closed_fraction": describe(loss.closed_fraction),
            "paths_hedger_adld": int((adl > 1e-12).sum()),
            "loss_usd": d}


def run_carry(book: Book, setup: RunSetup, inp: CarryInputs, n_paths: int = 200, seed: int = 0) -> dict[str, Any]:
    inp.check()
    if not 1 <= n_paths <= MAX_CARRY_PATHS:
        raise InputError(f"--paths for carry must be 1..{MAX_CARRY_PATHS}")
    names = list(book.market_names)
    market = market_index(book, inp.market)
    funding_src: dict[str, Any]
    if inp.funding_csv is not None:
        before, funding_src = funding_from_csv(inp.funding_csv, inp.venue)
    elif inp.funding_apr is not None:
        before, funding_src = inp.funding_apr, {"given": "--funding-rate"}
    elif setup.funding is not None or inp.venue in fu.RULES:
        # the same default as `defi-perps hedger`: the scenario's [funding] short rate, what the engine
        # charges every short (oct-10-2025: "near 40 % annualized" before the crash), else the venue's
        # premium-index rule at zero premium
        from defi_perps.runs.hedger import funding_for
        from defi_perps.venues.params import load_venue

        before, funding_src = funding_for(load_venue(inp.venue), None, setup, market)
    else:
        raise InputError(f"venue {inp.venue!r} has no premium-index baseline; give --funding-rate APR or a CSV")
    if inp.hedge_usd is None:
        inp = dataclasses.replace(inp, hedge_usd=HEDGE_OI_SHARE * float(book.open_interest()[market].sum()))
    after = inp.funding_after_apr if inp.funding_after_apr is not None else before
    shock = hedger_loss(book, setup, inp, market, n_paths, seed)
    calm = hedger_loss(book, _no_shock(setup), inp, market, n_paths, seed)
    be_shock, be_calm = break_even(shock, inp), break_even(calm, inp)
    c_before, c_after = carry_apr(before, inp), carry_apr(after, inp)
    be = be_shock["break_even_carry_apr"]

    def verdict(c: float) -> str:
        return "pays for the ADL risk" if c > be else "does not pay for the ADL risk"

    return {
        "venue": inp.venue, "market": names[market], "scenario": setup.describe(),
        "inputs": {**dataclasses.asdict(inp), "funding_csv": str(inp.funding_csv) if inp.funding_csv else None},
        "funding_source": funding_src,
        "carry_apr": c_before["carry_apr"], "carry_after_apr": c_after["carry_apr"],
        "carry": {"before_shock": c_before, "after_shock": c_after},
        "break_even_carry_apr": be, "break_even_carry_apr_es99": be_shock["break_even_carry_apr_es99"],
        "break_even": {"shock": be_shock, "calm": be_calm},
        "seed_claim": {"claim": "carry fell below ~4%/yr and stopped paying (incidents.md §1.5, unsourced)",
                       "carry_apr": SEED_CLAIM_APR, "break_even_carry_apr": be,
                       "margin_apr": SEED_CLAIM_APR - be, "verdict": verdict(SEED_CLAIM_APR)},
        "verdict_before": verdict(c_before["carry_apr"]), "verdict_after": verdict(c_after["carry_apr"]),
        "method": ("break_even_carry_apr = shocks_per_year × E[hedger loss on the scenario] / hedge notional; "
                   "loss = −(the kernel hedger agent's P&L without funding): ADL fill against the mark + spot and "
                   "perp mark-to-market while unhedged + re-hedge slippage through the depth + re-hedge taker fee "
                   "+ a liquidation of the short against the mark (defi_perps/runs/carry.py, engine/hedger_nb.py)"),
        "run": {"paths": n_paths, "seed": seed, "steps": setup.n_steps, "step_seconds": setup.step_seconds},
        "venue_rules": shock.venue_info.get("params", {}), "venue_sources": shock.venue_info.get("sources", {}),
    }


__all__ = [
    "CarryInputs",
    "HedgerLoss",
    "break_even",
    "carry_apr",
    "funding_from_csv",
    "hedger_loss",
    "run_carry",
]
