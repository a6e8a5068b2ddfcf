"""Stored sweep cells (``defi-perps sweep``): one row per grid cell, keyed by the digest of everything
that determines its result (book reference, scenario, parameters, paths, seed, threads, code digest),
so a rerun computes only the cells that are missing. Written with Core; JSON columns are text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, SQLModel

from defi_perps.exceptions import StoreError
from defi_perps.store.db import _first_line, get_engine


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SweepCellRow(SQLModel, table=True):
    __tablename__ = "sweep_cell"
    __table_args__ = (UniqueConstraint("cell_key", name="uq_sweep_cell_key"),)
    id: int | None = Field(default=None, primary_key=True)
    cell_key: str                                   # sha256 of the cell's canonical request
    sweep_key: str = Field(index=True)              # sha256 of the book, paths, seed, threads and code
    created_at: str = Field(default_factory=_utcnow)
    book_source: str = ""                           # "snapshot 12", "synthetic 2000 (4 markets, seed 0)"
    snapshot_id: int | None = None
    chain_id: int | None = Field(default=None, sa_type=BigInteger)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    scenario: str = ""
    venue: str = ""
    params_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    n_paths: int = 0
    seed: int = Field(default=0, sa_type=BigInteger)
    threads: int = 1
    code_digest: str = ""
    result_digest: str = ""
    summary_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    elapsed_s: float = 0.0


def stored_cells(db_url: str | None, keys: list[str]) -> dict[str, dict[str, Any]]:
    """cell_key → stored row (summary parsed) for the keys already computed."""
    out: dict[str, dict[str, Any]] = {}
    if not keys:
        return out
    try:
        with get_engine(db_url).connect() as c:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = c.execute(select(SweepCellRow.__table__).where(  # type: ignore[attr-defined]
                    SweepCellRow.__table__.c.cell_key.in_(part))).mappings().all()  # type: ignore[attr-defined]
                for r in rows:
                    d = dict(r)
                    d["summary"] = json.loads(d.pop("summary_json"))
                    d["params"] = json.loads(d.pop("params_json"))
                    out[d["cell_key"]] = d
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read sweep cells: {_first_line(err)}") from None
    return out


def store_cell(db_url: str | None, row: dict[str, Any]) -> bool:
    """Insert one computed cell in its own transaction; False when it was already there (a concurrent
    sweep stored it first: theirs stands, the result is the same by construction of the key)."""
    vals = {**row, "params_json": json.dumps(row["params"], sort_keys=True),
            "summary_json": json.dumps(row["summary"], sort_keys=True, default=str), "created_at": _utcnow()}
    vals.pop("params")
    vals.pop("summary")
    try:
        with get_engine(db_url).begin() as c:
            c.execute(SweepCellRow.__table__.insert(), vals)  # type: ignore[attr-defined]
        return True
    except IntegrityError:
        return False
    except SQLAlchemyError as err:
        raise StoreError(f"cannot store sweep cell: {_first_line(err)}") from None


def count_cells(db_url: str | None) -> int:
    with get_engine(db_url).connect() as c:
        return int(c.execute(text("SELECT count(*) FROM sweep_cell")).scalar() or 0)
