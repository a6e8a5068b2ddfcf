"""The ``[gtrade]`` section of a chain file: where the GNSMultiCollatDiamond lives.

    [gtrade]
    diamond = "0xFF162c694eAA571f685030649814282eA457f169"   # GNSMultiCollatDiamond
    deploy_block = 0                                           # first block readers accept

The gToken vaults and collateral tokens are read from the Diamond (``getCollaterals``,
``getGToken``), so a chain file names only the Diamond.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from defi_perps.config import ChainConfig, checksum
from defi_perps.exceptions import ConfigError, UnknownProtocolError

SECTION = "gtrade"


class GTradeDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    diamond: str
    deploy_block: int = Field(default=0, ge=0)

    @field_validator("diamond")
    @classmethod
    def _addr(cls, v: str) -> str:
        return checksum(v, "gtrade diamond address")


def parse_deployment(raw: Any, origin: str) -> GTradeDeployment:
    if not isinstance(raw, dict):
        raise ConfigError(f"chain file {origin}: [{SECTION}] must be a table")
    try:
        return GTradeDeployment(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"chain file {origin}: {SECTION}.{loc}: {first['msg']}") from None
    except ConfigError as err:
        raise ConfigError(f"chain file {origin}: {err}") from None


def deployment_of(chain: ChainConfig) -> GTradeDeployment:
    """The chain's gTrade deployment, or UnknownProtocolError naming the chain."""
    raw = chain.extra.get(SECTION)
    if raw is None:
        raise UnknownProtocolError(f"protocol 'gtrade' has no deployment on chain {chain.name!r}")
    if isinstance(raw, GTradeDeployment):
        return raw
    return parse_deployment(raw, chain.source or chain.name)
