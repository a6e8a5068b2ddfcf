"""Stored runs (issue 11 §3): every simulate, compare, attack and audit run with what reproduces it
(request, venue parameters with sources, scenario text, seed, threads, code version and digest) and
what it produced (result digest, aggregates); audits keep their child runs through ``parent_id``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("run.id"), nullable=True),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(), nullable=True),
        sa.Column("book_source", sa.String(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("code_version", sa.String(), nullable=False),
        sa.Column("code_digest", sa.String(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("venues_json", sa.Text(), nullable=False),
        sa.Column("scenario_json", sa.Text(), nullable=False),
        sa.Column("result_digest", sa.String(), nullable=False),
        sa.Column("aggregates_json", sa.Text(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False))
    op.create_index("ix_run_kind", "run", ["kind"])
    op.create_index("ix_run_parent_id", "run", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_run_parent_id", "run")
    op.drop_index("ix_run_kind", "run")
    op.drop_table("run")
