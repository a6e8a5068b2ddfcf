"""GMX v2 as a plug-in: the registry's entry point (``protocols/registry.py``).

The records are ``defi_perps.domain``'s GMX v2 records (``Snapshot``, ``Market``, ``Position``, …);
shared rows carry market, tokens, side, size in USD and tokens, collateral amount and the implicit
entry price ``floor(sizeInUsd / sizeInTokens)`` (per-unit, 30 − index decimals); the rest goes to
``protocols/gmx_v2/tables.py``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

from defi_perps.domain import AccountFees, GlobalParams, Market, OpenInterest, Position, Snapshot, SnapshotMeta
from defi_perps.protocols.base import (DevnetContext, DevnetPart, ProtocolPlugin, ReadContext, ReadStats,
                                       SharedMarket, SharedPosition, SharedRecords)
from defi_perps.protocols.gmx_v2.deployment import GmxV2Deployment

_SHARED_MARKET = ("market_token", "index_token", "long_token", "short_token")
_MARKET_OWN = tuple(f.name for f in fields(Market) if f.name not in ("index_token", "long_token", "short_token",
                                                                     "open_interest"))
_SHARED_POSITION = ("key", "account", "market", "collateral_token", "is_long", "size_in_usd", "size_in_tokens",
                    "collateral_amount")
_POSITION_OWN = ("key",) + tuple(f.name for f in fields(Position) if f.name not in _SHARED_POSITION)


# ``series`` metrics from the exact summary (indexer/summary.py): metric -> (summary field, side-keyed
# sub-field, unit). liq_<q>pct_<side>: the price move that liquidates q % of the side's OI (negative for
# longs), from summary.liquidation_move_<side>.
_SERIES: dict[str, tuple[str, str | None, str]] = {
    "price": ("price_usd", None, "USD per token"),
    "pool_value": ("pool_value_usd", None, "USD"),
    "oi_long": ("oi_long_usd", None, "USD"),
    "oi_short": ("oi_short_usd", None, "USD"),
    "pnl_to_pool_long": ("pnl_to_pool_long", None, "ratio"),
    "pnl_to_pool_short": ("pnl_to_pool_short", None, "ratio"),
    "adl_threshold_long": ("adl_threshold_long", None, "ratio"),
    "adl_threshold_short": ("adl_threshold_short", None, "ratio"),
    "liquidatable_now_long": ("liquidatable_now_long", None, "fraction of OI"),
    "liquidatable_now_short": ("liquidatable_now_short", None, "fraction of OI"),
    "positions_long": ("positions_long", None, "count"),
    "positions_short": ("positions_short", None, "count"),
    **{f"liq_{q}pct_{side}": (f"liquidation_move_{side}", f"{q}%", "price move (fraction)")
       for q in ("1", "10", "50") for side in ("long", "short")},
}


class GmxV2Plugin(ProtocolPlugin):
    name: ClassVar[str] = "gmx-v2"
    key: ClassVar[str] = "gmx_v2"
    title: ClassVar[str] = "GMX v2"
    deployment_model = GmxV2Deployment
    tables_module: ClassVar[str | None] = "defi_perps.protocols.gmx_v2.tables"
    root_field: ClassVar[str] = "data_store"
    devnet_contracts: ClassVar[tuple[str, ...]] = ("DataStore", "Reader", "ReaderV21", "ReferralStorage",
                                                  "Seeder")   # contracts/src/gmx_v2/
    price_file_help: ClassVar[str | None] = "JSON price file overriding the Chainlink feeds (protocols/gmx_v2/mappers.py)"
    summary_code: ClassVar[tuple[str, ...]] = ("defi_perps.indexer.summary", "defi_perps.protocols.gmx_v2.math",
                                               "defi_perps.domain")
    series_metrics: ClassVar[dict[str, tuple[str, str | None, str]]] = _SERIES
    series_defaults: ClassVar[tuple[str, ...]] = ("oi_long", "oi_short", "pnl_to_pool_long", "pnl_to_pool_short",
                                                  "pool_value", "liq_10pct_long", "liq_10pct_short")

    def load_prices(self, path: str) -> Any:
        from defi_perps.protocols.gmx_v2.mappers import load_price_file

        return load_price_file(path)

    def read(self, ctx: ReadContext) -> tuple[Snapshot, ReadStats]:
        from defi_perps.protocols.gmx_v2.reader import GmxV2Reader

        reader = GmxV2Reader(ctx.client, ctx.chain, ctx.block, ctx.batch_size, ctx.prices,
                             price_source=ctx.price_source, parallel=ctx.parallel)
        snap = reader.read(ctx.progress)
        ctx.warnings.extend(reader.warnings)
        st = reader.stats()
        return snap, ReadStats(st.batches, st.halvings, st.final_batch_size, st.growths)

    # -- store ------------------------------------------------------------------------------------
    def shared(self, snap: Snapshot) -> SharedRecords:
        markets = tuple(SharedMarket(m.market_token, m.index_token, m.long_token, m.short_token) for m in snap.markets)
        positions = tuple(SharedPosition(p.key, p.account, p.market, p.collateral_token, p.is_long, p.size_in_usd,
                                         p.size_in_tokens, p.collateral_amount, None,
                                         p.size_in_usd // p.size_in_tokens if p.size_in_tokens > 0 else None)
                          for p in snap.positions)
        return SharedRecords(tokens=snap.tokens, prices=snap.prices, markets=markets, positions=positions)

    def own_rows(self, snap: Snapshot) -> dict[str, list[dict[str, Any]]]:
        g = snap.globals
        return {
            "gmx_v2_market": [{n: getattr(m, n) for n in _MARKET_OWN} for m in snap.markets],
            "gmx_v2_open_interest": [_plain(o) for m in snap.markets for o in m.open_interest],
            "gmx_v2_position": [{n: getattr(p, n) for n in _POSITION_OWN} for p in snap.positions],
            "gmx_v2_account": [_plain(a) for a in snap.accounts],
            "gmx_v2_globals": [] if g is None else [_plain(g)],
        }

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords,
                  own: dict[str, list[dict[str, Any]]]) -> Snapshot:
        from defi_perps.exceptions import StoreError

        ois: dict[str, list[OpenInterest]] = {}
        for r in own.get("gmx_v2_open_interest", []):
            # rows written before the v2.2 funding columns existed (migration 0003) read as 0
            r = {**r, "funding_fee_amount_per_size": r.get("funding_fee_amount_per_size") or 0,
                 "claimable_funding_amount_per_size": r.get("claimable_funding_amount_per_size") or 0}
            ois.setdefault(r["market"], []).append(OpenInterest(**{f.name: r[f.name] for f in fields(OpenInterest)}))
        own_market = {r["market_token"]: r for r in own.get("gmx_v2_market", [])}
        markets = []
        for sm in shared.markets:
            mrow = own_market.get(sm.market)
            if mrow is None:
                raise StoreError(f"snapshot {meta.id}: GMX v2 market {sm.market} has no gmx_v2_market row")
            kw = {n: mrow[n] for n in _MARKET_OWN}
            markets.append(Market(**kw, index_token=sm.index_token, long_token=sm.long_token or "",
                                  short_token=sm.short_token or "", open_interest=tuple(ois.get(sm.market, ()))))
        # positional, in Position's field order (shared fields, then _POSITION_OWN): 20,000 rows load fast
        rest = _POSITION_OWN[1:]
        own_pos = {r["key"]: [r[n] for n in rest] for r in own.get("gmx_v2_position", [])}
        positions = []
        for sp in shared.positions:
            vals = own_pos.get(sp.key)
            if vals is None:
                raise StoreError(f"snapshot {meta.id}: GMX v2 position {sp.key} has no gmx_v2_position row")
            positions.append(Position(sp.key, sp.account, sp.market, sp.collateral_token or "", sp.is_long,
                                      sp.size_in_usd, sp.size_in_tokens or 0, sp.collateral_amount or 0, *vals))
        glob = None
        for g in own.get("gmx_v2_globals", [])[:1]:
            glob = GlobalParams(g["min_collateral_usd"], g["min_position_size_usd"] or 0,
                                g["liquidation_fee_receiver_factor"] or 0, g["borrowing_fee_receiver_factor"] or 0,
                                bool(g["use_open_interest_in_tokens_for_balance"]),
                                bool(g["skip_borrowing_fee_for_smaller_side"]))
        accounts = tuple(AccountFees(**{f.name: r[f.name] for f in fields(AccountFees)})
                         for r in own.get("gmx_v2_account", []))
        return Snapshot(meta=meta, tokens=shared.tokens, prices=shared.prices, markets=tuple(markets),
                        positions=tuple(positions), globals=glob, accounts=accounts)

    # -- book and summary ---------------------------------------------------------------------------
    def to_book(self, snap: Snapshot) -> Any:
        from defi_perps.book.snapshot import gmx_v2_book

        return gmx_v2_book(snap)

    def summarize(self, snap: Snapshot) -> dict[str, Any]:
        from defi_perps.indexer.summary import summarize

        return summarize(snap)

    def render(self, summary: dict[str, Any]) -> None:
        from defi_perps.indexer.summary import render

        render(summary)

    # -- devnet ---------------------------------------------------------------------------------------
    def devnet_deploy(self, ctx: DevnetContext) -> DevnetPart | None:
        # The GMX v2 devnet is the devnet's base (defi_perps/devnet/handle.py deploys it first, from
        # anvil's account 0, so its addresses match chains/devnet.toml); nothing more to do here.
        return None

    # -- snapshots diff / series ----------------------------------------------------------------------
    def market_prices_usd(self, snap: Snapshot) -> Any:
        from defi_perps.protocols.gmx_v2.diff import prices_usd

        return prices_usd(snap)

    def diff_markets(self, a: Snapshot, b: Snapshot) -> Any:
        from defi_perps.protocols.gmx_v2.diff import diff_markets

        return diff_markets(a, b)


def _plain(rec: Any) -> dict[str, Any]:
    return {f.name: getattr(rec, f.name) for f in fields(rec)}


PLUGIN = GmxV2Plugin()
