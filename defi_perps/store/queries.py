"""Read stored snapshots back as exact records: the shared rows, then the plug-in's own rows, handed to
the protocol's ``from_rows`` (protocols/registry.py), so each protocol gets back its own record type
(GMX v2: ``domain.Snapshot``)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from defi_perps.domain import OraclePrice, SnapshotMeta, Token
from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine
from defi_perps.store.listing import SnapshotInfo, list_snapshots, resolve_id  # noqa: F401  (re-exported)
from defi_perps.store.writer import find_snapshot_id
from defi_perps.store.models import MarketRow, PositionRow, PriceRow, SnapshotRow, TokenRow
from defi_perps.store.rowbase import IDENTITY


def _info(r: SnapshotRow) -> SnapshotInfo:
    return SnapshotInfo(r.id, r.chain_id, r.chain_name, r.protocol, r.data_store, r.block_number,  # type: ignore[arg-type]
                        r.block_timestamp, r.block_hash, r.price_source, r.market_count, r.position_count,
                        r.created_at, r.price_label)


def find_snapshot(db_url: str | None, chain_id: int, protocol: str, data_store: str,
                  block_number: int, block_hash: str, price_source: str) -> SnapshotInfo | None:
    """The stored snapshot with this identity (chain, protocol, root contract, block number and hash,
    price source), or None."""
    try:
        with Session(get_engine(db_url)) as s:
            sid = find_snapshot_id(s, chain_id, protocol, data_store, block_number, block_hash, price_source)
            if sid is None:
                return None
            r = s.get(SnapshotRow, sid)
            assert r is not None
            return _info(r)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None


def snapshots_at(db_url: str | None, chain_id: int, protocol: str, data_store: str,
                 block_number: int) -> list[SnapshotInfo]:
    """Every stored snapshot of this deployment at this block number, whatever its hash or prices."""
    try:
        with Session(get_engine(db_url)) as s:
            t = SnapshotRow.__table__  # type: ignore[attr-defined]
            rows = s.execute(select(t.c.id).where(
                t.c.chain_id == chain_id, t.c.protocol == protocol, t.c.data_store == data_store,
                t.c.block_number == block_number).order_by(t.c.id)).scalars().all()
            return [_info(s.get(SnapshotRow, i)) for i in rows]  # type: ignore[arg-type]
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None


def resolve_snapshot_id(session: Session, snapshot_id: int | str) -> int:
    """An id from ``ID`` or ``latest`` (listing.resolve_id): SnapshotNotFound when there is none."""
    return resolve_id(session, snapshot_id)


def load_snapshot(db_url: str | None, snapshot_id: int | str) -> Any:
    """The stored snapshot ``snapshot_id`` (an id or ``"latest"``) as its protocol's record, exact ints
    (GMX v2: a ``domain.Snapshot``)."""
    from defi_perps.protocols import registry
    from defi_perps.protocols.base import SharedMarket, SharedPosition, SharedRecords

    try:
        with Session(get_engine(db_url, create=False)) as s:
            sid = resolve_snapshot_id(s, snapshot_id)
            r = s.get(SnapshotRow, sid)
            assert r is not None
            plugin = registry.get(r.protocol)
            meta = SnapshotMeta(chain_id=r.chain_id, block_number=r.block_number, block_timestamp=r.block_timestamp,
                                block_hash=r.block_hash, protocol=r.protocol, data_store=r.data_store,
                                price_source=r.price_source, id=r.id)

            def recs(model: Any, cls: type) -> list[Any]:
                # Core rows of exactly the record's fields, in order, built positionally: no ORM
                # objects, so 20,000 positions load in well under a second.
                t = model.__table__
                names = [f.name for f in fields(cls)]
                q = select(*[t.c[n] for n in names]).where(t.c.snapshot_id == sid)
                return list(s.execute(q.order_by(t.c.id)).all())

            shared = SharedRecords(
                tokens=tuple(Token(*x) for x in recs(TokenRow, Token)),
                prices=tuple(OraclePrice(*x) for x in recs(PriceRow, OraclePrice)),
                markets=tuple(SharedMarket(*x) for x in recs(MarketRow, SharedMarket)),
                positions=tuple(SharedPosition(*x) for x in recs(PositionRow, SharedPosition)))
            own: dict[str, list[dict[str, Any]]] = {}
            for model in plugin.own_tables():
                t = model.__table__
                cols = [c for c in t.columns if c.name not in IDENTITY]
                q = select(*cols).where(t.c.snapshot_id == sid).order_by(t.c.id)
                names = [c.name for c in cols]
                own[t.name] = [dict(zip(names, x)) for x in s.execute(q).all()]
            return plugin.from_rows(meta, shared, own)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshot {snapshot_id}: {_first_line(err)}") from None
