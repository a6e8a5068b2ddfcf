"""The store: the only package that touches the database (SQLModel / SQLAlchemy, Alembic migrations).

SQLite file by default (``defi_perps.paths.default_db_url()``), PostgreSQL by URL, same code.
Every row carries ``chain_id``, ``block_number`` and ``block_hash``; uint256/int256 values are stored
losslessly (types.BigInt). A snapshot is written in one transaction, identified by (chain_id,
protocol, data_store, block_number, block_hash, price_source). The schema evolves through the
migrations in ``migrations/`` (migrate.py); an older database is upgraded in place.

Names are imported lazily, so ``defi_perps.store.listing`` (``snapshots list``) stays light.
"""

from typing import Any

__all__ = ["list_snapshots", "load_snapshot", "save_snapshot", "SaveResult"]
_WHERE = {"list_snapshots": "listing", "load_snapshot": "queries", "save_snapshot": "writer", "SaveResult": "writer"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"defi_perps.store.{_WHERE[name]}"), name)
    raise AttributeError(name)
