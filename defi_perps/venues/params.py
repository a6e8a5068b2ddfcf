"""Venue parameter files (``venues/params/<venue>.toml``): typed loader with one-line errors.

Every venue is *data*: maintenance margin (flat, tiered brackets with maintenance amounts, or
Hyperliquid's ½·IM-at-max-leverage margin tiers), liquidation trigger/execution/fee and where the fee goes,
partial liquidation, the loss absorber (insurance fund, GM/GLP pool, HLP vault, broker), the ADL
trigger, ranking and fill price, and a trader profit cap. Each file carries a ``[sources]`` table
that maps every parameter's dotted name to where it comes from (a URL, a contract path, or the
words "modelling choice"); :func:`load_venue` refuses a file with an unsourced parameter.

Per-market overrides: a venue's rules differ by asset (Hyperliquid's margin tables, GMX v2's
per-market min-collateral factors, Binance's per-symbol clearance fee, BitMEX's per-contract
maintenance rate). ``[markets.<ASSET>.margin]`` / ``[markets.<ASSET>.liquidation]`` override the
venue-wide sections for that asset; :meth:`VenueParams.for_market` returns the merged parameters
for a market name (``"ETH"``, ``"ETH/USD [WETH-USDC]"``, ``"WETH"`` all resolve to ``ETH``). An asset
no override names gets ``[markets."*"]`` when the file has one (e.g. Hyperliquid's smallest table for
unlisted assets), else the venue-wide sections. The venue-wide sections describe the venue's
reference market (BTC for the exchanges; GMX's ``baseMarketConfig``), so a consumer that does not
yet ask per market keeps the reference market's rules.

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

VENUE_NAMES: tuple[str, ...] = ("gmx-v2", "gmx-v1", "hyperliquid", "binance", "bybit", "okx", "bitmex", "bbook",
                                "abook", "ccp", "synthetix-v3", "gtrade", "gtrade-v8")
"""Venues the engine can run (``simulate --venue``, ``compare --venues``)."""

SPEC_ONLY_VENUES: tuple[str, ...] = ()
"""Venue files that parse and validate but that the engine cannot run yet (none today: the regulated
clearing house ``ccp`` runs in the kernel, engine/ccp_nb.py); read them with :func:`load_venue_spec`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Bracket(_Strict):
    """One maintenance bracket: applies to notional <= ``cap`` (USD)."""

    cap: float = Field(gt=0)
    mmr: float = Field(ge=0, lt=1)
    maint_amount: float = Field(ge=0, default=0.0)   # Binance "maintenance amount" / Bybit "MM deduction"


class Tier(_Strict):
    """One Hyperliquid margin tier: from ``lower_bound`` USD of notional on, at most ``max_leverage``."""

    lower_bound: float = Field(ge=0, allow_inf_nan=False)
    max_leverage: float = Field(gt=0, allow_inf_nan=False)


