"""Incident replays (TOML, one per attack in ``incidents.md`` §2): schema and loader.

These are attack replays, not shock scenarios (those are ``scenarios/builtin``): each file names
the venue, the attack variant, the oracle's reference venues with depth, the variant's inputs
with a source for every one (the record's figure, or "modelling choice" / "calibrated: …" where
the record is silent), and the record's outcome to compare against::

    name = "mango-2022"
    venue = "generic"                 # engine venue rules: a defi_perps/venues/params name or "generic"
    variant = "collateral_borrow"     # see VARIANTS
    [oracle]                          # aggregate + rule + [[oracle.venues]] (RefVenue, venues/oracles/README.md)
    [inputs]                          # the variant's model (below); unknown keys are errors
    [record]                          # price_move (fractions), figures (USD), payer; [record.sources]
    [sources]                         # "inputs.<key>" → where the number comes from

``defi-perps attack --scenario NAME`` runs one (``defi_perps.runs.attack.run_incident``).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from defi_perps.exceptions import ConfigError
from defi_perps.venues.oracles import RefVenue

INCIDENTS = ("gmx-v1-avax-2022", "mango-2022", "dydx-yfi-2023", "jelly-2025", "xpl-2025", "popcat-2025",
             "binance-depeg-2025")
PAYERS = ("insurance_fund", "pool", "backstop_vault", "broker", "adl", "venue", "uncovered", "liquidated_traders")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OracleSpec(_Strict):
    aggregate: Literal["median", "weighted-median", "exchange-index"] = "median"
    rule: Literal["none", "chainlink-push", "pull", "gmx-v1-fast", "gmx-v2-keeper", "twap", "hl-mark", "hyperp",
                  "hyperp-xpl"] = "none"
    venues: tuple[RefVenue, ...]


class Cohort(_Strict):
    """Positions of other traders (or the attacker's own accounts) handed to the engine."""

    side: Literal["long", "short"]
    notional_usd: float = Field(gt=0)
    leverage: tuple[float, ...] = Field(min_length=1)
    positions: int = Field(ge=1, le=100_000, default=50)
    entry_offset: float = Field(gt=-1, default=0.0)      # entry = price·(1 + offset)
    entry_spread: float = Field(ge=0, lt=1, default=0.0)  # entries spread uniformly over ± this
    owner: Literal["traders", "attacker"] = "traders"      # whose losses these are


class OracleClose(_Strict):
    """GMX v1 AVAX: open a perp at the oracle, push the reference venues, close at the moved oracle."""

    price: float = Field(gt=0)
    perp_notional_usd: float = Field(gt=0)
    perp_fee: float = Field(ge=0, lt=0.1)
    push_target: float = Field(gt=0)          # displacement applied to the moved venues
    hold_s: float = Field(gt=0)
    cycles: int = Field(ge=1, le=100)
    max_leverage: float = Field(gt=1)
    oi_cap_after_usd: float = Field(gt=0)     # the cap the venue set afterwards (checked by the solver)
    traders: tuple[Cohort, ...] = ()


class CollateralBorrow(_Strict):
    """Mango: self-trade a perp between two accounts, pump the oracle, borrow against the paper profit."""

    price: float = Field(gt=0)
    perp_contracts: float = Field(gt=0)
    account_margin_usd: float = Field(gt=0)   # each of the two accounts
    spot_budget_usd: float = Field(gt=0)
    ramp_s: float = Field(gt=0)
    pnl_collateral_weight: float = Field(gt=0, le=1)
    borrow_weight: float = Field(gt=0, le=1)
    lendable_usd: float | None = None         # the lending pools' liquidity, if known


class BackstopSqueeze(_Strict):
    """JELLY: a short whose margin is withdrawn lands in the backstop vault; spot is then pumped."""

    price: float = Field(gt=0)
    short_notional_usd: float = Field(gt=0)
    long_notional_usd: float = Field(ge=0)
    long_margin_usd: float = Field(ge=0)
    spot_budget_usd: float = Field(gt=0)
    ramp_s: float = Field(gt=0)
    max_leverage: float = Field(gt=1)
    vault_usd: float = Field(gt=0)
    perp_fee: float = Field(ge=0, lt=0.1, default=0.00045)


class BookSweep(_Strict):
    """XPL: buy through a hyperp's own book; its mark follows; shorts are liquidated into the attacker."""

    price: float = Field(gt=0)
    sweep_usd: float = Field(gt=0)
    sweep_s: float = Field(gt=0)
    hold_s: float = Field(ge=0)
    external_price: float = Field(gt=0)       # Binance pre-market price (the post-fix mark input)
    max_leverage: float = Field(gt=1)
    traders: tuple[Cohort, ...]
    vault_usd: float = Field(gt=0)
    perp_fee: float = Field(ge=0, lt=0.1, default=0.00045)


class WallPull(_Strict):
    """POPCAT: leveraged longs behind a bid wall; the wall is pulled and the longs fall into the vault."""

    price: float = Field(gt=0)
    attacker: Cohort
    initial_drop: float = Field(gt=0, lt=1)   # the fall once the wall is gone, before liquidations
    drop_s: float = Field(gt=0)
    horizon_s: float = Field(gt=0)
    max_leverage: float = Field(gt=1)
    vault_usd: float = Field(gt=0)
    book_bands: tuple[float, ...]
    book_depth_usd: tuple[float, ...]


class InsuranceDrain(_Strict):
    """dYdX YFI: leveraged longs built in a thin, pumped market; the crash leaves bad debt to the fund."""

    price: float = Field(gt=0)                # at the peak
    traders: tuple[Cohort, ...]
    crash: float = Field(gt=0, lt=1)
    crash_s: float = Field(gt=0)
    horizon_s: float = Field(gt=0)
    mm_rate: float = Field(gt=0, lt=1)
    liq_fee: float = Field(ge=0, lt=0.1)
    insurance_usd: float = Field(gt=0)
    book_bands: tuple[float, ...]
    book_depth_usd: tuple[float, ...]


class CollateralDepeg(_Strict):
    """Binance Oct 2025: a collateral token valued from the venue's own thin book is dumped."""

    sell_usd: float = Field(gt=0)
    sell_s: float = Field(gt=0)
    reference_price: float = Field(gt=0)      # external / redemption value (Curve ~$1)
    collateral_usd: float = Field(gt=0)       # accounts' collateral in the token, at $1
    leverage: tuple[float, ...] = Field(min_length=1)
    accounts: int = Field(ge=1, le=1_000_000)
    mm_rate: float = Field(gt=0, lt=1)
    liq_fee: float = Field(ge=0, lt=0.1)


VARIANTS: dict[str, type[_Strict]] = {
    "oracle_close": OracleClose, "collateral_borrow": CollateralBorrow, "backstop_squeeze": BackstopSqueeze,
    "book_sweep": BookSweep, "wall_pull": WallPull, "insurance_drain": InsuranceDrain,
    "collateral_depeg": CollateralDepeg,
}


class RecordSpec(_Strict):
    price_move: tuple[float, float] | None = None    # relative move, lo/hi (e.g. 13, 23 = +1,300–2,300 %)
    figures: dict[str, float] = Field(default_factory=dict)   # keys: attacker_net_usd, paid_by.<payer>, …
    payer: Literal["insurance_fund", "pool", "backstop_vault", "broker", "adl", "venue", "uncovered",
                   "liquidated_traders"]
    notes: str = ""
    sources: dict[str, str] = Field(default_factory=dict)


class IncidentFile(_Strict):
    name: str
    description: str
    date: str
    venue: str
    variant: Literal["oracle_close", "collateral_borrow", "backstop_squeeze", "book_sweep", "wall_pull",
                     "insurance_drain", "collateral_depeg"]
    step_s: float = Field(gt=0, default=60.0)
    oracle: OracleSpec
    inputs: dict[str, Any]
    record: RecordSpec
    sources: dict[str, str]

    @model_validator(mode="after")
    def _check(self) -> IncidentFile:
        missing = [k for k in self.inputs if f"inputs.{k}" not in self.sources]
        if missing:
            raise ValueError(f"inputs without a source in [sources]: {', '.join(sorted(missing))}")
        for key in self.record.figures:
            if key not in self.record.sources:
                raise ValueError(f"record figure {key} has no source in [record.sources]")
        return self


class Incident:
    """A validated incident file: ``spec`` (the file) and ``inputs`` (its variant's model)."""

    def __init__(self, spec: IncidentFile, inputs: Any, origin: str) -> None:
        self.spec, self.inputs, self.origin = spec, inputs, origin

    @property
    def name(self) -> str:
        return self.spec.name


def _first(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"{loc}: {e['msg']}" if loc else e["msg"]


def parse_incident(data: dict[str, Any], origin: str) -> Incident:
    try:
        spec = IncidentFile.model_validate(data)
        inputs = VARIANTS[spec.variant].model_validate(spec.inputs)
    except ValidationError as err:
        raise ConfigError(f"incident {origin}: {_first(err)}") from None
    return Incident(spec, inputs, origin)


def incident_text(name_or_path: str) -> tuple[str, str]:
    """(origin, TOML text) of a built-in incident or an incident file: what a stored attack run keeps."""
    if name_or_path in INCIDENTS:
        text = resources.files("defi_perps.scenarios.incidents").joinpath(f"{name_or_path}.toml").read_text()
        return f"built-in {name_or_path}", text
    path = Path(name_or_path)
    if path.suffix != ".toml" or not path.is_file():
        raise ConfigError(f"unknown incident {name_or_path!r}: built-ins are {', '.join(INCIDENTS)}, "
                          "or give a .toml file")
    try:
        return str(path), path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read incident file {path}: {err.strerror}") from None


def load_incident(name_or_path: str) -> Incident:
    """A built-in incident by name, or a TOML file in the same format."""
    origin, text = incident_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"incident {origin} is not valid TOML: {err}") from None
    return parse_incident(data, origin)


__all__ = ["INCIDENTS", "PAYERS", "VARIANTS", "Cohort", "Incident", "IncidentFile", "incident_text",
           "load_incident", "parse_incident"]
