"""Index a protocol over a block range: one snapshot per chosen block, each its own transaction.

Chunked and resumable in the manner of cryo: the blocks to read are fixed up front (every N blocks,
or the first block at or after each step of block time, found by binary search over block
timestamps); blocks already stored are skipped without reading them; a kill loses at most the
blocks in flight, because each block is written in one transaction by ``save_snapshot``.

Reorg buffer: a stored block within ``reorg_buffer`` blocks of the head is not trusted by number
alone. Its header is fetched and the stored hash compared; a different hash (the chain reorganised
since it was stored) is indexed again as a new snapshot (the snapshot identity includes the hash, so
the old one is kept and reported, never overwritten).

Concurrency: ``workers`` blocks are read at once, each through its own RpcClient with its own
retry / rate-limit ladder (rpc/client.py), and each read keeps ``parallel`` Multicall3 batches in
flight, so at most ``workers × parallel`` requests are outstanding.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from defi_perps.config import ChainConfig
from defi_perps.exceptions import InputError, RpcError
from defi_perps.rpc.client import RetryPolicy, RpcClient
from defi_perps.rpc.pin import check_chain_id

DEFAULT_REORG_BUFFER = 64          # Arbitrum finality is far shorter; a cheap safety margin on any chain
MAX_BLOCKS = 1_000_000             # one command's range after --every: bounded memory for the plan
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Every:
    """``--every``: a block count (``100``) or a block-time step in seconds (``1h`` → 3600)."""

    blocks: int | None = None
    seconds: int | None = None

    @classmethod
    def parse(cls, raw: str | int) -> Every:
        s = str(raw).strip().lower()
        if re.fullmatch(r"\d+", s):
            n = int(s)
            if n < 1:
                raise InputError(f"--every must be >= 1 block, got {raw!r}")
            return cls(blocks=n)
        m = re.fullmatch(r"(\d+)\s*([smhdw])", s)
        if not m or int(m.group(1)) < 1:
            raise InputError(f"--every must be a block count (e.g. 100) or a duration (e.g. 30m, 1h, 1d), got {raw!r}")
        return cls(seconds=int(m.group(1)) * _UNITS[m.group(2)])

    def label(self) -> str:
        return f"{self.blocks} blocks" if self.blocks is not None else f"{self.seconds}s of block time"


@dataclass
class HistoryReport:
    chain: str
    chain_id: int
    from_block: int
    to_block: int
    every: str
    head: int
    planned: list[int]
    stored: list[dict[str, Any]] = field(default_factory=list)      # newly written: block, snapshot id, hash
    skipped: list[int] = field(default_factory=list)                # already stored (and hash-checked if near head)
    rechecked: int = 0                                              # stored blocks inside the reorg buffer
    reorged: list[dict[str, Any]] = field(default_factory=list)     # stored hash ≠ node's hash: re-indexed
    failed: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 1
    reorg_buffer: int = DEFAULT_REORG_BUFFER

    @property
    def blocks_per_s(self) -> float:
        return len(self.stored) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "chain_id": self.chain_id, "from_block": self.from_block,
                "to_block": self.to_block, "every": self.every, "head": self.head, "workers": self.workers,
                "reorg_buffer": self.reorg_buffer, "planned": len(self.planned), "written": len(self.stored),
                "skipped": len(self.skipped), "rechecked_near_head": self.rechecked, "reorged": self.reorged,
                "failed": self.failed, "elapsed_s": round(self.elapsed_s, 3),
                "blocks_per_s": round(self.blocks_per_s, 2), "snapshots": self.stored}


def _timestamp(client: RpcClient, n: int, cache: dict[int, int]) -> int:
    if n not in cache:
        blk = client.get_block(n)
        if not blk:
            raise RpcError(f"RPC {client.where} has no block {n}")
        cache[n] = int(blk["timestamp"], 16)
    return cache[n]


def first_block_at(client: RpcClient, t: int, lo: int, hi: int, cache: dict[int, int]) -> int:
    """The first block in [lo, hi] whose timestamp is >= t (hi when none is): binary search, since
    block timestamps never decrease (consensus rule on every EVM chain we support)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if _timestamp(client, mid, cache) >= t:
            hi = mid
        else:
            lo = mid + 1
    return lo


