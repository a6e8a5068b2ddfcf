"""Hyperliquid (HyperCore read through the HyperEVM read precompiles) as a plug-in.

Shared rows: one market per perp (``market`` = the perp index as text, ``index_token`` = its coin),
the oracle price per perp (``OraclePrice(token=coin, price_min = price_max = oraclePx)``, raw perp
price units: 6 − szDecimals decimals), one position per (account, perp) with ``key`` =
``<account>:<perp>``, ``size_in_usd`` = ``entryNtl`` (USDC, 6 decimals: the entry notional, as GMX's
``sizeInUsd`` is), ``size_in_tokens`` = ``|szi|`` (szDecimals), ``collateral_usd`` = an isolated
position's margin at entry (``isolatedRawUsd + side · entryNtl``; None for cross positions, whose
collateral is the account's), ``entry_price`` = ``floor(entryNtl / |szi|)`` (raw price units).
The rest (HyperCore's own fields, margin summaries, spot balances, vault equity) is in tables.py.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

from defi_perps.domain import OraclePrice, SnapshotMeta
from defi_perps.protocols.base import (DevnetContext, DevnetPart, ProtocolPlugin, ReadContext, ReadStats,
                                       SharedMarket, SharedPosition, SharedRecords)
from defi_perps.protocols.hyperliquid.deployment import HyperliquidDeployment


def _plain(rec: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {f.name: getattr(rec, f.name) for f in fields(rec) if f.name not in skip}


def position_key(account: str, perp: int) -> str:
    return f"{account}:{perp}"


class HyperliquidPlugin(ProtocolPlugin):
    name: ClassVar[str] = "hyperliquid"
    key: ClassVar[str] = "hyperliquid"
    title: ClassVar[str] = "Hyperliquid"
    deployment_model = HyperliquidDeployment
    tables_module: ClassVar[str | None] = "defi_perps.protocols.hyperliquid.tables"
    root_field: ClassVar[str] = "perps"
    devnet_contracts: ClassVar[tuple[str, ...]] = ("HyperCoreReadPrecompile", "HyperCoreState")   # contracts/src/hyperliquid/
    price_file_help: ClassVar[str | None] = None
    default_price_source: ClassVar[str] = "precompile"   # oraclePx / markPx read precompiles (0x…0807/0x…0806)
    devnet_account: ClassVar[int | None] = 2
    accounts_help: ClassVar[str | None] = ("accounts to read (one 0x address per line, or CSV with an account column): "
                                           "HyperCore has no on-chain list of its users; replaces the chain file's list")
    accounts_required: ClassVar[bool] = True
    usd_decimals: ClassVar[int] = 6        # entryNtl and margins: USDC with 6 decimals (records.USDC_DECIMALS)
    summary_code: ClassVar[tuple[str, ...]] = ("defi_perps.protocols.hyperliquid.plugin",
                                               "defi_perps.protocols.hyperliquid.summary",
                                               "defi_perps.protocols.hyperliquid.math")

    def root(self, dep: HyperliquidDeployment) -> str:
        """The precompile range plus the accounts' digest (accounts.snapshot_root): the account list is
        part of what was read, so it is part of the snapshot's identity."""
        from defi_perps.protocols.hyperliquid.accounts import snapshot_root

        return snapshot_root(dep.account_list())

    def read(self, ctx: ReadContext) -> tuple[Any, ReadStats]:
        from defi_perps.protocols.hyperliquid.reader import HyperliquidReader

        dep: HyperliquidDeployment = ctx.deployment
        reader = HyperliquidReader(ctx.client, ctx.chain, ctx.block, dep.account_list(), ctx.batch_size,
                                   ctx.parallel, dep=dep)
        snap = reader.read(ctx.progress, price_source=ctx.price_source)
        ctx.warnings.extend(reader.stats.warnings)
        mc = reader.mc
        return snap, ReadStats(reader.stats.batches, reader.stats.halvings, mc.batch_size if mc else 0,
                               mc.growths if mc else 0)

    # -- store ------------------------------------------------------------------------------------
    def shared(self, snap: Any) -> SharedRecords:
        from defi_perps.protocols.hyperliquid import math as hm

        markets = tuple(SharedMarket(str(p.perp), p.coin) for p in snap.perps)
        prices = tuple(OraclePrice(token=p.coin, price_min=p.oracle_px, price_max=p.oracle_px, source="hypercore-oracle")
                       for p in snap.perps)
        positions = tuple(
            SharedPosition(key=position_key(p.account, p.perp), account=p.account, market=str(p.perp),
                           collateral_token="USDC", is_long=p.szi > 0, size_in_usd=p.entry_ntl,
                           size_in_tokens=abs(p.szi), collateral_amount=None,
                           collateral_usd=hm.collateral_at_entry(p) if p.is_isolated else None,
                           entry_price=p.entry_ntl // abs(p.szi))
            for p in snap.positions)
        return SharedRecords(tokens=(), prices=prices, markets=markets, positions=positions)

    def own_rows(self, snap: Any) -> dict[str, list[dict[str, Any]]]:
        return {
            "hyperliquid_snapshot": [{"l1_block_number": snap.l1_block_number, "perp_dex": snap.perp_dex,
                                      "accounts_digest": snap.accounts_digest, "accounts_read": len(snap.accounts)}],
            "hyperliquid_perp": [_plain(p) for p in snap.perps],
            "hyperliquid_position": [{"key": position_key(p.account, p.perp), **_plain(p)} for p in snap.positions],
            "hyperliquid_account": [_plain(a) for a in snap.accounts],
            "hyperliquid_spot_balance": [_plain(b) for b in snap.spot_balances],
            "hyperliquid_vault_equity": [_plain(v) for v in snap.vault_equities],
        }

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords, own: dict[str, list[dict[str, Any]]]) -> Any:
        from defi_perps.exceptions import StoreError
        from defi_perps.protocols.hyperliquid.records import (Account, HyperliquidSnapshot, PerpAsset, PerpPosition,
                                                              SpotBalance, VaultEquity)

        head = own.get("hyperliquid_snapshot") or []
        if not head:
            raise StoreError(f"snapshot {meta.id}: Hyperliquid snapshot without its hyperliquid_snapshot row")

        def rec(cls: Any, row: dict[str, Any]) -> Any:
            return cls(**{f.name: row[f.name] for f in fields(cls)})

        perps = {r["perp"]: rec(PerpAsset, r) for r in own.get("hyperliquid_perp", [])}
        for sm in shared.markets:
            if int(sm.market) not in perps:
                raise StoreError(f"snapshot {meta.id}: Hyperliquid perp {sm.market} has no hyperliquid_perp row")
        own_pos = {r["key"]: r for r in own.get("hyperliquid_position", [])}
        positions = []
        for sp in shared.positions:
            r = own_pos.get(sp.key)
            if r is None:
                raise StoreError(f"snapshot {meta.id}: Hyperliquid position {sp.key} has no hyperliquid_position row")
            positions.append(rec(PerpPosition, r))
        h = head[0]
        return HyperliquidSnapshot(
            meta=meta, l1_block_number=h["l1_block_number"], perp_dex=h["perp_dex"],
            accounts_digest=h["accounts_digest"], perps=tuple(perps[int(m.market)] for m in shared.markets),
            positions=tuple(positions), accounts=tuple(rec(Account, r) for r in own.get("hyperliquid_account", [])),
            spot_balances=tuple(rec(SpotBalance, r) for r in own.get("hyperliquid_spot_balance", [])),
            vault_equities=tuple(rec(VaultEquity, r) for r in own.get("hyperliquid_vault_equity", [])))

    # -- book and summary ---------------------------------------------------------------------------
    def to_book(self, snap: Any) -> Any:
        from defi_perps.protocols.hyperliquid.book import to_book

        return to_book(snap)

    def summarize(self, snap: Any) -> dict[str, Any]:
        from defi_perps.protocols.hyperliquid.summary import summarize

        return summarize(snap)

    # -- devnet ---------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        from defi_perps.devnet.fixtures import plain
        from defi_perps.protocols.hyperliquid import devnet as D

        n = max(4, min(400, ctx.positions // 10))
        hl = D.seed(ctx.w3, ctx.state_dir, accounts=n, seed=ctx.seed, sender=ctx.deployer)
        book = {"block_number": hl.block_number, "l1_block_number": hl.l1_block_number, "perps": plain(hl.perps),
                "positions": plain(hl.positions), "accounts": plain(hl.accounts)}
        return DevnetPart(section=hl.section, addresses={"state": D.STATE, "precompiles": "0x…0800–0x…0813",
                                                         "accounts_file": str(hl.accounts_file)},
                          book=book, positions=len(hl.positions))

    # -- accounts file, snapshots diff / series -------------------------------------------------------
    def with_accounts(self, dep: HyperliquidDeployment, accounts: Any) -> HyperliquidDeployment:
        return dep.model_copy(update={"accounts": tuple(accounts), "accounts_file": None})

    def market_prices_usd(self, snap: Any) -> Any:
        """oraclePx per perp: 6 − szDecimals decimals (Hyperliquid docs, "Interacting with HyperCore")."""
        from fractions import Fraction

        return {str(p.perp): Fraction(p.oracle_px, 10 ** (6 - p.sz_decimals)) for p in snap.perps}

    def diff_markets(self, a: Any, b: Any) -> Any:
        """markPx beside the oracle price (the mark triggers liquidations on HyperCore)."""
        from fractions import Fraction

        ma = {str(p.perp): Fraction(p.mark_px, 10 ** (6 - p.sz_decimals)) for p in a.perps}
        mb = {str(p.perp): Fraction(p.mark_px, 10 ** (6 - p.sz_decimals)) for p in b.perps}
        return {k: {"mark_usd": (ma.get(k), mb.get(k), 6)} for k in list(ma) + [k for k in mb if k not in ma]}


PLUGIN = HyperliquidPlugin()
