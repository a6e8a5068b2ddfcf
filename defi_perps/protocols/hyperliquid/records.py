"""Hyperliquid records: HyperCore state read through the HyperEVM precompiles, exact ints.

Units are HyperCore's own integers (abis/hyperliquid/SOURCES.md): ``szi`` in the perp's size
decimals (``sz_decimals``); perp prices (``mark_px``, ``oracle_px``, ``bid_px``, ``ask_px``) with
``6 − sz_decimals`` decimals; USDC amounts (``entry_ntl``, ``isolated_raw_usd``, margin summary,
``withdrawable``, vault ``equity``) with 6 decimals; spot balances in the token's wei decimals.
Nothing here is a float: ``book.py`` is where they become float64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

from defi_perps.domain import SnapshotMeta

USDC_DECIMALS = 6          # USDC amounts on HyperCore (entryNtl, margins, equity)
PERP_PX_DECIMALS = 6       # perp price decimals = 6 − szDecimals


@dataclass(frozen=True, slots=True)
class PerpAsset:
    """One perp: ``perpAssetInfo`` (0x…080a), ``markPx`` (0x…0806), ``oraclePx`` (0x…0807), ``bbo`` (0x…080e)."""

    perp: int                  # perp (asset) index
    coin: str
    margin_table_id: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool
    mark_px: int               # 6 − sz_decimals decimals
    oracle_px: int
    bid_px: int | None = None  # None: the bbo precompile was not read / failed
    ask_px: int | None = None


@dataclass(frozen=True, slots=True)
class PerpPosition:
    """``position2(user, perp)`` (0x…0813) or the legacy ``position`` (0x…0800): one open position."""

    account: str
    perp: int
    szi: int                   # signed size, sz_decimals
    entry_ntl: int             # entry notional, USDC 1e6
    isolated_raw_usd: int      # signed, USDC 1e6 (isolated positions' raw USD)
    leverage: int
    is_isolated: bool


@dataclass(frozen=True, slots=True)
class Account:
    """``accountMarginSummary(perpDex, user)`` (0x…080f), ``withdrawable`` (0x…0803), ``coreUserExists`` (0x…0810)."""

    account: str
    account_value: int         # signed, USDC 1e6
    margin_used: int
    ntl_pos: int
    raw_usd: int               # signed
    withdrawable: int
    exists: bool


@dataclass(frozen=True, slots=True)
class SpotBalance:
    """``spotBalance(user, token)`` (0x…0801); all-zero answers (no balance) are not kept."""

    account: str
    token: int
    total: int                 # token wei decimals
    hold: int
    entry_ntl: int             # USDC 1e6


@dataclass(frozen=True, slots=True)
class VaultEquity:
    """``userVaultEquity(user, vault)`` (0x…0802); all-zero answers (no deposit) are not kept."""

    account: str
    vault: str
    equity: int                # USDC 1e6
    locked_until_timestamp: int


@dataclass(frozen=True, slots=True)
class HyperliquidSnapshot:
    """Everything read at one HyperEVM block for one list of accounts."""

    meta: SnapshotMeta
    l1_block_number: int               # HyperCore block the precompiles answered from (0x…0809)
    perp_dex: int
    accounts_digest: str               # sha256 of the sorted account list (part of the snapshot's identity)
    perps: tuple[PerpAsset, ...]
    positions: tuple[PerpPosition, ...]
    accounts: tuple[Account, ...]
    spot_balances: tuple[SpotBalance, ...] = ()
    vault_equities: tuple[VaultEquity, ...] = ()

    @property
    def markets(self) -> tuple[PerpAsset, ...]:
        """The perps (the plug-in boundary counts ``markets``)."""
        return self.perps