def plan_blocks(client: RpcClient, from_block: int, to_block: int, every: Every) -> list[int]:
    """The blocks to snapshot, ascending and distinct. ``from_block`` is always one of them."""
    if every.blocks is not None:
        n = (to_block - from_block) // every.blocks + 1
        if n > MAX_BLOCKS:
            raise InputError(f"{n:,} blocks planned; at most {MAX_BLOCKS:,} per run (raise --every)")
        return list(range(from_block, to_block + 1, every.blocks))
    assert every.seconds is not None
    cache: dict[int, int] = {}
    t0, t1 = _timestamp(client, from_block, cache), _timestamp(client, to_block, cache)
    if (t1 - t0) // every.seconds + 1 > MAX_BLOCKS:
        raise InputError(f"more than {MAX_BLOCKS:,} steps of {every.seconds}s between blocks {from_block} and "
                         f"{to_block}; raise --every")
    out, lo, t = [from_block], from_block, t0 + every.seconds
    while t <= t1:
        b = first_block_at(client, t, lo, to_block, cache)
        if b != out[-1]:
            out.append(b)
        lo = b
        t += every.seconds      # a gap longer than a step yields its block once (duplicates dropped above)
    return out


def _stored_hashes(db_url: str | None, chain_id: int, data_store: str, lo: int, hi: int,
                   price_source: str, protocol: str = "gmx_v2") -> dict[int, set[str]]:
    from sqlalchemy import text

    from defi_perps.store.db import get_engine

    with get_engine(db_url).connect() as c:
        rows = c.execute(text(
            "SELECT block_number, block_hash FROM snapshot WHERE chain_id = :c AND protocol = :pr "
            "AND data_store = :d AND price_source = :p AND block_number BETWEEN :lo AND :hi"),
            {"c": chain_id, "d": data_store, "p": price_source, "lo": lo, "hi": hi, "pr": protocol}).all()
    out: dict[int, set[str]] = {}
    for b, h in rows:
        out.setdefault(int(b), set()).add(str(h).lower())
    return out


Progress = Callable[[int, int, int], None]     # (blocks done, blocks to do, positions in the last block)


