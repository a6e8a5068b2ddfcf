"""Read stored snapshots back as exact ``defi_perps.domain`` records (the engine helper's entry point)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from defi_perps.domain import (AccountFees, GlobalParams, Market, OpenInterest, OraclePrice, Position, Snapshot,
                               SnapshotMeta, Token)
from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine
from defi_perps.store.listing import SnapshotInfo, list_snapshots, resolve_id  # noqa: F401  (re-exported)
from defi_perps.store.writer import find_snapshot_id
from defi_perps.store.models import (AccountFeesRow, MarketRow, OpenInterestRow, PositionRow, PriceRow, SnapshotRow,
                                     TokenRow)


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


def load_snapshot(db_url: str | None, snapshot_id: int | str) -> Snapshot:
    """The stored snapshot ``snapshot_id`` (an id or ``"latest"``) as a ``domain.Snapshot`` with exact ints."""
    try:
        with Session(get_engine(db_url, create=False)) as s:
            sid = resolve_snapshot_id(s, snapshot_id)
            r = s.get(SnapshotRow, sid)
            assert r is not None
            meta = SnapshotMeta(chain_id=r.chain_id, block_number=r.block_number, block_timestamp=r.block_timestamp,
                                block_hash=r.block_hash, protocol=r.protocol, data_store=r.data_store,
                                price_source=r.price_source, id=r.id)
            glob = None
            if r.min_collateral_usd is not None:
                glob = GlobalParams(r.min_collateral_usd, r.min_position_size_usd or 0,
                                    r.liquidation_fee_receiver_factor or 0, r.borrowing_fee_receiver_factor or 0,
                                    bool(r.use_open_interest_in_tokens_for_balance),
                                    bool(r.skip_borrowing_fee_for_smaller_side))

            def recs(model: Any, cls: type, *, skip: tuple[str, ...] = (), also: tuple[str, ...] = ()) -> list[Any]:
                # Core rows of exactly the record's fields, in order, built positionally: no ORM
                # objects, so 20,000 positions load in well under a second.
                t = model.__table__
                names = [f.name for f in fields(cls) if f.name not in skip]
                q = select(*[t.c[n] for n in names], *[t.c[n] for n in also]).where(t.c.snapshot_id == sid)
                return list(s.execute(q.order_by(t.c.id)).all())

            tokens = tuple(Token(*r) for r in recs(TokenRow, Token))
            prices = tuple(OraclePrice(*r) for r in recs(PriceRow, OraclePrice))
            ois: dict[str, list[OpenInterest]] = defaultdict(list)
            for r in recs(OpenInterestRow, OpenInterest):
                oi = OpenInterest(*r)
                if oi.funding_fee_amount_per_size is None or oi.claimable_funding_amount_per_size is None:
                    # rows written before the v2.2 funding columns existed (migration 0003) read as 0
                    oi = replace(oi, funding_fee_amount_per_size=oi.funding_fee_amount_per_size or 0,
                                 claimable_funding_amount_per_size=oi.claimable_funding_amount_per_size or 0)
                ois[r[0]].append(oi)
            # by name: Market's fields after open_interest (v2.2 terms) would shift a positional build
            mnames = [f.name for f in fields(Market) if f.name != "open_interest"]
            markets = tuple(Market(**dict(zip(mnames, r)), open_interest=tuple(ois.get(r[0], ())))
                            for r in recs(MarketRow, Market, skip=("open_interest",)))
            positions = tuple(Position(*r) for r in recs(PositionRow, Position))
            accounts = tuple(AccountFees(*r) for r in recs(AccountFeesRow, AccountFees))
            return Snapshot(meta=meta, tokens=tokens, prices=prices, markets=markets, positions=positions, globals=glob,
                            accounts=accounts)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshot {snapshot_id}: {_first_line(err)}") from None
