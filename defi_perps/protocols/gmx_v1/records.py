"""GMX v1 records: exact integers as the Vault keeps them (gmx-io/gmx-contracts contracts/core/Vault.sol
@ fe55c4ba; protocols.md §2).

Units:
- USD amounts (``size``, ``collateral``, ``guaranteed_usd``, ``liquidation_fee_usd``, AUM) are
  1e30-scaled (``PRICE_PRECISION``);
- prices (``average_price``, Vault ``getMinPrice``/``getMaxPrice``) are USD per WHOLE token, 1e30-scaled
  (``usd = amount × price / 10**decimals``), unlike GMX v2's per-unit prices;
- token amounts (``pool_amount``, ``reserved_amount``, ``reserve_amount``) are in token units;
- funding rates are FUNDING_RATE_PRECISION (1e6) fractions; basis points are 1e4;
  ``max_leverage`` is in basis points (50x = 500000).
"""

from __future__ import annotations

from dataclasses import dataclass

from defi_perps.domain import OraclePrice, SnapshotMeta, Token

PRICE_PRECISION = 10**30


@dataclass(frozen=True, slots=True)
class VaultToken:
    """One whitelisted token's Vault state at the snapshot block."""

    token: str
    is_whitelisted: bool
    is_stable: bool
    is_shortable: bool
    token_decimals: int               # Vault.tokenDecimals (what the Vault's USD conversions use)
    min_profit_basis_points: int
    pool_amount: int
    reserved_amount: int
    guaranteed_usd: int
    global_short_size: int
    global_short_average_price: int   # Vault.globalShortAveragePrices
    cumulative_funding_rate: int
    last_funding_time: int
    next_funding_rate: int            # Vault.getNextFundingRate at the block (added on the next update)
    glp_global_short_average_price: int | None = None  # GlpManager.getGlobalShortAveragePrice (ShortsTracker mix)


@dataclass(frozen=True, slots=True)
class VaultParams:
    max_leverage: int
    liquidation_fee_usd: int
    margin_fee_basis_points: int
    min_profit_time: int
    funding_interval: int
    funding_rate_factor: int
    stable_funding_rate_factor: int
    in_private_liquidation_mode: bool
    aum_max: int | None = None        # GlpManager.getAum(true) / getAum(false); None: no GlpManager read
    aum_min: int | None = None
    aum_addition: int | None = None
    aum_deduction: int | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """``Vault.positions(key)`` with the key's identity (from the position events)."""

    key: str                          # bytes32 hex = keccak256(abi.encodePacked(account, collateral, index, isLong))
    account: str
    collateral_token: str
    index_token: str
    is_long: bool
    size: int                         # 1e30 USD
    collateral: int                   # 1e30 USD
    average_price: int                # 1e30 USD per whole index token
    entry_funding_rate: int
    reserve_amount: int               # collateral-token units
    realised_pnl: int                 # signed 1e30 USD
    last_increased_time: int


@dataclass(frozen=True, slots=True)
class ScanInfo:
    """How the open positions were found: the event scan behind the snapshot."""

    from_block: int
    to_block: int
    events: int                       # position events seen
    candidates: int                   # keys read from Vault.positions
    resumed_from: int | None = None   # checkpoint block a resumed scan started after


@dataclass(frozen=True, slots=True)
class GmxV1Snapshot:
    meta: SnapshotMeta
    tokens: tuple[Token, ...]
    prices: tuple[OraclePrice, ...]   # Vault getMinPrice / getMaxPrice, 1e30 per whole token, source "vault"
    vault_tokens: tuple[VaultToken, ...]
    params: VaultParams
    positions: tuple[Position, ...]
    scan: ScanInfo | None = None

    @property
    def markets(self) -> tuple[str, ...]:
        """Index tokens: every whitelisted non-stable token (one market each, GLP-backed)."""
        return tuple(v.token for v in self.vault_tokens if v.is_whitelisted and not v.is_stable)
