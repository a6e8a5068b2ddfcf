"""One book, one scenario, one venue's rules through the engine: what ``defi-perps simulate`` runs.

:func:`run_simulate` is the single code path behind ``simulate`` and every venue of ``compare``
(:mod:`defi_perps.runs.compare` calls it once per venue), so the two commands give identical
numbers for the same book, scenario, seed and venue. It returns a :class:`SimulateRun` whose
:meth:`~SimulateRun.to_dict` is the JSON the CLI prints and a report stores.

Default rules: a book read from a GMX v2 snapshot runs under GMX v2's rules; any other book under
the generic rule (``defi_perps.engine.rules.GENERIC``). Every output names the rules it used.

Memory (``simulate`` and ``compare`` call :func:`run_simulate_budgeted`): a run whose per-path
results fit ``result_budget`` bytes (default ``engine.stream.DEFAULT_RESULT_BUDGET_BYTES``, 1 GiB)
is :func:`run_simulate`, exactly as before (exact quantiles); a larger one is a :class:`StreamedRun`
through :func:`~defi_perps.engine.stream.simulate_streaming` in chunks (the same paths, the same
means to rounding, tails from the quantile sketch: ``tails_method: "sketch"``), see
:func:`~defi_perps.engine.stream.plan_run`. :func:`run_simulate` itself never streams, so its
callers keep every path's results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from defi_perps.book.arrays import Book
from defi_perps.engine.api import SimulationConfig, simulate
from defi_perps.engine.liquidity import Withdrawal
from defi_perps.engine.results import SimulationResult
from defi_perps.engine.rules import GENERIC
from defi_perps.engine.stream import StreamingResult, plan_run, simulate_streaming
from defi_perps.exceptions import InputError
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues.engine_rules import VenueInputs, venue_inputs
from defi_perps.venues.params import VenueParams, load_venue

GENERIC_NAME = "generic"
R = TypeVar("R", SimulationResult, StreamingResult)


def _oracle(venue: str, result: SimulationResult, setup: RunSetup) -> dict[str, Any] | None:
    """The venue's oracle / mark series on a result's detail paths (runs/oracle_series.py)."""
    from defi_perps.runs.oracle_series import oracle_section

    o = result.outputs
    return oracle_section(venue, o.det_exog, o.det_mark, result.book.price, list(result.book.market_names),
                          setup.step_seconds)


@dataclass
class _Run(Generic[R]):
    """A run's result with the setup it ran under: the one surface of plain and streamed runs."""

    result: R
    setup: RunSetup
    inputs: VenueInputs | None
    adl_policy: str

    @property
    def venue(self) -> str:
        return self.result.venue

    def summary(self) -> dict[str, Any]:
        """The one output shape (venue, rules, means, paid_by, parties, tails, depth_capped)."""
        return self.result.summary()

    def _detail(self) -> SimulationResult | None:
        """The result holding the detail paths the oracle series is read from."""
        raise NotImplementedError

    def oracle(self) -> dict[str, Any] | None:
        """The venue's own oracle / mark series on the detail paths vs the exogenous price
        (:mod:`defi_perps.runs.oracle_series`); None for a venue whose feed is the exogenous price."""
        det = self._detail()
        return None if det is None else _oracle(self.venue, det, self.setup)

    def to_dict(self, include_paths: bool = False) -> dict[str, Any]:
        out = self.result.to_dict(include_paths=include_paths)
        out["shock"] = self.setup.describe()
        out["adl_policy"] = self.adl_policy
        oracle = self.oracle()
        if oracle is not None:
            out["oracle"] = oracle
        return out


class SimulateRun(_Run[SimulationResult]):
    """A run with every path's results (exact quantiles)."""

    def _detail(self) -> SimulationResult | None:
        return self.result


class StreamedRun(_Run[StreamingResult]):
    """A run streamed in chunks (:mod:`defi_perps.engine.stream`): aggregates and sketch tails, the
    first chunk's detail paths; no per-path arrays."""

    def _detail(self) -> SimulationResult | None:
        return self.result.detail


def default_venue(book: Book) -> str:
    """The snapshot's own protocol's rules (GMX v2, GMX v1, … where venues/params has them), else the
    generic rule."""
    from defi_perps.venues.params import VENUE_NAMES

    protocol = str((book.meta or {}).get("protocol", "")).lower().replace("_", "-")
    if protocol in ("gmx-v2", "gmxv2", "gmx"):
        return "gmx-v2"
    return protocol if protocol in VENUE_NAMES else GENERIC_NAME


def run_simulate(book: Book, setup: RunSetup, venue: str | VenueParams | None = None, n_paths: int = 1000,
                 seed: int = 0, adl_policy: str = "venue", threads: int | None = None, detail_paths: int = 8,
                 max_events: int = 64, progress: Callable[[int], None] | None = None,
                 notice: Callable[[str], None] | None = None, engine: str = "auto",
                 withdrawal: Withdrawal | None = None) -> SimulateRun:
    """Run ``book`` under ``venue`` (a name, a .toml path, parsed params, or None for the default).
    ``withdrawal`` (None: off): the makers' depth withdraws inside the path, and the same run without
    it (same seed, the counterfactual) says how much of the move and of the liquidations withdrawal
    caused (``withdrawal_share_of_move``, :mod:`defi_perps.runs.withdrawal`)."""
    args = (book, setup, venue, n_paths, seed, adl_policy, threads, detail_paths, max_events)
    if withdrawal is None:
        return _run_once(*args, progress, notice, engine, None)
    from defi_perps.runs.withdrawal import withdrawal_share

    run = _run_once(*args, progress, notice, engine, withdrawal)
    off = _run_once(*args, None, None, engine, None)
    run.result.withdrawal_share = withdrawal_share(run.result, off.result)
    return run


