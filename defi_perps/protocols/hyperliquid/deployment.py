"""The ``[hyperliquid]`` section of a chain file (validated data)::

    [hyperliquid]
    perps = [0, 1, 5]                 # perp (asset) indices to read; HyperCore has no EVM-side list
    perp_dex = 0                      # accountMarginSummary's perp dex (0 = the first, validator-run dex)
    position_precompile = "position2" # 0x…0813 (uint32 index); "position" = legacy 0x…0800 (uint16)
    spot_tokens = [0]                 # spot token indices whose balances are read (0 = USDC)
    vaults = ["0xdfc2…"]              # vaults whose depositors' equity is read (HLP)
    calls = "multicall"               # or "direct": one eth_call per precompile (see reader.py)
    accounts_file = "accounts.txt"    # the accounts to read: one 0x address per line (accounts.py);
                                      #   a relative path is taken from the current directory
    # accounts = ["0x…", …]           # or inline (the devnet writes them inline)
    # accounts_file = "{devnet}/hyperliquid_accounts.txt"   # chains/devnet.toml: in the devnet's state folder

HyperCore has no on-chain enumeration of its users, so one of ``accounts_file`` / ``accounts`` is
needed to read positions; the list's digest is part of the snapshot's identity (:func:`root`), so the
same block read for another list of accounts is another snapshot.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from defi_perps.config import checksum
from defi_perps.exceptions import ConfigError
from defi_perps.protocols.base import DeploymentModel

SECTION = "hyperliquid"
ROOT = "0x0000000000000000000000000000000000000800"    # the first read precompile: the deployment's "root"
DEVNET_PREFIX = "{devnet}"   # accounts_file = "{devnet}/…": in the running devnet's state folder (paths.devnet_dir)


class HyperliquidDeployment(DeploymentModel):
    perps: tuple[int, ...] = Field(min_length=1)
    perp_dex: int = Field(default=0, ge=0, lt=2**32)
    position_precompile: Literal["position2", "position"] = "position2"
    spot_tokens: tuple[int, ...] = (0,)
    vaults: tuple[str, ...] = ()
    calls: Literal["multicall", "direct"] = "multicall"
    accounts_file: str | None = None
    accounts: tuple[str, ...] = ()
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

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(checksum(a, "account address") for a in v)

    @model_validator(mode="after")
    def _perp_width(self) -> "HyperliquidDeployment":
        if self.position_precompile == "position" and any(p >= 2**16 for p in self.perps):
            raise ValueError("the legacy position precompile takes a uint16 perp index; use position2")
        if self.accounts and self.accounts_file:
            raise ValueError("give accounts or accounts_file, not both")
        return self

    def account_list(self) -> list[str]:
        """The accounts to read (file or inline), checksummed, duplicates dropped; one-line errors."""
        from defi_perps.protocols.accounts import load_accounts_file, parse_accounts_text

        if self.accounts:
            return parse_accounts_text("\n".join(self.accounts), "[hyperliquid] accounts")
        if self.accounts_file:
            path = self.accounts_file
            if path.startswith(DEVNET_PREFIX):     # the bundled devnet chain file: the devnet's state folder
                from defi_perps.paths import devnet_dir

                path = str(devnet_dir() / path[len(DEVNET_PREFIX):].lstrip("/"))
            return load_accounts_file(path)
        raise ConfigError("[hyperliquid] lists no accounts: HyperCore has no on-chain list of its users, so set "
                          "accounts_file (one 0x address per line) or accounts in the chain file")
