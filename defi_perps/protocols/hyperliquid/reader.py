"""Hyperliquid reader (I/O only): HyperCore state through the HyperEVM read precompiles at one block.

What it reads (addresses and encodings: abis/hyperliquid/SOURCES.md):

1. ``l1BlockNumber`` (0x…0809): the HyperCore block the precompiles answer from (they reflect
   HyperCore "at the time the EVM block is constructed"); per perp of the chain file's ``perps``
   ``perpAssetInfo`` (0x…080a), ``markPx`` (0x…0806), ``oraclePx`` (0x…0807) and ``bbo`` (0x…080e);
2. per account of the accounts file (HyperCore offers no on-chain list of users: accounts.py)
   ``accountMarginSummary(perp_dex, user)`` (0x…080f), ``withdrawable`` (0x…0803),
   ``coreUserExists`` (0x…0810), per perp ``position2`` (0x…0813; or the legacy ``position``,
   0x…0800), per spot token ``spotBalance`` (0x…0801) and per vault ``userVaultEquity`` (0x…0802).

Transport: the same ``rpc/`` layer as every reader. ``calls = "multicall"`` (default) batches the
precompile calls through Multicall3 (HyperEVM mainnet: canonical address, block 13051), pinned by
block hash and verified per batch (number, timestamp, parent hash, echo: rpc/multicall.py). That
needs a node that runs the precompiles *inside* a contract call. HyperEVM's own nodes do (L1Read.sol
reads them with ``staticcall`` from a contract), but a node that merely replays HyperEVM blocks or
an anvil fork of HyperEVM has no HyperCore behind those addresses: calls there answer empty bytes,
which this reader refuses with one line. Where batching is unwanted (``calls = "direct"``) each
precompile is one ``eth_call`` pinned by block hash (EIP-1898), without the per-batch block check.

An invalid input (an unlisted perp, a non-vault address) makes a precompile fail and consume all
the gas it was given; in a Multicall3 batch that starves the rest of the batch, which the batcher
answers by splitting until the failing call stands alone, then reports it.

History: the public HyperEVM RPC has answered historical ``eth_call`` with the *latest* state
(hyperliquid-dex/node issue #158). In multicall mode the per-batch check of ``block.number``,
timestamp and parent hash refuses such an answer; in direct mode nothing can, so use a node that
honours the block (or the latest block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from defi_perps.config import ChainConfig
from defi_perps.domain import SnapshotMeta
from defi_perps.exceptions import AbiMismatchError, InputError, RpcError
from defi_perps.protocols.hyperliquid import mappers as M
from defi_perps.protocols.hyperliquid.accounts import accounts_digest, snapshot_root
from defi_perps.protocols.hyperliquid.deployment import HyperliquidDeployment
from defi_perps.protocols.hyperliquid.precompiles import precompile
from defi_perps.protocols.hyperliquid.records import HyperliquidSnapshot
from defi_perps.rpc.client import RpcCallError, RpcClient, RpcRetriesExhausted
from defi_perps.rpc.multicall import Call, CallResult, Multicall
from defi_perps.rpc.pin import PinnedBlock

PROTOCOL = "hyperliquid"
Progress = Callable[[int, int], None]


@dataclass
class ReadStats:
    calls: int = 0
    batches: int = 0
    halvings: int = 0
    warnings: list[str] = field(default_factory=list)


class HyperliquidReader:
    """Reads the chain file's perps and the given accounts at one pinned block."""

    def __init__(self, client: RpcClient, chain: ChainConfig, block: PinnedBlock, accounts: Sequence[str],
                 batch_size: int = 500, parallel: int = 4, dep: HyperliquidDeployment | None = None) -> None:
        self.client, self.chain, self.block = client, chain, block
        self.dep = dep if dep is not None else chain.deployment("hyperliquid")
        self.accounts = list(accounts)
        if not self.accounts:
            raise InputError("no accounts to read: HyperCore has no on-chain list of users; pass --accounts FILE")
        self.stats = ReadStats()
        self.mc: Multicall | None = None
        if self.dep.calls == "multicall":
            if block.number < chain.multicall3_block:
                raise InputError(f"block {block.number} is before Multicall3 was deployed on {chain.name} "
                                 f"(block {chain.multicall3_block}); use calls = \"direct\" in [hyperliquid]")
            self.mc = Multicall(client, chain.multicall3, block, batch_size, parallel,
                                block_context=chain.block_context_kind)

    # ---- transport ------------------------------------------------------------------------------
    def _run(self, calls: list[Call], progress: Callable[[int], None] | None = None) -> list[CallResult]:
        self.stats.calls += len(calls)
        if self.mc is not None:
            out = self.mc.run(calls, progress)
            self.stats.batches, self.stats.halvings = self.mc.batches, self.mc.halvings
            return out
        res: list[CallResult] = []
        for c in calls:
            try:
                data = self.client.eth_call(c.target, c.calldata, self.block)
            except RpcCallError as err:
                if not c.allow_failure:
                    raise RpcError(f"required precompile call {c.label} failed: {err}") from None
                res.append(CallResult(False))
                continue
            try:
                dec = c.fn.decode(data)
            except AbiMismatchError:
                if not c.allow_failure:
                    raise AbiMismatchError(f"precompile call {c.label} answered undecodable data "
                                           f"({len(data)} bytes)") from None
                res.append(CallResult(False))
                continue
            res.append(CallResult(True, dec[0] if len(dec) == 1 else dec))
            if progress:
                progress(1)
        return res

    def _locate(self, probes: list[tuple[str, tuple[Any, ...], str]], err: RpcError) -> None:
        """After a failed batch: find the chain-file input the precompiles refuse, one direct call
        each through the same client, and name it; return if none is.

        Needed because an invalid input burns all the gas of its call frame, which inside Multicall3
        leaves too little for the rest of the batch: the node answers the whole eth_call with an
        out-of-gas error, so the batcher cannot tell which call it was."""
        for name, args, what in probes:
            p = precompile(name)
            try:
                data = self.client.eth_call(p.address, p.encode(*args), self.block)
                p.decode(data)
            except (RpcCallError, RpcRetriesExhausted, AbiMismatchError) as why:
                if isinstance(why, RpcRetriesExhausted) and why.kind != "internal":
                    raise
                raise AbiMismatchError(f"{what} of the chain file's [hyperliquid] section is not listed on HyperCore at "
                                       f"block {self.block.number}: its {name} precompile fails ({why})") from None
        if self.mc is not None and not isinstance(err, AbiMismatchError):
            raise RpcError(f"a Multicall3 batch of HyperCore precompile calls failed ({err}); every input answers alone, "
                           f"so the node may cap eth_call gas: lower --batch-size or set calls = \"direct\"") from None

    def _call(self, name: str, *args: Any, required: bool = True, label: str = "") -> Call:
        p = precompile(name)
        return Call(p.address, p, args, allow_failure=not required, label=label or f"{name}{args}")

    def probe(self) -> int:
        """The HyperCore block number; a node without HyperCore behind the precompiles is refused."""
        p = precompile("l1BlockNumber")
        data = self.client.eth_call(p.address, b"", self.block)
        if not data:
            raise RpcError(f"RPC {self.client.where} does not serve the HyperCore read precompiles (l1BlockNumber at "
                           f"{p.address} answered no data at block {self.block.number}): use a HyperEVM node "
                           f"(chain id 999) or the devnet, not a fork or replica without HyperCore")
        return int(p.decode(data)[0])

    # ---- the read ---------------------------------------------------------------------------------
    def read(self, progress: Progress | None = None, price_source: str = "precompile") -> HyperliquidSnapshot:
        l1_block = self.probe()
        dep = self.dep
        perp_calls: list[Call] = []
        for perp in dep.perps:
            perp_calls += [self._call("perpAssetInfo", perp, label=f"perpAssetInfo(perp {perp})"),
                           self._call("markPx", perp, label=f"markPx(perp {perp})"),
                           self._call("oraclePx", perp, label=f"oraclePx(perp {perp})"),
                           self._call("bbo", perp, required=False, label=f"bbo(perp {perp})")]
        try:
            r = self._run(perp_calls)
        except (RpcCallError, RpcRetriesExhausted, AbiMismatchError) as err:
            self._locate([("perpAssetInfo", (perp,), f"perp {perp}") for perp in dep.perps], err)
            raise
        perps = []
        for i, perp in enumerate(dep.perps):
            info, mark, oracle, bbo = r[4 * i:4 * i + 4]
            perps.append(M.perp_asset(perp, info.value, mark.value, oracle.value, bbo.value if bbo.success else None))

        per_account = 3 + len(dep.perps) + len(dep.spot_tokens) + len(dep.vaults)
        pos_fn = dep.position_precompile
        acct_calls: list[Call] = []
        for a in self.accounts:
            acct_calls += [self._call("accountMarginSummary", dep.perp_dex, a, label=f"accountMarginSummary({a})"),
                           self._call("withdrawable", a, label=f"withdrawable({a})"),
                           self._call("coreUserExists", a, label=f"coreUserExists({a})")]
            acct_calls += [self._call(pos_fn, a, perp, label=f"{pos_fn}({a}, perp {perp})") for perp in dep.perps]
            acct_calls += [self._call("spotBalance", a, t, label=f"spotBalance({a}, token {t})")
                           for t in dep.spot_tokens]
            acct_calls += [self._call("userVaultEquity", a, v, label=f"userVaultEquity({a}, {v})") for v in dep.vaults]
        total = len(self.accounts)
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress:
                progress(min(total, done[0] // per_account), total)

        if progress:
            progress(0, total)
        try:
            r = self._run(acct_calls, tick)
        except (RpcCallError, RpcRetriesExhausted, AbiMismatchError) as err:
            first = self.accounts[0]
            self._locate([("spotBalance", (first, t), f"spot token {t}") for t in dep.spot_tokens]
                         + [("userVaultEquity", (first, v), f"vault {v}") for v in dep.vaults], err)
            raise
        accounts, positions, spots, equities = [], [], [], []
        for k, a in enumerate(self.accounts):
            row = r[k * per_account:(k + 1) * per_account]
            accounts.append(M.account(a, row[0].value, row[1].value, row[2].value))
            j = 3
            for perp in dep.perps:
                pos = M.position(a, perp, row[j].value)
                if pos is not None:
                    positions.append(pos)
                j += 1
            for t in dep.spot_tokens:
                sb = M.spot_balance(a, t, row[j].value)
                if sb is not None:
                    spots.append(sb)
                j += 1
            for v in dep.vaults:
                ve = M.vault_equity(a, v, row[j].value)
                if ve is not None:
                    equities.append(ve)
                j += 1
        listed = {p.perp for p in perps}
        only_iso = {p.perp for p in perps if p.only_isolated}
        for pos in positions:
            assert pos.perp in listed
            if pos.perp in only_iso and not pos.is_isolated:
                self.stats.warnings.append(f"{pos.account} holds a cross position in isolated-only perp {pos.perp}")
        meta = SnapshotMeta(chain_id=self.chain.chain_id, block_number=self.block.number,
                            block_timestamp=self.block.timestamp, block_hash=self.block.hash, protocol=PROTOCOL,
                            data_store=snapshot_root(self.accounts), price_source=price_source)
        return HyperliquidSnapshot(meta=meta, l1_block_number=l1_block, perp_dex=dep.perp_dex,
                                   accounts_digest=accounts_digest(self.accounts), perps=tuple(perps),
                                   positions=tuple(positions), accounts=tuple(accounts),
                                   spot_balances=tuple(spots), vault_equities=tuple(equities))
