"""Funding carry of a delta-neutral hedger (spot long + perp short) net of fees, financing and the
expected ADL/tail loss the engine simulates on a scenario: ``defi-perps carry``.

Carry (per year, fractions of the hedge notional N; simple annualisation)::

    carry_apr = funding_apr − fees_apr − financing_apr × (1 + 1/L)

``funding_apr`` is what the short receives: a given APR, or the mean of a funding CSV through the
venue's rule (:mod:`defi_perps.venues.funding`); ``fees_apr = 4 × fee × 365 d / holding`` (open and
close both legs once per holding period); financing is the cost of the capital tied up: the spot
leg (N) plus the perp margin (N / L).

Break-even carry (the method, precisely). The hedger's perp short (notional N, leverage L, account
``carry-hedger``) is added to the book on the hedged market and the scenario runs through the one
engine on the venue's rules; in-path ADL can select it like any account, by the venue's ranking.
Per path p the engine reports the short's remaining fraction r_p (so f_p = 1 − r_p was closed: by
ADL, since a short that gains in a fall is not liquidated; a rising path that liquidates it is
counted the same way, as a forced close), the side's ADL'd notional and haircut, each ADL event's
step, and the exogenous (spot) price per step. The hedger's loss on path p is

* ``adl_fill``: its share of the side's ADL haircut (profit taken by a bankruptcy-price fill),
  f_p·N / (the side's ADL'd notional) × the side's haircut;
* ``unhedged``: the spot left unhedged from each ADL event until it re-hedges ``latency`` later
  (rounded up to whole steps),
  f_p·q × (S(t_e) − S(t_e + latency)), with q the hedge in tokens and the closed fraction spread
  over the path's ADL events on that market in proportion to their notional (which event hit the
  hedger is not recorded per account);
* ``rehedge_fee``: re-opening f_p·N of short at the taker ``fee``.

``break_even_carry_apr = shocks_per_year × E[loss] / N`` — the net carry at which the expected
ADL/tail loss per year eats the carry; ``..._es99`` uses the 99 % expected shortfall instead of the
mean. It is computed on the scenario ("shock") and on the same horizon with no deterministic shock
("calm": the stochastic part only). ``shocks_per_year`` is a modelling choice (default 1: the
catalogue in incidents.md has about one market-wide cascade a year).

What this is not yet: the kernel has no hedger agent (issue 10 item 1), so re-hedge slippage
through the depth, funding inside the path and the hedger's own margin calls are not simulated;
the latency window reads the exogenous price, not the depth-impacted one.
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
from defi_perps.runs.simulate import run_simulate
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues import funding as fu

HEDGER = "carry-hedger"
SEED_CLAIM_APR = 0.04   # incidents.md §1.5: "Funding-arb yields < 4%" [UNVERIFIED]
MAX_CARRY_PATHS = 2000
HEDGE_OI_SHARE = 0.05   # modelling choice: one maker's hedge = 5 % of the market's open interest


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


def baseline_funding_apr(venue: str) -> tuple[float, str]:
    rule = fu.rule_for(venue)
    return rule.apr(rule.rate(0.0)), rule.source


def carry_apr(funding_apr: float, inp: CarryInputs) -> dict[str, float]:
    fees = 4.0 * inp.fee * 365.0 / inp.holding_days
    financing = inp.financing_apr * (1.0 + 1.0 / inp.leverage)
    return {"funding_apr": funding_apr, "fees_apr": fees, "financing_apr": financing,
            "carry_apr": funding_apr - fees - financing}


def with_hedger(book: Book, market: int, hedge_usd: float, leverage: float) -> tuple[Book, int]:
    """The book plus the hedger's perp short on ``market`` (entry at the book price); its index."""
    price = float(book.price[market])
    names = list(book.account_names) or [str(a) for a in range(int(book.account.max()) + 1)]
    acct = len(names)
    extra = {"market": np.int32(market), "side": np.int8(-1), "size": hedge_usd / price, "entry_price": price,
             "collateral_usd": hedge_usd / leverage, "collateral_tokens": 0.0, "account": np.int32(acct)}
    changes: dict[str, Any] = {}
    n = book.n_positions
    for f in dataclasses.fields(book):
        v = getattr(book, f.name)
        if f.name in extra:
            changes[f.name] = np.append(v, np.asarray(extra[f.name], dtype=v.dtype))
        elif isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n and f.name not in ("price",) \
                and not (book.n_markets == n and f.name in _PER_MARKET):
            fill = False if v.dtype == bool else np.nan
            changes[f.name] = np.append(v, np.asarray([fill], dtype=v.dtype), axis=0)
    changes["account_names"] = names + [HEDGER]
    return dataclasses.replace(book, **changes), n


_PER_MARKET = {"mm_rate", "close_fee_rate", "liq_fee_rate", "liq_impact_cap", "min_collateral_usd",
               "max_pnl_factor_adl", "min_pnl_factor_after_adl", "max_pnl_factor_traders", "pool_long_tokens",
               "pool_short_usd"}


@dataclass
class HedgerLoss:
    closed_fraction: np.ndarray
    adl_fill: np.ndarray
    unhedged: np.ndarray
    rehedge_fee: np.ndarray
    venue_info: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        return self.adl_fill + self.unhedged + self.rehedge_fee


