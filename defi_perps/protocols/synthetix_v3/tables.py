"""Synthetix perps v3's own tables (migration 0007_plughl_tables): D18 values, lossless.

Rows join by ``market_id`` (= shared ``snapshot_market.market``, as text) and by position ``key``
``<accountId>:<marketId>`` (= shared ``snapshot_position.key``). Units: records.py.
"""

from __future__ import annotations

from defi_perps.store.rowbase import SnapshotChild, big


class SnxGlobalsRow(SnapshotChild, table=True):
    __tablename__ = "synthetix_v3_globals"
    account_nft: str
    account_count: int = big()
    min_keeper_reward_usd: int = big()
    min_keeper_profit_ratio: int = big()
    max_keeper_reward_usd: int = big()
    max_keeper_scaling_ratio: int = big()
    collateral_liquidate_reward_ratio: int = big()
    total_global_collateral_value: int | None = big(True)
    supported_collaterals: str          # comma-separated ids
    flagged_accounts: str               # comma-separated ids


class SnxMarketRow(SnapshotChild, table=True):
    __tablename__ = "synthetix_v3_market"
    market_id: int = big()
    name: str
    symbol: str
    index_price: int = big()
    skew: int = big()
    size: int = big()
    max_open_interest: int = big()
    current_funding_rate: int = big()
    current_funding_velocity: int = big()
    skew_scale: int = big()
    max_funding_velocity: int = big()
    maker_fee: int = big()
    taker_fee: int = big()
    initial_margin_ratio: int = big()
    minimum_initial_margin_ratio: int = big()
    maintenance_margin_scalar: int = big()
    flag_reward_ratio: int = big()
    minimum_position_margin: int = big()
    max_liquidation_limit_accumulation_multiplier: int = big()
    max_seconds_in_liquidation_window: int = big()
    max_liquidation_pd: int = big()
    endorsed_liquidator: str
    max_market_size: int = big()
    locked_oi_ratio: int = big()
    liquidation_capacity: int = big()
    max_liquidation_in_window: int = big()
    latest_liquidation_timestamp: int = big()


class SnxAccountRow(SnapshotChild, table=True):
    __tablename__ = "synthetix_v3_account"
    account_id: int = big()
    owner: str
    available_margin: int = big()
    required_initial_margin: int = big()
    required_maintenance_margin: int = big()
    max_liquidation_reward: int = big()
    collateral_value: int = big()
    debt: int = big()
    can_liquidate: bool
    flagged: bool


class SnxPositionRow(SnapshotChild, table=True):
    __tablename__ = "synthetix_v3_position"
    key: str
    account_id: int = big()
    market_id: int = big()
    size: int = big()
    total_pnl: int = big()
    accrued_funding: int = big()
    owed_interest: int = big()


class SnxCollateralRow(SnapshotChild, table=True):
    __tablename__ = "synthetix_v3_collateral"
    account_id: int = big()
    collateral_id: int = big()
    amount: int = big()


TABLES = (SnxGlobalsRow, SnxMarketRow, SnxAccountRow, SnxPositionRow, SnxCollateralRow)
