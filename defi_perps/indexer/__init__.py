"""Indexing jobs: pin a block, read a protocol through its reader, store the snapshot."""

from defi_perps.indexer.gmx_v2 import IndexReport, index_gmx_v2

__all__ = ["IndexReport", "index_gmx_v2"]
