"""GMX v1 as a plug-in (registry entry ``gmx-v1``).

Shared rows: one market per index token (long collateral = the index token; shorts use any stable,
so ``short_token`` is None); per position size (1e30 USD), collateral as USD (``collateral_usd``; GMX
v1 keeps no token amount), entry = ``averagePrice`` (1e30 per whole token), ``size_in_tokens`` None.
Own rows: ``protocols/gmx_v1/tables.py``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

from defi_perps.domain import SnapshotMeta
from defi_perps.protocols.base import (DevnetContext, DevnetPart, ProtocolPlugin, ReadContext, ReadStats,
                                       SharedMarket, SharedPosition, SharedRecords)
from defi_perps.protocols.gmx_v1.deployment import GmxV1Deployment
from defi_perps.protocols.gmx_v1.records import GmxV1Snapshot, Position, ScanInfo, VaultParams, VaultToken

_POS_OWN = ("key", "index_token", "entry_funding_rate", "reserve_amount", "realised_pnl", "last_increased_time")


class GmxV1Plugin(ProtocolPlugin):
    name: ClassVar[str] = "gmx-v1"
    key: ClassVar[str] = "gmx_v1"
    title: ClassVar[str] = "GMX v1"
    deployment_model = GmxV1Deployment
    tables_module: ClassVar[str | None] = "defi_perps.protocols.gmx_v1.tables"
    root_field: ClassVar[str] = "vault"
    devnet_contracts: ClassVar[tuple[str, ...]] = ("GmxV1GlpManager", "GmxV1Vault")   # contracts/src/gmx_v1/
    default_price_source: ClassVar[str] = "vault"     # Vault.getMinPrice/getMaxPrice (VaultPriceFeed)
    devnet_account: ClassVar[int | None] = 1
    summary_code: ClassVar[tuple[str, ...]] = ("defi_perps.protocols.gmx_v1.summary", "defi_perps.protocols.gmx_v1.book",
                                               "defi_perps.protocols.gmx_v1.math", "defi_perps.protocols.gmx_v1.records")

    def read(self, ctx: ReadContext) -> tuple[GmxV1Snapshot, ReadStats]:
        from defi_perps.protocols.gmx_v1.reader import GmxV1Reader

        return GmxV1Reader(ctx).read()

    # -- store ------------------------------------------------------------------------------------
    def shared(self, snap: GmxV1Snapshot) -> SharedRecords:
        markets = tuple(SharedMarket(m, m, m, None) for m in snap.markets)
        positions = tuple(SharedPosition(p.key, p.account, p.index_token, p.collateral_token, p.is_long, p.size,
                                         None, None, p.collateral, p.average_price) for p in snap.positions)
        return SharedRecords(snap.tokens, snap.prices, markets, positions)

    def own_rows(self, snap: GmxV1Snapshot) -> dict[str, list[dict[str, Any]]]:
        g = {f.name: getattr(snap.params, f.name) for f in fields(VaultParams)}
        s = snap.scan
        g.update(scan_from_block=s.from_block if s else None, scan_to_block=s.to_block if s else None,
                 scan_events=s.events if s else None, scan_candidates=s.candidates if s else None,
                 scan_resumed_from=s.resumed_from if s else None)
        return {
            "gmx_v1_token": [{f.name: getattr(v, f.name) for f in fields(VaultToken)} for v in snap.vault_tokens],
            "gmx_v1_position": [{n: getattr(p, n) for n in _POS_OWN} for p in snap.positions],
            "gmx_v1_globals": [g],
        }

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords,
                  own: dict[str, list[dict[str, Any]]]) -> GmxV1Snapshot:
        from defi_perps.exceptions import StoreError

        vts = tuple(VaultToken(**{f.name: r[f.name] for f in fields(VaultToken)}) for r in own.get("gmx_v1_token", []))
        globs = own.get("gmx_v1_globals", [])
        if not globs:
            raise StoreError(f"snapshot {meta.id}: GMX v1 snapshot has no gmx_v1_globals row")
        g = globs[0]
        params = VaultParams(**{f.name: g[f.name] for f in fields(VaultParams)})
        scan = None if g.get("scan_from_block") is None else ScanInfo(
            g["scan_from_block"], g["scan_to_block"], g["scan_events"], g["scan_candidates"], g["scan_resumed_from"])
        own_pos = {r["key"]: r for r in own.get("gmx_v1_position", [])}
        positions = []
        for sp in shared.positions:
            r = own_pos.get(sp.key)
            if r is None:
                raise StoreError(f"snapshot {meta.id}: GMX v1 position {sp.key} has no gmx_v1_position row")
            positions.append(Position(sp.key, sp.account, sp.collateral_token or "", r["index_token"], sp.is_long,
                                      sp.size_in_usd, sp.collateral_usd or 0, sp.entry_price or 0,
                                      r["entry_funding_rate"], r["reserve_amount"], r["realised_pnl"],
                                      r["last_increased_time"]))
        return GmxV1Snapshot(meta, shared.tokens, shared.prices, vts, params, tuple(positions), scan)

    # -- book and summary ---------------------------------------------------------------------------
    def to_book(self, snap: GmxV1Snapshot) -> Any:
        from defi_perps.protocols.gmx_v1.book import to_book

        return to_book(snap)

    def summarize(self, snap: GmxV1Snapshot) -> dict[str, Any]:
        from defi_perps.protocols.gmx_v1.summary import summarize

        return summarize(snap)

    def render(self, summary: dict[str, Any]) -> None:
        from defi_perps.protocols.gmx_v1.summary import render

        render(summary)

    # -- devnet ---------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        from defi_perps.protocols.gmx_v1.devnet import deploy_and_seed

        return deploy_and_seed(ctx)

    # -- snapshots diff / series ----------------------------------------------------------------------
    def market_prices_usd(self, snap: GmxV1Snapshot) -> Any:
        """Mid of Vault.getMinPrice/getMaxPrice: 1e30 USD per whole token (Vault.sol PRICE_PRECISION)."""
        from fractions import Fraction

        px = {p.token.lower(): p for p in snap.prices}
        return {m: Fraction(px[m.lower()].price_min + px[m.lower()].price_max, 2 * 10**30)
                for m in snap.markets if m.lower() in px}


PLUGIN = GmxV1Plugin()