def _hedge(inp: CarryInputs) -> float:
    if inp.hedge_usd is None:
        raise InputError("internal: the hedge notional is resolved by run_carry")
    return float(inp.hedge_usd)


def hedger_loss(book: Book, setup: RunSetup, inp: CarryInputs, market: int, n_paths: int, seed: int) -> HedgerLoss:
    hedge = _hedge(inp)
    hbook, idx = with_hedger(book, market, hedge, inp.leverage)
    run = run_simulate(hbook, setup, inp.venue, n_paths=n_paths, seed=seed, detail_paths=n_paths, max_events=256)
    res = run.result
    if res.book.account_names[int(res.book.account[idx])] != HEDGER:   # the venue must keep the book's order
        raise InputError("internal: the hedger's position moved in the venue's book")
    o = res.outputs
    closed = 1.0 - res.remaining()[:, idx]
    q = hedge / float(book.price[market])
    lat = int(math.ceil(inp.latency_s / setup.step_seconds))
    n_steps = o.det_exog.shape[1] - 1
    adl_n = o.adl_notional[:, market, 1]
    adl_h = o.adl_haircut[:, market, 1]
    fill = np.where(adl_n > 0, closed * hedge / np.maximum(adl_n, 1e-300) * adl_h, 0.0)
    unhedged = np.zeros(n_paths)
    for p in range(n_paths):
        if closed[p] <= 0:
            continue
        k = min(int(o.n_events[p]), o.events.shape[1])
        ev = o.events[p, :k]
        sel = ev[(ev["market"] == market) & (ev["kind"] != 3) & (ev["notional"] > 0)]
        spot = o.det_exog[p, :, market]
        if sel.size == 0:   # forced close without a recorded ADL event (e.g. liquidation): at the path's end
            continue
        w = sel["notional"] / sel["notional"].sum()
        drops = np.array([spot[min(int(t), n_steps)] - spot[min(int(t) + lat, n_steps)] for t in sel["step"]])
        unhedged[p] = closed[p] * q * float((w * drops).sum())
    return HedgerLoss(closed, fill, unhedged, closed * hedge * inp.fee, res.venue_info)


def _no_shock(setup: RunSetup) -> RunSetup:
    from defi_perps.scenarios.scenario import Scenario

    return dataclasses.replace(setup, scenario=Scenario(name="", origin="carry: calm baseline"), base_log=None,
                               depth_multiplier=None)


def break_even(loss: HedgerLoss, inp: CarryInputs) -> dict[str, Any]:
    hedge = _hedge(inp)
    tot = loss.total
    d = describe(tot, loss=True)
    mean = float(tot.mean())
    return {"break_even_carry_apr": inp.shocks_per_year * mean / hedge,
            "break_even_carry_apr_es99": inp.shocks_per_year * float(d.get("es99", mean)) / hedge,
            "expected_loss_usd": mean,
            "loss_by_cause_usd": {"adl_fill": float(loss.adl_fill.mean()), "unhedged_spot": float(loss.unhedged.mean()),
                                  "rehedge_fee": float(loss.rehedge_fee.mean())},
            "adl_closed_fraction": describe(loss.closed_fraction),
            "adl_closed_notional_usd": float((loss.closed_fraction * hedge).mean()),
            "paths_hedger_adld": int((loss.closed_fraction > 1e-12).sum()),
            "loss_usd": d}


def run_carry(book: Book, setup: RunSetup, inp: CarryInputs, n_paths: int = 200, seed: int = 0) -> dict[str, Any]:
    inp.check()
    if not 1 <= n_paths <= MAX_CARRY_PATHS:
        raise InputError(f"--paths for carry must be 1..{MAX_CARRY_PATHS} (every path keeps per-step detail)")
    names = list(book.market_names)
    if inp.market is None:
        market = 0
    else:
        from defi_perps.venues.params import asset_of

        hits = [i for i, n in enumerate(names) if asset_of(n) == asset_of(inp.market) or n == inp.market]
        if not hits:
            raise InputError(f"--market {inp.market!r} is not in the book (markets: {', '.join(names)})")
        market = hits[0]
    funding_src: dict[str, Any]
    if inp.funding_csv is not None:
        before, funding_src = funding_from_csv(inp.funding_csv, inp.venue)
    elif inp.funding_apr is not None:
        before, funding_src = inp.funding_apr, {"given": "--funding-rate"}
    else:
        if inp.venue not in fu.RULES:
            raise InputError(f"venue {inp.venue!r} has no premium-index baseline; give --funding-rate APR or a CSV")
        before, src = baseline_funding_apr(inp.venue)
        funding_src = {"baseline": "premium 0: interest rate I only", "source": src}
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
                   "loss = ADL fill haircut share + unhedged spot over the re-hedge latency after each ADL event "
                   "+ re-hedge taker fee (defi_perps/runs/carry.py)"),
        "run": {"paths": n_paths, "seed": seed, "steps": setup.n_steps, "step_seconds": setup.step_seconds},
        "venue_rules": shock.venue_info.get("params", {}), "venue_sources": shock.venue_info.get("sources", {}),
    }


__all__ = [
    "HEDGER",
    "CarryInputs",
    "break_even",
    "carry_apr",
    "funding_from_csv",
    "hedger_loss",
    "run_carry",
    "with_hedger",
]
