"""One book and one scenario under several venues' rules, side by side: ``defi-perps compare``.

Each venue is one :func:`~defi_perps.runs.simulate.run_simulate` call on the same book, setup and
seed, so every venue sees the same exogenous price paths (path ``p`` draws from the stream
``(seed, p)`` whatever the rules do) and a venue row equals ``simulate --venue V --json`` for the
same inputs, number for number. A run whose per-path results exceed the result budget streams
(each venue through :func:`~defi_perps.engine.stream.simulate_streaming`, rows with
``tails_method: "sketch"``; see :mod:`defi_perps.runs.simulate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.liquidity import Withdrawal
from defi_perps.engine.results import SimulationResult, describe
from defi_perps.engine.stream import StreamingResult
from defi_perps.exceptions import InputError
from defi_perps.runs.simulate import SimulateRun, StreamedRun, run_simulate_budgeted
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues.params import VENUE_NAMES, VenueParams


ORACLE_DETAIL_PATHS = 8      # paths that keep per-step prices, for each venue's oracle series (= simulate's default)


@dataclass
class CompareRun:
    book: Book
    setup: RunSetup
    n_paths: int
    seed: int
    adl_policy: str
    runs: list[SimulateRun | StreamedRun] = field(default_factory=list)

    def exogenous(self) -> dict[str, Any]:
        """Per market: the exogenous price's drop and final level across paths (the same for every venue)."""
        if not self.runs:
            return {}
        first = self.runs[0].result
        if isinstance(first, StreamingResult):
            return first.exogenous()        # mean, min, max over every path
        o = first.outputs
        return {name: {"min_price_drop": describe(1.0 - o.min_exog[:, m] / self.book.price[m]),
                       "final_price": describe(o.final_exog[:, m])}
                for m, name in enumerate(self.book.market_names)}

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for r in self.runs:
            row = r.summary()
            row["display"] = r.result.venue_info.get("display", r.venue)
            row["counterparty"] = r.result.venue_info.get("counterparty", "book")
            row["margin_topup"] = r.result.venue_info.get("margin_topup", {})
            oracle = r.oracle()       # the venue's oracle / mark series vs the exogenous price
            if oracle is not None:
                row["oracle"] = oracle
            out.append(row)
        return out

    def to_dict(self, per_path: bool = False) -> dict[str, Any]:
        rows = self.rows()
        if per_path:
            for row, r in zip(rows, self.runs):
                if not isinstance(r.result, SimulationResult):
                    raise InputError(f"--per-path: --paths {self.n_paths:,} runs streamed (per-path results above "
                                     "the result budget), so per-path figures are not kept; use fewer paths")
                t = r.result.totals
                row["per_path"] = {"totals": {k: t[k].tolist() for k in t.dtype.names or ()},
                                   "paid_by": {k: v.tolist() for k, v in r.result.paid_by().items()},
                                   "parties": {k: v.tolist() for k, v in r.result.parties().items()}}
        from defi_perps.engine.results import _clean

        return _clean({
            "book": self.book.summary(), "shock": self.setup.describe(), "scenario": self.setup.info(),
            "run": {"paths": self.n_paths, "steps": self.setup.n_steps, "step_seconds": self.setup.step_seconds,
                    "seed": self.seed, "engine": self.runs[0].result.engine if self.runs else None},
            "adl_policy": self.adl_policy, "exogenous": self.exogenous(),
            "venue_sources": {r.venue: ("defi_perps/venues/params/" + r.venue.replace("-", "_") + ".toml")
                              if r.venue in VENUE_NAMES else "user file" for r in self.runs},
            "venues": rows,
        })


def run_compare(book: Book, venues: list[VenueParams | str], setup: RunSetup, n_paths: int = 200, seed: int = 0,
                adl_policy: str = "venue", threads: int | None = None,
                progress: Callable[[int], None] | None = None,
                notice: Callable[[str], None] | None = None, withdrawal: Withdrawal | None = None,
                result_budget: int | None = None) -> CompareRun:
    """Every venue on the same book, setup and seed (see the module docstring); with ``withdrawal``
    each venue also runs its no-withdrawal counterfactual (``withdrawal_share_of_move`` per venue).
    ``result_budget``: bytes of per-path results above which each venue's run streams."""
    run = CompareRun(book, setup, n_paths, seed, adl_policy)
    for v in venues:
        run.runs.append(run_simulate_budgeted(book, setup, v, n_paths=n_paths, seed=seed, adl_policy=adl_policy,
                                              threads=threads, detail_paths=min(ORACLE_DETAIL_PATHS, n_paths),
                                              progress=progress, notice=notice, withdrawal=withdrawal,
                                              result_budget=result_budget))
        notice = None   # the compile notice, once
    return run


def per_path_totals(run: CompareRun, key: str) -> dict[str, np.ndarray]:
    """``{venue: float64[P]}`` of one per-path total (e.g. ``"bad_debt"``) across the compared venues."""
    out = {}
    for r in run.runs:
        if not isinstance(r.result, SimulationResult):
            raise InputError("per-path totals are not kept for a streamed run; use fewer paths")
        out[r.venue] = r.result.totals[key].copy()
    return out


__all__ = ["CompareRun", "per_path_totals", "run_compare"]
