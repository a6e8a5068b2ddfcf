"""Write one snapshot in one transaction; the same identity twice is a no-op.

A snapshot's identity: (chain id, protocol, deployment root, block number, block hash, price source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine, safe_url
from defi_perps.store.models import MarketRow, PositionRow, PriceRow, SnapshotRow, TokenRow

CHUNK = 5000  # rows per executemany: bounded memory per statement, same transaction


@dataclass(frozen=True)
class SaveResult:
    snapshot_id: int
    created: bool            # False: this block was already stored; nothing was written


def find_snapshot_id(session: Session, chain_id: int, protocol: str, data_store: str, block_number: int,
                     block_hash: str, price_source: str) -> int | None:
    return session.exec(select(SnapshotRow.id).where(  # type: ignore[call-overload]
        SnapshotRow.chain_id == chain_id, SnapshotRow.protocol == protocol,
        SnapshotRow.data_store == data_store, SnapshotRow.block_number == block_number,
        SnapshotRow.block_hash == block_hash.lower(), SnapshotRow.price_source == price_source)).scalar_one_or_none()


def save_snapshot(db_url: str | None, snap: Any, chain_name: str = "",
                  _before_commit: Callable[[Session], None] | None = None,
                  price_label: str | None = None) -> SaveResult:
    """Store ``snap`` (any registered protocol's snapshot) atomically: the shared rows and the
    plug-in's own rows in one transaction. Returns its id and whether it was new (re-indexing a block
    changes nothing).

    ``_before_commit`` is a test hook run inside the open transaction (to prove a failure or a kill
    there leaves nothing behind).
    """
    from defi_perps.protocols import registry

    plugin = registry.get(snap.meta.protocol)
    shared = plugin.shared(snap)
    own = plugin.own_rows(snap)
    own_models = {t.__tablename__: t for t in plugin.own_tables()}
    unknown = set(own) - set(own_models)
    if unknown:   # a plug-in bug, not a user error: say which table is undeclared
        raise StoreError(f"{plugin.name} wrote rows for undeclared table(s) {', '.join(sorted(unknown))}")
    engine = get_engine(db_url)
    m = snap.meta
    try:
        with Session(engine) as session:
            existing = find_snapshot_id(session, m.chain_id, m.protocol, m.data_store, m.block_number, m.block_hash,
                                        m.price_source)
            if existing is not None:
                return SaveResult(existing, False)
            row = SnapshotRow(chain_id=m.chain_id, block_number=m.block_number, block_timestamp=m.block_timestamp,
                              block_hash=m.block_hash.lower(), protocol=m.protocol, data_store=m.data_store,
                              price_source=m.price_source, price_label=price_label, chain_name=chain_name,
                              market_count=len(shared.markets), position_count=len(shared.positions))
            session.add(row)
            session.flush()
            sid = row.id
            assert sid is not None
            common = {"snapshot_id": sid, "chain_id": m.chain_id, "block_number": m.block_number,
                      "block_hash": m.block_hash.lower()}
            _bulk(session, TokenRow, [{**common, **_plain(t)} for t in shared.tokens])
            _bulk(session, PriceRow, [{**common, **_plain(p)} for p in shared.prices])
            _bulk(session, MarketRow, [{**common, **_plain(mk)} for mk in shared.markets])
            _bulk(session, PositionRow, [{**common, **_plain(p)} for p in shared.positions])
            for name, rows in own.items():
                _bulk(session, own_models[name], [{**common, **r} for r in rows])
            if _before_commit is not None:
                _before_commit(session)
            session.commit()
            return SaveResult(sid, True)
    except IntegrityError:
        # Another run stored the same block between our check and our commit: theirs stands.
        with Session(engine) as session:
            existing = find_snapshot_id(session, m.chain_id, m.protocol, m.data_store, m.block_number,
                                        m.block_hash, m.price_source)
        if existing is None:
            raise StoreError(f"could not store snapshot of block {m.block_number} in {safe_url(str(engine.url))}") from None
        return SaveResult(existing, False)
    except SQLAlchemyError as err:
        raise StoreError(f"could not store snapshot of block {m.block_number}: {_first_line(err)}") from None


def _plain(rec: Any) -> dict[str, Any]:
    return {f.name: getattr(rec, f.name) for f in fields(rec)}


COPY_MIN_ROWS = 200   # below this, executemany is as fast and simpler


def _bulk(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` inside the session's transaction: PostgreSQL COPY (psycopg) for large tables,
    executemany batches elsewhere. Both go through the column types' own checks (BigInt range)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        _copy(conn, model, rows)
        return
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[i:i + CHUNK])  # type: ignore[call-overload]


def _copy(conn: Any, model: type, rows: list[dict[str, Any]]) -> None:
    """COPY … FROM STDIN on the session's own DBAPI connection (same transaction, so a failure or a kill
    before commit leaves nothing). Exact ints go as their decimal text into NUMERIC(78,0)."""
    from defi_perps.store.types import BigInt

    table = model.__table__  # type: ignore[attr-defined]
    cols = [c for c in table.columns if c.name in rows[0]]
    big = [isinstance(c.type, BigInt) for c in cols]
    binds = [c.type.process_bind_param if b else None for c, b in zip(cols, big)]
    names = [c.name for c in cols]
    # Identifiers through the dialect's preparer (quoted where needed: a reserved word such as "order"
    # or "user", a mixed-case or schema-qualified name), exactly as SQLAlchemy's own INSERT spells them.
    prep = conn.dialect.identifier_preparer
    target = prep.format_table(table)
    columns = ", ".join(prep.quote(n) for n in names)
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({columns}) FROM STDIN") as cp:
        for r in rows:
            vals = [r.get(n) for n in names]
            for j, f in enumerate(binds):
                if f is not None and vals[j] is not None:
                    vals[j] = f(vals[j], conn.dialect)     # range check; Decimal of the exact int
            cp.write_row(vals)
