"""gTrade's own store tables (``gtrade_*``), one per record kind, beside the shared ``snapshot`` row.

Each table's columns are its record's fields (records.py), liquidation params flattened as
``liq_max_liq_spread_p`` … ``liq_end_leverage``; every row also carries ``snapshot_id``,
``chain_id``, ``block_number`` and ``block_hash``. Integers from chain are lossless
(``store.types.BigInt``: NUMERIC(78,0) on PostgreSQL, decimal text on SQLite). The schema is
created by migration ``0009_gtrade_tables`` (its column lists are these, frozen);
``tests/protocols/gtrade`` checks that the two agree.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.math import LiquidationParams
from defi_perps.store.types import BigInt

LIQ_FIELDS = tuple(f.name for f in dataclasses.fields(LiquidationParams))
RECORD_TABLES: dict[str, type] = {
    "gtrade_meta": R.GTradeHeader, "gtrade_collateral": R.Collateral, "gtrade_vault": R.Vault,
    "gtrade_group": R.Group, "gtrade_fee": R.FeeGroup, "gtrade_pair": R.Pair,
    "gtrade_pair_collateral": R.PairCollateral, "gtrade_trade": R.Trade,
}


def columns_of(table: str) -> list[tuple[str, str, bool]]:
    """(column, kind, nullable) for one table's record columns; kind is int / str / bool."""
    cls = RECORD_TABLES[table]
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, str, bool]] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if hint is LiquidationParams:
            out += [(f"liq_{n}", "int", False) for n in LIQ_FIELDS]
            continue
        nullable = type(None) in typing.get_args(hint)
        base = next((a for a in typing.get_args(hint) if a is not type(None)), hint) if nullable else hint
        kind = {int: "int", str: "str", bool: "bool"}[base]
        out.append((f.name, kind, nullable))
    return out


def _sa_type(kind: str) -> Any:
    return {"int": BigInt(), "str": sa.String(), "bool": sa.Boolean()}[kind]


def _table(name: str) -> sa.Table:
    cols: list[sa.Column[Any]] = [sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False, index=True),
            sa.Column("chain_id", sa.BigInteger(), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.Column("block_hash", sa.String(), nullable=False)]
    cols += [sa.Column(c, _sa_type(k), nullable=nul) for c, k, nul in columns_of(name)]
    existing = SQLModel.metadata.tables.get(name)
    if existing is not None:
        return existing
    return sa.Table(name, SQLModel.metadata, *cols)


class TableModel:
    """What the store needs of a plug-in table (``__tablename__``, ``__table__``, usable in
    ``insert()``): these tables are SQLAlchemy Core tables built from the records, so a field added to
    a record is a column here without a second hand-written list (the migration freezes it)."""

    def __init__(self, table: sa.Table) -> None:
        self.__table__ = table
        self.__tablename__ = table.name

    def __clause_element__(self) -> sa.Table:
        return self.__table__


BY_NAME: dict[str, sa.Table] = {name: _table(name) for name in RECORD_TABLES}
TABLES: tuple[TableModel, ...] = tuple(TableModel(t) for t in BY_NAME.values())


def to_row(rec: Any) -> dict[str, Any]:
    """A record's column values (liquidation params flattened)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(rec):
        v = getattr(rec, f.name)
        if isinstance(v, LiquidationParams):
            out.update({f"liq_{n}": getattr(v, n) for n in LIQ_FIELDS})
        else:
            out[f.name] = v
    return out


def from_row(cls: type, row: dict[str, Any]) -> Any:
    """The record ``cls`` from a row (the inverse of :func:`to_row`)."""
    hints = typing.get_type_hints(cls)
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if hints[f.name] is LiquidationParams:
            kw[f.name] = LiquidationParams(*(int(row[f"liq_{n}"]) for n in LIQ_FIELDS))
        elif f.name in row:
            kw[f.name] = row[f.name]
    return cls(**kw)
