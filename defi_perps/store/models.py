"""The shared SQLModel tables of a snapshot: what every perp protocol has (the snapshot's identity,
tokens, oracle prices, markets and positions with size, side, collateral and entry as exact ints).
A protocol's own fields live in its plug-in's tables (``protocols/<key>/tables.py``, declared on
:class:`~defi_perps.store.rowbase.SnapshotChild`). Column names equal the record field names
(``defi_perps.domain``, ``defi_perps.protocols.base``). Every row has ``chain_id``,
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
    # data_store is the deployment's root contract (GMX v2 DataStore, GMX v1 Vault, …).
    __table_args__ = (UniqueConstraint("chain_id", "protocol", "data_store", "block_number", "block_hash",
                                       "price_source", name="uq_snapshot_identity"),
                      Index("ix_snapshot_chain_block", "chain_id", "block_number"))
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


class MarketRow(SQLModel, table=True):
    """``protocols.base.SharedMarket``."""
    __tablename__ = "snapshot_market"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    market: str
    index_token: str
    long_token: str | None = None
    short_token: str | None = None


class PositionRow(SQLModel, table=True):
    """``protocols.base.SharedPosition``."""
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
    collateral_token: str | None = None
    is_long: bool
    size_in_usd: int = _big()  # type: ignore[assignment]
    size_in_tokens: int | None = _big(True)  # type: ignore[assignment]
    collateral_amount: int | None = _big(True)  # type: ignore[assignment]
    collateral_usd: int | None = _big(True)  # type: ignore[assignment]
    entry_price: int | None = _big(True)  # type: ignore[assignment]


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


SNAPSHOT_TABLES = (SnapshotRow, TokenRow, PriceRow, MarketRow, PositionRow)
