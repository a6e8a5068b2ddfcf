"""Oracle model parameters and reference venues (TOML data with sources), loaded with one-line errors.

* ``models.toml``: the oracle / mark rules' parameters (Chainlink deviation and heartbeat, GMX v2
  keeper spread and reference check, Hyperliquid weights and EMAs, the hyperp cap, Binance's
  outlier rule, TWAP window), each with a ``[sources]`` entry.
* ``reference_venues.toml``: per index asset, the spot venues its oracle reads, how they are
  aggregated, and each venue's depth curve. A user's file (``--reference-venues FILE``) has the
  same format (``README.md`` in this folder); its assets override the built-in ones.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from defi_perps.exceptions import ConfigError

FORMAT_DOC = "defi_perps/venues/oracles/README.md"
DEFAULT_BANDS = (0.005, 0.01, 0.02, 0.05, 0.10)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RefVenue(_Strict):
    """One reference venue: cumulative USD depth on each side within each band distance."""

    name: str
    weight: float = Field(gt=0, default=1.0)
    fee: float = Field(ge=0, lt=0.1, default=0.001)
    arb_half_life_s: float = Field(gt=0, default=30.0)
    bands: tuple[float, ...] = DEFAULT_BANDS
    depth_usd: tuple[float, ...]

    @model_validator(mode="after")
    def _check(self) -> RefVenue:
        if len(self.bands) != len(self.depth_usd) or not self.bands:
            raise ValueError(f"venue {self.name}: bands and depth_usd need the same, non-zero length")
        for seq, what in ((self.bands, "bands"), (self.depth_usd, "depth_usd")):
            if any(b <= a for a, b in zip(seq, seq[1:])) or seq[0] <= 0 or not all(math.isfinite(x) for x in seq):
                raise ValueError(f"venue {self.name}: {what} must be positive and strictly increasing")
        if self.bands[-1] >= 0.99:
            raise ValueError(f"venue {self.name}: band distances must stay below 0.99")
        return self


class AssetSources(_Strict):
    aggregate: Literal["median", "weighted-median", "exchange-index"] = "median"
    venues: tuple[RefVenue, ...]

    @model_validator(mode="after")
    def _check(self) -> AssetSources:
        if not self.venues:
            raise ValueError("an asset needs at least one reference venue")
        return self


class ReferenceFile(_Strict):
    assets: dict[str, AssetSources]
    sources: dict[str, str] = Field(default_factory=dict)


def _read_toml(path: Path | None, text: str | None, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text) if text is not None else tomllib.loads(Path(path).read_text())  # type: ignore[arg-type]
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {what} {path}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what} {path} is not valid TOML: {err}") from None


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"{loc}: {e['msg']}" if loc else e["msg"]


def parse_reference_venues(data: dict[str, Any], origin: str) -> ReferenceFile:
    try:
        return ReferenceFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"reference venues {origin}: {_first_error(err)} (format: {FORMAT_DOC})") from None


@lru_cache(maxsize=1)
def builtin_reference_venues() -> ReferenceFile:
    text = resources.files("defi_perps.venues.oracles").joinpath("reference_venues.toml").read_text()
    return parse_reference_venues(_read_toml(None, text, "reference venues"), "(built-in)")


def load_reference_venues(path: str | Path | None = None) -> dict[str, AssetSources]:
    """Built-in assets, overridden by those of ``path`` (a user's file in the same format)."""
    assets = dict(builtin_reference_venues().assets)
    if path is not None:
        user = parse_reference_venues(_read_toml(Path(path), None, "reference venues file"), str(path))
        assets.update({k.upper(): v for k, v in user.assets.items()})
    return assets


# Wrapped / bridged index tokens price off their underlying asset's venues (GMX's ETH/USD market
# indexes WETH, BTC/USD indexes WBTC on Arbitrum and BTC.b on Avalanche).
UNDERLYING = {"WETH": "ETH", "WBTC": "BTC", "BTC.B": "BTC", "WAVAX": "AVAX", "WSOL": "SOL", "WBNB": "BNB"}


def asset_of(market_name: str) -> str:
    """Index asset of a book market name: ``"ETH/USD [WETH-USDC]"`` and ``"WETH/USD …"`` → ``"ETH"``."""
    base = market_name.split("/")[0].split(" ")[0].strip().upper()
    return UNDERLYING.get(base, base)


def sources_for(market_name: str, assets: dict[str, AssetSources], file_hint: str | None = None) -> AssetSources:
    """The reference venues of a market, or a one-line error that says how to supply them."""
    asset = asset_of(market_name)
    if asset not in assets:
        where = f" (not in {file_hint})" if file_hint else ""
        raise ConfigError(f"market {market_name}: reference venues of {asset} are unknown{where}; give their depth "
                          f"with --reference-venues FILE ([assets.{asset}] with [[assets.{asset}.venues]] name, "
                          f"depth_usd per band; format: {FORMAT_DOC})")
    return assets[asset]


@lru_cache(maxsize=1)
def oracle_models() -> dict[str, Any]:
    """``models.toml`` as a dict; refuses a parameter without a source."""
    text = resources.files("defi_perps.venues.oracles").joinpath("models.toml").read_text()
    data = _read_toml(None, text, "oracle models")
    sources = data.pop("sources", {})
    for section, values in data.items():
        for key in values:
            if f"{section}.{key}" not in sources:
                raise ConfigError(f"oracle models: {section}.{key} has no source in [sources]")
    return data


__all__ = [
    "FORMAT_DOC",
    "AssetSources",
    "RefVenue",
    "ReferenceFile",
    "asset_of",
    "builtin_reference_venues",
    "load_reference_venues",
    "oracle_models",
    "parse_reference_venues",
    "sources_for",
]
