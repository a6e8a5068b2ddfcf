"""The store: the only package that touches the database (SQLModel / SQLAlchemy).

SQLite file by default (``defi_perps.paths.default_db_url()``), PostgreSQL by URL, same code.
Every row carries ``chain_id`` and ``block_number``; uint256/int256 values are stored losslessly
(types.BigInt). A snapshot is written in one transaction, keyed by (chain_id, protocol,
data_store, block_number).
"""

from defi_perps.store.queries import list_snapshots, load_snapshot
from defi_perps.store.writer import SaveResult, save_snapshot

__all__ = ["list_snapshots", "load_snapshot", "save_snapshot", "SaveResult"]
