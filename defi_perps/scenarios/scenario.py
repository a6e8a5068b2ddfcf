"""Scenario files (TOML): a shock or replay path, depth stress, price model and horizon in one place.

::

    name = "oct-10-2025"
    description = "…"
    horizon = "3h"                 # optional; CLI --horizon overrides
    step = "1m"                    # optional; CLI --step overrides
    shock = "BTC:-13.1%@12m,+8%@2h; *:-50%@12m"   # or: replay = "prices.csv" (relative to the TOML file)
    markets = ["JELLY"]            # optional: the markets the scenario is about (its shock names only them)
    depth_stress = 0.02            # CLI --depth-stress overrides
    market_depth_stress = { JELLY = 0.05 }   # optional: depth multiplier of named markets only
    market_volatility = { JELLY = 2.0 }      # optional: annualised volatility of named markets only
    sources = ["incidents.md §1.3 …"]

    [model]                        # PriceModel fields (volatility, beta, drift, garch_alpha, …)
    [depth]                        # DepthSpec fields (kind, bands, default_band_share, permanent_fraction, …)
    [funding]                      # Funding fields (long_rate, short_rate: annualised, paid per token)
    [[depth_schedule]]             # band shares over time (at = "12m", share = [...]): depth that
                                   # empties and recovers; see :meth:`Scenario.depth_multiplier`

Every file is validated by pydantic models at the edge: unknown keys, wrong types (``volatility =
"high"``), NaN or infinity anywhere, negative depth shares, a shock that runs past the horizon and an
empty shock are one-line :class:`~defi_perps.exceptions.ConfigError` naming the key and what is
accepted. Built-in scenarios live in ``defi_perps/scenarios/builtin/*.toml``; ``--scenario NAME``
finds them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel
from defi_perps.exceptions import ConfigError
from defi_perps.scenarios.durations import parse_duration
from defi_perps.scenarios.replay import replay_base_path
from defi_perps.scenarios.shocks import match_markets, parse_shock, shock_base_path

MAX_FILE_BYTES = 1_000_000   # a scenario is a few hundred bytes; anything larger is not one

# --- the file schema ------------------------------------------------------------------------------

PerMarket = float | list[float]


class _Strict(BaseModel):
    # strict: "1.5" is not a number, "high" is not a volatility; ints are accepted for floats
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _v(fn: Any, *args: Any) -> Any:
    """Run a parser inside a validator: its ConfigError becomes the ValueError pydantic reports."""
    try:
        return fn(*args)
    except ConfigError as err:
        raise ValueError(str(err)) from None


def _each(v: PerMarket, ok: Any, what: str) -> PerMarket:
    for x in (v if isinstance(v, list) else [v]):
        if not ok(x):
            raise ValueError(what)
    return v


class ModelSection(_Strict):
    """:class:`~defi_perps.engine.inputs.PriceModel` fields."""

    volatility: PerMarket = 0.6
    beta: PerMarket = 0.8
    drift: PerMarket = 0.0
    garch_alpha: float = Field(default=0.05, ge=0, lt=1)
    garch_beta: float = Field(default=0.90, ge=0, lt=1)
    jump_rate_per_year: float = Field(default=0.0, ge=0, le=1e6)
    jump_mean: float = Field(default=-0.05, gt=-1, le=10)
    jump_std: float = Field(default=0.03, ge=0, le=10)

    @field_validator("volatility")
    @classmethod
    def _vol(cls, v: PerMarket) -> PerMarket:
        return _each(v, lambda x: 0 <= x <= 100, "annualised volatility must be between 0 and 100 (e.g. 1.2 = 120%)")

    @field_validator("beta")
    @classmethod
    def _beta(cls, v: PerMarket) -> PerMarket:
        return _each(v, lambda x: -1 <= x <= 1, "factor loading beta must be between -1 and 1")

    @field_validator("drift")
    @classmethod
    def _drift(cls, v: PerMarket) -> PerMarket:
        return _each(v, lambda x: -100 <= x <= 100, "annualised drift must be between -100 and 100")

    @model_validator(mode="after")
    def _garch(self) -> "ModelSection":
        if self.garch_alpha + self.garch_beta >= 1:
            raise ValueError("garch_alpha + garch_beta must be below 1 (a stationary GARCH)")
        return self


class DepthSection(_Strict):
    """:class:`~defi_perps.engine.inputs.DepthSpec` fields."""

    kind: Literal["bands", "linear", "power"] = "bands"
    bands: list[float] | None = None
    band_depth_usd: list[list[float]] | None = None
    k_usd: PerMarket | None = None
    exponent: PerMarket = 1.0
    stress: float = Field(default=1.0, gt=0, le=1e6)
    permanent_fraction: float = Field(default=0.5, ge=0, le=1)
    transient_half_life_steps: float = Field(default=5.0, gt=0, le=1e9)
    default_band_share: list[float] | None = None
    min_depth_usd: float = Field(default=1e5, ge=0, le=1e15)

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (not v or any(x <= 0 or x >= 1 for x in v) or any(b <= a for a, b in zip(v, v[1:]))):
            raise ValueError("bands are distances from the mid as fractions in (0, 1), strictly increasing")
        return v

    @field_validator("default_band_share")
    @classmethod
    def _shares(cls, v: list[float] | None) -> list[float] | None:
        if v is not None:
            _check_shares(v)
        return v

    @field_validator("band_depth_usd")
    @classmethod
    def _usd(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        for row in v or []:
            if not row or any(x <= 0 for x in row) or any(b <= a for a, b in zip(row, row[1:])):
                raise ValueError("band_depth_usd rows are cumulative USD depth: positive and increasing")
        return v

    @field_validator("k_usd", "exponent")
    @classmethod
    def _pos(cls, v: PerMarket | None) -> PerMarket | None:
        return v if v is None else _each(v, lambda x: x > 0, "must be positive")

    @model_validator(mode="after")
    def _sizes(self) -> "DepthSection":
        n = len(self.bands) if self.bands is not None else len(DepthSpec().bands)
        if self.default_band_share is not None and len(self.default_band_share) != n:
            raise ValueError(f"default_band_share needs one share per band ({n})")
        return self


def _check_shares(v: list[float]) -> None:
    if not v or any(x <= 0 for x in v):
        raise ValueError("depth shares are fractions of open interest and must be positive (e.g. 0.05)")
    if any(b < a for a, b in zip(v, v[1:])):
        raise ValueError("depth shares are cumulative: they must not fall with distance from the mid")


class FundingSection(_Strict):
    """:class:`~defi_perps.engine.inputs.Funding` fields (annualised fractions of price)."""

    long_rate: PerMarket = 0.0
    short_rate: PerMarket = 0.0
    extra: dict[str, float] = {}

    @field_validator("long_rate", "short_rate")
    @classmethod
    def _rate(cls, v: PerMarket) -> PerMarket:
        return _each(v, lambda x: -100 <= x <= 100, "annualised funding must be between -100 and 100 (0.4 = 40%/yr)")


class DepthPoint(_Strict):
    """Cumulative band shares (as ``[depth] default_band_share``) from time ``at`` on."""

    at: str
    share: list[float]

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if v.strip() not in ("0", "0s", "0m"):
            _v(parse_duration, v, "depth_schedule at")
        return v

    @field_validator("share")
    @classmethod
    def _share(cls, v: list[float]) -> list[float]:
        _check_shares(v)
        return v

    def seconds(self) -> float:
        return 0.0 if self.at.strip() in ("0", "0s", "0m") else parse_duration(self.at)


class ScenarioFile(_Strict):
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=5_000)
    horizon: str | None = None
    step: str | None = None
    shock: str | None = Field(default=None, max_length=10_000)
    replay: str | None = Field(default=None, max_length=4_096)
    markets: list[str] | None = None
    depth_stress: float | None = Field(default=None, gt=0, le=1e6)
    market_depth_stress: dict[str, float] = {}
    market_volatility: dict[str, float] = {}
    sources: list[str] = []
    model: ModelSection = ModelSection()
    depth: DepthSection = DepthSection()
    funding: FundingSection | None = None
    depth_schedule: list[DepthPoint] = []

    @field_validator("horizon", "step")
    @classmethod
    def _duration(cls, v: str | None, info: Any) -> str | None:
        if v is not None:
            _v(parse_duration, v, info.field_name)
        return v

    @field_validator("shock")
    @classmethod
    def _shock(cls, v: str | None) -> str | None:
        if v is not None:
            _v(parse_shock, v)
        return v

    @field_validator("markets")
    @classmethod
    def _markets(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v or any(not m.strip() or m.strip() == "*" for m in v):
                raise ValueError("markets lists market names such as \"JELLY\" (no '*', none empty)")
            if len({m.lower() for m in v}) != len(v):
                raise ValueError("a market is listed twice")
        return v

    @field_validator("market_depth_stress")
    @classmethod
    def _mds(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 < x <= 1e6:
                raise ValueError(f"{k}: a depth multiplier must be positive (e.g. 0.05)")
        return v

    @field_validator("market_volatility")
    @classmethod
    def _mvol(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 <= x <= 100:
                raise ValueError(f"{k}: annualised volatility must be between 0 and 100 (e.g. 2.0 = 200%)")
        return v

    @model_validator(mode="after")
    def _cross(self) -> "ScenarioFile":
        if self.shock and self.replay:
            raise ValueError("give either shock or replay, not both")
        if self.markets is not None:
            named = {m.lower() for m in self.markets}
            if self.shock:
                for key in parse_shock(self.shock):
                    if key == "*":
                        raise ValueError(f"markets = {self.markets}: prefix every shock item with its market "
                                         "(e.g. 'JELLY:+400%@1h'); '*' would move every market of the book")
                    if key.lower() not in named:
                        raise ValueError(f"shock moves {key!r}, which is not in markets = {self.markets}")
            for what, keys in (("market_depth_stress", self.market_depth_stress),
                               ("market_volatility", self.market_volatility)):
                for key in keys:
                    if key.lower() not in named:
                        raise ValueError(f"{what} names {key!r}, which is not in markets = {self.markets}")
        if self.horizon and self.shock:
            _v(check_shock_fits, self.shock, parse_duration(self.horizon), "shock")
        if self.depth_schedule:
            times = [p.seconds() for p in self.depth_schedule]
            if times[0] != 0 or any(b <= a for a, b in zip(times, times[1:])):
                raise ValueError("depth_schedule times must start at 0 and increase")
            n = len(self.depth.bands) if self.depth.bands is not None else len(DepthSpec().bands)
            if any(len(p.share) != n for p in self.depth_schedule):
                raise ValueError(f"every depth_schedule share needs one value per band ({n})")
            if self.depth.kind != "bands":
                raise ValueError("depth_schedule needs [depth] kind = 'bands'")
        return self


def check_shock_fits(spec: str, horizon_s: float, what: str, whole: bool = True) -> None:
    """Refuse a shock item scheduled after the horizon (it would never happen) and, with ``whole``,
    one that runs past it (a file's own shock and its own horizon must agree). A horizon the user
    shortens on the command line may cut a scenario's tail (``whole=False``)."""
    from defi_perps.scenarios.shocks import parse_shock

    for key, segs in parse_shock(spec).items():
        item = "the shock" if key == "*" else f"{key!r}"
        start = 0.0
        for pct, dur in segs:
            if pct != 0:
                break
            start += dur
        if start >= horizon_s:
            raise ConfigError(f"{what}: {item} starts moving at {_fmt(start)}, at or after the horizon of "
                              f"{_fmt(horizon_s)}; it would never happen (lengthen the horizon)")
        total = sum(d for _, d in segs)
        if whole and total > horizon_s * (1 + 1e-9):
            raise ConfigError(f"{what}: {item} runs for {_fmt(total)}, past the horizon of {_fmt(horizon_s)}; "
                              "lengthen the horizon or shorten the shock")


def _fmt(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n and seconds % n == 0:
            return f"{seconds / n:g}{unit}"
    return f"{seconds:g}s"


_TYPE_TAGS = {"float", "int", "str", "bool", "list[float]", "list[list[float]]", "function-after", "none"}


def _one_line(err: ValidationError) -> str:
    """The first problem as ``key: message (got value)``; the branches of a number-or-list field
    collapse into one message."""
    errors = err.errors()
    e = errors[0]
    if isinstance(e.get("input"), list):   # a list given: report the list branch's own complaint
        e = next((x for x in errors if any(str(p).startswith("list[") for p in x["loc"])), e)
    loc = [str(p) for p in e["loc"] if str(p) not in _TYPE_TAGS and not str(p).startswith(("list[", "function-"))]
    same = [x for x in errors if [str(p) for p in x["loc"]][: len(loc)] == loc or
            [str(p) for p in x["loc"] if str(p) not in _TYPE_TAGS and not str(p).startswith(("list[", "function-"))] == loc]
    msg = str(e["msg"]).removeprefix("Value error, ")
    if len(same) > 1 and any("list" in str(p) for x in same for p in x["loc"]):
        msg = "expected a number, or a list of numbers (one per market); " + msg[0].lower() + msg[1:]
    value = e.get("input")
    shown = f" (got {value!r})" if isinstance(value, (int, float, str)) and len(repr(value)) < 60 \
        and not msg.startswith("Extra") and e["type"] != "missing" else ""
    rest = len({tuple(str(p) for p in x["loc"]) for x in errors}) - len({tuple(str(p) for p in x["loc"]) for x in same})
    more = f" (+{rest} more)" if rest > 0 else ""
    where = ".".join(loc)
    return f"{where + ': ' if where else ''}{msg}{shown}{more}"


# --- the scenario object the commands use ---------------------------------------------------------

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
    markets: list[str] | None = None
    market_depth_stress: dict[str, float] = field(default_factory=dict)
    market_volatility: dict[str, float] = field(default_factory=dict)
    depth_schedule: list[tuple[float, tuple[float, ...]]] = field(default_factory=list)
    typed_shock: str | None = None   # a --shock combined with this scenario (setup.py)

    def base_path(self, market_names: list[str], n_steps: int, step_seconds: float) -> np.ndarray | None:
        if self.shock:
            self.check_markets(market_names)
            # a scenario is written for many books: markets this book lacks are skipped
            return shock_base_path(self.shock, market_names, n_steps, step_seconds, strict=False)
        if self.replay is not None:
            return replay_base_path(self.replay, market_names, n_steps, step_seconds)
        return None

    def applies_to(self, market_names: list[str]) -> bool:
        """Whether this scenario moves any of the book's markets (one that names none of them does not)."""
        return not self.markets or bool(match_markets(market_names, self.markets, "", strict=False))

    def check_markets(self, market_names: list[str]) -> None:
        """A scenario about named markets needs at least one of them in the book."""
        if not self.applies_to(market_names):
            raise ConfigError(f"scenario {self.name or self.origin} moves {', '.join(self.markets or [])} only, and the "
                              f"book has none of them (markets: {', '.join(market_names)}); use a book with "
                              f"that market, or add --shock 'MARKET:…' to put the move on one of the book's markets")

    def price_model(self, base: PriceModel | None = None) -> PriceModel:
        return dataclasses.replace(base or PriceModel(), **self.model)

    def depth_spec(self, base: DepthSpec | None = None) -> DepthSpec:
        spec = dataclasses.replace(base or DepthSpec(), **self.depth)
        if self.depth_stress is not None:
            spec.stress = self.depth_stress
        return spec

    def funding_spec(self) -> Funding | None:
        return Funding(**self.funding) if self.funding else None

    def depth_multiplier(self, n_steps: int, step_seconds: float, static_share: tuple[float, ...]) -> np.ndarray | None:
        """float64[n_steps + 1, B]: each band's depth at each step relative to the static depth
        (``[depth] default_band_share``), linear in time between ``[[depth_schedule]]`` points and
        held after the last. None without a schedule."""
        if not self.depth_schedule:
            return None
        t = np.arange(n_steps + 1) * step_seconds
        at = np.array([p[0] for p in self.depth_schedule])
        shares = np.array([p[1] for p in self.depth_schedule])
        static = np.asarray(static_share, dtype=np.float64)[: shares.shape[1]]
        cols = [np.interp(t, at, shares[:, b]) / static[b] for b in range(shares.shape[1])]
        return np.ascontiguousarray(np.stack(cols, axis=1))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "origin": self.origin, "horizon": self.horizon,
                "step": self.step, "shock": self.shock, "replay": str(self.replay) if self.replay else None,
                "markets": self.markets, "depth_stress": self.depth_stress,
                "market_depth_stress": self.market_depth_stress, "market_volatility": self.market_volatility,
                "with_shock": self.typed_shock, "model": self.model, "depth": self.depth,
                "depth_schedule": [{"at_seconds": a, "share": list(s)} for a, s in self.depth_schedule],
                "funding": self.funding, "sources": self.sources}


def builtin_names() -> list[str]:
    folder = resources.files("defi_perps.scenarios") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _given(section: BaseModel) -> dict[str, Any]:
    out = section.model_dump(exclude_unset=True)
    for k in ("bands", "default_band_share"):
        if k in out and out[k] is not None:
            out[k] = tuple(out[k])
    return out


def parse_scenario(data: dict[str, Any], origin: str, base_dir: Path | None = None) -> Scenario:
    """Validate a parsed TOML table; every failure is a one-line ConfigError naming the key."""
    try:
        f = ScenarioFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"scenario {origin}: {_one_line(err)}") from None
    replay = None
    if f.replay is not None:
        rp = Path(f.replay)
        replay = rp if rp.is_absolute() or base_dir is None else base_dir / rp
    return Scenario(name=f.name or str(data.get("name", origin)), description=f.description, horizon=f.horizon,
                    step=f.step, shock=f.shock, replay=replay, depth_stress=f.depth_stress, model=_given(f.model),
                    depth=_given(f.depth), funding=_given(f.funding) if f.funding else {}, sources=list(f.sources),
                    origin=origin, markets=list(f.markets) if f.markets else None,
                    market_depth_stress=dict(f.market_depth_stress), market_volatility=dict(f.market_volatility),
                    depth_schedule=[(p.seconds(), tuple(p.share)) for p in f.depth_schedule])


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"scenario file {p}: {size:,} bytes; a scenario file is at most {MAX_FILE_BYTES:,}")
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"scenario file {p}: cannot be read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"scenario file {p}: not UTF-8 text (byte {err.start}); save it as UTF-8 TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"scenario file {p}: not valid TOML ({err})") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a TOML file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ConfigError(f"scenario file {p} does not exist")
        return parse_scenario(_read_toml(p), str(p), p.parent)
    name = str(name_or_path)
    if name not in builtin_names():
        raise ConfigError(f"unknown scenario {name!r}: built-ins are {', '.join(builtin_names())}, "
                          "or pass a .toml file")
    text = (resources.files("defi_perps.scenarios") / "builtin" / f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(tomllib.loads(text), f"builtin:{name}")


__all__ = ["Scenario", "ScenarioFile", "builtin_names", "check_shock_fits", "load_scenario", "parse_scenario"]
