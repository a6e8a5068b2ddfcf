"""Lossless uint256/int256 columns.

PostgreSQL: ``NUMERIC(78,0)`` (78 digits hold 2**256-1 and -2**255). SQLite: decimal text, because
SQLite's INTEGER is int64 and its NUMERIC affinity silently turns big values into floats. Either
way Python ``int`` goes in and the same ``int`` comes out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MAX_UINT256 = 2**256 - 1
MIN_INT256 = -(2**255)


class BigInt(TypeDecorator[int]):
    """An exact integer in [-2**255, 2**256-1], stored as NUMERIC(78,0) or decimal text."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0, asdecimal=True))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"BigInt column needs a Python int, got {type(value).__name__}")
        if not MIN_INT256 <= value <= MAX_UINT256:
            raise ValueError(f"{value} does not fit uint256/int256")
        if dialect.name == "postgresql":
            return Decimal(value)  # Decimal(int) is exact whatever the context precision
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return int(value)
        return int(value)
