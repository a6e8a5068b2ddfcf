"""Index gTrade at one block: chain-id check → pin the block (number and hash) → read through
Multicall3 pinned by hash → store in one transaction (same identity twice: nothing written)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from defi_perps.config import ChainConfig
from defi_perps.exceptions import InputError
from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.deployment import deployment_of
from defi_perps.protocols.gtrade.reader import GTradeReader
from defi_perps.rpc.client import RetryPolicy, RpcClient
from defi_perps.rpc.pin import check_chain_id, pin_block


@dataclass
class GTradeIndexReport:
    snapshot_id: int
    created: bool
    chain: str
    chain_id: int
    block_number: int
    block_hash: str
    block_timestamp: int
    pairs: int
    trades: int
    pending_orders: int
    round_trips: int
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def index_gtrade(chain: ChainConfig, rpc_url: str | None = None, block: int | None = None, db_url: str | None = None,
                 batch_size: int = 500, retry: RetryPolicy | None = None,
                 progress: Callable[[int, int], None] | None = None, store: bool = True,
                 parallel: int = 4, prices_path: str | None = None) -> tuple[GTradeIndexReport, R.GTradeSnapshot | None]:
    """Snapshot the chain's gTrade Diamond at ``block`` (default: latest) into ``db_url``."""
    t0 = time.perf_counter()
    if prices_path is not None:
        raise InputError("--prices is not supported for gtrade yet: its reference prices are the pairs' Chainlink "
                         "feeds at the block")
    dep = deployment_of(chain)                       # a chain without [gtrade] fails before any RPC
    client = RpcClient(chain.resolve_rpc_url(rpc_url), retry)
    if store:
        from defi_perps.store.db import get_engine

        get_engine(db_url)
    try:
        check_chain_id(client, chain.chain_id, chain.name)
        pinned = pin_block(client, block, dep.deploy_block, f"the gTrade Diamond deployment on {chain.name}")
        if store:
            from defi_perps.store.queries import find_snapshot

            info = find_snapshot(db_url, chain.chain_id, "gtrade", dep.diamond, pinned.number, pinned.hash, "chainlink")
            if info is not None:
                return GTradeIndexReport(info.id, False, chain.name, chain.chain_id, pinned.number, pinned.hash,
                                         pinned.timestamp, info.market_count, info.position_count, 0,
                                         client.round_trips, time.perf_counter() - t0), None
        reader = GTradeReader(client, chain, pinned, batch_size, parallel, dep)
        snap = reader.read(progress)
    finally:
        client.close()
    sid, created = 0, True
    if store:
        from defi_perps.protocols.gtrade.store import save

        res = save(db_url, snap, chain.name)
        sid, created = res.snapshot_id, res.created
        snap = replace(snap, meta=replace(snap.meta, id=sid))
    return GTradeIndexReport(sid, created, chain.name, chain.chain_id, pinned.number, pinned.hash, pinned.timestamp,
                             len(snap.pairs), len(snap.trades), snap.pending_orders, client.round_trips,
                             time.perf_counter() - t0, list(snap.warnings)), snap
