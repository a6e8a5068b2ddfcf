"""One book, one scenario, one venue's rules through the engine: what ``defi-perps simulate`` runs.

:func:`run_simulate` is the single code path behind ``simulate`` and every venue of ``compare``
(:mod:`defi_perps.runs.compare` calls it once per venue), so the two commands give identical
numbers for the same book, scenario, seed and venue. It returns a :class:`SimulateRun` whose
:meth:`~SimulateRun.to_dict` is the JSON the CLI prints and a report stores.

Default rules: a book read from a GMX v2 snapshot runs under GMX v2's rules; any other book under
the generic rule (``defi_perps.engine.rules.GENERIC``). Every output names the rules it used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from defi_perps.book.arrays import Book
from defi_perps.engine.api import SimulationConfig, simulate
from defi_perps.engine.results import SimulationResult
from defi_perps.engine.rules import GENERIC
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues.engine_rules import VenueInputs, venue_inputs
from defi_perps.venues.params import VenueParams, load_venue

GENERIC_NAME = "generic"


@dataclass
class SimulateRun:
    result: SimulationResult
    setup: RunSetup
    inputs: VenueInputs | None
    adl_policy: str

    @property
    def venue(self) -> str:
        return self.result.venue

    def summary(self) -> dict[str, Any]:
        """The one output shape (venue, rules, means, paid_by, parties, tails, depth_capped)."""
        return self.result.summary()

    def to_dict(self, include_paths: bool = False) -> dict[str, Any]:
        out = self.result.to_dict(include_paths=include_paths)
        out["shock"] = self.setup.describe()
        out["adl_policy"] = self.adl_policy
        return out


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
                 notice: Callable[[str], None] | None = None, engine: str = "auto") -> SimulateRun:
    """Run ``book`` under ``venue`` (a name, a .toml path, parsed params, or None for the default)."""
    if venue is None:
        venue = default_venue(book)
    config = SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=seed,
                              threads=threads, n_detail=detail_paths, max_events=max_events)
    if isinstance(venue, str) and venue.strip().lower() == GENERIC_NAME:
        result = simulate(book, GENERIC, model=setup.model, depth=setup.depth, funding=setup.funding, config=config,
                          base_log=setup.base_log, progress=progress, scenario=setup.info(), notice=notice,
                          engine=engine, depth_multiplier=setup.depth_multiplier)
        result.venue = GENERIC_NAME
        result.venue_info = {"venue": GENERIC_NAME, "display": "generic rule (1 % MM, 0.5 % fee, no ADL)"}
        return SimulateRun(result, setup, None, adl_policy)
    params = venue if isinstance(venue, VenueParams) else load_venue(venue)
    inputs = venue_inputs(params, book, setup.step_seconds, adl_policy)
    result = simulate(inputs.book, inputs.rules, model=setup.model, depth=setup.depth, funding=setup.funding,
                      config=config, base_log=setup.base_log, progress=progress, scenario=setup.info(),
                      position_mm=inputs.position_mm, notice=notice, engine=engine,
                      depth_multiplier=setup.depth_multiplier, thresholds=inputs.thresholds)
    result.venue = params.name
    result.venue_info = inputs.info()
    return SimulateRun(result, setup, inputs, adl_policy)


__all__ = ["GENERIC_NAME", "SimulateRun", "default_venue", "run_simulate"]
