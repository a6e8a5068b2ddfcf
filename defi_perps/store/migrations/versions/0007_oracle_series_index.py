"""An index for ``series`` over long histories (issue 13 §4): snapshots by (protocol, price source,
block number, id), the filter and the order of the series query (indexer/series.py), so reading a
market's history stays an index range scan however many snapshots (and other protocols' or price
files' snapshots) the table holds. ``snapshots list`` reads by primary key; a snapshot's positions by
``ix_snapshot_position_snapshot_market``; cached summaries by ``uq_snapshot_summary_key``
(benchmarks/store_scale.py shows the plans at 1,000 snapshots × 20,000 positions)."""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_snapshot_series", "snapshot", ["protocol", "price_source", "block_number", "id"])


def downgrade() -> None:
    op.drop_index("ix_snapshot_series", "snapshot")
