"""Stored runs: every ``simulate``, ``compare`` and ``audit`` run, so any figure can be traced and rerun.

One row per run (table ``run``). What a rerun needs is kept verbatim: the request (book reference,
scenario file contents, depth stress, venues, ADL policy, paths, seed, threads), every venue's
parameters *with their sources*, the snapshot the book came from (id, chain id, block number and
hash), the code version and the digest of the result. The aggregates are the per-venue numbers a
report shows, so ``runs show`` answers without rerunning anything. An audit is one run whose
children (stress cells, venue runs) point at it through ``parent_id``.

JSON columns are stored as text (the same on SQLite and PostgreSQL). The tables are created from
this module's SQLModel metadata on first use; the Alembic migration that adds them to existing
databases is the lead's (tables: ``run``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel

from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text() -> Any:
    return Field(default="{}", sa_column=Column(Text, nullable=False))


class RunRow(SQLModel, table=True):
    __tablename__ = "run"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)                 # simulate | compare | audit
    parent_id: int | None = Field(default=None, foreign_key="run.id", index=True)
    label: str = ""                               # e.g. "stress oct-10-2025 × gmx-v2"
    created_at: str = Field(default_factory=_utcnow)
    # provenance of the book (all null for synthetic and file books)
    snapshot_id: int | None = None
    chain_id: int | None = Field(default=None, sa_type=BigInteger)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    book_source: str = ""
    # how it was computed
    seed: int = Field(default=0, sa_type=BigInteger)
    threads: int | None = None
    code_version: str = ""                        # package version + git commit (+dirty)
    code_digest: str = ""                         # sha256 of the defi_perps sources that ran
    request_json: str = _text()                   # what `runs rerun` replays (RunRequest.to_dict())
    venues_json: str = _text()                    # venue name -> parameters with sources
    scenario_json: str = _text()                  # scenario as parsed, plus the file's text
    # what came out
    result_digest: str = ""                       # sha256 of the per-path result arrays
    aggregates_json: str = _text()                # per-venue rows, the numbers a report shows
    elapsed_s: float = 0.0


RUN_TABLES = (RunRow,)


@dataclass(frozen=True)
class StoredRun:
    id: int
    kind: str
    parent_id: int | None
    label: str
    created_at: str
    snapshot_id: int | None
    chain_id: int | None
    block_number: int | None
    block_hash: str | None
    book_source: str
    seed: int
    threads: int | None
    code_version: str
    code_digest: str
    request: dict[str, Any]
    venues: dict[str, Any]
    scenario: dict[str, Any]
    result_digest: str
    aggregates: dict[str, Any]
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _engine(db_url: str | None):  # type: ignore[no-untyped-def]
    # the run table arrives through the store's migrations (0004_runs), like every other table
    return get_engine(db_url)


def _stored(r: RunRow) -> StoredRun:
    return StoredRun(r.id or 0, r.kind, r.parent_id, r.label, r.created_at, r.snapshot_id, r.chain_id, r.block_number,
                     r.block_hash, r.book_source, r.seed, r.threads, r.code_version, r.code_digest,
                     json.loads(r.request_json), json.loads(r.venues_json), json.loads(r.scenario_json),
                     r.result_digest, json.loads(r.aggregates_json), r.elapsed_s)


def save_run(db_url: str | None, *, kind: str, request: dict[str, Any], venues: dict[str, Any],
             scenario: dict[str, Any], aggregates: dict[str, Any], result_digest: str, seed: int,
             threads: int | None, code_version: str, code_digest: str, book_source: str = "",
             snapshot: dict[str, Any] | None = None, parent_id: int | None = None, label: str = "",
             elapsed_s: float = 0.0) -> int:
    """Store one run in one transaction; returns its id."""
    snap = snapshot or {}
    row = RunRow(kind=kind, parent_id=parent_id, label=label, snapshot_id=snap.get("snapshot_id"),
                 chain_id=snap.get("chain_id"), block_number=snap.get("block_number"),
                 block_hash=snap.get("block_hash"), book_source=book_source, seed=seed, threads=threads,
                 code_version=code_version, code_digest=code_digest, request_json=_dumps(request),
                 venues_json=_dumps(venues), scenario_json=_dumps(scenario), result_digest=result_digest,
                 aggregates_json=_dumps(aggregates), elapsed_s=float(elapsed_s))
    try:
        with Session(_engine(db_url)) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
            return int(row.id)  # type: ignore[arg-type]
    except SQLAlchemyError as err:
        raise StoreError(f"cannot store the run: {_first_line(err)}") from None


def update_run(db_url: str | None, run_id: int, *, aggregates: dict[str, Any] | None = None,
               result_digest: str | None = None, elapsed_s: float | None = None) -> None:
    """Fill in what is known only at the end (an audit's digest and aggregates)."""
    try:
        with Session(_engine(db_url)) as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"no run with id {run_id}")
            if aggregates is not None:
                row.aggregates_json = _dumps(aggregates)
            if result_digest is not None:
                row.result_digest = result_digest
            if elapsed_s is not None:
                row.elapsed_s = float(elapsed_s)
            s.add(row)
            s.commit()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot update run {run_id}: {_first_line(err)}") from None


