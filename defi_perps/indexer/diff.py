"""``snapshots diff A B``: what changed between two stored snapshots of one deployment, for any protocol.

Everything shared comes from the shared records every plug-in gives (``ProtocolPlugin.shared``: the
``snapshot_market`` / ``snapshot_position`` / ``snapshot_price`` rows), so the diff is the same code
for GMX v2, GMX v1, Hyperliquid, Synthetix v3 and gTrade:

* positions, matched by their key: opened (only in B), closed (only in A), changed (same key, a
  shared field differs: side, size in USD or tokens, collateral, entry price) and unchanged; among
  the changed, how many grew, shrank, and changed collateral;
* per market: open interest per side (the sum of ``size_in_usd``, in the plug-in's USD scale
  ``usd_decimals``), collateral per side where the protocol keeps it per position, the index price
  (exact USD per token from the plug-in's ``market_prices_usd``; the raw stored min/max otherwise);
* the positions that moved most (by |Δ size in USD|), each with its before/after values.

Protocol-specific per-market figures come from the plug-in's ``diff_markets`` hook (GMX v2: GM pool
value and pnl-to-pool factors; Hyperliquid: the mark price) and sit beside the shared ones, named
in ``protocol_fields``. Values leave as exact decimal strings; deltas are B − A, computed on the
exact values before rounding. Snapshots of different chains, protocols or deployments (for
Hyperliquid: another account list) are refused with a one-line error.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from defi_perps.exceptions import InputError
from defi_perps.indexer.summary import dec
from defi_perps.protocols import registry
from defi_perps.protocols.base import SharedMarket, SharedPosition, SharedRecords

POSITION_FIELDS = ("is_long", "size_in_usd", "size_in_tokens", "collateral_amount", "collateral_usd", "entry_price")
COUNTS = ("opened", "closed", "changed", "unchanged", "increased", "decreased", "collateral_changed")
USD_PLACES = 6             # at most: USDC-scaled venues (1e6) show exactly, 1e18/1e30 ones to a micro-dollar
PRICE_PLACES = 12          # PEPE trades near $0.00001: keep its digits
CHANGE_PLACES = 6
DEFAULT_TOP = 20


def _same_deployment(a: Any, b: Any) -> None:
    ma, mb = a.meta, b.meta
    if ma.chain_id != mb.chain_id or ma.protocol != mb.protocol:
        raise InputError(f"snapshots {ma.id} and {mb.id} are of different chains or protocols (chain {ma.chain_id} "
                         f"{ma.protocol} vs chain {mb.chain_id} {mb.protocol}); diff compares one deployment over time")
    if ma.data_store.lower() != mb.data_store.lower():
        raise InputError(f"snapshots {ma.id} and {mb.id} are of different deployments of {ma.protocol} on chain "
                         f"{ma.chain_id} ({ma.data_store} vs {mb.data_store}; a different root contract or account "
                         "list); diff compares one deployment over time")


def market_name(m: SharedMarket, shared: SharedRecords) -> str:
    """A market's display name from the shared records: ``ETH/USD [WETH-USDC]``, ``BTC/USD``."""
    sym = {t.address.lower(): t.symbol for t in shared.tokens}

    def s(x: str) -> str:
        return sym.get(x.lower(), x[:8] if x.startswith("0x") and len(x) == 42 else x)

    if "/" in m.market and not m.market.startswith("0x"):     # the protocol's own pair name (gTrade: BTC/USD)
        return m.market
    name = f"{s(m.index_token)}/USD"
    if m.long_token and m.short_token:
        name += f" [{s(m.long_token)}-{s(m.short_token)}]"
    return name


def _pair(va: Fraction | None, vb: Fraction | None, places: int) -> dict[str, str | None]:
    return {"a": None if va is None else dec(va, places), "b": None if vb is None else dec(vb, places),
            "delta": None if va is None or vb is None else dec(vb - va, places)}


def _side_sums(positions: list[SharedPosition], scale: int) -> dict[str, Fraction | None]:
    out: dict[str, Fraction | None] = {}
    for side, name in ((True, "long"), (False, "short")):
        ps = [p for p in positions if p.is_long == side]
        out[f"oi_{name}_usd"] = Fraction(sum(p.size_in_usd for p in ps), scale)
        coll = [p.collateral_usd for p in ps]
        # collateral per side only where every position of the side carries it (else the sum would lie)
        out[f"collateral_{name}_usd"] = (Fraction(sum(c for c in coll if c is not None), scale)
                                         if all(c is not None for c in coll) else None)
    return out


def _raw_price(m: SharedMarket, shared: SharedRecords) -> dict[str, str] | None:
    for p in shared.prices:
        if p.token.lower() == m.index_token.lower():
            return {"min": str(p.price_min), "max": str(p.price_max)}
    return None


def _changed(pa: SharedPosition, pb: SharedPosition) -> bool:
    return any(getattr(pa, f) != getattr(pb, f) for f in POSITION_FIELDS)


