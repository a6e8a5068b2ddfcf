"""The ``[gmx_v2]`` chain-file section (addresses: gmx-io/gmx-synthetics ``deployments/<net>/*.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from defi_perps.config import checksum
from defi_perps.protocols.base import DeploymentModel


class GmxV2Deployment(DeploymentModel):
    data_store: str
    reader: str
    event_emitter: str | None = None
    deploy_block: int = Field(default=0, ge=0)
    position_layout: Literal["v2.2", "v2.1"] | None = None   # None: detect from the Reader
    referral_storage: str | None = None

    @field_validator("data_store", "reader", "event_emitter", "referral_storage")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        return None if v is None else checksum(v)