class Margin(_Strict):
    # gtrade: liquidation when the loss reaches liqThresholdP of the collateral; ``mmr`` is the share of
    # collateral left at that point (1 − 90 % = 0.10), per position a rate on entry notional of mmr/leverage
    kind: Literal["tiered", "flat", "half_im_at_max_leverage", "gmx_v2", "gmx_v1", "stop_out", "synthetix_v3",
                  "gtrade"]
    max_leverage: float = Field(gt=0)
    brackets: tuple[Bracket, ...] = ()
    # half_im_at_max_leverage: Hyperliquid margin tiers (empty = one tier at max_leverage)
    tiers: tuple[Tier, ...] = ()
    # BitMEX sizes maintenance on the position's entry value, not its mark value
    mm_on_entry_value: bool = False
    mmr: float = Field(ge=0, lt=1, default=0.0)          # flat / gmx min collateral factor for liquidation
    min_collateral_usd: float = Field(ge=0, default=0.0)  # GMX v2 MIN_COLLATERAL_USD
    close_fee_rate: float = Field(ge=0, default=0.0)      # GMX position (close) fee, counted in the test
    stop_out_level: float = Field(ge=0, default=0.0)      # B-book: equity / used margin
    # synthetix_v3 (PerpsMarketConfiguration.calculateRequiredMargins): MMR = (|size| / skew_scale ·
    # initial_margin_ratio + minimum_initial_margin_ratio) · maintenance_margin_scalar, MM = notional · MMR
    # + flat_mm_usd (minimumPositionMargin): a size-scaled part and a flat part
    skew_scale: float = Field(ge=0, default=0.0)          # asset units
    initial_margin_ratio: float = Field(ge=0, default=0.0)
    minimum_initial_margin_ratio: float = Field(ge=0, lt=1, default=0.0)
    maintenance_margin_scalar: float = Field(ge=0, default=0.0)
    flat_mm_usd: float = Field(ge=0, default=0.0)

    @model_validator(mode="after")
    def _check(self) -> "Margin":
        if self.kind == "tiered":
            if not self.brackets:
                raise ValueError("tiered margin needs at least one bracket")
            caps = [b.cap for b in self.brackets]
            if caps != sorted(caps) or len(set(caps)) != len(caps):
                raise ValueError("bracket caps must be strictly increasing")
        if self.kind == "synthetix_v3" and (self.skew_scale <= 0 or self.maintenance_margin_scalar <= 0):
            raise ValueError("synthetix_v3 margin needs skew_scale > 0 and maintenance_margin_scalar > 0")
        if self.tiers:
            if self.kind != "half_im_at_max_leverage":
                raise ValueError("tiers are Hyperliquid margin tiers (kind = 'half_im_at_max_leverage')")
            lows = [t.lower_bound for t in self.tiers]
            levs = [t.max_leverage for t in self.tiers]
            if lows[0] != 0 or lows != sorted(lows) or len(set(lows)) != len(lows):
                raise ValueError("tier lower bounds must start at 0 and strictly increase")
            if levs != sorted(levs, reverse=True):
                raise ValueError("tier max leverage must not rise with notional")
            if levs[0] != self.max_leverage:
                raise ValueError(f"max_leverage {self.max_leverage:g} must equal the first tier's {levs[0]:g}")
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
    # the book first, the backstop for what the book did not liquidate (engine/rules.py); off: the 2/3
    # test at the trigger. Off by default: docs/hyperliquid_adl_calibration.md says why
    backstop_book_first: bool = False
    # Synthetix v3 per-market liquidation window (PerpsMarketConfiguration.maxLiquidationAmountInWindow):
    # at most (maker + taker fee) · skew_scale · multiplier · window_s asset units per window_s seconds;
    # window_skew_rate = (maker + taker) · multiplier. 0 = no window (engine/liq_window.py enforces it).
    window_s: float = Field(ge=0, default=0.0)
    window_skew_rate: float = Field(ge=0, default=0.0)


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
    # per-trade cap: a trade gains at most this multiple of its collateral (gTrade v8 +900 %: 9.0); 0 = none
    max_gain_collateral_multiple: float = Field(ge=0, default=0.0)


class BBook(_Strict):
    internalized_fraction: float = Field(ge=0, le=1)
    hedge_threshold_oi_fraction: float = Field(ge=0)
    spread_rate: float = Field(ge=0)


