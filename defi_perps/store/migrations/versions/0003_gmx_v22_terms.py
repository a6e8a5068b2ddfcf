"""GMX v2.2 terms the exact liquidation check and pool value need (issue 8 §1): funding fee and
claimable amounts per size per (market, collateral token, side); the lent and pending impact pools,
the impact pool's distribution, the borrowing-rate inputs (kink model), virtual inventory in tokens;
two global switches; and the per-trader referral / pro-tier fee inputs (``snapshot_account``).

All new columns are nullable: snapshots stored before this revision did not read these keys, and the
book treats a missing funding term as 0 (what an old snapshot's check assumed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MARKET_COLUMNS = (
    "lent_position_impact_pool_amount", "total_pending_impact_amount",
    "position_impact_pool_distribution_rate", "position_impact_pool_distributed_at",
    "min_position_impact_pool_amount", "total_borrowing_long", "total_borrowing_short",
    "cumulative_borrowing_factor_updated_at_long", "cumulative_borrowing_factor_updated_at_short",
    "optimal_usage_factor_long", "optimal_usage_factor_short", "base_borrowing_factor_long",
    "base_borrowing_factor_short", "above_optimal_usage_borrowing_factor_long",
    "above_optimal_usage_borrowing_factor_short", "virtual_inventory_for_positions_in_tokens",
)
OI_COLUMNS = ("funding_fee_amount_per_size", "claimable_funding_amount_per_size")
SNAPSHOT_FLAGS = ("use_open_interest_in_tokens_for_balance", "skip_borrowing_fee_for_smaller_side")


def upgrade() -> None:
    with op.batch_alter_table("snapshot") as b:
        for c in SNAPSHOT_FLAGS:
            b.add_column(sa.Column(c, sa.Boolean(), nullable=True))
    with op.batch_alter_table("snapshot_open_interest") as b:
        for c in OI_COLUMNS:
            b.add_column(sa.Column(c, BigInt(), nullable=True))
    with op.batch_alter_table("snapshot_market") as b:
        for c in MARKET_COLUMNS:
            b.add_column(sa.Column(c, BigInt(), nullable=True))
    op.create_table(
        "snapshot_account",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("referral_code", sa.String(), nullable=False),
        sa.Column("affiliate", sa.String(), nullable=False),
        sa.Column("total_rebate_bps", BigInt(), nullable=False),
        sa.Column("discount_share_bps", BigInt(), nullable=False),
        sa.Column("pro_tier", BigInt(), nullable=False),
        sa.Column("pro_discount_factor", BigInt(), nullable=False))
    op.create_index("ix_snapshot_account_snapshot_id", "snapshot_account", ["snapshot_id"])


def downgrade() -> None:
    op.drop_index("ix_snapshot_account_snapshot_id", "snapshot_account")
    op.drop_table("snapshot_account")
    with op.batch_alter_table("snapshot_market") as b:
        for c in MARKET_COLUMNS:
            b.drop_column(c)
    with op.batch_alter_table("snapshot_open_interest") as b:
        for c in OI_COLUMNS:
            b.drop_column(c)
    with op.batch_alter_table("snapshot") as b:
        for c in SNAPSHOT_FLAGS:
            b.drop_column(c)
