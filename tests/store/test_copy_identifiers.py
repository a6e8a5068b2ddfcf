"""PostgreSQL COPY spells table and column names through the dialect's identifier preparer, so a
reserved word (``order``, ``user``, ``select``) or a mixed-case name as a table or column name is
written, not refused with a syntax error (issue 12: a plug-in's own table may use any column name).
Skipped without DEFI_PERPS_TEST_PG (scripts/pg.sh starts a throwaway PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.engine import Engine

from defi_perps.store.db import get_engine
from defi_perps.store.types import BigInt
from defi_perps.store.writer import COPY_MIN_ROWS, _bulk, _copy


@pytest.fixture
def pg() -> Iterator[Engine]:
    url = os.environ.get("DEFI_PERPS_TEST_PG")
    if not url:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    yield get_engine(url)


class _Model:
    """What ``_copy`` needs of a SQLModel table class: its ``__table__``."""

    def __init__(self, table: Table) -> None:
        self.__table__ = table


def _reserved_table(name: str) -> Table:
    # every identifier here is a PostgreSQL reserved word or needs quoting (mixed case)
    return Table(name, MetaData(), Column("order", Integer, primary_key=True), Column("user", String),
                 Column("select", BigInt()), Column("Group", String))


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"order": i, "user": f"0x{i:040x}", "select": -(2**255) + i if i % 2 else 2**256 - 1 - i,
             "Group": "a\tb\\c" if i == 3 else None} for i in range(n)]


@pytest.mark.parametrize("table_name", ["order", "user"])
def test_copy_writes_reserved_word_identifiers(pg: Engine, table_name: str) -> None:
    name = table_name        # the table itself is named by a reserved word
    table = _reserved_table(name)
    rows = _rows(COPY_MIN_ROWS + 5)
    table.drop(pg, checkfirst=True)
    table.create(pg)
    try:
        with pg.begin() as conn:
            _copy(conn, _Model(table), rows)        # type: ignore[arg-type]
        with pg.connect() as conn:
            back = conn.execute(table.select().order_by(table.c["order"])).mappings().all()
        assert [dict(r) for r in back] == rows      # exact ints (int256 min, uint256 max) and text round-trip
    finally:
        table.drop(pg, checkfirst=True)


def test_bulk_takes_the_copy_path_for_a_reserved_word_table(pg: Engine) -> None:
    from sqlmodel import Session

    name = f"order_{uuid.uuid4().hex[:8]}"
    table = _reserved_table(name)
    table.create(pg)
    try:
        with Session(pg) as session:
            _bulk(session, _Model(table), _rows(COPY_MIN_ROWS))   # type: ignore[arg-type]
            session.rollback()                      # COPY ran in the session's transaction: nothing stays
        with pg.connect() as conn:
            assert conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() == 0
        with Session(pg) as session:
            _bulk(session, _Model(table), _rows(COPY_MIN_ROWS))   # type: ignore[arg-type]
            session.commit()
        with pg.connect() as conn:
            assert conn.execute(text(f'SELECT count(*), sum("order") FROM "{name}"')).one() == \
                (COPY_MIN_ROWS, sum(range(COPY_MIN_ROWS)))
    finally:
        table.drop(pg, checkfirst=True)
