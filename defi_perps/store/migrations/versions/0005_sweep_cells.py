"""Sweep cells (issue 13 §3), keyed by the digest of what determines each cell's result.

Histories need no new index: their lookups (chain, protocol, deployment, block range) use the prefix of
``uq_snapshot_identity``, and ``series`` reads summaries through ``uq_snapshot_summary_key``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_cell",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("cell_key", sa.String(), nullable=False),
        sa.Column("sweep_key", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("book_source", sa.String(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(), nullable=True),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("venue", sa.String(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("n_paths", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(), nullable=False),
        sa.Column("result_digest", sa.String(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.UniqueConstraint("cell_key", name="uq_sweep_cell_key"))
    op.create_index("ix_sweep_cell_sweep_key", "sweep_cell", ["sweep_key"])


def downgrade() -> None:
    op.drop_index("ix_sweep_cell_sweep_key", "sweep_cell")
    op.drop_table("sweep_cell")
