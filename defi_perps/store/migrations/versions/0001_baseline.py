"""Baseline: the schema of defi-perps 0.1.0 (main at 7dc81a5), created there by ``create_all``.

A database written by that release has these tables and no ``alembic_version``; migrate.py stamps it
with this revision and upgrades it from here. Types and names are exactly what 0.1.0 created
(tests/store/old_schema/*.sql are its DDL; test_migrations.py compares them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, nullable=False)


def _child(name: str, *cols: sa.Column, index_snapshot: bool = True) -> None:
    op.create_table(
        name, _id(),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        *cols)
    if index_snapshot:
        op.create_index(f"ix_{name}_snapshot_id", name, ["snapshot_id"])


def _s(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _b(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, BigInt(), nullable=nullable)


MARKET_BIG = ["pool_amount_long", "pool_amount_short", "reserve_factor_long", "reserve_factor_short",
              "open_interest_reserve_factor_long", "open_interest_reserve_factor_short",
              "max_pnl_factor_for_traders_long", "max_pnl_factor_for_traders_short", "max_pnl_factor_for_adl_long",
              "max_pnl_factor_for_adl_short", "min_pnl_factor_after_adl_long", "min_pnl_factor_after_adl_short"]
MARKET_BIG2 = ["min_collateral_factor", "min_collateral_factor_for_liquidation", "position_impact_factor_positive",
               "position_impact_factor_negative", "position_impact_exponent_factor_positive",
               "position_impact_exponent_factor_negative", "max_position_impact_factor_positive",
               "max_position_impact_factor_negative", "max_position_impact_factor_for_liquidations",
               "position_fee_factor_positive", "position_fee_factor_negative", "liquidation_fee_factor",
               "borrowing_factor_long", "borrowing_factor_short", "borrowing_exponent_factor_long",
               "borrowing_exponent_factor_short", "cumulative_borrowing_factor_long",
               "cumulative_borrowing_factor_short", "funding_factor", "funding_exponent_factor",
               "saved_funding_factor_per_second", "position_impact_pool_amount"]
POSITION_BIG = ["size_in_usd", "size_in_tokens", "collateral_amount", "pending_impact_amount", "borrowing_factor",
                "funding_fee_amount_per_size", "long_token_claimable_funding_amount_per_size",
                "short_token_claimable_funding_amount_per_size", "increased_at_time", "decreased_at_time"]


def upgrade() -> None:
    op.create_table(
        "snapshot", _id(),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        _s("block_hash"), _s("protocol"), _s("data_store"), _s("price_source"), _s("chain_name"), _s("created_at"),
        sa.Column("market_count", sa.Integer(), nullable=False),
        sa.Column("position_count", sa.Integer(), nullable=False),
        _b("min_collateral_usd", True), _b("min_position_size_usd", True),
        _b("liquidation_fee_receiver_factor", True), _b("borrowing_fee_receiver_factor", True),
        sa.UniqueConstraint("chain_id", "protocol", "data_store", "block_number",
                            name="uq_snapshot_chain_protocol_store_block"))
    op.create_index("ix_snapshot_chain_id", "snapshot", ["chain_id"])
    _child("snapshot_token", _s("address"), _s("symbol"), sa.Column("decimals", sa.Integer(), nullable=False),
           sa.Column("synthetic", sa.Boolean(), nullable=False))
    _child("snapshot_price", _s("token"), _b("price_min"), _b("price_max"), _s("source"), _s("feed", True),
           _b("feed_multiplier", True), _b("answer", True), _b("round_id", True), _b("updated_at", True))
    _child("snapshot_open_interest", _s("market"), _s("collateral_token"),
           sa.Column("is_long", sa.Boolean(), nullable=False), _b("open_interest_usd"),
           _b("open_interest_in_tokens"), _b("collateral_sum"))
    _child("snapshot_market", _s("market_token"), _s("index_token"), _s("long_token"), _s("short_token"),
           *[_b(c) for c in MARKET_BIG],
           sa.Column("is_adl_enabled_long", sa.Boolean(), nullable=False),
           sa.Column("is_adl_enabled_short", sa.Boolean(), nullable=False),
           *[_b(c) for c in MARKET_BIG2],
           _s("virtual_market_id"), _s("virtual_token_id"), _b("virtual_inventory_for_positions"))
    _child("snapshot_position", _s("key"), _s("account"), _s("market"), _s("collateral_token"),
           sa.Column("is_long", sa.Boolean(), nullable=False), *[_b(c) for c in POSITION_BIG],
           index_snapshot=False)
    op.create_index("ix_snapshot_position_snapshot_market", "snapshot_position", ["snapshot_id", "market"])


def downgrade() -> None:
    for t in ("snapshot_position", "snapshot_market", "snapshot_open_interest", "snapshot_price", "snapshot_token",
              "snapshot"):
        op.drop_table(t)