def index_history(chain: ChainConfig, rpc_url: str | None, from_block: int, to_block: int, every: Every,
                  db_url: str | None = None, *, reorg_buffer: int = DEFAULT_REORG_BUFFER, workers: int = 2,
                  parallel: int = 4, batch_size: int = 500, retry: RetryPolicy | None = None,
                  summaries: bool = True, progress: Progress | None = None,
                  protocol: str = "gmx-v2", accounts: str | Sequence[str] | None = None) -> HistoryReport:
    """Snapshot every planned block of [from_block, to_block] not yet stored; see the module docstring.

    ``protocol``: any registered plug-in; blocks already stored are those with its root (for Hyperliquid,
    the account list's digest) and its own price source (``default_price_source``). ``accounts``: an
    accounts file or list (``index --accounts``), parsed once and read at every block."""
    from defi_perps.indexer.job import index_protocol
    from defi_perps.protocols import registry
    from defi_perps.store.db import get_engine

    plugin = registry.get(protocol)

    t0 = time.perf_counter()
    if from_block < 0 or to_block < 0:
        raise InputError("--from-block and --to-block must be >= 0")
    if from_block > to_block:
        raise InputError(f"--from-block {from_block} is after --to-block {to_block}")
    if reorg_buffer < 0:
        raise InputError("--reorg-buffer must be >= 0")
    from defi_perps.indexer.job import check_accounts_option, deployment_root, with_accounts

    listed: list[str] | None = None
    if accounts is not None:            # parsed once (a bad file fails before any RPC), read at every block
        from defi_perps.protocols.accounts import load_accounts_file

        check_accounts_option(plugin)

        listed = load_accounts_file(accounts) if isinstance(accounts, str) else list(accounts)
    dep = with_accounts(plugin, chain.deployment(plugin.key), listed)
    root = deployment_root(plugin, dep, listed is not None)     # no account list: one line, before any RPC
    if from_block < plugin.deploy_block(dep):
        raise InputError(f"--from-block {from_block} is before the {plugin.title} deployment on {chain.name} "
                         f"(block {plugin.deploy_block(dep)})")
    get_engine(db_url)       # a bad --db fails before any RPC
    url = chain.resolve_rpc_url(rpc_url)
    client = RpcClient(url, retry)
    try:
        check_chain_id(client, chain.chain_id, chain.name)
        head = client.block_number()
        if to_block > head:
            raise InputError(f"--to-block {to_block} is beyond the chain head (latest block is {head})")
        planned = plan_blocks(client, from_block, to_block, every)
        rep = HistoryReport(chain.name, chain.chain_id, from_block, to_block, every.label(), head, planned,
                            workers=workers, reorg_buffer=reorg_buffer)
        have = _stored_hashes(db_url, chain.chain_id, root, from_block, to_block, plugin.default_price_source,
                              plugin.key)
        todo: list[int] = []
        for b in planned:
            hashes = have.get(b)
            if not hashes:
                todo.append(b)
            elif head - b < reorg_buffer:          # near the head: trust the hash, not the number
                rep.rechecked += 1
                blk = client.get_block(b)
                node_hash = str(blk["hash"]).lower() if blk else ""
                if node_hash in hashes:
                    rep.skipped.append(b)
                else:
                    rep.reorged.append({"block": b, "stored_hash": min(hashes), "node_hash": node_hash})
                    todo.append(b)
            else:
                rep.skipped.append(b)
    finally:
        client.close()

    def one(b: int) -> dict[str, Any]:
        r, snap = index_protocol(plugin.name, chain, url, b, db_url, None, batch_size, retry, parallel=parallel,
                                 accounts=listed)
        if summaries and snap is not None and r.snapshot_id:
            # cache the exact summary now: `series` and `snapshots show` read it without recomputing
            from dataclasses import replace

            from defi_perps.store.summaries import store_summary

            store_summary(db_url, r.snapshot_id,
                          plugin.summarize(replace(snap, meta=replace(snap.meta, id=r.snapshot_id))))
        return {"block": r.block_number, "snapshot_id": r.snapshot_id, "block_hash": r.block_hash,
                "block_timestamp": r.block_timestamp, "positions": r.positions, "created": r.created}

    done = 0
    if progress is not None:
        progress(0, len(todo), 0)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="index-history") as pool:
        pending: dict[Future[dict[str, Any]], int] = {}
        it = iter(todo)
        stop = False

        def submit() -> None:
            b = next(it, None)
            if b is not None:
                pending[pool.submit(one, b)] = b

        for _ in range(max(1, workers)):
            submit()
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    b = pending.pop(f)
                    err = f.exception()
                    if err is not None:
                        rep.failed.append({"block": b, "error": str(err).splitlines()[0] if str(err) else repr(err)})
                        stop = True           # stop at the first failure; what is stored stays stored
                        continue
                    res = f.result()
                    if res["created"]:
                        rep.stored.append(res)
                    else:                      # another run stored it between the plan and the write
                        rep.skipped.append(int(res["block"]))
                    done += 1
                    if progress is not None:
                        progress(done, len(todo), int(res["positions"]))
                    if not stop:
                        submit()
        finally:
            for f in pending:
                f.cancel()
    rep.skipped.sort()
    rep.stored.sort(key=lambda d: d["block"])
    rep.elapsed_s = time.perf_counter() - t0
    return rep
