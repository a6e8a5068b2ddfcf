"""Scenario files (TOML): a shock or replay path, depth stress, price model and horizon in one place.

::

    name = "oct-10-2025"
    description = "…"
    horizon = "2h"                 # optional; CLI --horizon overrides
    step = "1m"                    # optional; CLI --step overrides
    shock = "BTC:-13.1%@12m; *:-20%@15m"   # or: replay = "prices.csv" (relative to the TOML file)
    depth_stress = 0.02            # CLI --depth-stress overrides
    sources = ["incidents.md §1.3 …"]

    [model]                        # PriceModel fields (volatility, beta, drift, garch_alpha, …)
    [depth]                        # DepthSpec fields (kind, bands, band_depth_usd, permanent_fraction, …)
    [funding]                      # Funding fields (long_rate, short_rate: annualised, paid per token)

Built-in scenarios live in ``defi_perps/scenarios/builtin/*.toml``; ``--scenario NAME`` finds them.
Unknown keys are errors, so a typo does not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel
from defi_perps.exceptions import ConfigError
from defi_perps.scenarios.durations import parse_duration
from defi_perps.scenarios.replay import replay_base_path
from defi_perps.scenarios.shocks import parse_shock, shock_base_path

_TOP = {"name", "description", "horizon", "step", "shock", "replay", "depth_stress", "sources", "model", "depth",
        "funding"}


@dataclass
class Scenario:
    name: str
    description: str = ""
    horizon: str | None = None
    step: str | None = None
    shock: str | None = None
    replay: Path | None = None
    depth_stress: float | None = None
    model: dict[str, Any] = field(default_factory=dict)
    depth: dict[str, Any] = field(default_factory=dict)
    funding: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    origin: str = ""

    def base_path(self, market_names: list[str], n_steps: int, step_seconds: float) -> np.ndarray | None:
        if self.shock:
            # a scenario is written for many books: markets this book lacks are skipped
            return shock_base_path(self.shock, market_names, n_steps, step_seconds, strict=False)
        if self.replay is not None:
            return replay_base_path(self.replay, market_names, n_steps, step_seconds)
        return None

    def price_model(self, base: PriceModel | None = None) -> PriceModel:
        return dataclasses.replace(base or PriceModel(), **self.model)

    def depth_spec(self, base: DepthSpec | None = None) -> DepthSpec:
        spec = dataclasses.replace(base or DepthSpec(), **self.depth)
        if self.depth_stress is not None:
            spec.stress = self.depth_stress
        return spec

    def funding_spec(self) -> Funding | None:
        return Funding(**self.funding) if self.funding else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "origin": self.origin, "horizon": self.horizon,
                "step": self.step, "shock": self.shock, "replay": str(self.replay) if self.replay else None,
                "depth_stress": self.depth_stress, "model": self.model, "depth": self.depth,
                "funding": self.funding, "sources": self.sources}


def builtin_names() -> list[str]:
    folder = resources.files("defi_perps.scenarios") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _check_fields(cls: type, values: dict[str, Any], where: str) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(values) - names)
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)} (known: {', '.join(sorted(names))})")


def parse_scenario(data: dict[str, Any], origin: str, base_dir: Path | None = None) -> Scenario:
    bad = sorted(set(data) - _TOP)
    if bad:
        raise ConfigError(f"scenario {origin}: unknown key(s) {', '.join(bad)}")
    if data.get("shock") and data.get("replay"):
        raise ConfigError(f"scenario {origin}: give either shock or replay, not both")
    for section, cls in (("model", PriceModel), ("depth", DepthSpec), ("funding", Funding)):
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(f"scenario {origin}: [{section}] must be a table")
        _check_fields(cls, data.get(section, {}), f"scenario {origin} [{section}]")
    for key in ("horizon", "step"):
        if key in data:
            parse_duration(data[key], f"scenario {origin} {key}")
    if data.get("shock"):
        parse_shock(data["shock"])
    stress = data.get("depth_stress")
    if stress is not None and not (isinstance(stress, (int, float)) and stress > 0):
        raise ConfigError(f"scenario {origin}: depth_stress must be a positive number")
    replay = data.get("replay")
    if replay is not None:
        rp = Path(replay)
        replay = rp if rp.is_absolute() or base_dir is None else base_dir / rp
    depth = dict(data.get("depth", {}))
    if "bands" in depth:
        depth["bands"] = tuple(depth["bands"])
    return Scenario(name=str(data.get("name", origin)), description=str(data.get("description", "")),
                    horizon=data.get("horizon"), step=data.get("step"), shock=data.get("shock"), replay=replay,
                    depth_stress=float(stress) if stress is not None else None, model=dict(data.get("model", {})),
                    depth=depth, funding=dict(data.get("funding", {})), sources=list(data.get("sources", [])),
                    origin=origin)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a TOML file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ConfigError(f"scenario file {p} does not exist")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"scenario file {p}: not valid TOML ({err})") from err
        return parse_scenario(data, str(p), p.parent)
    name = str(name_or_path)
    if name not in builtin_names():
        raise ConfigError(f"unknown scenario {name!r}: built-ins are {', '.join(builtin_names())}, "
                          "or pass a .toml file")
    text = (resources.files("defi_perps.scenarios") / "builtin" / f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(tomllib.loads(text), f"builtin:{name}")
