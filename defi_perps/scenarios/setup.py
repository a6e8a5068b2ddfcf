"""The exogenous setup shared by ``simulate`` and ``compare``: one place that turns the command
line (``--shock | --replay | --scenario``, ``--horizon``, ``--step``, ``--depth-stress``,
``--volatility``) and a book into the price model, depth, funding and deterministic base path.

Both commands call :func:`resolve_setup`, and both draw their exogenous paths from the engine's
generator (:mod:`defi_perps.engine.exogenous`), so the same book, scenario and seed give the same
exogenous prices in either command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel
from defi_perps.exceptions import ConfigError, InputError
from defi_perps.scenarios.durations import parse_duration, steps_for
from defi_perps.scenarios.scenario import Scenario, load_scenario

MAX_STEPS = 1_000_000


@dataclass
class ScenarioChoice:
    """The scenario part of the command line, checked before any book is loaded."""

    scenario: Scenario
    n_steps: int
    step_seconds: float


@dataclass
class RunSetup:
    scenario: Scenario
    n_steps: int
    step_seconds: float
    model: PriceModel
    depth: DepthSpec
    funding: Funding | None
    base_log: np.ndarray | None

    def info(self) -> dict[str, Any]:
        """The scenario as stored with results ({} when nothing deterministic was chosen)."""
        s = self.scenario
        return s.to_dict() if s.name or s.shock or s.replay else {}

    def describe(self) -> str:
        s = self.scenario
        what = f"scenario {s.name}" if s.name else (f"shock {s.shock}" if s.shock else
                                                    f"replay {s.replay}" if s.replay else "no deterministic shock")
        return f"{what}, {self.n_steps} steps of {self.step_seconds:g}s, depth stress {self.depth.stress:g}"


def choose_scenario(shock: str | None, replay: Path | str | None, scenario: str | None, horizon: str | None,
                    step: str | None) -> ScenarioChoice:
    """At most one of ``shock``/``replay``/``scenario``; horizon and step (defaults 1d and 1m, or the
    scenario's). Raises one-line errors."""
    if sum(x is not None for x in (shock, replay, scenario)) > 1:
        raise InputError("give at most one of --shock, --replay, --scenario")
    scen = load_scenario(scenario) if scenario else Scenario(
        name="", shock=shock, replay=Path(replay) if replay is not None else None, origin="command line")
    if shock is not None:
        from defi_perps.scenarios.shocks import parse_shock

        parse_shock(shock)   # a bad spec fails before any book is loaded
    step_s = parse_duration(step or scen.step or "1m", "--step")
    horizon_s = parse_duration(horizon or scen.horizon or "1d", "--horizon")
    n_steps = steps_for(horizon_s, step_s, "--horizon")
    if n_steps > MAX_STEPS:
        raise ConfigError(f"--horizon/--step give {n_steps} steps; at most {MAX_STEPS:,}")
    return ScenarioChoice(scen, n_steps, step_s)


def resolve_setup(book: Book, choice: ScenarioChoice, depth_stress: float | None = None,
                  volatility: float | None = None) -> RunSetup:
    """Price model (the book's own volatility/beta for synthetic books, then the scenario's
    ``[model]``, then ``--volatility``), depth (scenario, then ``--depth-stress``), funding and the
    deterministic base path for this book's markets."""
    scen = choice.scenario
    model = scen.price_model(PriceModel(volatility=book.meta.get("volatility", 0.6), beta=book.meta.get("beta", 0.8)))
    if volatility is not None:
        if volatility < 0:
            raise ConfigError("--volatility must be >= 0")
        model.volatility = volatility
    depth = scen.depth_spec(DepthSpec())
    if depth_stress is not None:
        if not depth_stress > 0:
            raise ConfigError("--depth-stress must be positive")
        depth.stress = depth_stress
    if scen.shock and scen.origin == "command line":
        from defi_perps.scenarios.shocks import shock_base_path

        # a --shock the user typed: a market the book lacks is most likely a typo (strict)
        base = shock_base_path(scen.shock, book.market_names, choice.n_steps, choice.step_seconds, strict=True)
    else:
        base = scen.base_path(book.market_names, choice.n_steps, choice.step_seconds)
    return RunSetup(scen, choice.n_steps, choice.step_seconds, model, depth, scen.funding_spec(), base)


def make_setup(book: Book, shock: str | None = None, replay: Path | str | None = None, scenario: str | None = None,
               horizon: str | None = None, step: str | None = None, depth_stress: float | None = None,
               volatility: float | None = None) -> RunSetup:
    """:func:`choose_scenario` then :func:`resolve_setup`, for use from Python (same options as the CLI)."""
    return resolve_setup(book, choose_scenario(shock, replay, scenario, horizon, step), depth_stress=depth_stress,
                         volatility=volatility)


__all__ = ["RunSetup", "ScenarioChoice", "choose_scenario", "make_setup", "resolve_setup"]