class Ccp(_Strict):
    """A regulated central counterparty (``ccp.toml``): margin cycle, price limits, default waterfall."""

    variation_margin_interval_s: float = Field(gt=0)           # settlement variation cycle
    intraday_call_move: float = Field(gt=0, default=1.0)       # extra intraday call once the price moved this far
    price_limits: tuple[float, ...] = ()                        # successive limit bands (fractions of reference)
    limit_halt_s: float = Field(ge=0, default=0.0)              # trading halt when a band is hit
    limit_reset_s: float = Field(ge=0, default=86400.0)         # a new session re-arms the bands (0: never)
    guarantee_fund_im_fraction: float = Field(ge=0)             # a member's GF contribution / its initial margin
    ccp_capital_usd: float = Field(ge=0)                        # CCP's own contribution ("skin in the game")
    mutualised_guarantee_fund_usd: float = Field(ge=0)          # non-defaulters' pre-funded contributions
    assessment_multiple: float = Field(ge=0)                    # assessments cap, × a member's GF contribution
    vm_gains_haircut: bool = True                               # last resort: haircut variation-margin gains
    waterfall: tuple[str, ...]                                  # the order of the layers

    @model_validator(mode="after")
    def _check(self) -> "Ccp":
        order = ("defaulter_margin", "defaulter_guarantee_fund", "ccp_capital", "mutualised_guarantee_fund",
                 "assessments", "vm_gains_haircut")
        if set(self.waterfall) - set(order) or len(set(self.waterfall)) != len(self.waterfall):
            raise ValueError(f"waterfall layers must be distinct names from {', '.join(order)}")
        if self.waterfall[0] != "defaulter_margin":
            raise ValueError("the defaulter's own margin must be the first layer (defaulter pays first)")
        if list(self.waterfall) != [x for x in order if x in self.waterfall]:
            raise ValueError(f"waterfall layers must keep the order {' -> '.join(order)} (a layer may be left out)")
        if "vm_gains_haircut" in self.waterfall and self.waterfall[-1] != "vm_gains_haircut":
            raise ValueError("variation-margin gains haircutting can only be the last resort")
        lim = list(self.price_limits)
        if any(not 0 < x < 1 for x in lim) or lim != sorted(set(lim)):
            raise ValueError("price_limits must be strictly increasing fractions in (0, 1)")
        return self


class MarketOverride(_Strict):
    """Fields of ``margin`` / ``liquidation`` that differ for one asset (validated after merging)."""

    margin: dict[str, Any] = {}
    liquidation: dict[str, Any] = {}


# Wrapped or bridged tokens index the same asset (GMX's ETH/USD market has WETH as its index token).
_UNDERLYING = {"WETH": "ETH", "WBTC": "BTC", "WBTC.E": "BTC", "BTC.B": "BTC", "WAVAX": "AVAX", "WSOL": "SOL",
               "WBNB": "BNB"}


def asset_of(market: str) -> str:
    """The asset symbol a market name stands for: ``"ETH/USD [WETH-USDC]"`` → ``"ETH"``, ``"WBTC"`` → ``"BTC"``,
    ``"BTCUSDT"`` → ``"BTC"``, ``"eth-perp"`` → ``"ETH"``."""
    base = market.strip().split("/")[0].split()[0] if market.strip() else ""
    base = base.split("-")[0].upper()
    for quote in ("USDT", "USDC", "USD"):
        if base.endswith(quote) and len(base) > len(quote):
            base = base[: -len(quote)]
            break
    return _UNDERLYING.get(base, base)


