"""The ``[synthetix_v3]`` section of a chain file::

    [synthetix_v3]
    perps_market_proxy = "0x0A2AF931eFFd34b81ebcc57E3d3c9B1E1dE1C9Ce"   # PerpsMarketProxy (the router)
    deploy_block = 0
    # account_nft = "0x…"   # optional: checked against getAccountTokenAddress() when given
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from defi_perps.config import ChainConfig, checksum
from defi_perps.exceptions import ConfigError, UnknownProtocolError

SECTION = "synthetix_v3"


class SynthetixV3Deployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    perps_market_proxy: str
    account_nft: str | None = None
    deploy_block: int = Field(default=0, ge=0)

    @field_validator("perps_market_proxy", "account_nft")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        return None if v is None else checksum(v)


def deployment(chain: ChainConfig) -> SynthetixV3Deployment:
    raw: Any = chain.extra.get(SECTION)
    if raw is None:
        raise UnknownProtocolError(f"protocol 'synthetix-v3' has no deployment on chain {chain.name!r}")
    if isinstance(raw, SynthetixV3Deployment):
        return raw
    try:
        return SynthetixV3Deployment(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"chain file {chain.source}: synthetix_v3.{loc}: {first['msg']}") from None
    except ConfigError as err:
        raise ConfigError(f"chain file {chain.source}: synthetix_v3: {err}") from None
