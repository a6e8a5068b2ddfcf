"""Stored price sources as the plug-ins declare them: Hyperliquid and Synthetix v3 snapshots indexed
before their plug-ins declared ``default_price_source`` were labelled "chainlink" (the interface's
default), though they read HyperCore's precompiles and Synthetix's Pyth-fed oracle nodes. ``series``
and the re-index check filter on the plug-in's own price source, so without this relabel those
snapshots would drop out of ``series`` and a re-index of a stored block would store it again.

Only the default label is rewritten: a ``--prices`` what-if (``file:sha256:…``) keeps its label. The
values are frozen here (a migration does not read today's plug-ins)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RELABEL = (("hyperliquid", "precompile"), ("synthetix_v3", "pyth"))


def upgrade() -> None:
    for protocol, source in RELABEL:
        op.execute(sa.text("UPDATE snapshot SET price_source = :s WHERE protocol = :p AND price_source = 'chainlink'")
                   .bindparams(s=source, p=protocol))


def downgrade() -> None:
    for protocol, source in RELABEL:
        op.execute(sa.text("UPDATE snapshot SET price_source = 'chainlink' WHERE protocol = :p AND price_source = :s")
                   .bindparams(s=source, p=protocol))
