"""gTrade reader (I/O only): pairs, groups, fees, collaterals, gToken vaults, pair open interest,
borrowing state and every open trade of one GNSMultiCollatDiamond at one pinned block.

All reads go through Multicall3 at the pinned block (rpc/multicall.py verifies every batch), in
rounds whose sizes come from on-chain counts, never constants:

1. ``getCurrentContractsVersion``, ``getCollaterals``, ``pairsCount``, ``groupsCount``,
   ``feesCount``, ``getTradersCount``;
2. per collateral ``getGToken`` / ``getCollateralPriceUsd`` and its ERC-20 ``symbol``/``decimals``;
   per pair ``pairs`` / ``pairMaxLeverage`` / ``getPairLiquidationParams``; ``groups`` (+ their
   ``getGroupLiquidationParams``), ``fees``; ``getTraders`` pages (``limit`` inclusive);
3. ``getCountersForTraders(traders, TRADE)`` → the number of open trades N; per (collateral, pair)
   ``getPairOisAfterV10Collateral``, ``getPairMaxOiCollateral``, ``getPairBorrowingFeeParams`` /
   ``Data``; per pair feed ``latestRoundData`` / ``decimals``; per vault the GToken views;
4. ``getAllTrades`` / ``getAllTradeInfos`` / ``getAllTradesLiquidationParams`` over the global
   trade index in pages ``[s, s + PAGE − 1]`` (inclusive, padded with empty structs);
5. per trade ``getTradeFeesDataArray`` and ``getTradePendingHoldingFeesCollateral`` at the pair's
   reference price (what the contract says the trade owes at this block).

Interfaces: GainsNetwork-org/sdk ``abi/GNSMultiCollatDiamond.json`` / ``abi/GToken.json`` @ a8c6987d
(the deployed Diamond's selectors), ``src/contracts/utils/openTrades.ts`` (paging and the empty-slot
convention); ../shared/reference/protocols.md §5.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from defi_perps.config import ChainConfig
from defi_perps.domain import SnapshotMeta
from defi_perps.exceptions import AbiMismatchError, InputError
from defi_perps.protocols.gtrade import mappers as M
from defi_perps.protocols.gtrade import records as R
from defi_perps.protocols.gtrade.deployment import GTradeDeployment
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.client import RpcAnswerError, RpcClient
from defi_perps.rpc.multicall import Call, Multicall
from defi_perps.rpc.pin import PinnedBlock

TRADE_PAGE = 200        # trades per getAllTrades call (15 words each)
TRADER_PAGE = 2000      # traders per getTraders / getCountersForTraders call
FEE_PAGE = 400          # trades per getTradeFeesDataArray call
COUNTER_TRADE = 0       # ITradingStorage.CounterType.TRADE

Progress = Callable[[int, int], None]


class GTradeReader:
    """Reads one gTrade Diamond at one pinned block through Multicall3."""

    def __init__(self, client: RpcClient, chain: ChainConfig, block: PinnedBlock, batch_size: int = 500,
                 parallel: int = 4, deployment: GTradeDeployment | None = None) -> None:
        self.client, self.chain, self.block = client, chain, block
        self.dep: GTradeDeployment = deployment or chain.deployment("gtrade")
        if block.number < chain.multicall3_block:
            raise InputError(f"block {block.number} is before Multicall3 was deployed on {chain.name} "
                             f"(block {chain.multicall3_block})")
        self.mc = Multicall(client, chain.multicall3, block, batch_size, parallel,
                            block_context=chain.block_context_kind)
        self.d = self.dep.diamond
        self.da = contract_abi("gtrade", "GNSMultiCollatDiamond")
        self.ga = contract_abi("gtrade", "GToken")
        self.erc20 = contract_abi("erc20", "ERC20")
        self.feed = contract_abi("chainlink", "AggregatorV3")
        self.warnings: list[str] = []

    def _c(self, fn: str, *args: Any) -> Call:
        # the Diamond's views never fail for valid arguments: a failure is an error, not a default
        return Call(self.d, self.da[fn], args, allow_failure=False, label=f"GNSMultiCollatDiamond.{fn}")

    def read(self, progress: Progress | None = None) -> R.GTradeSnapshot:
        n = self.block.number
        try:
            r = self.mc.run([self._c("getCurrentContractsVersion"), self._c("getCollaterals"), self._c("pairsCount"),
                             self._c("groupsCount"), self._c("feesCount"), self._c("getTradersCount")])
        except (AbiMismatchError, RpcAnswerError) as err:
            raise AbiMismatchError(f"no gTrade v10 Diamond answers at {self.d} on block {n} ({err}); before v10 "
                                   f"the Diamond had other facets: use a block after the v10 upgrade") from None
        version = int(r[0].value)
        raw_colls = list(r[1].value)
        n_pairs, n_groups, n_fees, n_traders = (int(x.value) for x in r[2:6])

        # 2. collaterals, pairs, groups, fees, traders
        calls: list[Call] = []
        for i, c in enumerate(raw_colls, start=1):
            # an inactive collateral may have no live USD feed: its price may fail (no trades use it)
            price = self._c("getCollateralPriceUsd", i)
            calls += [self._c("getGToken", i), price if c[1] else Call(self.d, price.fn, price.args,
                                                                       label=price.label)]
        for c in raw_colls:
            calls += [Call(c[0], self.erc20["symbol"], label="ERC20.symbol"),
                      Call(c[0], self.erc20["decimals"], allow_failure=False, label="ERC20.decimals")]
        for p in range(n_pairs):
            calls += [self._c("pairs", p), self._c("pairMaxLeverage", p), self._c("getPairLiquidationParams", p)]
        for g in range(n_groups):
            calls += [self._c("groups", g), self._c("getGroupLiquidationParams", g)]
        for f in range(n_fees):
            calls.append(self._c("fees", f))
        for s in range(0, n_traders, TRADER_PAGE):
            calls.append(self._c("getTraders", s, min(n_traders - 1, s + TRADER_PAGE - 1)))
        res = self.mc.run(calls)
        k = 0
        gtok: dict[int, str] = {}
        cprice: dict[int, int] = {}
        for i in range(1, len(raw_colls) + 1):
            gtok[i], cprice[i] = res[k].value, int(res[k + 1].value) if res[k + 1].success else 0
            k += 2
        collaterals: list[R.Collateral] = []
        for i, c in enumerate(raw_colls, start=1):
            sym = res[k].value if res[k].success and isinstance(res[k].value, str) else f"collateral{i}"
            collaterals.append(M.collateral_from_raw(i, c, sym, int(res[k + 1].value), cprice[i], gtok[i]))
            k += 2
        pairs_raw = []
        for p in range(n_pairs):
            pairs_raw.append((p, res[k].value, int(res[k + 1].value), res[k + 2].value))
            k += 3
        groups = []
        for g in range(n_groups):
            groups.append(M.group_from_raw(g, res[k].value, res[k + 1].value))
            k += 2
        fees = []
        for f in range(n_fees):
            fees.append(M.fee_from_raw(f, res[k].value))
            k += 1
        traders = [a for pg in res[k:] for a in pg.value if int(a, 16) != 0]
        if len(set(a.lower() for a in traders)) != len(traders):
            raise RpcAnswerError(f"the node listed a trader twice at block {n}")

        # 3. counters, OI and borrowing per (collateral, pair), feeds, vaults
        cidx = [c.index for c in collaterals]
        colls_by = {c.index: c for c in collaterals}
        cp = [(ci, p) for ci in cidx for p in range(n_pairs)]
        calls = [self._c("getCountersForTraders", traders[s:s + TRADER_PAGE], COUNTER_TRADE)
                 for s in range(0, len(traders), TRADER_PAGE)]
        n_counter_pages = len(calls)
        if cp:
            cs, ps = [c for c, _ in cp], [p for _, p in cp]
            calls += [self._c("getPairOisAfterV10Collateral", cs, ps), self._c("getPairBorrowingFeeParams", cs, ps),
                      self._c("getPairBorrowingFeeData", cs, ps)]
            calls += [self._c("getPairMaxOiCollateral", c, p) for c, p in cp]
        feeds = sorted({x for _, raw, _, _ in pairs_raw for x in (raw[2][0], raw[2][1]) if int(x, 16) != 0},
                       key=str.lower)
        for f in feeds:
            calls += [Call(f, self.feed["latestRoundData"], label="AggregatorV3.latestRoundData"),
                      Call(f, self.feed["decimals"], label="AggregatorV3.decimals")]
        with_vault = [c for c in collaterals if int(c.gtoken, 16) != 0]   # a listed collateral may have none
        for c in with_vault:
            calls += [Call(c.gtoken, self.ga[name], allow_failure=False, label=f"GToken.{name}")
                      for name in M.VAULT_FIELDS]
        res = self.mc.run(calls)
        counts = [int(ct[1]) for pg in res[:n_counter_pages] for ct in pg.value]
        n_open = sum(counts)
        k = n_counter_pages
        pair_colls: list[R.PairCollateral] = []
        if cp:
            ois, bps, bds = res[k].value, res[k + 1].value, res[k + 2].value
            k += 3
            for j, (c, p) in enumerate(cp):
                pair_colls.append(R.PairCollateral(
                    collateral_index=c, pair_index=p, oi_long_collateral=int(ois[j][0]),
                    oi_short_collateral=int(ois[j][1]), max_oi_collateral=int(res[k + j].value),
                    borrowing_rate_per_second_p=int(bps[j][0]), acc_borrowing_fee_p=int(bds[j][0]),
                    last_borrowing_update_ts=int(bds[j][1])))
            k += len(cp)
        feed_answer: dict[str, tuple[int, int, int] | None] = {}
        for f in feeds:
            rd, dec = res[k], res[k + 1]
            k += 2
            feed_answer[f.lower()] = (int(rd.value[1]), int(dec.value), int(rd.value[3])) \
                if rd.success and dec.success else None
        vaults = []
        for c in with_vault:
            vals = {name: res[k + j].value for j, name in enumerate(M.VAULT_FIELDS)}
            k += len(M.VAULT_FIELDS)
            vaults.append(M.vault_from_values(c.index, c.gtoken, vals))
        pairs = [self._priced(M.pair_from_raw(p, raw, lev, liq), feed_answer) for p, raw, lev, liq in pairs_raw]

        # 4. every open trade, paged over the global index
        if progress:
            progress(0, n_open)
        calls = []
        for s in range(0, n_open, TRADE_PAGE):
            e = min(n_open - 1, s + TRADE_PAGE - 1)
            calls += [self._c("getAllTrades", s, e), self._c("getAllTradeInfos", s, e),
                      self._c("getAllTradesLiquidationParams", s, e)]
        res = self.mc.run(calls)
        all_trades: list[R.Trade] = []
        for j in range(0, len(res), 3):
            for raw, info, liq in zip(res[j].value, res[j + 1].value, res[j + 2].value):
                if M.is_empty_trade(raw):
                    continue
                all_trades.append(M.trade_from_raw(raw, info, liq))
        self._check_trades(all_trades, n_open, len(pairs), set(cidx))
        unpriced_coll = sorted({colls_by[t.collateral_index].symbol for t in all_trades
                                if colls_by[t.collateral_index].price_usd == 0})
        if unpriced_coll:
            raise RpcAnswerError(f"getCollateralPriceUsd failed or answered 0 at block {n} for {', '.join(unpriced_coll)}, "
                                 f"which open trades use")
        positions = [t for t in all_trades if t.trade_type == 0]
        pending = len(all_trades) - len(positions)

        # 5. fee data and pending holding fees per open position
        price_of = {p.index: p.price for p in pairs}
        calls = [self._c("getTradeFeesDataArray", [t.trader for t in positions[s:s + FEE_PAGE]],
                         [t.index for t in positions[s:s + FEE_PAGE]]) for s in range(0, len(positions), FEE_PAGE)]
        n_fee_pages = len(calls)
        priced = [t for t in positions if price_of.get(t.pair_index)]
        calls += [self._c("getTradePendingHoldingFeesCollateral", t.trader, t.index, price_of[t.pair_index])
                  for t in priced]

        done = [0]

        def step(size: int) -> None:
            done[0] += size
            if progress:
                progress(min(n_open, max(0, done[0] - n_fee_pages)), n_open)

        res = self.mc.run(calls, step if progress else None)
        fee_data = [fd for pg in res[:n_fee_pages] for fd in pg.value]
        holding = {t.key: h.value for t, h in zip(priced, res[n_fee_pages:])}
        zero = (0, 0, 0, 0)
        trades = tuple(M.with_fees(t, fd, holding.get(t.key, zero)) for t, fd in zip(positions, fee_data))
        unpriced = sorted({p.name for p in pairs if p.price is None and any(t.pair_index == p.index for t in positions)})
        if unpriced:
            self.warnings.append(f"no Chainlink reference price at block {n} for {', '.join(unpriced)}: their "
                                 f"trades' pending holding fees are stored as 0")
        meta = SnapshotMeta(chain_id=self.chain.chain_id, block_number=n, block_timestamp=self.block.timestamp,
                            block_hash=self.block.hash, protocol="gtrade", data_store=self.d,
                            price_source="chainlink")
        return R.GTradeSnapshot(meta=meta, contracts_version=version, collaterals=tuple(collaterals), vaults=tuple(vaults), groups=tuple(groups),
                                fees=tuple(fees), markets=tuple(pairs), pair_collaterals=tuple(pair_colls),
                                positions=trades, pending_orders=pending, warnings=tuple(self.warnings))

    def _priced(self, p: R.Pair, answers: dict[str, tuple[int, int, int] | None]) -> R.Pair:
        from dataclasses import replace

        a1 = answers.get(p.feed1.lower())
        a2 = answers.get(p.feed2.lower()) if int(p.feed2, 16) else None
        if a1 is None or (p.feed_calculation == M.FEED_COMBINE and a2 is None):
            return p
        try:
            price = M.pair_price(p.feed_calculation, a1[0], a1[1], a2[0] if a2 else None, a2[1] if a2 else None)
        except InputError as err:
            self.warnings.append(f"pair {p.name}: feed {p.feed1} at block {self.block.number}: {err}")
            return p
        return replace(p, price=price, price_updated_at=a1[2])

    def _check_trades(self, trades: list[R.Trade], expected: int, n_pairs: int, collaterals: set[int]) -> None:
        n = self.block.number
        if len(trades) != expected:
            raise RpcAnswerError(f"the node listed {len(trades)} open trades at block {n}, but the traders' "
                                 f"counters add up to {expected}")
        seen: set[str] = set()
        for t in trades:
            if t.key in seen:
                raise RpcAnswerError(f"trade {t.trader}#{t.index} listed twice at block {n}")
            seen.add(t.key)
            if t.pair_index >= n_pairs or t.collateral_index not in collaterals:
                raise RpcAnswerError(f"trade {t.trader}#{t.index} at block {n} names pair {t.pair_index} / collateral "
                                     f"{t.collateral_index}, which the Diamond does not list")
            if t.leverage <= 0 or t.open_price <= 0:
                raise RpcAnswerError(f"trade {t.trader}#{t.index} at block {n} has leverage {t.leverage} and open "
                                     f"price {t.open_price}: not an open trade")

    def stats(self) -> dict[str, int]:
        return {"round_trips": self.client.round_trips, "multicall_batches": self.mc.batches,
                "batch_halvings": self.mc.halvings, "batch_size_final": self.mc.batch_size}
