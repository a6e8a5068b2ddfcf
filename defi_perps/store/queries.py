"""Read stored snapshots back as exact ``defi_perps.domain`` records (the engine helper's entry point)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from defi_perps.domain import (AccountFees, GlobalParams, Market, OpenInterest, OraclePrice, Position, Snapshot,
                               SnapshotMeta, Token)
from defi_perps.exceptions import SnapshotNotFound, StoreError
from defi_perps.store.db import _first_line, get_engine
from defi_perps.store.writer import find_snapshot_id
from defi_perps.store.models import (AccountFeesRow, MarketRow, OpenInterestRow, PositionRow, PriceRow, SnapshotRow,
                                     TokenRow)


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


def list_snapshots(db_url: str | None = None) -> list[SnapshotInfo]:
    """All stored snapshots, oldest first."""
    try:
        with Session(get_engine(db_url)) as s:
            rows = s.exec(select(SnapshotRow).order_by(SnapshotRow.id)).scalars().all()  # type: ignore[call-overload]
            return [SnapshotInfo(r.id, r.chain_id, r.chain_name, r.protocol, r.data_store, r.block_number,
                                 r.block_timestamp, r.block_hash, r.price_source, r.market_count, r.position_count,
                                 r.created_at) for r in rows]
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None


def find_snapshot(db_url: str | None, chain_id: int, protocol: str, data_store: str,
                  block_number: int) -> SnapshotInfo | None:
    """The stored snapshot with this key (chain, protocol, root contract, block), or None."""
    try:
        with Session(get_engine(db_url)) as s:
            sid = find_snapshot_id(s, chain_id, protocol, data_store, block_number)
            if sid is None:
                return None
            r = s.get(SnapshotRow, sid)
            return SnapshotInfo(r.id, r.chain_id, r.chain_name, r.protocol, r.data_store, r.block_number,
                                r.block_timestamp, r.block_hash, r.price_source, r.market_count, r.position_count,
                                r.created_at)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None


def resolve_snapshot_id(session: Session, snapshot_id: int | str) -> int:
    if isinstance(snapshot_id, str):
        if snapshot_id.strip().lower() == "latest":
            sid = session.exec(select(func.max(SnapshotRow.id))).scalar_one_or_none()  # type: ignore[call-overload]
            if sid is None:
                raise SnapshotNotFound("no snapshots stored yet: run `defi-perps index gmx-v2 …` first")
            return int(sid)
        try:
            snapshot_id = int(snapshot_id)
        except ValueError:
            raise SnapshotNotFound(f"snapshot id must be a number or 'latest', got {snapshot_id!r}") from None
    if session.get(SnapshotRow, snapshot_id) is None:
        raise SnapshotNotFound(f"no snapshot with id {snapshot_id}")
    return int(snapshot_id)


def _rec(cls: type, row: Any, **extra: Any) -> Any:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls) if f.name not in extra}, **extra)


def load_snapshot(db_url: str | None, snapshot_id: int | str) -> Snapshot:
    """The stored snapshot ``snapshot_id`` (an id or ``"latest"``) as a ``domain.Snapshot`` with exact ints."""
    try:
        with Session(get_engine(db_url)) as s:
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

            def rows(model: Any) -> list[Any]:
                return s.exec(select(model).where(model.snapshot_id == sid).order_by(model.id)).scalars().all()  # type: ignore[call-overload]

            tokens = tuple(_rec(Token, t) for t in rows(TokenRow))
            prices = tuple(_rec(OraclePrice, p) for p in rows(PriceRow))
            ois: dict[str, list[OpenInterest]] = defaultdict(list)
            for o in rows(OpenInterestRow):
                ois[o.market].append(_rec(OpenInterest, o, funding_fee_amount_per_size=o.funding_fee_amount_per_size or 0,
                                          claimable_funding_amount_per_size=o.claimable_funding_amount_per_size or 0))
            markets = tuple(_rec(Market, m, open_interest=tuple(ois.get(m.market_token, ()))) for m in rows(MarketRow))
            positions = tuple(_rec(Position, p) for p in rows(PositionRow))
            accounts = tuple(_rec(AccountFees, a) for a in rows(AccountFeesRow))
            return Snapshot(meta=meta, tokens=tokens, prices=prices, markets=markets, positions=positions, globals=glob,
                            accounts=accounts)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshot {snapshot_id}: {_first_line(err)}") from None