class VenueParams(_Strict):
    name: str
    display: str
    counterparty: Literal["book", "pool", "broker", "clearing_house"]
    margin: Margin
    liquidation: Liquidation
    insurance: Insurance
    adl: Adl
    profit_cap: ProfitCap = ProfitCap()
    bbook: BBook | None = None
    ccp: Ccp | None = None
    markets: dict[str, MarketOverride] = {}
    sources: dict[str, str]

    def source_of(self, dotted: str) -> str:
        return self.sources[dotted]

    @model_validator(mode="after")
    def _check_markets(self) -> "VenueParams":
        for asset in self.markets:
            if asset != asset.upper():
                raise ValueError(f"markets.{asset}: write the asset symbol in capitals ({asset.upper()!r})")
            self.for_market(asset)   # every override must merge into valid parameters
        return self

    def market_override(self, market: str) -> tuple[str, MarketOverride] | None:
        """``(key, override)`` for a market name — its asset's table, else ``"*"`` (assets the file does
        not list; a listed asset never takes ``"*"``) —
        or None when the venue-wide sections apply."""
        asset = market if market == "*" else asset_of(market)
        if asset in self.markets:
            return asset, self.markets[asset]
        if "*" in self.markets:
            return "*", self.markets["*"]
        return None

    def for_market(self, market: str) -> "VenueParams":
        """This venue's parameters for one market: its ``[markets.<ASSET>]`` override merged over the
        venue-wide ``margin`` / ``liquidation``; the venue-wide sections for a market it does not name."""
        hit = self.market_override(market)
        if hit is None:
            return self
        asset, o = hit
        try:
            margin = Margin.model_validate({**self.margin.model_dump(), **o.margin}) if o.margin else self.margin
            liq = (Liquidation.model_validate({**self.liquidation.model_dump(), **o.liquidation})
                   if o.liquidation else self.liquidation)
        except ValidationError as err:
            e = err.errors()[0]
            loc = ".".join(str(p) for p in e["loc"])
            raise ValueError(f"markets.{asset}: {loc}: {e['msg']}") from None
        return self.model_copy(update={"margin": margin, "liquidation": liq})

    def market_source(self, market: str, dotted: str) -> str:
        """Where ``dotted`` (e.g. ``margin.tiers``) comes from for this market."""
        hit = self.market_override(market)
        if hit is not None:
            key = f"markets.{hit[0]}.{dotted}"
            if key in self.sources:
                return self.sources[key]
        return self.sources.get(dotted, "")


def _leaf_keys(raw: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for section, body in raw.items():
        if section in {"name", "display", "counterparty", "sources"}:
            continue
        if section == "markets" and isinstance(body, dict):
            for asset, o in body.items():
                for sub, fields in (o.items() if isinstance(o, dict) else ()):
                    out.extend(f"markets.{asset}.{sub}.{k}" for k in (fields if isinstance(fields, dict) else ()))
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
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"venue file {p}: not UTF-8 text (byte {err.start}); save it as UTF-8 TOML") from None
        except OSError as err:
            raise ConfigError(f"venue file {p}: cannot be read ({err.strerror})") from None
        return parse_venue(text, str(p))
    name = str(name_or_path).strip().lower()
    if name in SPEC_ONLY_VENUES:
        raise ConfigError(f"venue {name!r} has parameters (defi_perps/venues/params/{venue_file(name)}) but the engine "
                          "cannot run it yet (its margin cycle, price limits and default waterfall need kernel rules)")
    if name not in VENUE_NAMES:
        raise ConfigError(f"unknown venue {name!r}; choose from {', '.join(VENUE_NAMES)} or pass a .toml file")
    ref = resources.files("defi_perps.venues").joinpath("params", venue_file(name))
    return parse_venue(ref.read_text(encoding="utf-8"), f"{name} (built-in)")


def load_venue_spec(name: str) -> VenueParams:
    """A built-in venue file by name, including the ones the engine cannot run yet (:data:`SPEC_ONLY_VENUES`)."""
    key = name.strip().lower()
    if key not in VENUE_NAMES + SPEC_ONLY_VENUES:
        raise ConfigError(f"unknown venue {name!r}; choose from {', '.join(VENUE_NAMES + SPEC_ONLY_VENUES)}")
    ref = resources.files("defi_perps.venues").joinpath("params", venue_file(key))
    return parse_venue(ref.read_text(encoding="utf-8"), f"{key} (built-in)")


def parse_venue_list(spec: str) -> list[VenueParams]:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ConfigError(f"--venues {spec!r} names no venue; choose from {', '.join(VENUE_NAMES)} or .toml files")
    seen: set[str] = set()
    for n in names:
        key = n.lower()
        if key in seen:
            raise ConfigError(f"--venues names {n!r} twice; list each venue once")
        seen.add(key)
    return [load_venue(n) for n in names]
