"""Venue parameter files (``venues/params/<venue>.toml``): typed loader with one-line errors.

Every venue is *data*: maintenance margin (flat, tiered brackets with maintenance amounts, or
Hyperliquid's ½·IM-at-max-leverage), liquidation trigger/execution/fee and where the fee goes,
partial liquidation, the loss absorber (insurance fund, GM/GLP pool, HLP vault, broker), the ADL
trigger, ranking and fill price, and a trader profit cap. Each file carries a ``[sources]`` table
that maps every parameter's dotted name to where it comes from (a URL, a contract path, or the
words "modelling choice"); :func:`load_venue` refuses a file with an unsourced parameter.

Units: USD amounts are float USD, rates and fractions are plain fractions (0.004 = 0.4 %).
These are venue *models*, not on-chain state, so floats are fine here; GMX v2's exact on-chain
liquidation test lives in :mod:`defi_perps.venues.gmx_v2` with 1e30 integers.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from defi_perps.exceptions import ConfigError

VENUE_NAMES: tuple[str, ...] = ("gmx-v2", "gmx-v1", "hyperliquid", "binance", "bybit", "okx", "bitmex", "bbook")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bracket(_Strict):
    """One maintenance bracket: applies to notional <= ``cap`` (USD)."""

    cap: float = Field(gt=0)
    mmr: float = Field(ge=0, lt=1)
    maint_amount: float = Field(ge=0, default=0.0)   # Binance "maintenance amount" / Bybit "MM deduction"


class Margin(_Strict):
    kind: Literal["tiered", "flat", "half_im_at_max_leverage", "gmx_v2", "gmx_v1", "stop_out"]
    max_leverage: float = Field(gt=0)
    brackets: tuple[Bracket, ...] = ()
    mmr: float = Field(ge=0, lt=1, default=0.0)          # flat / gmx min collateral factor for liquidation
    min_collateral_usd: float = Field(ge=0, default=0.0)  # GMX v2 MIN_COLLATERAL_USD
    close_fee_rate: float = Field(ge=0, default=0.0)      # GMX position (close) fee, counted in the test
    stop_out_level: float = Field(ge=0, default=0.0)      # B-book: equity / used margin

    @model_validator(mode="after")
    def _check(self) -> "Margin":
        if self.kind == "tiered":
            if not self.brackets:
                raise ValueError("tiered margin needs at least one bracket")
            caps = [b.cap for b in self.brackets]
            if caps != sorted(caps) or len(set(caps)) != len(caps):
                raise ValueError("bracket caps must be strictly increasing")
        return self


class Liquidation(_Strict):
    trigger_price: Literal["mark", "oracle"]
    execution: Literal["book", "oracle", "bankruptcy"]
    fee_rate: float = Field(ge=0, lt=1, default=0.0)      # on liquidated notional
    fee_usd: float = Field(ge=0, default=0.0)             # fixed fee (GMX v1 liquidationFeeUsd)
    fee_destination: Literal["insurance_fund", "pool", "keeper", "liquidator_vault", "broker", "none"]
    trader_keeps_remainder: bool = True                   # False: settled at bankruptcy, surplus -> fund
    partial_threshold_usd: float = Field(ge=0, default=0.0)  # 0 = never partial
    partial_fraction: float = Field(gt=0, le=1, default=1.0)
    cooldown_s: float = Field(ge=0, default=0.0)
    backstop_mm_fraction: float = Field(ge=0, le=1, default=0.0)  # Hyperliquid 2/3 of MM; 0 = none


class Insurance(_Strict):
    absorber: Literal["insurance_fund", "pool", "liquidator_vault", "broker"]
    initial_oi_fraction: float = Field(ge=0)               # fund/pool size as a fraction of the book's OI
    unlimited: bool = False                                # pools/brokers absorb until their equity is gone


class Adl(_Strict):
    trigger: Literal["none", "fund_depleted", "pnl_to_pool", "account_negative", "fund_drawdown"]
    ranking: str = "none"                                  # a name in defi_perps.adl.rankings
    fill: Literal["none", "bankruptcy", "mark", "previous_mark", "oracle"] = "none"
    fill_bankruptcy_when_fund_below: float = Field(ge=0, le=1, default=0.0)  # OKX: fund nearly depleted
    max_pnl_factor_for_adl: float = Field(ge=0, default=0.0)
    min_pnl_factor_after_adl: float = Field(ge=0, default=0.0)
    drawdown_ratio: float = Field(le=0, default=0.0)       # Bybit insurancePnlRatio (-0.30)


class ProfitCap(_Strict):
    max_pnl_factor_for_traders: float = Field(ge=0, default=0.0)  # 0 = no cap


class BBook(_Strict):
    internalized_fraction: float = Field(ge=0, le=1)
    hedge_threshold_oi_fraction: float = Field(ge=0)
    spread_rate: float = Field(ge=0)


class VenueParams(_Strict):
    name: str
    display: str
    counterparty: Literal["book", "pool", "broker"]
    margin: Margin
    liquidation: Liquidation
    insurance: Insurance
    adl: Adl
    profit_cap: ProfitCap = ProfitCap()
    bbook: BBook | None = None
    sources: dict[str, str]

    def source_of(self, dotted: str) -> str:
        return self.sources[dotted]


def _leaf_keys(raw: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for section, body in raw.items():
        if section in {"name", "display", "counterparty", "sources"}:
            continue
        if isinstance(body, dict):
            out.extend(f"{section}.{k}" for k in body)
        else:
            out.append(section)
    return out


def _one_line(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"]) or "(file)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{loc}: {e['msg']}{more}"


def parse_venue(text: str, origin: str) -> VenueParams:
    """Parse and validate one venue TOML; every failure is a one-line :class:`ConfigError`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"venue file {origin}: not valid TOML: {err}") from err
    try:
        params = VenueParams.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"venue file {origin}: {_one_line(err)}") from err
    missing = [k for k in _leaf_keys(raw) if not params.sources.get(k, "").strip()]
    if missing:
        raise ConfigError(f"venue file {origin}: parameter {missing[0]!r} has no entry in [sources]")
    return params


def venue_file(name: str) -> str:
    return f"{name.replace('-', '_')}.toml"


def load_venue(name_or_path: str | Path) -> VenueParams:
    """Load a built-in venue by name (``binance``) or a user's TOML file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.is_file():
            raise ConfigError(f"venue file {p} does not exist")
        return parse_venue(p.read_text(encoding="utf-8"), str(p))
    name = str(name_or_path).strip().lower()
    if name not in VENUE_NAMES:
        raise ConfigError(f"unknown venue {name!r}; choose from {', '.join(VENUE_NAMES)} or pass a .toml file")
    ref = resources.files("defi_perps.venues").joinpath("params", venue_file(name))
    return parse_venue(ref.read_text(encoding="utf-8"), f"{name} (built-in)")


def parse_venue_list(spec: str) -> list[VenueParams]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ConfigError("--venues is empty")
    return [load_venue(n) for n in names]
