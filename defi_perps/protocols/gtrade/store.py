"""Store and load gTrade snapshots: one ``snapshot`` row (protocol ``gtrade``, deployment root = the
Diamond) plus the plug-in's ``gtrade_*`` rows, written in one transaction; the same identity (chain,
protocol, Diamond, block number, block hash, price source) twice is a no-op."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from defi_perps.exceptions import InputError, StoreError
from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.tables import TABLES, from_row, to_row
from defi_perps.store.db import _first_line, get_engine
from defi_perps.store.models import SnapshotRow
from defi_perps.store.writer import SaveResult, find_snapshot_id

PROTOCOL = "gtrade"
CHUNK = 5000


def save(db_url: str | None, snap: R.GTradeSnapshot, chain_name: str = "") -> SaveResult:
    engine = get_engine(db_url)
    m = snap.meta
    try:
        with Session(engine) as session:
            existing = find_snapshot_id(session, m.chain_id, PROTOCOL, m.diamond, m.block_number, m.block_hash,
                                        m.price_source)
            if existing is not None:
                return SaveResult(existing, False)
            row = SnapshotRow(chain_id=m.chain_id, block_number=m.block_number, block_timestamp=m.block_timestamp,
                              block_hash=m.block_hash.lower(), protocol=PROTOCOL, data_store=m.diamond,
                              price_source=m.price_source, chain_name=chain_name, market_count=len(snap.pairs),
                              position_count=len(snap.trades))
            session.add(row)
            session.flush()
            sid = row.id
            assert sid is not None
            common = {"snapshot_id": sid, "chain_id": m.chain_id, "block_number": m.block_number,
                      "block_hash": m.block_hash.lower()}
            meta_row = {"diamond": m.diamond, "contracts_version": m.contracts_version, "price_source": m.price_source,
                        "pending_orders": snap.pending_orders, "warnings": json.dumps(list(snap.warnings))}
            parts: list[tuple[str, list[dict[str, Any]]]] = [
                ("gtrade_meta", [meta_row]),
                ("gtrade_collateral", [to_row(c) for c in snap.collaterals]),
                ("gtrade_vault", [to_row(v) for v in snap.vaults]),
                ("gtrade_group", [to_row(g) for g in snap.groups]),
                ("gtrade_fee", [to_row(f) for f in snap.fees]),
                ("gtrade_pair", [to_row(p) for p in snap.pairs]),
                ("gtrade_pair_collateral", [to_row(pc) for pc in snap.pair_collaterals]),
                ("gtrade_trade", [to_row(t) for t in snap.trades]),
            ]
            for table, rows in parts:
                rows = [{**common, **r} for r in rows]
                for i in range(0, len(rows), CHUNK):
                    session.execute(insert(TABLES[table]), rows[i:i + CHUNK])
            session.commit()
            return SaveResult(sid, True)
    except IntegrityError:
        with Session(engine) as session:
            existing = find_snapshot_id(session, m.chain_id, PROTOCOL, m.diamond, m.block_number, m.block_hash,
                                        m.price_source)
        if existing is None:
            raise StoreError(f"could not store the gTrade snapshot of block {m.block_number}") from None
        return SaveResult(existing, False)
    except SQLAlchemyError as err:
        raise StoreError(f"could not store the gTrade snapshot of block {m.block_number}: {_first_line(err)}") from None


def load(db_url: str | None, snapshot_id: int) -> R.GTradeSnapshot:
    """The stored gTrade snapshot ``snapshot_id`` (exact ints, as read)."""
    engine = get_engine(db_url, create=False)
    try:
        with Session(engine) as session:
            head = session.get(SnapshotRow, snapshot_id)
            if head is None:
                raise InputError(f"no snapshot {snapshot_id} in the store")
            if head.protocol != PROTOCOL:
                raise InputError(f"snapshot {snapshot_id} is a {head.protocol} snapshot, not gTrade")

            def rows(table: str) -> list[dict[str, Any]]:
                t = TABLES[table]
                res = session.execute(select(t).where(t.c.snapshot_id == snapshot_id).order_by(t.c.id))
                return [dict(r._mapping) for r in res]

            meta_rows = rows("gtrade_meta")
            if len(meta_rows) != 1:
                raise StoreError(f"snapshot {snapshot_id} has {len(meta_rows)} gTrade header rows (expected 1)")
            mr = meta_rows[0]
            meta = R.GTradeMeta(chain_id=head.chain_id, block_number=head.block_number,
                                block_timestamp=head.block_timestamp, block_hash=head.block_hash, diamond=mr["diamond"],
                                contracts_version=int(mr["contracts_version"]), price_source=mr["price_source"],
                                id=snapshot_id)
            snap = R.GTradeSnapshot(
                meta=meta,
                collaterals=tuple(from_row(R.Collateral, r) for r in rows("gtrade_collateral")),
                vaults=tuple(from_row(R.Vault, r) for r in rows("gtrade_vault")),
                groups=tuple(from_row(R.Group, r) for r in rows("gtrade_group")),
                fees=tuple(from_row(R.FeeGroup, r) for r in rows("gtrade_fee")),
                pairs=tuple(from_row(R.Pair, r) for r in rows("gtrade_pair")),
                pair_collaterals=tuple(from_row(R.PairCollateral, r) for r in rows("gtrade_pair_collateral")),
                trades=tuple(from_row(R.Trade, r) for r in rows("gtrade_trade")),
                pending_orders=int(mr["pending_orders"] or 0),
                warnings=tuple(json.loads(mr["warnings"] or "[]")))
    except SQLAlchemyError as err:
        raise StoreError(f"could not read snapshot {snapshot_id}: {_first_line(err)}") from None
    if len(snap.trades) != head.position_count:
        raise StoreError(f"snapshot {snapshot_id} lists {head.position_count} trades but stores {len(snap.trades)}")
    return replace(snap, meta=meta)
