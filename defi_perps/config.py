"""Chain files: validated data about a chain and the protocol deployments on it.

A chain file (``chains/<name>.toml`` or any path given with ``--chain-file``) looks like::

    name = "arbitrum"
    chain_id = 42161
    rpc_env = "ARBITRUM_RPC_URL"        # environment variable holding the RPC URL
    # rpc_url = "http://127.0.0.1:8545" # optional default URL (devnet files only)
    multicall3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
    multicall3_block = 7654707

    [gmx_v2]
    data_store = "0x…"
    reader = "0x…"
    event_emitter = "0x…"
    deploy_block = 107737756
    # position_layout = "v2.2"          # override; default: detected from the Reader (one probe call)
    # referral_storage = "0x…"          # GMX ReferralStorage, for referral discounts in fees

Optional: ``block_context = "evm" | "arbitrum"`` (how contracts see the block; default by chain id).
The RPC URL is resolved as: ``--rpc`` option, else ``$<rpc_env>``, else ``rpc_url``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from defi_perps.exceptions import ConfigError
from defi_perps.resources import bundled_chains, chain_path


def checksum(value: str, what: str = "address") -> str:
    """Validate a hex address and return it checksummed; raise ConfigError naming the bad value."""
    import re

    from eth_utils import is_checksum_address, to_checksum_address

    if not isinstance(value, str) or not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", value.strip()):
        shown = repr(value[:50]) if isinstance(value, str) else repr(value)
        raise ConfigError(f"malformed {what}: {shown} is not a 20-byte hex address (0x and 40 hex digits)")
    value = value.strip()
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        # mixed case is an EIP-55 checksum (eips.ethereum.org/EIPS/eip-55): a wrong one is a typo
        raise ConfigError(f"{what} {value} has a wrong EIP-55 checksum (expected {to_checksum_address(value)}); "
                          f"fix the typo or write the address in lowercase")
    return to_checksum_address(value)


ARBITRUM_CHAIN_IDS = frozenset({42161, 42170, 421614})   # Arbitrum One, Nova, Sepolia


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainConfig(_Strict):
    name: str
    chain_id: int = Field(gt=0)
    rpc_env: str | None = None
    rpc_url: str | None = None
    multicall3: str = "0xcA11bde05977b3631167028862bE2a173976CA11"
    multicall3_block: int = Field(default=0, ge=0)
    block_time_s: float | None = None
    # How contracts see the block an eth_call runs in (rpc/multicall.py checks it on every batch):
    # "evm" (block.number, blockhash) or "arbitrum", where block.number is an L1 block number and the
    # L2 block is ArbSys.arbBlockNumber() / arbBlockHash() (OffchainLabs nitro-contracts
    # src/precompiles/ArbSys.sol). Default: "arbitrum" for Arbitrum chain ids, else "evm".
    block_context: Literal["evm", "arbitrum"] | None = None
    # Protocol sections ([gmx_v2], [gmx_v1], …), each validated by its plug-in's deployment model
    # (protocols/registry.py); sections no plug-in owns are kept raw in ``extra``.
    deployments: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    source: str = ""

    @field_validator("multicall3")
    @classmethod
    def _mc(cls, v: str) -> str:
        return checksum(v, "multicall3 address")

    @property
    def block_context_kind(self) -> str:
        if self.block_context is not None:
            return self.block_context
        return "arbitrum" if self.chain_id in ARBITRUM_CHAIN_IDS else "evm"

    def resolve_rpc_url(self, override: str | None = None) -> str:
        """The RPC URL to use: the explicit override, then $rpc_env, then the file's rpc_url."""
        if override:
            return override
        if self.rpc_env and os.environ.get(self.rpc_env):
            return os.environ[self.rpc_env]
        if self.rpc_url:
            return self.rpc_url
        hint = f"set ${self.rpc_env} or " if self.rpc_env else ""
        raise ConfigError(f"no RPC URL for chain {self.name!r}: {hint}pass --rpc URL")

    def deployment(self, protocol: str) -> Any:
        """The validated deployment section of a protocol (CLI name or key), or UnknownProtocolError."""
        from defi_perps.exceptions import UnknownProtocolError

        key = protocol.strip().lower().replace("-", "_")
        dep = self.deployments.get(key)
        if dep is None:
            where = f" ({self.source})" if self.source else ""
            raise UnknownProtocolError(f"protocol {protocol!r} has no deployment on chain {self.name!r}: the chain "
                                       f"file{where} has no [{key}] section")
        return dep

    def has(self, protocol: str) -> bool:
        return protocol.strip().lower().replace("-", "_") in self.deployments

    @property
    def gmx_v2(self) -> Any:
        """The [gmx_v2] section, or None (kept for callers written before the plug-in registry)."""
        return self.deployments.get("gmx_v2")


_KNOWN = set(ChainConfig.model_fields) - {"extra", "source", "deployments"}


def load_chain_file(path: str | Path) -> ChainConfig:
    """Load and validate a chain file; every problem becomes a one-line ConfigError."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"chain file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read chain file {p}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"chain file {p} is not valid TOML: {err}") from None
    from defi_perps.protocols.registry import deployment_model

    known = {k: v for k, v in raw.items() if k in _KNOWN}
    extra: dict[str, Any] = {}
    deployments: dict[str, Any] = {}
    for k, v in raw.items():
        if k in _KNOWN:
            continue
        model = deployment_model(k)
        if model is None:
            extra[k] = v
            continue
        if not isinstance(v, dict):
            raise ConfigError(f"chain file {p}: [{k}] must be a table of addresses and settings")
        try:
            deployments[k] = model(**v)
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"chain file {p}: {k}.{loc}: {first['msg']}") from None
        except ConfigError as err:
            raise ConfigError(f"chain file {p}: [{k}]: {err}") from None
    try:
        return ChainConfig(**known, deployments=deployments, extra=extra, source=str(p))
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"chain file {p}: {loc}: {first['msg']}") from None
    except ConfigError as err:
        raise ConfigError(f"chain file {p}: {err}") from None


def load_chain(name: str | None = None, chain_file: str | Path | None = None) -> ChainConfig:
    """Load a bundled chain by name, or any chain file by path (exactly one of the two)."""
    if chain_file is not None and name is not None:
        raise ConfigError("give either --chain or --chain-file, not both")
    if chain_file is not None:
        return load_chain_file(chain_file)
    if name is None:
        raise ConfigError("choose a chain with --chain NAME or --chain-file PATH")
    path = chain_path(name)
    if not path.is_file():
        raise ConfigError(f"unknown chain {name!r}; bundled chains: {', '.join(bundled_chains())}")
    return load_chain_file(path)