def run_simulate_budgeted(book: Book, setup: RunSetup, venue: str | VenueParams | None = None, n_paths: int = 1000,
                          seed: int = 0, adl_policy: str = "venue", threads: int | None = None,
                          detail_paths: int = 8, max_events: int = 64,
                          progress: Callable[[int], None] | None = None,
                          notice: Callable[[str], None] | None = None, engine: str = "auto",
                          withdrawal: Withdrawal | None = None,
                          result_budget: int | None = None) -> SimulateRun | StreamedRun:
    """:func:`run_simulate` while the per-path results fit ``result_budget`` bytes (None: the
    default), else the same run streamed in chunks (a :class:`StreamedRun`); a run too large to
    finish is refused in one line (:func:`~defi_perps.engine.stream.plan_run`)."""
    plan = plan_run(n_paths, book.n_markets, setup.n_steps, max_events, result_budget)
    if not plan.streamed:
        return run_simulate(book, setup, venue, n_paths, seed, adl_policy, threads, detail_paths, max_events,
                            progress, notice, engine, withdrawal)
    if withdrawal is not None:
        raise InputError(f"--withdrawal needs every path's results (its counterfactual), and --paths {n_paths:,} "
                         "runs streamed (above --result-budget); use fewer paths or a larger --result-budget")
    if venue is None:
        venue = default_venue(book)
    config = SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=seed,
                              threads=threads, n_detail=detail_paths, max_events=max_events)
    common: dict[str, Any] = dict(model=setup.model, depth=setup.depth, funding=setup.funding, config=config,
                                  base_log=setup.base_log, depth_multiplier=setup.depth_multiplier,
                                  chunk_paths=plan.chunk_paths, engine=engine, progress=progress, notice=notice,
                                  scenario=setup.info())
    if isinstance(venue, str) and venue.strip().lower() == GENERIC_NAME:
        res = simulate_streaming(book, GENERIC, **common)
        res.venue = GENERIC_NAME
        res.venue_info = {"venue": GENERIC_NAME, "display": "generic rule (1 % MM, 0.5 % fee, no ADL)"}
        return StreamedRun(res, setup, None, adl_policy)
    params = venue if isinstance(venue, VenueParams) else load_venue(venue)
    inputs = venue_inputs(params, book, setup.step_seconds, adl_policy)
    res = simulate_streaming(inputs.book, inputs.rules, position_mm=inputs.position_mm, thresholds=inputs.thresholds,
                             **common)
    res.venue = params.name
    res.venue_info = inputs.info()
    return StreamedRun(res, setup, inputs, adl_policy)


def _run_once(book: Book, setup: RunSetup, venue: str | VenueParams | None, n_paths: int, seed: int,
              adl_policy: str, threads: int | None, detail_paths: int, max_events: int,
              progress: Callable[[int], None] | None, notice: Callable[[str], None] | None, engine: str,
              withdrawal: Withdrawal | None) -> SimulateRun:
    if venue is None:
        venue = default_venue(book)
    config = SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=seed,
                              threads=threads, n_detail=detail_paths, max_events=max_events)
    if isinstance(venue, str) and venue.strip().lower() == GENERIC_NAME:
        result = simulate(book, GENERIC, model=setup.model, depth=setup.depth, funding=setup.funding, config=config,
                          base_log=setup.base_log, progress=progress, scenario=setup.info(), notice=notice,
                          engine=engine, depth_multiplier=setup.depth_multiplier, withdrawal=withdrawal)
        result.venue = GENERIC_NAME
        result.venue_info = {"venue": GENERIC_NAME, "display": "generic rule (1 % MM, 0.5 % fee, no ADL)"}
        return SimulateRun(result, setup, None, adl_policy)
    params = venue if isinstance(venue, VenueParams) else load_venue(venue)
    inputs = venue_inputs(params, book, setup.step_seconds, adl_policy)
    result = simulate(inputs.book, inputs.rules, model=setup.model, depth=setup.depth, funding=setup.funding,
                      config=config, base_log=setup.base_log, progress=progress, scenario=setup.info(),
                      position_mm=inputs.position_mm, notice=notice, engine=engine,
                      depth_multiplier=setup.depth_multiplier, thresholds=inputs.thresholds, withdrawal=withdrawal)
    result.venue = params.name
    result.venue_info = inputs.info()
    return SimulateRun(result, setup, inputs, adl_policy)


__all__ = ["GENERIC_NAME", "SimulateRun", "StreamedRun", "default_venue", "run_simulate",
           "run_simulate_budgeted"]