def usd_places(plugin: Any) -> int:
    return min(plugin.usd_decimals, USD_PLACES)


def _position_row(kind: str, pa: SharedPosition | None, pb: SharedPosition | None, scale: int,
                  places: int) -> dict[str, Any]:
    p = pb or pa
    assert p is not None

    def usd(x: SharedPosition | None, f: str) -> Fraction | None:
        v = None if x is None else getattr(x, f)
        return None if v is None else Fraction(v, scale)

    def raw(f: str) -> dict[str, str | None]:
        va = None if pa is None else getattr(pa, f)
        vb = None if pb is None else getattr(pb, f)
        return {"a": None if va is None else str(va), "b": None if vb is None else str(vb),
                "delta": None if va is None or vb is None else str(vb - va)}

    size_a = usd(pa, "size_in_usd") or Fraction(0)
    size_b = usd(pb, "size_in_usd") or Fraction(0)
    return {"key": p.key, "account": p.account, "market": p.market, "kind": kind, "is_long": p.is_long,
            "side_flipped": pa is not None and pb is not None and pa.is_long != pb.is_long,
            "size_usd": {"a": None if pa is None else dec(size_a, places),
                         "b": None if pb is None else dec(size_b, places),
                         "delta": dec(size_b - size_a, places)},
            "collateral_usd": _pair(usd(pa, "collateral_usd"), usd(pb, "collateral_usd"), places),
            "size_in_tokens": raw("size_in_tokens"), "collateral_amount": raw("collateral_amount"),
            "entry_price": raw("entry_price"), "_abs": abs(size_b - size_a)}


