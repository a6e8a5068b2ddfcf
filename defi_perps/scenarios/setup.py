"""The exogenous setup shared by ``simulate`` and ``compare``: one place that turns the command
line (``--shock | --replay | --scenario``, ``--horizon``, ``--step``, ``--depth-stress``,
``--volatility``) and a book into the price model, depth, funding and deterministic base path.

``--scenario`` and ``--shock`` combine: the scenario supplies horizon, step, depth, model and
funding; the typed shock's items replace the scenario's items for the same markets (``*`` replaces
the scenario's ``*``) and add the others. A scenario about named markets (``markets = [...]``)
moves only those; their own depth and volatility (``market_depth_stress``, ``market_volatility``)
apply to them alone.

Both commands call :func:`resolve_setup`, and both draw their exogenous paths from the engine's
generator (:mod:`defi_perps.engine.exogenous`), so the same book, scenario and seed give the same
exogenous prices in either command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
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
    shock: str | None = None        # a typed --shock combined with --scenario


@dataclass
class RunSetup:
    scenario: Scenario
    n_steps: int
    step_seconds: float
    model: PriceModel
    depth: DepthSpec
    funding: Funding | None
    base_log: np.ndarray | None
    # float64[n_steps + 1, bands]: depth of each band at each step relative to ``depth`` (the
    # scenario's [[depth_schedule]]: near-mid depth that empties and recovers); None = constant
    depth_multiplier: np.ndarray | None = None

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
    """At most one of ``shock``/``replay``, optionally with ``scenario`` (a ``shock`` combines with
    it; see the module doc); horizon and step (defaults 1d and 1m, or the scenario's). Raises
    one-line errors."""
    from defi_perps.scenarios.scenario import check_shock_fits
    from defi_perps.scenarios.shocks import parse_shock

    if shock is not None and replay is not None:
        raise InputError("give at most one of --shock and --replay")
    if replay is not None and scenario is not None:
        raise InputError("--replay and --scenario cannot be combined (a scenario has its own path; "
                         "combine --scenario with --shock, or put replay = \"file.csv\" in a scenario file)")
    if shock is not None:
        parse_shock(shock)   # a bad spec fails before any book is loaded
    typed = None
    if scenario is not None:
        if not scenario.strip():
            raise InputError("--scenario '' names no scenario; give a built-in name or a .toml file")
        scen = load_scenario(scenario)
        if shock is not None:
            if scen.replay is not None:
                raise InputError(f"scenario {scen.name} replays {scen.replay}; --shock combines only with a "
                                 "scenario that has a shock")
            typed = shock
    else:
        scen = Scenario(name="", shock=shock, replay=Path(replay) if replay is not None else None,
                        origin="command line")
    # an empty --step/--horizon is a bad value, not "use the default"
    step_s = parse_duration(step if step is not None else scen.step or "1m", "--step")
    horizon_s = parse_duration(horizon if horizon is not None else scen.horizon or "1d", "--horizon")
    n_steps = steps_for(horizon_s, step_s, "--horizon")
    if n_steps > MAX_STEPS:
        raise ConfigError(f"--horizon/--step give {n_steps:,} steps; at most {MAX_STEPS:,} are accepted")
    if scen.shock:
        # a shorter --horizon may cut a scenario's tail, never skip a whole move
        check_shock_fits(scen.shock, horizon_s, f"scenario {scen.name}" if scen.name else "--shock", whole=False)
    if typed:
        check_shock_fits(typed, horizon_s, "--shock", whole=False)
    return ScenarioChoice(scen, n_steps, step_s, typed)


def _per_market(book: Book, names: dict[str, float], what: str) -> dict[int, float]:
    """Book market index -> value for a scenario's ``{market: value}`` (markets it lacks skipped)."""
    from defi_perps.scenarios.shocks import match_markets

    where = match_markets(book.market_names, list(names), what, strict=False)
    return {i: names[k] for k, idx in where.items() for i in idx}


def _market_depth(book: Book, depth: DepthSpec, stress: dict[int, float]) -> DepthSpec:
    """Depth with per-market multipliers, through explicit per-market band depth (or k_usd), sized
    as the engine sizes its defaults: max(the market's open interest, min_depth_usd) × share."""
    if not stress:
        return depth
    m = book.n_markets
    mult = np.ones(m)
    for i, x in stress.items():
        mult[i] = x
    scale = np.maximum(book.open_interest().sum(axis=1), depth.min_depth_usd)
    if depth.kind == "bands":
        if depth.band_depth_usd is not None:
            bd = np.asarray(depth.band_depth_usd, dtype=np.float64)
            bd = np.tile(bd, (m, 1)) if bd.ndim == 1 else bd
        else:
            share = np.asarray(depth.default_band_share, dtype=np.float64)[: len(depth.bands)]
            bd = scale[:, None] * share[None, :]
        return replace(depth, band_depth_usd=(bd * mult[:, None]).tolist())
    k = np.broadcast_to(np.asarray(depth.k_usd if depth.k_usd is not None else scale * 4.0, dtype=np.float64), (m,))
    return replace(depth, k_usd=(k * mult).tolist())


def _combined_shock(scen: Scenario, typed: str, names: list[str]) -> dict[str, list[tuple[float, float]]]:
    from defi_perps.scenarios.shocks import match_markets, parse_shock

    mine = parse_shock(typed)
    match_markets(names, list(mine), "--shock", strict=True)   # a typed market the book lacks is a typo
    merged = {k: v for k, v in parse_shock(scen.shock or "").items() if k not in mine} if scen.shock else {}
    merged.update(mine)
    return merged


def resolve_setup(book: Book, choice: ScenarioChoice, depth_stress: float | None = None,
                  volatility: float | None = None) -> RunSetup:
    """Price model (the book's own volatility/beta for synthetic books, then the scenario's
    ``[model]`` and ``market_volatility``, then ``--volatility``), depth (scenario, its
    ``market_depth_stress``, then ``--depth-stress``), funding and the deterministic base path for
    this book's markets."""
    scen = choice.scenario
    model = scen.price_model(PriceModel(volatility=book.meta.get("volatility", 0.6), beta=book.meta.get("beta", 0.8)))
    if scen.market_volatility:
        vol = np.broadcast_to(np.asarray(model.volatility, dtype=np.float64), (book.n_markets,)).copy()
        for i, x in _per_market(book, scen.market_volatility, f"scenario {scen.name} market_volatility").items():
            vol[i] = x
        model.volatility = vol.tolist()
    if volatility is not None:
        if not (math.isfinite(volatility) and volatility >= 0):
            raise ConfigError(f"--volatility {volatility!r}: expected a finite number >= 0 (e.g. 0.8 = 80%/yr)")
        model.volatility = volatility
    depth = scen.depth_spec(DepthSpec())
    depth = _market_depth(book, depth, _per_market(book, scen.market_depth_stress,
                                                     f"scenario {scen.name} market_depth_stress"))
    if depth_stress is not None:
        if not (math.isfinite(depth_stress) and depth_stress > 0):
            raise ConfigError(f"--depth-stress {depth_stress!r}: expected a positive finite multiplier (e.g. 0.02)")
        depth.stress = depth_stress
    from defi_perps.scenarios.shocks import shock_base_path

    base: np.ndarray | None
    if choice.shock:
        base = shock_base_path(_combined_shock(scen, choice.shock, book.market_names), book.market_names,
                               choice.n_steps, choice.step_seconds, strict=False)
    elif scen.shock and scen.origin == "command line":
        # a --shock the user typed: a market the book lacks is most likely a typo (strict)
        base = shock_base_path(scen.shock, book.market_names, choice.n_steps, choice.step_seconds, strict=True)
    else:
        base = scen.base_path(book.market_names, choice.n_steps, choice.step_seconds)
    mult = scen.depth_multiplier(choice.n_steps, choice.step_seconds, depth.default_band_share)
    if choice.shock:
        scen = replace(scen, typed_shock=choice.shock)
    return RunSetup(scen, choice.n_steps, choice.step_seconds, model, depth, scen.funding_spec(), base, mult)


def make_setup(book: Book, shock: str | None = None, replay: Path | str | None = None, scenario: str | None = None,
               horizon: str | None = None, step: str | None = None, depth_stress: float | None = None,
               volatility: float | None = None) -> RunSetup:
    """:func:`choose_scenario` then :func:`resolve_setup`, for use from Python (same options as the CLI)."""
    return resolve_setup(book, choose_scenario(shock, replay, scenario, horizon, step), depth_stress=depth_stress,
                         volatility=volatility)


__all__ = ["RunSetup", "ScenarioChoice", "choose_scenario", "make_setup", "resolve_setup"]
