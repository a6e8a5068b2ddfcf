"""gTrade (Gains Network v8+) as a plug-in: the registry's entry point (``protocols/registry.py``).

Shared rows (``snapshot_market`` / ``snapshot_position``): one market per pair (``BTC/USD``, index
token = the pair's base symbol: gTrade pairs are synthetic, no token contract), one position per
open trade (key ``<trader lowercase>:<index>``, collateral token, side, ``size_in_usd`` = the
position size in USD at the block's collateral price in gTrade's USD-normalized 1e18 scale
(``getUsdNormalizedValue``), ``size_in_tokens`` = ``positionSizeToken`` (1e18, None when 0),
``collateral_amount`` (collateral decimals), ``collateral_usd`` (1e18), ``entry_price`` = open price
(1e10)); tokens = the collaterals, prices = their USD prices (``getCollateralPriceUsd``, 1e8, stored
as ``price_min == price_max``). Everything else lives in the ``gtrade_*`` tables (tables.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from defi_perps.domain import SnapshotMeta
from defi_perps.protocols.base import (DevnetContext, DevnetPart, ProtocolPlugin, ReadContext, ReadStats,
                                       SharedMarket, SharedPosition, SharedRecords)
from defi_perps.protocols.gtrade.deployment import GTradeDeployment


class GTradePlugin(ProtocolPlugin):
    name: ClassVar[str] = "gtrade"
    key: ClassVar[str] = "gtrade"
    title: ClassVar[str] = "gTrade"
    deployment_model = GTradeDeployment
    tables_module: ClassVar[str | None] = "defi_perps.protocols.gtrade.tables"
    root_field: ClassVar[str] = "diamond"
    devnet_contracts: ClassVar[tuple[str, ...]] = ("GTokenVault", "GTradeDiamond")   # contracts/src/gtrade/
    price_file_help: ClassVar[str | None] = None
    devnet_account: ClassVar[int | None] = 4
    usd_decimals: ClassVar[int] = 18       # USD-normalized 1e18 (getUsdNormalizedValue)
    summary_code: ClassVar[tuple[str, ...]] = ("defi_perps.protocols.gtrade.plugin", "defi_perps.protocols.gtrade.summary",
                                               "defi_perps.protocols.gtrade.math", "defi_perps.protocols.gtrade.book")

    def read(self, ctx: ReadContext) -> tuple[Any, ReadStats]:
        from defi_perps.protocols.gtrade.reader import GTradeReader

        reader = GTradeReader(ctx.client, ctx.chain, ctx.block, ctx.batch_size, ctx.parallel, ctx.deployment)
        snap = reader.read(ctx.progress)
        ctx.warnings.extend(reader.warnings)
        mc = reader.mc
        return snap, ReadStats(mc.batches, mc.halvings, mc.batch_size, mc.growths)

    # -- store ------------------------------------------------------------------------------------
    def shared(self, snap: Any) -> SharedRecords:
        from defi_perps.domain import OraclePrice, Token

        colls = {c.index: c for c in snap.collaterals}
        pairs = {p.index: p for p in snap.pairs}
        markets = tuple(SharedMarket(p.name, p.base) for p in snap.pairs)
        positions = []
        for t in snap.trades:
            c = colls[t.collateral_index]
            size = t.collateral_amount * t.leverage // 1000
            positions.append(SharedPosition(
                key=t.key, account=t.trader, market=pairs[t.pair_index].name, collateral_token=c.token, is_long=t.long,
                size_in_usd=size * c.precision_delta * c.price_usd // 10**8,
                size_in_tokens=t.position_size_token or None, collateral_amount=t.collateral_amount,
                collateral_usd=t.collateral_amount * c.precision_delta * c.price_usd // 10**8,
                entry_price=t.open_price))
        tokens = tuple(Token(c.token, c.symbol, c.decimals) for c in snap.collaterals)
        prices = tuple(OraclePrice(c.token, c.price_usd, c.price_usd, "diamond") for c in snap.collaterals)
        return SharedRecords(tokens=tokens, prices=prices, markets=markets, positions=tuple(positions))

    def own_rows(self, snap: Any) -> dict[str, list[dict[str, Any]]]:
        import json

        from defi_perps.protocols.gtrade.tables import to_row

        return {
            "gtrade_meta": [{"contracts_version": snap.contracts_version, "pending_orders": snap.pending_orders,
                             "warnings": json.dumps(list(snap.warnings))}],
            "gtrade_collateral": [to_row(c) for c in snap.collaterals],
            "gtrade_vault": [to_row(v) for v in snap.vaults],
            "gtrade_group": [to_row(g) for g in snap.groups],
            "gtrade_fee": [to_row(f) for f in snap.fees],
            "gtrade_pair": [to_row(p) for p in snap.pairs],
            "gtrade_pair_collateral": [to_row(pc) for pc in snap.pair_collaterals],
            "gtrade_trade": [to_row(t) for t in snap.trades],
        }

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords, own: dict[str, list[dict[str, Any]]]) -> Any:
        import json

        from defi_perps.exceptions import StoreError
        from defi_perps.protocols.gtrade import records as R
        from defi_perps.protocols.gtrade.tables import from_row

        head = own.get("gtrade_meta", [])
        if len(head) != 1:
            raise StoreError(f"snapshot {meta.id}: {len(head)} gtrade_meta rows (expected 1)")
        trades = tuple(from_row(R.Trade, r) for r in own.get("gtrade_trade", []))
        if [t.key for t in trades] != [p.key for p in shared.positions]:
            raise StoreError(f"snapshot {meta.id}: the gtrade_trade rows do not match the shared positions")
        return R.GTradeSnapshot(
            meta=meta, contracts_version=int(head[0]["contracts_version"]),
            collaterals=tuple(from_row(R.Collateral, r) for r in own.get("gtrade_collateral", [])),
            vaults=tuple(from_row(R.Vault, r) for r in own.get("gtrade_vault", [])),
            groups=tuple(from_row(R.Group, r) for r in own.get("gtrade_group", [])),
            fees=tuple(from_row(R.FeeGroup, r) for r in own.get("gtrade_fee", [])),
            markets=tuple(from_row(R.Pair, r) for r in own.get("gtrade_pair", [])),
            pair_collaterals=tuple(from_row(R.PairCollateral, r) for r in own.get("gtrade_pair_collateral", [])),
            positions=trades, pending_orders=int(head[0]["pending_orders"]),
            warnings=tuple(json.loads(head[0]["warnings"])))

    # -- book and summary ---------------------------------------------------------------------------
    def to_book(self, snap: Any) -> Any:
        from defi_perps.protocols.gtrade.book import from_snapshot

        return from_snapshot(snap)

    def summarize(self, snap: Any) -> dict[str, Any]:
        from defi_perps.protocols.gtrade.summary import summarize

        return summarize(snap)

    def render(self, summary: dict[str, Any]) -> None:
        from defi_perps.protocols.gtrade.cli import render

        render(summary)

    # -- devnet ---------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        from defi_perps.protocols.gtrade.devnet import book_json, deploy_and_seed

        n = min(max(ctx.positions // 10, 60), 3000)   # a gTrade book a tenth the size of the GMX one
        dep = deploy_and_seed(ctx.w3, n, seed=ctx.seed, progress=ctx.progress, deployer=ctx.deployer)
        return DevnetPart(section={"diamond": dep.diamond, "deploy_block": dep.deploy_block},
                          addresses=dep.addresses(), book=book_json(dep), positions=len(dep.trades))

    # -- snapshots diff / series ----------------------------------------------------------------------
    def market_prices_usd(self, snap: Any) -> Any:
        """The pair's reference price at the block, 1e10 (gTrade's price precision); USD-quoted pairs only
        (another quote is not a USD price)."""
        from fractions import Fraction

        return {p.name: Fraction(p.price, 10**10) for p in snap.pairs if p.price is not None and p.quote == "USD"}


PLUGIN = GTradePlugin()
