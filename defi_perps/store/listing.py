"""``snapshots list`` without the ORM: one Core query on the ``snapshot`` table.

Kept apart from queries.py so the read-only listing imports neither SQLModel nor the models (a few
hundred milliseconds of start-up that a one-line answer should not pay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from defi_perps.exceptions import SnapshotNotFound, StoreError
from defi_perps.store.db import _first_line, get_engine


@dataclass(frozen=True)
class SnapshotInfo:
    """One line of ``snapshots list``."""

    id: int
    chain_id: int
    chain_name: str
    protocol: str
    data_store: str
    block_number: int
    block_timestamp: int
    block_hash: str
    price_source: str
    market_count: int
    position_count: int
    created_at: str
    price_label: str | None = None


COLUMNS = ("id", "chain_id", "chain_name", "protocol", "data_store", "block_number", "block_timestamp", "block_hash",
           "price_source", "market_count", "position_count", "created_at", "price_label")


def list_snapshots(db_url: str | None = None) -> list[SnapshotInfo]:
    """All stored snapshots, oldest first (a read-only command: never creates a database)."""
    try:
        with get_engine(db_url, create=False).connect() as c:
            rows = c.execute(text(f"SELECT {', '.join(COLUMNS)} FROM snapshot ORDER BY id")).all()
        return [SnapshotInfo(*r) for r in rows]
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None


def resolve_id(conn: Any, snapshot_id: int | str) -> int:
    """A snapshot id from ``ID`` or ``latest``: SnapshotNotFound when there is none."""
    if isinstance(snapshot_id, str):
        raw = snapshot_id.strip()
        if raw.lower() == "latest":
            sid = conn.execute(text("SELECT max(id) FROM snapshot")).scalar()
            if sid is None:
                raise SnapshotNotFound("no snapshots stored yet: run `defi-perps index gmx-v2 …` first")
            return int(sid)
        try:
            snapshot_id = int(raw)
        except ValueError:
            raise SnapshotNotFound(f"snapshot id must be a number or 'latest', got {raw[:40]!r}") from None
    if isinstance(snapshot_id, bool) or not isinstance(snapshot_id, int) or not 1 <= snapshot_id < 2**63:
        raise SnapshotNotFound(f"snapshot id must be a whole number from 1 to 2**63-1 or 'latest', "
                               f"got {str(snapshot_id)[:40]}")
    if conn.execute(text("SELECT 1 FROM snapshot WHERE id = :i"), {"i": snapshot_id}).scalar() is None:
        raise SnapshotNotFound(f"no snapshot with id {snapshot_id}")
    return snapshot_id
