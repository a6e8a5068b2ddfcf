"""GMX v1 reader (I/O only): the Vault's tokens, pool state, prices and every open position at one block.

1. Multicall3 at the pinned block: Vault scalars (maxLeverage, liquidationFeeUsd, marginFeeBasisPoints,
   minProfitTime, fundingInterval, funding factors, inPrivateLiquidationMode), ``allWhitelistedTokens``
   paged from ``allWhitelistedTokensLength``, per token its config and pool state (poolAmounts,
   reservedAmounts, guaranteedUsd, globalShortSizes, globalShortAveragePrices, cumulativeFundingRates,
   lastFundingTimes, getNextFundingRate, getMinPrice, getMaxPrice) and ERC-20 symbol; GlpManager
   ``getAum(true/false)``, ``aumAddition``/``aumDeduction``, ``getGlobalShortAveragePrice``.
2. The Vault keeps no list of positions: the position events (Increase/Decrease/Liquidate/Update/
   ClosePosition) are scanned from the deployment's ``deploy_block`` to the pinned block with chunked
   ``eth_getLogs`` (rpc/logs.py: ranges halve on "too many results"); per key the identity and the
   last event are kept. The scan is resumable: a plain HTTP run keeps a checkpoint (the folded
   per-key state and the block hash it is valid for) in ``$DEFI_PERPS_HOME/cache/gmx_v1/`` and
   later runs scan only the blocks after it, when that block is still canonical.
3. ``Vault.positions(key)`` for every key not closed by its last event, through Multicall3 at the
   pinned block: the state, not the events, decides what is open (size > 0).
Interfaces: abis/gmx_v1/SOURCES.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from defi_perps.domain import OraclePrice, SnapshotMeta, Token
from defi_perps.exceptions import InputError
from defi_perps.protocols.base import ReadContext, ReadStats
from defi_perps.protocols.gmx_v1 import mappers as M
from defi_perps.protocols.gmx_v1.records import GmxV1Snapshot, ScanInfo, VaultParams, VaultToken
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.logs import canonical, scan_logs
from defi_perps.rpc.multicall import Call, Multicall

CHECKPOINT_EVERY = 16          # chunks between checkpoints of a long scan
CACHE_VERSION = 1


def _cache_file(chain_id: int, vault: str, from_block: int) -> Path:
    from defi_perps.paths import home

    return home() / "cache" / "gmx_v1" / f"{chain_id}-{vault.lower()}-{from_block}.json"


class GmxV1Reader:
    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.dep = ctx.deployment
        if ctx.block.number < ctx.chain.multicall3_block:
            raise InputError(f"block {ctx.block.number} is before Multicall3 was deployed on {ctx.chain.name} "
                             f"(block {ctx.chain.multicall3_block})")
        self.mc = Multicall(ctx.client, ctx.chain.multicall3, ctx.block, ctx.batch_size, ctx.parallel,
                            block_context=ctx.chain.block_context_kind)
        self.va = contract_abi("gmx_v1", "Vault")
        self.ga = contract_abi("gmx_v1", "GlpManager")
        self.erc20 = contract_abi("erc20", "ERC20")
        self.log_requests = 0
        self.log_halvings = 0
        # a checkpoint only for a plain HTTP client: recording/replaying runs must send the same requests
        c = ctx.client
        self.use_cache = (c.transport is None and c.on_answer is None
                          and os.environ.get("DEFI_PERPS_LOG_CACHE", "1") != "0")

    def _v(self, fn: str, *args: Any, required: bool = True) -> Call:
        return Call(self.dep.vault, self.va[fn], args, allow_failure=not required, label=f"Vault.{fn}")

    def read(self) -> tuple[GmxV1Snapshot, ReadStats]:
        ctx, dep = self.ctx, self.dep
        scalars = ("maxLeverage", "liquidationFeeUsd", "marginFeeBasisPoints", "minProfitTime", "fundingInterval",
                   "fundingRateFactor", "stableFundingRateFactor", "inPrivateLiquidationMode",
                   "allWhitelistedTokensLength")
        calls = [self._v(s) for s in scalars]
        glp = dep.glp_manager
        if glp:
            calls += [Call(glp, self.ga["getAum"], (True,), False, "GlpManager.getAum"),
                      Call(glp, self.ga["getAum"], (False,), False, "GlpManager.getAum"),
                      Call(glp, self.ga["aumAddition"], (), False, "GlpManager.aumAddition"),
                      Call(glp, self.ga["aumDeduction"], (), False, "GlpManager.aumDeduction")]
        res = self.mc.run(calls)
        sv = {s: r.value for s, r in zip(scalars, res)}
        n_tokens = int(sv["allWhitelistedTokensLength"])
        aum = [int(r.value) for r in res[len(scalars):]] if glp else [None] * 4
        params = VaultParams(int(sv["maxLeverage"]), int(sv["liquidationFeeUsd"]), int(sv["marginFeeBasisPoints"]),
                             int(sv["minProfitTime"]), int(sv["fundingInterval"]), int(sv["fundingRateFactor"]),
                             int(sv["stableFundingRateFactor"]), bool(sv["inPrivateLiquidationMode"]), *aum)
        addrs = [to_checksum_address(r.value) for r in
                 self.mc.run([self._v("allWhitelistedTokens", i) for i in range(n_tokens)])]
        if len(set(a.lower() for a in addrs)) != len(addrs):
            raise InputError(f"Vault.allWhitelistedTokens lists a token twice at block {ctx.block.number}")
        per = ("whitelistedTokens", "stableTokens", "shortableTokens", "tokenDecimals", "minProfitBasisPoints",
               "poolAmounts", "reservedAmounts", "guaranteedUsd", "globalShortSizes", "globalShortAveragePrices",
               "cumulativeFundingRates", "lastFundingTimes", "getNextFundingRate")
        calls = []
        for t in addrs:
            calls += [self._v(f, t) for f in per]
            # a token without a price makes the feed revert: optional, the token is then left unpriced
            calls += [self._v("getMinPrice", t, required=False), self._v("getMaxPrice", t, required=False),
                      Call(t, self.erc20["symbol"], (), True, "ERC20.symbol")]
            if glp:
                calls.append(Call(glp, self.ga["getGlobalShortAveragePrice"], (t,), False,
                                  "GlpManager.getGlobalShortAveragePrice"))
        res = self.mc.run(calls)
        width = len(per) + 3 + (1 if glp else 0)
        vault_tokens, tokens, prices = [], [], []
        for i, t in enumerate(addrs):
            row = res[i * width:(i + 1) * width]
            v = [x.value for x in row[:len(per)]]
            vt = VaultToken(t, bool(v[0]), bool(v[1]), bool(v[2]), int(v[3]), int(v[4]), int(v[5]), int(v[6]),
                            int(v[7]), int(v[8]), int(v[9]), int(v[10]), int(v[11]), int(v[12]),
                            int(row[len(per) + 3].value) if glp else None)
            vault_tokens.append(vt)
            pmin, pmax, sym = row[len(per)], row[len(per) + 1], row[len(per) + 2]
            symbol = str(sym.value) if sym.success and sym.value else t[:10]
            tokens.append(Token(t, symbol, vt.token_decimals))
            if pmin.success and pmax.success:
                prices.append(OraclePrice(t, int(pmin.value), int(pmax.value), "vault"))
            else:
                ctx.warnings.append(f"Vault has no price for {symbol} ({t}) at block {ctx.block.number}")

        state, events, resumed = self._scan()
        cands, orphans = M.open_candidates(state)
        if orphans:
            ctx.warnings.append(f"{orphans} position key(s) have events but no opening event after block "
                                f"{dep.deploy_block} (deploy_block of the chain file): they are not read")
        pres = self.mc.run([self._v("positions", bytes.fromhex(k[2:])) for k, _ in cands],
                           progress=self._tick(len(cands)))
        positions = []
        for (k, ident), res1 in zip(cands, pres):
            p = M.to_position(k, ident, tuple(res1.value))
            if p.size > 0:
                positions.append(p)
        if ctx.progress is not None:
            ctx.progress(len(cands), len(cands))
        meta = SnapshotMeta(chain_id=ctx.chain.chain_id, block_number=ctx.block.number,
                            block_timestamp=ctx.block.timestamp, block_hash=ctx.block.hash, protocol="gmx_v1",
                            data_store=dep.vault, price_source=ctx.price_source)
        snap = GmxV1Snapshot(meta, tuple(tokens), tuple(prices), tuple(vault_tokens), params, tuple(positions),
                             ScanInfo(dep.deploy_block, ctx.block.number, events, len(cands), resumed))
        return snap, ReadStats(self.mc.batches, self.mc.halvings, self.mc.batch_size, self.mc.growths,
                               self.log_requests, self.log_halvings)

    def _tick(self, total: int) -> Any:
        done = [0]
        prog = self.ctx.progress
        if prog is None:
            return None

        def f(n: int) -> None:
            done[0] += n
            prog(done[0], total)
        return f

    # ---- the position-event scan ---------------------------------------------------------------
    def _scan(self) -> tuple[dict[str, M.KeyState], int, int | None]:
        ctx, dep = self.ctx, self.dep
        start, state, events, resumed = dep.deploy_block, {}, 0, None
        path = _cache_file(ctx.chain.chain_id, dep.vault, dep.deploy_block) if self.use_cache else None
        if path is not None and path.is_file():
            try:
                cp = json.loads(path.read_text())
                ok = (cp.get("version") == CACHE_VERSION and cp["to_block"] <= ctx.block.number
                      and canonical(ctx.client, cp["to_block"], cp["to_hash"]))
            except (OSError, ValueError, KeyError, TypeError):
                ok = False
            if ok:
                state = {k: M.KeyState.from_json(v) for k, v in cp["keys"].items()}
                events, resumed = int(cp["events"]), int(cp["to_block"])
                start = resumed + 1
        chunks = [0]
        evcount = [events]

        def on_chunk(logs: list[dict[str, Any]], to: int) -> None:
            evs = [M.decode_event(lg) for lg in logs]
            M.fold(state, evs)
            evcount[0] += len(evs)
            chunks[0] += 1
            if path is not None and chunks[0] % CHECKPOINT_EVERY == 0 and to < ctx.block.number:
                blk = ctx.client.get_block(to)
                if blk:
                    self._save(path, state, evcount[0], to, str(blk["hash"]))

        if start <= ctx.block.number:
            st = scan_logs(ctx.client, dep.vault, M.topics(), start, ctx.block.number, span=dep.log_span,
                           pinned=ctx.block, on_chunk=on_chunk)
            self.log_requests, self.log_halvings = st.requests, st.halvings
        if path is not None:
            self._save(path, state, evcount[0], ctx.block.number, ctx.block.hash)
        return state, evcount[0], resumed

    @staticmethod
    def _save(path: Path, state: dict[str, M.KeyState], events: int, to: int, to_hash: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "to_block": to, "to_hash": to_hash.lower(),
                                       "events": events, "keys": {k: v.to_json() for k, v in state.items()}}))
            tmp.replace(path)
        except OSError:
            pass   # the checkpoint only saves time; a read-only home is not an error