def diff_snapshots(a: Any, b: Any, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """The diff of two snapshots (any registered protocol) of one chain and deployment; else InputError.

    ``top``: how many of the positions that moved most to list (counts always cover all of them)."""
    if top < 0:
        raise InputError(f"--top must be >= 0, got {top}")
    _same_deployment(a, b)
    plugin = registry.get(a.meta.protocol)
    scale, places = 10 ** plugin.usd_decimals, usd_places(plugin)
    sa, sb = plugin.shared(a), plugin.shared(b)
    pa = {p.key: p for p in sa.positions}
    pb = {p.key: p for p in sb.positions}

    by_market: dict[str, dict[str, int]] = {}
    moved: list[dict[str, Any]] = []
    for key in list(pa) + [k for k in pb if k not in pa]:
        p_a, p_b = pa.get(key), pb.get(key)
        p = p_b or p_a
        assert p is not None
        c = by_market.setdefault(p.market, dict.fromkeys(COUNTS, 0))
        if p_a is None:
            kind = "opened"
        elif p_b is None:
            kind = "closed"
        elif _changed(p_a, p_b):
            kind = "changed"
            if p_b.size_in_usd > p_a.size_in_usd:
                c["increased"] += 1
            elif p_b.size_in_usd < p_a.size_in_usd:
                c["decreased"] += 1
            if (p_a.collateral_amount, p_a.collateral_usd) != (p_b.collateral_amount, p_b.collateral_usd):
                c["collateral_changed"] += 1
        else:
            c["unchanged"] += 1
            continue
        c[kind] += 1
        moved.append(_position_row(kind, p_a, p_b, scale, places))
    moved.sort(key=lambda r: (-r["_abs"], r["key"]))

    ma = {m.market: m for m in sa.markets}
    mb = {m.market: m for m in sb.markets}
    pos_a: dict[str, list[SharedPosition]] = {}
    pos_b: dict[str, list[SharedPosition]] = {}
    for p in sa.positions:
        pos_a.setdefault(p.market, []).append(p)
    for p in sb.positions:
        pos_b.setdefault(p.market, []).append(p)
    px_a, px_b = plugin.market_prices_usd(a), plugin.market_prices_usd(b)
    extra = plugin.diff_markets(a, b)
    protocol_fields: list[str] = []
    for figs in extra.values():
        for f in figs:
            if f not in protocol_fields:
                protocol_fields.append(f)

    markets = []
    for mk in list(ma) + [k for k in mb if k not in ma]:
        m_a, m_b = ma.get(mk), mb.get(mk)
        m = m_b or m_a
        assert m is not None
        row: dict[str, Any] = {"market": m.market, "name": market_name(m, sb if m_b else sa),
                               "in": "both" if m_a and m_b else ("A" if m_a else "B")}
        va, vb = px_a.get(mk), px_b.get(mk)
        row["price_usd"] = {**_pair(va, vb, PRICE_PLACES),
                            "change": None if va is None or vb is None or va == 0 else dec(vb / va - 1, CHANGE_PLACES)}
        row["price_raw"] = {"a": _raw_price(m_a, sa) if m_a else None, "b": _raw_price(m_b, sb) if m_b else None}
        fa = _side_sums(pos_a.get(mk, []), scale) if m_a else {}
        fb = _side_sums(pos_b.get(mk, []), scale) if m_b else {}
        for f in ("oi_long_usd", "oi_short_usd", "collateral_long_usd", "collateral_short_usd"):
            row[f] = _pair(fa.get(f), fb.get(f), places)
        for f, (xa, xb, places) in extra.get(mk, {}).items():
            row[f] = _pair(xa, xb, places)
        row["positions"] = by_market.get(mk, dict.fromkeys(COUNTS, 0))
        markets.append(row)
    totals = {k: sum(r["positions"][k] for r in markets) for k in COUNTS}
    # positions in markets neither snapshot lists (a plug-in bug) still count
    for mk, c in by_market.items():
        if mk not in ma and mk not in mb:
            for k in COUNTS:
                totals[k] += c[k]

    def side(s: Any, shared: SharedRecords) -> dict[str, Any]:
        return {"snapshot_id": s.meta.id, "block_number": s.meta.block_number, "block_hash": s.meta.block_hash,
                "block_timestamp": s.meta.block_timestamp, "price_source": s.meta.price_source,
                "positions": len(shared.positions), "markets": len(shared.markets)}

    return {
        "a": side(a, sa), "b": side(b, sb),
        "chain_id": a.meta.chain_id, "protocol": a.meta.protocol, "data_store": a.meta.data_store,
        "rules": {"match": "positions by key", "changed": "any of " + ", ".join(POSITION_FIELDS) + " differs",
                  "delta": "B − A on exact values, then rounded half-even",
                  "usd_scale": f"size and collateral stored in 1e{plugin.usd_decimals} USD ({plugin.title}), "
                               f"shown to {places} decimals",
                  "price": "USD per index token from the plug-in (market_prices_usd); price_raw: stored min/max "
                           "in the protocol's price scale"},
        "protocol_fields": protocol_fields,
        "positions": totals,
        "markets": markets,
        "top_changes": [{k: v for k, v in r.items() if k != "_abs"} for r in moved[:top]],
    }


def render_diff(d: dict[str, Any]) -> None:
    from rich.table import Table

    from defi_perps.indexer.summary import console

    c = console()
    p = d["positions"]
    c.print(f"[bold]snapshot {d['a']['snapshot_id']} (block {d['a']['block_number']}) → snapshot "
            f"{d['b']['snapshot_id']} (block {d['b']['block_number']})[/]  chain {d['chain_id']}  {d['protocol']}  "
            f"prices {d['a']['price_source']} → {d['b']['price_source']}  positions opened {p['opened']}, "
            f"closed {p['closed']}, changed {p['changed']} ({p['increased']} grew, {p['decreased']} shrank, "
            f"{p['collateral_changed']} collateral), unchanged {p['unchanged']}")
    t = Table(title="per market: B − A")
    extra = list(d.get("protocol_fields", []))
    for col in ("market", "price $", "OI long $", "OI short $", *extra, "opened", "closed", "changed"):
        t.add_column(col, justify="left" if col == "market" else "right")

    def cell(v: dict[str, str | None]) -> str:
        if v["delta"] is None:
            return f"{v['a'] or '-'} → {v['b'] or '-'}"
        sign = "+" if Decimal(v["delta"]) > 0 else ""
        return f"{v['b']} ({sign}{v['delta']})"

    def price(v: dict[str, str | None]) -> str:
        if v["b"] is None or v["a"] is None:
            return cell(v)
        ch = Decimal(v["change"] or 0) * 100
        return f"{Decimal(v['b']).normalize():f} ({'+' if ch > 0 else ''}{ch:.2f}%)"

    for r in d["markets"]:
        name = r["name"] + ("" if r["in"] == "both" else f" (only in {r['in']})")
        t.add_row(name, price(r["price_usd"]), cell(r["oi_long_usd"]), cell(r["oi_short_usd"]),
                  *(cell(r[f]) if f in r else "-" for f in extra), str(r["positions"]["opened"]),
                  str(r["positions"]["closed"]), str(r["positions"]["changed"]))
    c.print(t)
    if d["top_changes"]:
        t = Table(title=f"largest position changes (top {len(d['top_changes'])} by |Δ size $|)")
        for col in ("key", "account", "market", "side", "kind", "size $", "collateral $"):
            t.add_column(col, justify="left" if col in ("key", "account", "market", "side", "kind") else "right")
        names = {r["market"]: r["name"] for r in d["markets"]}
        for r in d["top_changes"]:
            key = r["key"] if len(r["key"]) <= 20 else r["key"][:18] + "…"
            t.add_row(key, r["account"][:12] + ("…" if len(r["account"]) > 12 else ""),
                      names.get(r["market"], r["market"]), "long" if r["is_long"] else "short", r["kind"],
                      cell(r["size_usd"]), cell(r["collateral_usd"]))
        c.print(t)
