"""SQLModel tables of a protocol snapshot. Column names equal the ``defi_perps.domain`` field names,
so rows and records convert field by field (writer.py, queries.py). Every row has ``chain_id``,
``block_number`` and ``block_hash``; on-chain integers use BigInt (lossless).

The schema is created and evolved by Alembic (store/migrations/): a change here needs a migration.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from defi_perps.store.types import BigInt


def _big(nullable: bool = False) -> object:
    return Field(sa_column=Column(BigInt(), nullable=nullable))


def _utcnow() -> str:
    # ISO text, the same on every backend (no naive/aware datetime differences between drivers).
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "snapshot"
    # The snapshot's identity (issue 8 §3): another chain, a reorg at the same number or another price
    # source is another snapshot. price_source is "chainlink" or "file:sha256:<digest of the file>".
    __table_args__ = (UniqueConstraint("chain_id", "protocol", "data_store", "block_number", "block_hash",
                                       "price_source", name="uq_snapshot_identity"),
                      Index("ix_snapshot_chain_block", "chain_id", "block_number"),
                      # the series query's filter and order (migration 0007)
                      Index("ix_snapshot_series", "protocol", "price_source", "block_number", "id"))
    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(index=True, sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_timestamp: int = Field(sa_type=BigInteger)
    block_hash: str
    protocol: str
    data_store: str
    price_source: str
    price_label: str | None = None       # what a user recognises: "file prices.json"
    chain_name: str = ""
    created_at: str = Field(default_factory=_utcnow)
    market_count: int = 0
    position_count: int = 0
    # GlobalParams (nullable: a protocol may have none)
    min_collateral_usd: int | None = _big(True)  # type: ignore[assignment]
    min_position_size_usd: int | None = _big(True)  # type: ignore[assignment]
    liquidation_fee_receiver_factor: int | None = _big(True)  # type: ignore[assignment]
    borrowing_fee_receiver_factor: int | None = _big(True)  # type: ignore[assignment]
    use_open_interest_in_tokens_for_balance: bool | None = None
    skip_borrowing_fee_for_smaller_side: bool | None = None


class TokenRow(SQLModel, table=True):
    __tablename__ = "snapshot_token"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    address: str
    symbol: str
    decimals: int
    synthetic: bool = False


class PriceRow(SQLModel, table=True):
    __tablename__ = "snapshot_price"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    token: str
    price_min: int = _big()  # type: ignore[assignment]
    price_max: int = _big()  # type: ignore[assignment]
    source: str
    feed: str | None = None
    feed_multiplier: int | None = _big(True)  # type: ignore[assignment]
    answer: int | None = _big(True)  # type: ignore[assignment]
    round_id: int | None = _big(True)  # type: ignore[assignment]
    updated_at: int | None = _big(True)  # type: ignore[assignment]


class OpenInterestRow(SQLModel, table=True):
    __tablename__ = "snapshot_open_interest"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    market: str
    collateral_token: str
    is_long: bool
    open_interest_usd: int = _big()  # type: ignore[assignment]
    open_interest_in_tokens: int = _big()  # type: ignore[assignment]
    collateral_sum: int = _big()  # type: ignore[assignment]
    funding_fee_amount_per_size: int | None = _big(True)  # type: ignore[assignment]
    claimable_funding_amount_per_size: int | None = _big(True)  # type: ignore[assignment]


class MarketRow(SQLModel, table=True):
    __tablename__ = "snapshot_market"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    market_token: str
    index_token: str
    long_token: str
    short_token: str
    pool_amount_long: int = _big()  # type: ignore[assignment]
    pool_amount_short: int = _big()  # type: ignore[assignment]
    reserve_factor_long: int = _big()  # type: ignore[assignment]
    reserve_factor_short: int = _big()  # type: ignore[assignment]
    open_interest_reserve_factor_long: int = _big()  # type: ignore[assignment]
    open_interest_reserve_factor_short: int = _big()  # type: ignore[assignment]
    max_pnl_factor_for_traders_long: int = _big()  # type: ignore[assignment]
    max_pnl_factor_for_traders_short: int = _big()  # type: ignore[assignment]
    max_pnl_factor_for_adl_long: int = _big()  # type: ignore[assignment]
    max_pnl_factor_for_adl_short: int = _big()  # type: ignore[assignment]
    min_pnl_factor_after_adl_long: int = _big()  # type: ignore[assignment]
    min_pnl_factor_after_adl_short: int = _big()  # type: ignore[assignment]
    is_adl_enabled_long: bool
    is_adl_enabled_short: bool
    min_collateral_factor: int = _big()  # type: ignore[assignment]
    min_collateral_factor_for_liquidation: int = _big()  # type: ignore[assignment]
    position_impact_factor_positive: int = _big()  # type: ignore[assignment]
    position_impact_factor_negative: int = _big()  # type: ignore[assignment]
    position_impact_exponent_factor_positive: int = _big()  # type: ignore[assignment]
    position_impact_exponent_factor_negative: int = _big()  # type: ignore[assignment]
    max_position_impact_factor_positive: int = _big()  # type: ignore[assignment]
    max_position_impact_factor_negative: int = _big()  # type: ignore[assignment]
    max_position_impact_factor_for_liquidations: int = _big()  # type: ignore[assignment]
    position_fee_factor_positive: int = _big()  # type: ignore[assignment]
    position_fee_factor_negative: int = _big()  # type: ignore[assignment]
    liquidation_fee_factor: int = _big()  # type: ignore[assignment]
    borrowing_factor_long: int = _big()  # type: ignore[assignment]
    borrowing_factor_short: int = _big()  # type: ignore[assignment]
    borrowing_exponent_factor_long: int = _big()  # type: ignore[assignment]
    borrowing_exponent_factor_short: int = _big()  # type: ignore[assignment]
    cumulative_borrowing_factor_long: int = _big()  # type: ignore[assignment]
    cumulative_borrowing_factor_short: int = _big()  # type: ignore[assignment]
    funding_factor: int = _big()  # type: ignore[assignment]
    funding_exponent_factor: int = _big()  # type: ignore[assignment]
    saved_funding_factor_per_second: int = _big()  # type: ignore[assignment]
    position_impact_pool_amount: int = _big()  # type: ignore[assignment]
    virtual_market_id: str
    virtual_token_id: str
    virtual_inventory_for_positions: int = _big()  # type: ignore[assignment]
    # v2.2 values of the exact math (nullable: snapshots stored before they were read)
    lent_position_impact_pool_amount: int | None = _big(True)  # type: ignore[assignment]
    total_pending_impact_amount: int | None = _big(True)  # type: ignore[assignment]
    position_impact_pool_distribution_rate: int | None = _big(True)  # type: ignore[assignment]
    position_impact_pool_distributed_at: int | None = _big(True)  # type: ignore[assignment]
    min_position_impact_pool_amount: int | None = _big(True)  # type: ignore[assignment]
    total_borrowing_long: int | None = _big(True)  # type: ignore[assignment]
    total_borrowing_short: int | None = _big(True)  # type: ignore[assignment]
    cumulative_borrowing_factor_updated_at_long: int | None = _big(True)  # type: ignore[assignment]
    cumulative_borrowing_factor_updated_at_short: int | None = _big(True)  # type: ignore[assignment]
    optimal_usage_factor_long: int | None = _big(True)  # type: ignore[assignment]
    optimal_usage_factor_short: int | None = _big(True)  # type: ignore[assignment]
    base_borrowing_factor_long: int | None = _big(True)  # type: ignore[assignment]
    base_borrowing_factor_short: int | None = _big(True)  # type: ignore[assignment]
    above_optimal_usage_borrowing_factor_long: int | None = _big(True)  # type: ignore[assignment]
    above_optimal_usage_borrowing_factor_short: int | None = _big(True)  # type: ignore[assignment]
    virtual_inventory_for_positions_in_tokens: int | None = _big(True)  # type: ignore[assignment]


class PositionRow(SQLModel, table=True):
    __tablename__ = "snapshot_position"
    __table_args__ = (Index("ix_snapshot_position_snapshot_market", "snapshot_id", "market"),)
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id")
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    key: str
    account: str
    market: str
    collateral_token: str
    is_long: bool
    size_in_usd: int = _big()  # type: ignore[assignment]
    size_in_tokens: int = _big()  # type: ignore[assignment]
    collateral_amount: int = _big()  # type: ignore[assignment]
    pending_impact_amount: int = _big()  # type: ignore[assignment]
    borrowing_factor: int = _big()  # type: ignore[assignment]
    funding_fee_amount_per_size: int = _big()  # type: ignore[assignment]
    long_token_claimable_funding_amount_per_size: int = _big()  # type: ignore[assignment]
    short_token_claimable_funding_amount_per_size: int = _big()  # type: ignore[assignment]
    increased_at_time: int = _big()  # type: ignore[assignment]
    decreased_at_time: int = _big()  # type: ignore[assignment]


class AccountFeesRow(SQLModel, table=True):
    """``domain.AccountFees``: referral / pro-tier fee inputs of traders that have them."""
    __tablename__ = "snapshot_account"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    account: str
    referral_code: str
    affiliate: str
    total_rebate_bps: int = _big()  # type: ignore[assignment]
    discount_share_bps: int = _big()  # type: ignore[assignment]
    pro_tier: int = _big()  # type: ignore[assignment]
    pro_discount_factor: int = _big()  # type: ignore[assignment]


class SummaryRow(SQLModel, table=True):
    """A snapshot's per-market summary as ``snapshots show`` prints it, cached: derived data, keyed by
    the digest of the code that computes it (store/summaries.py), so a code change recomputes it."""

    __tablename__ = "snapshot_summary"
    __table_args__ = (UniqueConstraint("snapshot_id", "summary_key", name="uq_snapshot_summary_key"),)
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    summary_key: str
    body: str = Field(sa_type=Text)


SNAPSHOT_TABLES = (SnapshotRow, TokenRow, PriceRow, OpenInterestRow, MarketRow, PositionRow, AccountFeesRow)