def delete_runs(db_url: str | None, run_ids: list[int]) -> None:
    """Remove runs (children first): an audit that fails part-way leaves no half-recorded runs."""
    if not run_ids:
        return
    try:
        with Session(_engine(db_url)) as s:
            for rid in sorted(set(run_ids), reverse=True):
                row = s.get(RunRow, rid)
                if row is not None:
                    s.delete(row)
                    s.flush()
            s.commit()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot remove runs: {_first_line(err)}") from None


def list_runs(db_url: str | None, kind: str | None = None, parent_id: int | None = None,
              limit: int | None = None) -> list[StoredRun]:
    """Stored runs, newest first (children of one audit with ``parent_id``)."""
    try:
        with Session(_engine(db_url)) as s:
            q = select(RunRow)
            if kind is not None:
                q = q.where(RunRow.kind == kind)  # type: ignore[arg-type]
            if parent_id is not None:
                q = q.where(RunRow.parent_id == parent_id)  # type: ignore[arg-type]
            q = q.order_by(RunRow.id.desc())  # type: ignore[union-attr]
            if limit is not None:
                q = q.limit(limit)
            return [_stored(r) for r in s.exec(q).scalars().all()]  # type: ignore[call-overload]
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read runs: {_first_line(err)}") from None


def get_run(db_url: str | None, run_id: int | str) -> StoredRun:
    """One stored run by id (or ``"latest"``); a one-line StoreError when there is none."""
    try:
        with Session(_engine(db_url)) as s:
            if isinstance(run_id, str) and run_id.strip().lower() == "latest":
                row = s.exec(select(RunRow).order_by(RunRow.id.desc()).limit(1)).scalars().first()  # type: ignore[call-overload, union-attr]
                if row is None:
                    raise StoreError("no runs stored yet: run `defi-perps simulate`, `compare` or `audit` first")
                return _stored(row)
            try:
                rid = int(run_id)
            except ValueError:
                raise StoreError(f"run id must be a number or 'latest', got {run_id!r}") from None
            row = s.get(RunRow, rid)
            if row is None:
                raise StoreError(f"no run with id {rid}")
            return _stored(row)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read run {run_id}: {_first_line(err)}") from None


def _dumps(obj: Any) -> str:
    # allow_nan=False: a NaN would not survive PostgreSQL's JSON, nor a strict reader; callers clean first
    return json.dumps(obj, sort_keys=True, allow_nan=False, default=str)


__all__ = ["RUN_TABLES", "RunRow", "StoredRun", "delete_runs", "get_run", "list_runs", "save_run", "update_run"]
