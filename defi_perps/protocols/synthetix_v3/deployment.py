"""The ``[synthetix_v3]`` section of a chain file::

    [synthetix_v3]
    perps_market_proxy = "0x0A2AF931eFFd34b81ebcc57E3d3c9B1E1dE1C9Ce"   # PerpsMarketProxy (the router)
    deploy_block = 0
    # account_nft = "0x…"   # optional: checked against getAccountTokenAddress() when given
"""

from __future__ import annotations

from pydantic import Field, field_validator

from defi_perps.config import checksum
from defi_perps.protocols.base import DeploymentModel

SECTION = "synthetix_v3"


class SynthetixV3Deployment(DeploymentModel):
    perps_market_proxy: str
    account_nft: str | None = None
    deploy_block: int = Field(default=0, ge=0)

    @field_validator("perps_market_proxy", "account_nft")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        return None if v is None else checksum(v)
