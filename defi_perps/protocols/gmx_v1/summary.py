"""Per-market summary of a GMX v1 snapshot (``snapshots show``, ``index`` output): exact ints and
Fractions throughout, numbers leave as decimal strings (indexer/summary.py ``dec``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from defi_perps.protocols.gmx_v1.book import check
from defi_perps.protocols.gmx_v1.records import PRICE_PRECISION, GmxV1Snapshot

MOVES = (Fraction(5, 100), Fraction(10, 100), Fraction(20, 100))


def _dec(x: Fraction | int, places: int = 2) -> str:
    from defi_perps.indexer.summary import dec

    return dec(x, places)


def usd(v: int | Fraction) -> str:
    return _dec(Fraction(v) / PRICE_PRECISION, 2)


def summarize(snap: GmxV1Snapshot) -> dict[str, Any]:
    from defi_perps.indexer.summary import price_str

    tokens = {t.address.lower(): t for t in snap.tokens}
    prices = {p.token.lower(): p for p in snap.prices}
    vts = {v.token.lower(): v for v in snap.vault_tokens}
    rows: list[dict[str, Any]] = []
    by_market: dict[str, list[Any]] = {m.lower(): [] for m in snap.markets}
    for one in snap.positions:
        by_market.setdefault(one.index_token.lower(), []).append(one)
    for m in snap.markets:
        vt, pr = vts[m.lower()], prices.get(m.lower())
        pos = by_market.get(m.lower(), [])
        longs = sum(p.size for p in pos if p.is_long)
        shorts = sum(p.size for p in pos if not p.is_long)
        liq_now = 0
        liq_usd = 0
        within = {mv: 0 for mv in MOVES}
        for p in pos:
            if pr is None:
                break
            c, lp = check(snap, p)
            if c.liquidatable:
                liq_now += 1
                liq_usd += p.size
            side_px = pr.price_min if p.is_long else pr.price_max
            if lp is not None and not c.liquidatable:
                move = Fraction(side_px - lp, side_px) if p.is_long else Fraction(lp - side_px, side_px)
                for mv in MOVES:
                    if move <= mv:
                        within[mv] += p.size
        util = Fraction(vt.reserved_amount, vt.pool_amount) if vt.pool_amount else Fraction(0)
        rows.append({
            "market": f"{tokens[m.lower()].symbol}/USD [GLP]" if m.lower() in tokens else m,
            "index_token": m,
            "price_min": price_str(Fraction(pr.price_min, PRICE_PRECISION)) if pr else None,
            "price_max": price_str(Fraction(pr.price_max, PRICE_PRECISION)) if pr else None,
            "positions": len(pos),
            "long_oi_usd": usd(longs),
            "short_oi_usd": usd(shorts),
            "global_short_size_usd": usd(vt.global_short_size),
            "guaranteed_usd": usd(vt.guaranteed_usd),
            "pool_tokens": _dec(Fraction(vt.pool_amount, 10**vt.token_decimals), 4),
            "reserved_tokens": _dec(Fraction(vt.reserved_amount, 10**vt.token_decimals), 4),
            "utilisation": _dec(util, 4),
            "liquidatable_now": liq_now,
            "liquidatable_now_usd": usd(liq_usd),
            **{f"liq_within_{int(mv * 100)}pct_usd": usd(v) for mv, v in within.items()},
        })
    p = snap.params
    stable_usd = sum((Fraction(v.pool_amount * prices[v.token.lower()].price_min, 10**v.token_decimals)
                      for v in snap.vault_tokens if v.is_stable and v.token.lower() in prices), Fraction(0))
    totals: dict[str, Any] = {
        "glp_aum_max_usd": usd(p.aum_max) if p.aum_max is not None else None,
        "glp_aum_min_usd": usd(p.aum_min) if p.aum_min is not None else None,
        "stable_pool_usd": usd(stable_usd),
        "max_leverage": _dec(Fraction(p.max_leverage, 10_000), 2),
        "liquidation_fee_usd": usd(p.liquidation_fee_usd),
        "margin_fee_bps": p.margin_fee_basis_points,
        "private_liquidation_mode": p.in_private_liquidation_mode,
    }
    if snap.scan is not None:
        totals.update(scan_blocks=f"{snap.scan.from_block}..{snap.scan.to_block}", scan_events=snap.scan.events,
                      scan_candidates=snap.scan.candidates)
    meta = snap.meta
    return {"protocol": "gmx_v1", "title": "GMX v1", "snapshot_id": meta.id, "chain_id": meta.chain_id,
            "block_number": meta.block_number, "block_timestamp": meta.block_timestamp, "block_hash": meta.block_hash,
            "price_source": meta.price_source, "positions": len(snap.positions), "totals": totals, "markets": rows}


def render(summary: dict[str, Any]) -> None:
    """Terminal tables: one header block (GLP AUM, Vault parameters), one row per market."""
    from rich.table import Table

    from defi_perps.indexer.summary import console

    con = console()
    t = summary.get("totals") or {}
    con.print(f"GMX v1 snapshot {summary.get('snapshot_id')}: chain {summary['chain_id']}, block "
              f"{summary['block_number']}, {summary['positions']} positions; GLP AUM ${t.get('glp_aum_min_usd')}–"
              f"${t.get('glp_aum_max_usd')}, stables ${t.get('stable_pool_usd')}; max leverage {t.get('max_leverage')}x, "
              f"liquidation fee ${t.get('liquidation_fee_usd')}, margin fee {t.get('margin_fee_bps')} bp")
    tab = Table()
    cols = (("market", "market"), ("price (min–max)", None), ("positions", "positions"), ("long OI $", "long_oi_usd"),
            ("short OI $", "short_oi_usd"), ("pool", "pool_tokens"), ("utilisation", "utilisation"),
            ("liquidatable now", None), ("liq. within 10% $", "liq_within_10pct_usd"))
    for title, _ in cols:
        tab.add_column(title)
    for m in summary.get("markets") or []:
        row = []
        for title, k in cols:
            if title.startswith("price"):
                row.append(f"{m['price_min']}–{m['price_max']}")
            elif title == "liquidatable now":
                row.append(f"{m['liquidatable_now']} (${m['liquidatable_now_usd']})")
            else:
                row.append(str(m.get(k)))
        tab.add_row(*row)
    con.print(tab)
    if t.get("scan_blocks"):
        con.print(f"positions found from {t['scan_events']} Vault position events in blocks {t['scan_blocks']} "
                  f"({t['scan_candidates']} keys read)")
