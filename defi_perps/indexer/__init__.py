"""Indexing jobs: pin a block, read a protocol through its reader, store the snapshot.

Imported lazily: read-only commands (``snapshots list/show``) use ``indexer.summary`` and must not pay
for web3/eth-abi and the RPC layer.
"""

from typing import Any

__all__ = ["IndexReport", "index_gmx_v2", "index_protocol"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from defi_perps.indexer import job

        return getattr(job, name)
    raise AttributeError(name)
