"""What a plug-in's table declares on top of its own columns (``protocols/<key>/tables.py``).

Every row of a snapshot, shared or a plug-in's, carries ``snapshot_id``, ``chain_id``,
``block_number`` and ``block_hash``; exact on-chain integers use :func:`big` (lossless BigInt)::

    class GmxV1PositionRow(SnapshotChild, table=True):
        __tablename__ = "gmx_v1_position"
        key: str
        entry_funding_rate: int = big()

The store fills the four identity columns; the plug-in's ``own_rows`` gives the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from defi_perps.store.types import BigInt


def big(nullable: bool = False) -> Any:
    """A lossless uint256/int256 column (NUMERIC(78,0) on PostgreSQL, decimal text on SQLite)."""
    return Field(sa_column=Column(BigInt(), nullable=nullable))


class SnapshotChild(SQLModel):
    """Base of every per-snapshot table: id, snapshot, chain id, block number and hash."""

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str


IDENTITY = ("id", "snapshot_id", "chain_id", "block_number", "block_hash")
