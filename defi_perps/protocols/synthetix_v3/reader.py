"""Synthetix perps v3 reader (I/O only): markets, every account with an open position, at one block.

Through Multicall3 at the pinned block (rpc/multicall.py), in this order:

1. globals on the PerpsMarketProxy: ``getMarkets``, ``getAccountTokenAddress`` (the account NFT),
   ``getKeeperRewardGuards``, ``getCollateralLiquidateRewardRatio``, ``getSupportedCollaterals``,
   ``totalGlobalCollateralValue``, ``flaggedAccounts``;
2. the account NFT's ERC-721 Enumerable ``totalSupply`` (https://eips.ethereum.org/EIPS/eip-721),
   then ``tokenByIndex(i)`` for every i: the accounts, enumerated on chain;
3. per market ``metadata``, ``getMarketSummary``, ``getFundingParameters``, ``getOrderFees``,
   ``getLiquidationParameters``, ``getMaxLiquidationParameters``, ``getMaxMarketSize``,
   ``getLockedOiRatio``, ``liquidationCapacity``;
4. per account ``getAccountOpenPositions``; for those with positions (or flagged) the NFT's
   ``ownerOf``, ``getAvailableMargin``, ``getRequiredMargins``, ``totalCollateralValue``, ``debt``,
   ``canLiquidate``, ``getAccountCollateralIds``, per position ``getOpenPosition`` and per
   collateral ``getCollateralAmount``.

Prices: the views that value positions read Pyth through ERC-7412 (``IPythERC7412Wrapper``); when the
wrapper's stored price is older than the market's tolerance they revert with ``OracleDataRequired``
instead of answering (https://eips.ethereum.org/EIPS/eip-7412). A plain ``eth_call`` cannot supply
the price update, so such a block is refused with one line: read a block right after a price
update (any settled order or keeper transaction), or on a devnet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from defi_perps.config import ChainConfig
from defi_perps.domain import SnapshotMeta
from defi_perps.exceptions import AbiMismatchError, InputError
from defi_perps.protocols.synthetix_v3 import mappers as M
from defi_perps.protocols.synthetix_v3.deployment import SynthetixV3Deployment
from defi_perps.protocols.synthetix_v3.records import SnxCollateral, SnxGlobals, SynthetixSnapshot
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.client import RpcClient
from defi_perps.rpc.multicall import Call, CallResult, Multicall
from defi_perps.rpc.pin import PinnedBlock

PROTOCOL = "synthetix_v3"
Progress = Callable[[int, int], None]
ERC7412_HINT = ("a price-dependent view failed: Synthetix reads Pyth through ERC-7412 and reverts with "
                "OracleDataRequired when the stored price is stale at this block; read a block just after a price "
                "update")


class SynthetixV3Reader:
    def __init__(self, client: RpcClient, chain: ChainConfig, block: PinnedBlock, batch_size: int = 500,
                 parallel: int = 4, dep: SynthetixV3Deployment | None = None) -> None:
        self.client, self.chain, self.block = client, chain, block
        self.dep = dep if dep is not None else chain.deployment("synthetix_v3")
        if block.number < chain.multicall3_block:
            raise InputError(f"block {block.number} is before Multicall3 was deployed on {chain.name} "
                             f"(block {chain.multicall3_block})")
        self.mc = Multicall(client, chain.multicall3, block, batch_size, parallel,
                            block_context=chain.block_context_kind)
        self.pa = contract_abi("synthetix_v3", "PerpsMarketProxy")
        self.na = contract_abi("synthetix_v3", "AccountNft")
        self.proxy = self.dep.perps_market_proxy
        self.warnings: list[str] = []

    def _p(self, fn: str, *args: Any, required: bool = True) -> Call:
        return Call(self.proxy, self.pa[fn], args, allow_failure=not required, label=f"PerpsMarketProxy.{fn}{args}")

    def _nft(self, nft: str, fn: str, *args: Any) -> Call:
        return Call(nft, self.na[fn], args, allow_failure=False, label=f"AccountNft.{fn}{args}")

    def _run(self, calls: list[Call], priced: bool = False,
             progress: Callable[[int], None] | None = None) -> list[CallResult]:
        try:
            return self.mc.run(calls, progress)
        except AbiMismatchError as err:
            if priced:
                raise AbiMismatchError(f"{ERC7412_HINT} ({err})") from None
            raise

    def read(self, progress: Progress | None = None) -> SynthetixSnapshot:
        try:
            g = self._run([self._p("getMarkets"), self._p("getAccountTokenAddress"), self._p("getKeeperRewardGuards"),
                           self._p("getCollateralLiquidateRewardRatio"), self._p("getSupportedCollaterals"),
                           self._p("totalGlobalCollateralValue", required=False), self._p("flaggedAccounts")])
        except AbiMismatchError as err:
            raise AbiMismatchError(f"no Synthetix perps v3 PerpsMarketProxy answers at {self.proxy} on block "
                                   f"{self.block.number} ({err})") from None
        market_ids = [int(x) for x in g[0].value]
        nft = to_checksum_address(str(g[1].value))
        if self.dep.account_nft and self.dep.account_nft.lower() != nft.lower():
            raise AbiMismatchError(f"the chain file's account_nft {self.dep.account_nft} is not the proxy's account NFT "
                                   f"{nft} (getAccountTokenAddress)")
        guards = M.guards(g[2].value, g[3].value)
        flagged = tuple(int(x) for x in g[6].value)
        (supply,) = self._run([self._nft(nft, "totalSupply")])
        n_accounts = int(supply.value)

        calls: list[Call] = []
        for mid in market_ids:
            calls += [self._p(f, mid) for f in ("metadata", "getMarketSummary", "getFundingParameters", "getOrderFees",
                                                "getLiquidationParameters", "getMaxLiquidationParameters",
                                                "getMaxMarketSize", "getLockedOiRatio", "liquidationCapacity")]
        calls += [self._nft(nft, "tokenByIndex", i) for i in range(n_accounts)]
        r = self._run(calls, priced=True)
        markets = tuple(M.market(mid, *(x.value for x in r[9 * k:9 * k + 9])) for k, mid in enumerate(market_ids))
        ids = [int(x.value) for x in r[9 * len(market_ids):]]

        if progress:
            progress(0, n_accounts)
        opens = self._run([self._p("getAccountOpenPositions", a) for a in ids])
        flagged_set = set(flagged)
        active = [(a, [int(m) for m in o.value]) for a, o in zip(ids, opens) if o.value or a in flagged_set]
        per = 7
        calls = []
        for a, mids in active:
            calls += [self._nft(nft, "ownerOf", a), self._p("getAvailableMargin", a), self._p("getRequiredMargins", a),
                      self._p("totalCollateralValue", a), self._p("debt", a), self._p("canLiquidate", a),
                      self._p("getAccountCollateralIds", a)]
            calls += [self._p("getOpenPosition", a, m) for m in mids]
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress:
                progress(min(n_accounts, n_accounts - len(active) + done[0] * len(active) // max(1, len(calls))),
                         n_accounts)

        r = self._run(calls, priced=True, progress=tick)
        accounts, positions, coll_ids = [], [], []
        j = 0
        for a, mids in active:
            row = [x.value for x in r[j:j + per + len(mids)]]
            accounts.append(M.account(a, row[0], row[1], row[2], row[3], row[4], row[5], a in flagged_set))
            coll_ids.append((a, [int(c) for c in row[6]]))
            for m, raw in zip(mids, row[per:]):
                p = M.position(a, m, raw)
                if p is not None:
                    positions.append(p)
            j += per + len(mids)
        pairs = [(a, c) for a, cs in coll_ids for c in cs]
        amounts = self._run([self._p("getCollateralAmount", a, c) for a, c in pairs]) if pairs else []
        collaterals = tuple(SnxCollateral(a, c, int(x.value)) for (a, c), x in zip(pairs, amounts) if x.value)
        if progress:
            progress(n_accounts, n_accounts)
        glob = SnxGlobals(account_nft=nft, account_count=n_accounts, min_keeper_reward_usd=guards.min_keeper_reward_usd,
                          min_keeper_profit_ratio=guards.min_keeper_profit_ratio,
                          max_keeper_reward_usd=guards.max_keeper_reward_usd,
                          max_keeper_scaling_ratio=guards.max_keeper_scaling_ratio,
                          collateral_liquidate_reward_ratio=guards.collateral_liquidate_reward_ratio,
                          total_global_collateral_value=int(g[5].value) if g[5].success else None,
                          supported_collaterals=tuple(int(x) for x in g[4].value), flagged_accounts=flagged)
        meta = SnapshotMeta(chain_id=self.chain.chain_id, block_number=self.block.number,
                            block_timestamp=self.block.timestamp, block_hash=self.block.hash, protocol=PROTOCOL,
                            data_store=self.proxy, price_source="pyth")
        return SynthetixSnapshot(meta=meta, globals=glob, markets=markets, accounts=tuple(accounts),
                                 positions=tuple(positions), collaterals=collaterals)
