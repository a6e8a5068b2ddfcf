"""Snapshot identity by block hash and price source; block_hash on every row; price label; the
cached per-market summary of ``snapshots show`` (snapshot_summary).

Issue 8 §3: a snapshot is keyed by (chain id, protocol, deployment, block number, block hash, price
source), so another chain or a reorg at the same number, or a ``--prices`` what-if at an indexed
block, is a new snapshot instead of a stale hit. Every stored row carries the block hash (DESIGN.md,
Store). Existing rows get their snapshot's hash; existing price sources (``chainlink`` or
``file:<path>``) stay as they were, so old snapshots keep their identity.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHILDREN = ("snapshot_token", "snapshot_price", "snapshot_open_interest", "snapshot_market", "snapshot_position")
IDENTITY = ["chain_id", "protocol", "data_store", "block_number", "block_hash", "price_source"]


def upgrade() -> None:
    with op.batch_alter_table("snapshot") as b:
        b.drop_constraint("uq_snapshot_chain_protocol_store_block", type_="unique")
        b.create_unique_constraint("uq_snapshot_identity", IDENTITY)
        b.add_column(sa.Column("price_label", sa.String(), nullable=True))
    op.create_index("ix_snapshot_chain_block", "snapshot", ["chain_id", "block_number"])
    for t in CHILDREN:
        with op.batch_alter_table(t) as b:
            b.add_column(sa.Column("block_hash", sa.String(), nullable=True))
        op.execute(f"UPDATE {t} SET block_hash = (SELECT s.block_hash FROM snapshot s WHERE s.id = {t}.snapshot_id)")
        with op.batch_alter_table(t) as b:
            b.alter_column("block_hash", existing_type=sa.String(), nullable=False)
    op.create_table(
        "snapshot_summary",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(), nullable=False),
        sa.Column("summary_key", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("snapshot_id", "summary_key", name="uq_snapshot_summary_key"))
    op.create_index("ix_snapshot_summary_snapshot_id", "snapshot_summary", ["snapshot_id"])


def downgrade() -> None:
    op.drop_table("snapshot_summary")
    for t in CHILDREN:
        with op.batch_alter_table(t) as b:
            b.drop_column("block_hash")
    op.drop_index("ix_snapshot_chain_block", "snapshot")
    with op.batch_alter_table("snapshot") as b:
        b.drop_column("price_label")
        b.drop_constraint("uq_snapshot_identity", type_="unique")
        b.create_unique_constraint("uq_snapshot_chain_protocol_store_block",
                                   ["chain_id", "protocol", "data_store", "block_number"])
