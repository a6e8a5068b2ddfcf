"""Index one protocol at one block: chain-id check → pin block (number and hash) → read through the
protocol's plug-in (Multicall3, pinned by hash) → store in one transaction.

A snapshot's identity is (chain id, protocol, root contract, block number, block hash, price source); the
price source is the plug-in's ``default_price_source`` (GMX v2 ``chainlink``: the feeds registered in
DataStore; GMX v1 ``vault``; Hyperliquid ``precompile``; Synthetix v3 ``pyth``) or ``file:sha256:<digest>``
of a ``--prices`` file, so a what-if at an indexed block is its own snapshot, labelled with the file name.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from defi_perps.config import ChainConfig
from defi_perps.exceptions import InputError
from defi_perps.protocols import registry
from defi_perps.protocols.base import ReadContext
from defi_perps.rpc.client import RetryPolicy, RpcClient
from defi_perps.rpc.pin import check_chain_id, pin_block
from defi_perps.store.writer import save_snapshot


@dataclass(frozen=True)
class IndexReport:
    snapshot_id: int
    created: bool                 # False: the block was already stored, nothing written
    chain: str
    chain_id: int
    block_number: int
    block_timestamp: int
    markets: int
    positions: int
    round_trips: int
    retries: int
    multicall_batches: int
    batch_halvings: int
    batch_size_final: int
    read_s: float
    write_s: float
    elapsed_s: float
    warnings: tuple[str, ...] = ()
    block_hash: str = ""
    price_source: str = "chainlink"
    price_label: str | None = None
    batch_growths: int = 0
    protocol: str = "gmx_v2"
    log_requests: int = 0
    log_halvings: int = 0

    @property
    def positions_per_s(self) -> float:
        return self.positions / self.read_s if self.read_s > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["positions_per_s"] = round(self.positions_per_s, 1)
        return d


def index_protocol(protocol: str, chain: ChainConfig, rpc_url: str | None = None, block: int | None = None,
                   db_url: str | None = None, prices_path: str | None = None, batch_size: int = 500,
                   retry: RetryPolicy | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   store: bool = True, parallel: int = 4,
                   client: RpcClient | None = None,
                   accounts: str | Path | Sequence[str] | None = None,
                   read_stored: bool = False) -> tuple[IndexReport, Any | None]:
    """Snapshot ``protocol`` (a registry name) on ``chain`` at ``block`` (default: latest) into ``db_url``.

    ``client`` replaces the HTTP client built from the chain file (a recording or replaying client,
    rpc/replay.py). ``accounts``: an accounts file (``index --accounts FILE``, protocols/accounts.py) or
    an already-parsed list, replacing the chain file's list; refused for a plug-in that takes none.
    Re-indexing a stored block reads nothing more than the block header and writes nothing, unless
    ``read_stored`` (``--record``: a recording must hold every request a fresh index sends, or its
    replay fails); the store still writes nothing for a block it holds.
    """
    t0 = time.perf_counter()
    plugin = registry.get(protocol)
    dep = with_accounts(plugin, chain.deployment(plugin.key), accounts)  # a missing [section] fails before any RPC
    root = deployment_root(plugin, dep, accounts is not None)
    overrides = plugin.load_prices(prices_path) if prices_path else None  # bad file fails before any RPC
    price_source, price_label = price_identity(prices_path)
    if not prices_path:
        price_source = plugin.default_price_source
    own_client = client is None
    if client is None:
        client = RpcClient(chain.resolve_rpc_url(rpc_url), retry)  # a bad RPC URL fails before the store is opened
    stored_before = False
    if store:
        from defi_perps.store.db import check_database

        # a bad --db fails before any RPC too; a new database is created only when a snapshot is stored
        stored_before = check_database(db_url)
    try:
        check_chain_id(client, chain.chain_id, chain.name)
        pinned = pin_block(client, block, plugin.deploy_block(dep), f"the {plugin.title} deployment on {chain.name}")
        warnings: list[str] = []
        if stored_before:
            from defi_perps.store.queries import find_snapshot, snapshots_at

            info = find_snapshot(db_url, chain.chain_id, plugin.key, root, pinned.number, pinned.hash,
                                 price_source)
            if info is not None and not read_stored:  # already indexed: a no-op
                el = time.perf_counter() - t0
                return IndexReport(info.id, False, chain.name, chain.chain_id, pinned.number, pinned.timestamp,
                                   info.market_count, info.position_count, client.round_trips, client.retries,
                                   0, 0, batch_size, 0.0, 0.0, el, (), pinned.hash, price_source, price_label,
                                   protocol=plugin.key), None
            other = [i for i in snapshots_at(db_url, chain.chain_id, plugin.key, root, pinned.number)
                     if i.block_hash.lower() != pinned.hash.lower()]
            if other:
                warnings.append(
                    f"snapshot {other[0].id} holds block {pinned.number} with hash {other[0].block_hash[:12]}…, but "
                    f"the node's block {pinned.number} is {pinned.hash[:12]}… (a reorg, or another chain or devnet at "
                    f"the same number): storing a new snapshot")
        ctx = ReadContext(client, chain, dep, pinned, batch_size, parallel, overrides, price_source, progress)
        t1 = time.perf_counter()
        snap, st = plugin.read(ctx)
        t2 = time.perf_counter()
    finally:
        if own_client:
            client.close()
    sid, created = 0, True
    if store:
        res = save_snapshot(db_url, snap, chain.name, price_label=price_label)
        sid, created = res.snapshot_id, res.created
    t3 = time.perf_counter()
    return IndexReport(sid, created, chain.name, chain.chain_id, pinned.number, pinned.timestamp, len(snap.markets),
                       len(snap.positions), client.round_trips, client.retries, st.batches, st.halvings,
                       st.final_batch_size, t2 - t1, t3 - t2, t3 - t0, tuple(warnings + ctx.warnings),
                       pinned.hash, price_source, price_label, st.growths, plugin.key, st.log_requests,
                       st.log_halvings), snap


def index_gmx_v2(chain: ChainConfig, rpc_url: str | None = None, block: int | None = None,
                 db_url: str | None = None, prices_path: str | None = None, batch_size: int = 500,
                 retry: RetryPolicy | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 store: bool = True, parallel: int = 4) -> tuple[IndexReport, Any | None]:
    """GMX v2 through :func:`index_protocol` (kept for callers written before the registry)."""
    return index_protocol("gmx-v2", chain, rpc_url, block, db_url, prices_path, batch_size, retry, progress,
                          store, parallel)


def check_accounts_option(plugin: Any) -> None:
    """A one-line error unless the plug-in takes a list of accounts (``accounts_help``)."""
    if plugin.accounts_help is None:
        raise InputError(f"--accounts is not supported for {plugin.name}: it reads no list of accounts "
                         "(its accounts are enumerated on chain, or it has none); leave the option out")


def with_accounts(plugin: Any, dep: Any, accounts: str | Path | Sequence[str] | None) -> Any:
    """``dep`` reading the given accounts (a file path or a list), validated before any RPC; ``dep``
    itself when none are given. A plug-in that declares no accounts option refuses them."""
    if accounts is None:
        return dep
    check_accounts_option(plugin)
    if isinstance(accounts, (str, Path)):
        from defi_perps.protocols.accounts import load_accounts_file

        accounts = load_accounts_file(accounts)
    return plugin.with_accounts(dep, list(accounts))


def deployment_root(plugin: Any, dep: Any, accounts_given: bool) -> str:
    """``plugin.root(dep)``; where the plug-in needs a list of accounts and the chain file gives none,
    the one-line error also names ``--accounts FILE``."""
    from defi_perps.exceptions import ConfigError

    try:
        return str(plugin.root(dep))
    except ConfigError as err:
        if plugin.accounts_required and not accounts_given:
            raise ConfigError(f"{err}; or pass --accounts FILE") from None
        raise


def price_identity(prices_path: str | None) -> tuple[str, str | None]:
    """(price source, label): ``chainlink``, or ``file:sha256:<digest of the file's bytes>`` and
    ``file <name>``. The digest, not the path, is the identity: the same file elsewhere is the same
    what-if, an edited file at the same path is another."""
    if not prices_path:
        return "chainlink", None
    data = Path(prices_path).read_bytes()   # load_price_file has already read and validated it
    return f"file:sha256:{hashlib.sha256(data).hexdigest()}", f"file {Path(prices_path).name}"
