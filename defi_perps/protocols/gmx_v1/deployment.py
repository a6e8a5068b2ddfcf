"""The ``[gmx_v1]`` chain-file section.

Addresses: gmx-docs.io/docs/api/contracts-v1 (Vault, Reader, GlpManager) and gmx-io/gmx-contracts
``scripts/core/deployGlpManagerV2.js`` @ fe55c4ba (Vault, USDG, GLP, ShortsTracker); see
../shared/reference/protocols.md §2.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from defi_perps.config import checksum
from defi_perps.protocols.base import DeploymentModel


class GmxV1Deployment(DeploymentModel):
    vault: str
    glp_manager: str | None = None      # GlpManager: getAum (GLP pool value); None: AUM not read
    reader: str | None = None           # peripherals Reader (not needed: the Vault is read directly)
    shorts_tracker: str | None = None
    usdg: str | None = None
    glp: str | None = None
    # First block the position-event scan reads (the Vault's deployment or earlier). Positions opened
    # before it are not found; the reader warns when events refer to them.
    deploy_block: int = Field(default=0, ge=0)
    log_span: int = Field(default=20_000, ge=1, le=10_000_000)   # blocks per eth_getLogs (halves on limits)

    @field_validator("vault", "glp_manager", "reader", "shorts_tracker", "usdg", "glp")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        return None if v is None else checksum(v)
