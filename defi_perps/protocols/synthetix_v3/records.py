"""Synthetix perps v3 records: exact ints as the PerpsMarketProxy answers them.

Units (Synthetixio/synthetix-v3 markets/perps-market): prices, USD amounts and ratios are D18
(1e18 = 1.0 / $1); sizes and skew are asset units D18 (signed size: + long, − short); funding rate
and velocity are D18 per day; times are unix seconds. An account is an ERC-721 token id of the
account NFT (``getAccountTokenAddress``), cross-margined across its positions and collaterals.
"""

from __future__ import annotations

from dataclasses import dataclass

from defi_perps.domain import SnapshotMeta

D18 = 10**18


@dataclass(frozen=True, slots=True)
class SnxMarket:
    market_id: int
    name: str
    symbol: str
    index_price: int
    skew: int
    size: int
    max_open_interest: int
    current_funding_rate: int
    current_funding_velocity: int
    skew_scale: int
    max_funding_velocity: int
    maker_fee: int
    taker_fee: int
    initial_margin_ratio: int
    minimum_initial_margin_ratio: int
    maintenance_margin_scalar: int
    flag_reward_ratio: int
    minimum_position_margin: int
    max_liquidation_limit_accumulation_multiplier: int
    max_seconds_in_liquidation_window: int
    max_liquidation_pd: int
    endorsed_liquidator: str
    max_market_size: int
    locked_oi_ratio: int
    liquidation_capacity: int
    max_liquidation_in_window: int
    latest_liquidation_timestamp: int


@dataclass(frozen=True, slots=True)
class SnxAccount:
    account_id: int
    owner: str
    available_margin: int             # signed: collateral (discounted) + pnl − debt
    required_initial_margin: int
    required_maintenance_margin: int
    max_liquidation_reward: int
    collateral_value: int             # undiscounted totalCollateralValue
    debt: int
    can_liquidate: bool
    flagged: bool


@dataclass(frozen=True, slots=True)
class SnxCollateral:
    account_id: int
    collateral_id: int                # synth market id (0 = snxUSD)
    amount: int                       # D18 units of the synth


@dataclass(frozen=True, slots=True)
class SnxPosition:
    account_id: int
    market_id: int
    size: int                         # signed, asset units D18
    total_pnl: int
    accrued_funding: int
    owed_interest: int


@dataclass(frozen=True, slots=True)
class SnxGlobals:
    account_nft: str
    account_count: int                # ERC-721 totalSupply of the account NFT
    min_keeper_reward_usd: int
    min_keeper_profit_ratio: int
    max_keeper_reward_usd: int
    max_keeper_scaling_ratio: int
    collateral_liquidate_reward_ratio: int
    total_global_collateral_value: int | None   # None: the view failed (it loops over every account)
    supported_collaterals: tuple[int, ...]
    flagged_accounts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SynthetixSnapshot:
    meta: SnapshotMeta
    globals: SnxGlobals
    markets: tuple[SnxMarket, ...]
    accounts: tuple[SnxAccount, ...]          # accounts with at least one open position
    positions: tuple[SnxPosition, ...]
    collaterals: tuple[SnxCollateral, ...]
