"""The ``[gtrade]`` chain-file section: where the GNSMultiCollatDiamond lives.

    [gtrade]
    diamond = "0xFF162c694eAA571f685030649814282eA457f169"   # GNSMultiCollatDiamond
    deploy_block = 0                                           # first block readers accept

The gToken vaults and collateral tokens are read from the Diamond (``getCollaterals``,
``getGToken``), so a chain file names only the Diamond (addresses: docs.gains.trade contract
addresses, GainsNetwork-org/sdk ``src/contracts/addresses.json``).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from defi_perps.config import checksum
from defi_perps.protocols.base import DeploymentModel


class GTradeDeployment(DeploymentModel):
    diamond: str
    deploy_block: int = Field(default=0, ge=0)

    @field_validator("diamond")
    @classmethod
    def _addr(cls, v: str) -> str:
        return checksum(v, "gtrade diamond address")
