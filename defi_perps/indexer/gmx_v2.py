"""GMX v2 indexing, kept for callers written before the plug-in registry: the job is generic
(:mod:`defi_perps.indexer.job`); GMX v2 is one registered protocol."""

from defi_perps.indexer.job import IndexReport, index_gmx_v2, index_protocol, price_identity

__all__ = ["IndexReport", "index_gmx_v2", "index_protocol", "price_identity"]
