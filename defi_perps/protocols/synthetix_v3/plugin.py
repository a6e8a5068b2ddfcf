"""Synthetix perps v3 (PerpsMarketProxy + account NFT) as a plug-in.

Shared rows: one market per perps market (``market`` = the market id as text, ``index_token`` = its
symbol), the index price per market (``OraclePrice(token=symbol, price_min = price_max = indexPrice)``,
D18 USD), one position per (account, market) with ``key`` = ``<accountId>:<marketId>``,
``account`` = the account id (an ERC-721 token id, as text), ``size_in_usd`` = ``|size|·indexPrice``
(D18 USD, the notional at the snapshot's price: Synthetix keeps no entry notional readable by a
view), ``size_in_tokens`` = ``|size|`` (D18 asset units), no per-position collateral (accounts are
cross-margined; collateral is per account in ``synthetix_v3_collateral``), ``entry_price`` None
(not exposed by any view; book.py derives an effective one from the PnL).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

from defi_perps.domain import OraclePrice, SnapshotMeta
from defi_perps.protocols.base import (DevnetContext, DevnetPart, ProtocolPlugin, ReadContext, ReadStats,
                                       SharedMarket, SharedPosition, SharedRecords)
from defi_perps.protocols.synthetix_v3.deployment import SynthetixV3Deployment


def _plain(rec: Any) -> dict[str, Any]:
    return {f.name: getattr(rec, f.name) for f in fields(rec)}


def _ids(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(",") if x)


class SynthetixV3Plugin(ProtocolPlugin):
    name: ClassVar[str] = "synthetix-v3"
    key: ClassVar[str] = "synthetix_v3"
    title: ClassVar[str] = "Synthetix perps v3"
    deployment_model = SynthetixV3Deployment
    tables_module: ClassVar[str | None] = "defi_perps.protocols.synthetix_v3.tables"
    root_field: ClassVar[str] = "perps_market_proxy"
    devnet_contracts: ClassVar[tuple[str, ...]] = ("DevPerpsAccountNft", "DevPerpsMarketProxy")   # contracts/src/synthetix_v3/
    price_file_help: ClassVar[str | None] = None
    default_price_source: ClassVar[str] = "pyth"   # indexPrice: the markets' Pyth-fed oracle nodes
    devnet_account: ClassVar[int | None] = 3
    usd_decimals: ClassVar[int] = 18       # size_in_usd = |size|·indexPrice, D18
    summary_code: ClassVar[tuple[str, ...]] = ("defi_perps.protocols.synthetix_v3.plugin",
                                               "defi_perps.protocols.synthetix_v3.summary",
                                               "defi_perps.protocols.synthetix_v3.math")

    def read(self, ctx: ReadContext) -> tuple[Any, ReadStats]:
        from dataclasses import replace

        from defi_perps.protocols.synthetix_v3.reader import SynthetixV3Reader

        r = SynthetixV3Reader(ctx.client, ctx.chain, ctx.block, ctx.batch_size, ctx.parallel, dep=ctx.deployment)
        snap = r.read(ctx.progress)
        snap = replace(snap, meta=replace(snap.meta, price_source=ctx.price_source))
        ctx.warnings.extend(r.warnings)
        return snap, ReadStats(r.mc.batches, r.mc.halvings, r.mc.batch_size, r.mc.growths)

    # -- store ------------------------------------------------------------------------------------
    def shared(self, snap: Any) -> SharedRecords:
        from defi_perps.protocols.synthetix_v3.math import mul_dec

        sym = {m.market_id: m.symbol for m in snap.markets}
        px = {m.market_id: m.index_price for m in snap.markets}
        markets = tuple(SharedMarket(str(m.market_id), m.symbol) for m in snap.markets)
        prices = tuple(OraclePrice(token=m.symbol, price_min=m.index_price, price_max=m.index_price, source="pyth")
                       for m in snap.markets)
        positions = tuple(SharedPosition(key=f"{p.account_id}:{p.market_id}", account=str(p.account_id),
                                         market=str(p.market_id), collateral_token=None, is_long=p.size > 0,
                                         size_in_usd=mul_dec(abs(p.size), px[p.market_id]),
                                         size_in_tokens=abs(p.size), collateral_amount=None)
                          for p in snap.positions if p.market_id in sym)
        return SharedRecords(tokens=(), prices=prices, markets=markets, positions=positions)

    def own_rows(self, snap: Any) -> dict[str, list[dict[str, Any]]]:
        g = _plain(snap.globals)
        g["supported_collaterals"] = ",".join(str(x) for x in snap.globals.supported_collaterals)
        g["flagged_accounts"] = ",".join(str(x) for x in snap.globals.flagged_accounts)
        return {"synthetix_v3_globals": [g],
                "synthetix_v3_market": [_plain(m) for m in snap.markets],
                "synthetix_v3_account": [_plain(a) for a in snap.accounts],
                "synthetix_v3_position": [{"key": f"{p.account_id}:{p.market_id}", **_plain(p)} for p in snap.positions],
                "synthetix_v3_collateral": [_plain(c) for c in snap.collaterals]}

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords, own: dict[str, list[dict[str, Any]]]) -> Any:
        from defi_perps.exceptions import StoreError
        from defi_perps.protocols.synthetix_v3.records import (SnxAccount, SnxCollateral, SnxGlobals, SnxMarket,
                                                               SnxPosition, SynthetixSnapshot)

        def rec(cls: Any, row: dict[str, Any]) -> Any:
            return cls(**{f.name: row[f.name] for f in fields(cls)})

        gl = own.get("synthetix_v3_globals") or []
        if not gl:
            raise StoreError(f"snapshot {meta.id}: Synthetix v3 snapshot without its synthetix_v3_globals row")
        g = dict(gl[0])
        g["supported_collaterals"] = _ids(g["supported_collaterals"])
        g["flagged_accounts"] = _ids(g["flagged_accounts"])
        markets = {r["market_id"]: rec(SnxMarket, r) for r in own.get("synthetix_v3_market", [])}
        for sm in shared.markets:
            if int(sm.market) not in markets:
                raise StoreError(f"snapshot {meta.id}: Synthetix v3 market {sm.market} has no synthetix_v3_market row")
        own_pos = {r["key"]: r for r in own.get("synthetix_v3_position", [])}
        positions = []
        for sp in shared.positions:
            r = own_pos.get(sp.key)
            if r is None:
                raise StoreError(f"snapshot {meta.id}: Synthetix v3 position {sp.key} has no synthetix_v3_position row")
            positions.append(rec(SnxPosition, r))
        return SynthetixSnapshot(meta=meta, globals=rec(SnxGlobals, g),
                                 markets=tuple(markets[int(m.market)] for m in shared.markets),
                                 accounts=tuple(rec(SnxAccount, r) for r in own.get("synthetix_v3_account", [])),
                                 positions=tuple(positions),
                                 collaterals=tuple(rec(SnxCollateral, r) for r in own.get("synthetix_v3_collateral", [])))

    # -- book and summary ---------------------------------------------------------------------------
    def to_book(self, snap: Any) -> Any:
        from defi_perps.protocols.synthetix_v3.book import to_book

        return to_book(snap)

    def summarize(self, snap: Any) -> dict[str, Any]:
        from defi_perps.protocols.synthetix_v3.summary import summarize

        return summarize(snap)

    # -- devnet ---------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        from defi_perps.protocols.synthetix_v3 import devnet as D

        n = max(4, min(400, ctx.positions // 10))
        s = D.seed(ctx.w3, ctx.deployer, accounts=n, seed=ctx.seed)
        book = {"block_number": s.block_number, "accounts": len(s.accounts),
                "positions": sum(len(a.positions) for a in s.accounts)}
        return DevnetPart(section=s.section, addresses={"perps_market_proxy": s.proxy, "account_nft": s.account_nft},
                          book=book, positions=book["positions"])

    # -- snapshots diff / series ----------------------------------------------------------------------
    def market_prices_usd(self, snap: Any) -> Any:
        """indexPrice per market, D18 USD (PerpsMarketModule.indexPrice)."""
        from fractions import Fraction

        return {str(m.market_id): Fraction(m.index_price, 10**18) for m in snap.markets}


PLUGIN = SynthetixV3Plugin()
