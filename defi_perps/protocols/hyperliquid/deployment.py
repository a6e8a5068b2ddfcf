"""The ``[hyperliquid]`` section of a chain file (validated data)::

    [hyperliquid]
    perps = [0, 1, 5]                 # perp (asset) indices to read; HyperCore has no EVM-side list
    perp_dex = 0                      # accountMarginSummary's perp dex (0 = the first, validator-run dex)
    position_precompile = "position2" # 0x…0813 (uint32 index); "position" = legacy 0x…0800 (uint16)
    spot_tokens = [0]                 # spot token indices whose balances are read (0 = USDC)
    vaults = ["0xdfc2…"]              # vaults whose depositors' equity is read (HLP)
    calls = "multicall"               # or "direct": one eth_call per precompile (see reader.py)
    # accounts_file = "accounts.txt"  # default --accounts (a path relative to the chain file)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from defi_perps.config import ChainConfig, checksum
from defi_perps.exceptions import ConfigError, UnknownProtocolError

SECTION = "hyperliquid"


class HyperliquidDeployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    perps: tuple[int, ...] = Field(min_length=1)
    perp_dex: int = Field(default=0, ge=0, lt=2**32)
    position_precompile: Literal["position2", "position"] = "position2"
    spot_tokens: tuple[int, ...] = (0,)
    vaults: tuple[str, ...] = ()
    calls: Literal["multicall", "direct"] = "multicall"
    accounts_file: str | None = None
    deploy_block: int = Field(default=0, ge=0)

    @field_validator("perps")
    @classmethod
    def _perps(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        for p in v:
            if not 0 <= p < 2**32:
                raise ValueError(f"perp index {p} is out of range (0 … 2^32 − 1)")
        if len(set(v)) != len(v):
            raise ValueError("perp indices repeat")
        return v

    @field_validator("spot_tokens")
    @classmethod
    def _tokens(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        for t in v:
            if not 0 <= t < 2**64:
                raise ValueError(f"spot token index {t} is out of range")
        return v

    @field_validator("vaults")
    @classmethod
    def _vaults(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(checksum(a, "vault address") for a in v)


def deployment(chain: ChainConfig) -> HyperliquidDeployment:
    raw: Any = chain.extra.get(SECTION)
    if raw is None:
        raise UnknownProtocolError(f"protocol 'hyperliquid' has no deployment on chain {chain.name!r} "
                                   f"(no [hyperliquid] section in {chain.source or 'the chain file'})")
    if isinstance(raw, HyperliquidDeployment):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"chain file {chain.source}: [hyperliquid] must be a table")
    try:
        return HyperliquidDeployment(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"chain file {chain.source}: hyperliquid.{loc}: {first['msg']}") from None
    except ConfigError as err:
        raise ConfigError(f"chain file {chain.source}: hyperliquid: {err}") from None


def default_accounts_file(chain: ChainConfig, dep: HyperliquidDeployment) -> Path | None:
    if dep.accounts_file is None:
        return None
    p = Path(dep.accounts_file)
    if not p.is_absolute() and chain.source:
        p = Path(chain.source).parent / p
    return p
