"""GMX v2's own tables: the fields of ``domain.Market`` / ``Position`` / ``OpenInterest`` /
``AccountFees`` / ``GlobalParams`` that the shared ``snapshot_market`` / ``snapshot_position`` rows do
not hold (risk parameters, funding and borrowing terms, the v2.2 terms, referral fee inputs).

Column names equal the record field names; rows join the shared ones by ``market_token`` = shared
``market`` and by position ``key`` within a snapshot. Created by migration 0006, which moved the
columns here from the shared tables and kept every stored snapshot readable.
"""

from __future__ import annotations

from sqlalchemy import Index

from defi_perps.store.rowbase import SnapshotChild, big


class GmxV2MarketRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v2_market"
    market_token: str
    pool_amount_long: int = big()
    pool_amount_short: int = big()
    reserve_factor_long: int = big()
    reserve_factor_short: int = big()
    open_interest_reserve_factor_long: int = big()
    open_interest_reserve_factor_short: int = big()
    max_pnl_factor_for_traders_long: int = big()
    max_pnl_factor_for_traders_short: int = big()
    max_pnl_factor_for_adl_long: int = big()
    max_pnl_factor_for_adl_short: int = big()
    min_pnl_factor_after_adl_long: int = big()
    min_pnl_factor_after_adl_short: int = big()
    is_adl_enabled_long: bool
    is_adl_enabled_short: bool
    min_collateral_factor: int = big()
    min_collateral_factor_for_liquidation: int = big()
    position_impact_factor_positive: int = big()
    position_impact_factor_negative: int = big()
    position_impact_exponent_factor_positive: int = big()
    position_impact_exponent_factor_negative: int = big()
    max_position_impact_factor_positive: int = big()
    max_position_impact_factor_negative: int = big()
    max_position_impact_factor_for_liquidations: int = big()
    position_fee_factor_positive: int = big()
    position_fee_factor_negative: int = big()
    liquidation_fee_factor: int = big()
    borrowing_factor_long: int = big()
    borrowing_factor_short: int = big()
    borrowing_exponent_factor_long: int = big()
    borrowing_exponent_factor_short: int = big()
    cumulative_borrowing_factor_long: int = big()
    cumulative_borrowing_factor_short: int = big()
    funding_factor: int = big()
    funding_exponent_factor: int = big()
    saved_funding_factor_per_second: int = big()
    position_impact_pool_amount: int = big()
    virtual_market_id: str
    virtual_token_id: str
    virtual_inventory_for_positions: int = big()
    # v2.2 values of the exact math (nullable: snapshots stored before they were read)
    lent_position_impact_pool_amount: int | None = big(True)
    total_pending_impact_amount: int | None = big(True)
    position_impact_pool_distribution_rate: int | None = big(True)
    position_impact_pool_distributed_at: int | None = big(True)
    min_position_impact_pool_amount: int | None = big(True)
    total_borrowing_long: int | None = big(True)
    total_borrowing_short: int | None = big(True)
    cumulative_borrowing_factor_updated_at_long: int | None = big(True)
    cumulative_borrowing_factor_updated_at_short: int | None = big(True)
    optimal_usage_factor_long: int | None = big(True)
    optimal_usage_factor_short: int | None = big(True)
    base_borrowing_factor_long: int | None = big(True)
    base_borrowing_factor_short: int | None = big(True)
    above_optimal_usage_borrowing_factor_long: int | None = big(True)
    above_optimal_usage_borrowing_factor_short: int | None = big(True)
    virtual_inventory_for_positions_in_tokens: int | None = big(True)


class GmxV2OpenInterestRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v2_open_interest"
    market: str
    collateral_token: str
    is_long: bool
    open_interest_usd: int = big()
    open_interest_in_tokens: int = big()
    collateral_sum: int = big()
    funding_fee_amount_per_size: int | None = big(True)
    claimable_funding_amount_per_size: int | None = big(True)


class GmxV2PositionRow(SnapshotChild, table=True):
    __tablename__ = "gmx_v2_position"
    __table_args__ = (Index("ix_gmx_v2_position_snapshot_key", "snapshot_id", "key"),)
    key: str
    pending_impact_amount: int = big()
    borrowing_factor: int = big()
    funding_fee_amount_per_size: int = big()
    long_token_claimable_funding_amount_per_size: int = big()
    short_token_claimable_funding_amount_per_size: int = big()
    increased_at_time: int = big()
    decreased_at_time: int = big()


class GmxV2AccountRow(SnapshotChild, table=True):
    """``domain.AccountFees``: referral / pro-tier fee inputs of traders that have them."""
    __tablename__ = "gmx_v2_account"
    account: str
    referral_code: str
    affiliate: str
    total_rebate_bps: int = big()
    discount_share_bps: int = big()
    pro_tier: int = big()
    pro_discount_factor: int = big()


class GmxV2GlobalsRow(SnapshotChild, table=True):
    """``domain.GlobalParams`` (one row per snapshot that read them)."""
    __tablename__ = "gmx_v2_globals"
    min_collateral_usd: int = big()
    min_position_size_usd: int | None = big(True)
    liquidation_fee_receiver_factor: int | None = big(True)
    borrowing_fee_receiver_factor: int | None = big(True)
    use_open_interest_in_tokens_for_balance: bool | None = None
    skip_borrowing_fee_for_smaller_side: bool | None = None


TABLES = (GmxV2MarketRow, GmxV2OpenInterestRow, GmxV2PositionRow, GmxV2AccountRow, GmxV2GlobalsRow)
