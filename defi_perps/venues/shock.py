"""Shock paths for venue comparisons: a seeded common move plus noise, one multiplier per market.

``--shock SPEC``: ``-20%`` or ``drop=-0.2,steps=30,vol=0.004,idio=0.5,depth=0.1,rebound=0``
(comma-separated ``key=value``):

- ``drop``: total log move of the common factor over the horizon (−0.2 ≈ −18 %);
- ``steps``: number of steps; ``vol``: per-step volatility of the common factor (normal);
- ``idio``: share of each market's per-step variance that is idiosyncratic (0 = perfectly correlated);
- ``depth``: book depth per 1 % price move, as a fraction of each market's open interest
  (order-book venues walk it; oracle venues do not; impact is linear in log price, so walking X
  USD moves the price by a factor e^{∓X/(100·depth·OI)}); default 0.10, the engine's default
  (±1 % holds 10 % of OI, :class:`defi_perps.engine.inputs.DepthSpec`), floored at $100k per 1 %;
  ``perm``: permanent share of impact;
- ``rebound``: fraction of the drop recovered linearly over the last third of the horizon.

Every path is reproducible from ``seed`` (numpy PCG64). Modelling choices, not sourced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.exceptions import ConfigError


@dataclass(frozen=True)
class Shock:
    drop: float = -0.2
    steps: int = 30
    vol: float = 0.004
    idio: float = 0.5
    depth: float = 0.10
    perm: float = 0.5
    rebound: float = 0.0
    # --scenario: the scenario's deterministic log path (built per book, see price_multipliers)
    scenario: Any = field(default=None, compare=False)
    step_seconds: float = 60.0

    def describe(self) -> str:
        if self.scenario is not None:
            return (f"scenario {self.scenario.name} ({self.steps} steps of {self.step_seconds:g}s, vol/step={self.vol:g}, "
                    f"depth={self.depth:g}, perm={self.perm:g})")
        return (f"drop={self.drop:g},steps={self.steps},vol={self.vol:g},idio={self.idio:g},depth={self.depth:g},"
                f"perm={self.perm:g},rebound={self.rebound:g}")


_FIELDS = {"drop": float, "steps": int, "vol": float, "idio": float, "depth": float, "perm": float, "rebound": float}


def parse_shock(spec: str) -> Shock:
    """Parse ``--shock``; a one-line :class:`ConfigError` names the bad part."""
    text = spec.strip()
    if not text:
        raise ConfigError("--shock is empty")
    values: dict[str, float | int] = {}
    if "=" not in text:
        try:
            pct = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
        except ValueError:
            raise ConfigError(f"--shock {spec!r}: expected e.g. -20% or drop=-0.2,steps=30") from None
        if not -0.99 < pct < 10:
            raise ConfigError(f"--shock {spec!r}: a move of {pct:.0%} is out of range")
        values["drop"] = float(np.log1p(pct))
    else:
        for part in text.split(","):
            key, _, raw = part.partition("=")
            key = key.strip()
            if key not in _FIELDS:
                raise ConfigError(f"--shock: unknown key {key!r}; use {', '.join(_FIELDS)}")
            try:
                values[key] = _FIELDS[key](raw.strip())
            except ValueError:
                raise ConfigError(f"--shock: {key}={raw.strip()!r} is not a valid {_FIELDS[key].__name__}") from None
    s = Shock(**values)  # type: ignore[arg-type]
    if s.steps < 1 or s.steps > 100_000:
        raise ConfigError("--shock: steps must be between 1 and 100000")
    if s.vol < 0 or not 0 <= s.idio <= 1 or s.depth <= 0 or not 0 <= s.perm <= 1 or not 0 <= s.rebound <= 1:
        raise ConfigError("--shock: need vol >= 0, 0 <= idio <= 1, depth > 0, 0 <= perm <= 1, 0 <= rebound <= 1")
    return s


def price_multipliers(shock: Shock, n_paths: int, n_markets: int, seed: int,
                      market_names: list[str] | None = None) -> np.ndarray:
    """float64[paths, steps + 1, markets] external/oracle price relative to the book price."""
    rng = np.random.Generator(np.random.PCG64(seed))
    t = shock.steps
    if shock.scenario is not None:
        names = market_names if market_names is not None else [f"M{i}" for i in range(n_markets)]
        base = shock.scenario.base_path(names, t, shock.step_seconds)
        if base is None:
            base = np.zeros((t + 1, n_markets))
        drift = np.diff(base, axis=0)                       # [t, M]
    else:
        drift = np.full((t, 1), shock.drop / t)
        if shock.rebound > 0:
            k = max(1, t // 3)
            drift[-k:] += -shock.drop * shock.rebound / k
    common = rng.standard_normal((n_paths, t, 1)) * shock.vol * np.sqrt(1 - shock.idio)
    idio = rng.standard_normal((n_paths, t, n_markets)) * shock.vol * np.sqrt(shock.idio)
    log_steps = drift[None, :, :] + common + idio
    out = np.ones((n_paths, t + 1, n_markets))
    out[:, 1:, :] = np.exp(np.cumsum(log_steps, axis=1))
    return out


def shock_from_scenario(name_or_path: str) -> Shock:
    """A venue-comparison shock from a scenario (``defi_perps.scenarios``: built-in name or TOML).

    Uses the scenario's deterministic path (shock spec or replay) per market, its horizon and step,
    its price-model volatility (first market's, annualised → per step) as noise, and its depth
    stress (multiplying the default depth) and permanent impact fraction.
    """
    from defi_perps.scenarios.durations import parse_duration
    from defi_perps.scenarios.scenario import load_scenario

    sc = load_scenario(name_or_path)
    step_s = parse_duration(sc.step or "1m", "scenario step")
    horizon_s = parse_duration(sc.horizon or "1h", "scenario horizon")
    steps = max(1, int(round(horizon_s / step_s)))
    vol = sc.model.get("volatility", 0.6)
    vol = float(vol[0] if isinstance(vol, (list, tuple)) else vol) * float(np.sqrt(step_s / (365.0 * 24 * 3600)))
    depth = Shock.depth * (sc.depth_stress if sc.depth_stress is not None else 1.0)
    perm = float(sc.depth.get("permanent_fraction", Shock.perm))
    return Shock(drop=0.0, steps=steps, vol=vol, depth=depth, perm=perm, scenario=sc, step_seconds=step_s)
