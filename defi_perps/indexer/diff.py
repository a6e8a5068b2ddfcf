"""``snapshots diff A B``: what changed between two stored snapshots of one deployment, per market.

Per market: open interest per side, GM pool value and pnl-to-pool factor per side (the same exact
formulas as ``snapshots show``: protocols/gmx_v2/math.py), and positions opened (key only in B),
closed (key only in A) and changed (same key, any field different). Values leave as exact decimal
strings; deltas are B − A, computed on the exact values before rounding.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from defi_perps.domain import USD_SCALE, Market, Snapshot
from defi_perps.exceptions import InputError
from defi_perps.indexer.summary import _prices_for, dec
from defi_perps.protocols.gmx_v2 import math as gm


def _market_figures(m: Market, snap: Snapshot) -> dict[str, Fraction | None]:
    out: dict[str, Fraction | None] = {
        "oi_long_usd": Fraction(gm.open_interest(m, True), USD_SCALE),
        "oi_short_usd": Fraction(gm.open_interest(m, False), USD_SCALE),
        "pool_value_usd": None, "pnl_to_pool_long": None, "pnl_to_pool_short": None,
    }
    prices = _prices_for(m, snap)
    if prices is not None:
        try:   # pending borrowing accrues to the snapshot's block time, as snapshots show computes it
            pv = gm.pool_value_usd(m, prices, maximize=False, g=snap.globals, block_timestamp=snap.meta.block_timestamp)
            out["pool_value_usd"] = Fraction(pv, USD_SCALE)
        except gm.ContractRevert:
            pass                                  # the contract reverts too: no pool value to compare
        out["pnl_to_pool_long"] = Fraction(gm.pnl_to_pool_factor(m, prices, True, True), USD_SCALE)
        out["pnl_to_pool_short"] = Fraction(gm.pnl_to_pool_factor(m, prices, False, True), USD_SCALE)
    return out


def _name(m: Market, snap: Snapshot) -> str:
    sym = {t.address.lower(): t.symbol for t in snap.tokens}
    return (f"{sym.get(m.index_token.lower(), m.index_token[:8])}/USD "
            f"[{sym.get(m.long_token.lower(), m.long_token[:8])}-{sym.get(m.short_token.lower(), m.short_token[:8])}]")


PLACES = {"oi_long_usd": 2, "oi_short_usd": 2, "pool_value_usd": 2, "pnl_to_pool_long": 6, "pnl_to_pool_short": 6}


def diff_snapshots(a: Snapshot, b: Snapshot) -> dict[str, Any]:
    """The per-market diff of two snapshots of the same chain and deployment (else InputError)."""
    for s in (a, b):
        if s.meta.protocol != "gmx_v2":
            raise InputError(f"snapshots diff compares GMX v2 snapshots; snapshot {s.meta.id} is {s.meta.protocol}")
    if (a.meta.chain_id, a.meta.protocol, a.meta.data_store.lower()) != \
            (b.meta.chain_id, b.meta.protocol, b.meta.data_store.lower()):
        raise InputError(f"snapshots {a.meta.id} and {b.meta.id} are of different chains or deployments "
                         f"(chain {a.meta.chain_id} {a.meta.protocol} {a.meta.data_store} vs chain {b.meta.chain_id} "
                         f"{b.meta.protocol} {b.meta.data_store}); diff compares one deployment over time")
    ma = {m.market_token.lower(): m for m in a.markets}
    mb = {m.market_token.lower(): m for m in b.markets}
    pa = {p.key: p for p in a.positions}
    pb = {p.key: p for p in b.positions}
    by_market: dict[str, dict[str, int]] = {}
    for key in set(pa) | set(pb):
        p = pb.get(key) or pa[key]
        c = by_market.setdefault(p.market.lower(), {"opened": 0, "closed": 0, "changed": 0, "unchanged": 0})
        if key not in pa:
            c["opened"] += 1
        elif key not in pb:
            c["closed"] += 1
        elif pa[key] != pb[key]:
            c["changed"] += 1
        else:
            c["unchanged"] += 1
    markets = []
    for mk in list(ma) + [k for k in mb if k not in ma]:
        m_a, m_b = ma.get(mk), mb.get(mk)
        fa = _market_figures(m_a, a) if m_a else {}
        fb = _market_figures(m_b, b) if m_b else {}
        row: dict[str, Any] = {"market": (m_b or m_a).market_token,  # type: ignore[union-attr]
                               "name": _name(m_b, b) if m_b else _name(m_a, a),  # type: ignore[arg-type]
                               "in": "both" if m_a and m_b else ("A" if m_a else "B")}
        for field, places in PLACES.items():
            va, vb = fa.get(field), fb.get(field)
            row[field] = {"a": None if va is None else dec(va, places), "b": None if vb is None else dec(vb, places),
                          "delta": None if va is None or vb is None else dec(vb - va, places)}
        row["positions"] = by_market.get(mk, {"opened": 0, "closed": 0, "changed": 0, "unchanged": 0})
        markets.append(row)
    totals = {k: sum(r["positions"][k] for r in markets) for k in ("opened", "closed", "changed", "unchanged")}
    return {
        "a": {"snapshot_id": a.meta.id, "block_number": a.meta.block_number, "block_hash": a.meta.block_hash,
              "price_source": a.meta.price_source, "positions": len(a.positions)},
        "b": {"snapshot_id": b.meta.id, "block_number": b.meta.block_number, "block_hash": b.meta.block_hash,
              "price_source": b.meta.price_source, "positions": len(b.positions)},
        "chain_id": a.meta.chain_id, "protocol": a.meta.protocol, "data_store": a.meta.data_store,
        "positions": totals, "markets": markets,
    }


def render_diff(d: dict[str, Any]) -> None:
    from rich.table import Table

    from defi_perps.indexer.summary import console

    c = console()
    c.print(f"[bold]snapshot {d['a']['snapshot_id']} (block {d['a']['block_number']}) → snapshot "
            f"{d['b']['snapshot_id']} (block {d['b']['block_number']})[/]  chain {d['chain_id']}  {d['protocol']}  "
            f"positions opened {d['positions']['opened']}, closed {d['positions']['closed']}, "
            f"changed {d['positions']['changed']}")
    t = Table(title="per market: B − A")
    for col in ("market", "OI long $", "OI short $", "pool value $", "pnl/pool long", "pnl/pool short",
                "opened", "closed", "changed"):
        t.add_column(col, justify="left" if col == "market" else "right")

    def cell(v: dict[str, str | None]) -> str:
        if v["delta"] is None:
            return f"{v['a'] or '-'} → {v['b'] or '-'}"
        sign = "+" if Decimal(v["delta"]) > 0 else ""
        return f"{v['b']} ({sign}{v['delta']})"

    for r in d["markets"]:
        name = r["name"] + ("" if r["in"] == "both" else f" (only in {r['in']})")
        t.add_row(name, cell(r["oi_long_usd"]), cell(r["oi_short_usd"]), cell(r["pool_value_usd"]),
                  cell(r["pnl_to_pool_long"]), cell(r["pnl_to_pool_short"]), str(r["positions"]["opened"]),
                  str(r["positions"]["closed"]), str(r["positions"]["changed"]))
    c.print(t)
