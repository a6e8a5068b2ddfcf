"""Per-market summary of a stored GMX v2 snapshot (``snapshots show``, ``index`` output).

Exact ints and Fractions throughout; numbers leave as decimal strings (``usd``/``ratio`` below), so
no float ever touches an on-chain value here. Formulas: protocols/gmx_v2/math.py.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from defi_perps.domain import USD_SCALE, Market, Snapshot
from defi_perps.protocols.gmx_v2 import math as gm

QUANTILES = (Fraction(1, 100), Fraction(10, 100), Fraction(50, 100))


def dec(x: Fraction | int, places: int = 2) -> str:
    """Exact rational → decimal string rounded half-even to ``places``."""
    f = Fraction(x)
    with localcontext() as ctx:
        ctx.prec = 100
        d = Decimal(f.numerator) / Decimal(f.denominator)
        return str(d.quantize(Decimal(1).scaleb(-places)))


def price_str(x: Fraction) -> str:
    """A USD price with 4 decimals, or 6 significant digits below $1 (PEPE is ~$0.00001)."""
    places = 4
    while x > 0 and x < Fraction(1, 10 ** (places - 4)) and places < 30:
        places += 1
    return dec(x, places + 1 if x < 1 else places)


def usd(v: int | Fraction) -> str:
    return dec(Fraction(v) / USD_SCALE, 2)


def ratio(v: int | Fraction, places: int = 4) -> str:
    """A 1e30 factor as a plain ratio string (0.85 = 85 %)."""
    return dec(Fraction(v) / USD_SCALE, places)


def _prices_for(m: Market, snap: Snapshot) -> gm.MarketPrices | None:
    by = {p.token.lower(): gm.Price.of(p) for p in snap.prices}
    try:
        return gm.MarketPrices(by[m.index_token.lower()], by[m.long_token.lower()], by[m.short_token.lower()])
    except KeyError:
        return None


def liquidation_distances(moves: list[tuple[Fraction | None, int]], total_oi: int) -> dict[str, str | None]:
    """Price move (fraction, signed) that liquidates 1/10/50 % of a side's OI.

    ``moves``: (move to the liquidation price, size_in_usd) per position; None = never liquidated.
    The liquidation price is ``math.liquidation_price``: the integer index price at which the exact
    contract check flips (funding, fees, referral, impact included), so the quantiles are exact.
    Positions already liquidatable count at move 0.
    """
    out: dict[str, str | None] = {}
    finite = sorted(((mv, s) for mv, s in moves if mv is not None), key=lambda x: abs(x[0]))
    for q in QUANTILES:
        key = f"{int(q * 100)}%"
        need = q * total_oi
        cum = 0
        out[key] = None
        if total_oi == 0:
            continue
        for mv, s in finite:
            cum += s
            if cum >= need:
                out[key] = dec(mv, 4)
                break
    return out


def summarize(snap: Snapshot) -> dict[str, Any]:
    if snap.meta.protocol != "gmx_v2":     # another protocol's snapshot: its plug-in's summary
        from defi_perps.protocols import registry

        return registry.get(snap.meta.protocol).summarize(snap)
    tokens = {t.address.lower(): t for t in snap.tokens}
    fees_of = {a.account.lower(): a for a in snap.accounts}
    by_market: dict[str, list] = defaultdict(list)
    for p in snap.positions:
        by_market[p.market.lower()].append(p)
    markets = []
    for m in snap.markets:
        idx = tokens.get(m.index_token.lower())
        name = f"{idx.symbol if idx else m.index_token[:8]}/USD [{_sym(tokens, m.long_token)}-{_sym(tokens, m.short_token)}]"
        prices = _prices_for(m, snap)
        pos = by_market.get(m.market_token.lower(), [])
        row: dict[str, Any] = {
            "market": m.market_token, "name": name,
            "positions_long": sum(1 for p in pos if p.is_long), "positions_short": sum(1 for p in pos if not p.is_long),
            "oi_long_usd": usd(gm.open_interest(m, True)), "oi_short_usd": usd(gm.open_interest(m, False)),
            "adl_threshold_long": ratio(m.max_pnl_factor_for_adl_long),
            "adl_threshold_short": ratio(m.max_pnl_factor_for_adl_short),
            "adl_enabled_long": m.is_adl_enabled_long, "adl_enabled_short": m.is_adl_enabled_short,
        }
        if prices is None or idx is None:
            row.update(price_usd=None, pool_value_usd=None, pnl_to_pool_long=None, pnl_to_pool_short=None,
                       liquidatable_now_long=None, liquidatable_now_short=None,
                       adl_exceeded_long=None, adl_exceeded_short=None, liquidation_move_long=None,
                       liquidation_move_short=None)
            markets.append(row)
            continue
        mid = prices.index.mid
        row["price_usd"] = price_str(mid * Fraction(10) ** idx.decimals / USD_SCALE)
        try:
            pv = gm.pool_value_info(m, prices, snap.globals, snap.meta.block_timestamp, maximize=False)
            row["pool_value_usd"] = usd(pv.pool_value)
            row["pending_borrowing_fees_usd"] = usd(pv.total_borrowing_fees)
        except gm.ContractRevert:
            row["pool_value_usd"] = row["pending_borrowing_fees_usd"] = None   # the contract reverts too
        row["total_pending_impact_amount"] = (str(m.total_pending_impact_amount)
                                              if m.total_pending_impact_amount is not None else None)
        for side, is_long in (("long", True), ("short", False)):
            row[f"pnl_to_pool_{side}"] = ratio(gm.pnl_to_pool_factor(m, prices, is_long, True))
            row[f"adl_exceeded_{side}"] = gm.is_pnl_factor_exceeded_for_adl(m, prices, is_long)
            moves: list[tuple[Fraction | None, int]] = []
            for p in pos:
                if p.is_long != is_long:
                    continue
                lp = gm.liquidation_price(p, m, prices, snap.globals, fees_of.get(p.account.lower()))
                if lp is None:
                    moves.append((None, p.size_in_usd))
                    continue
                mv = lp / mid - 1
                # already past its liquidation price: liquidatable now, move 0
                if (is_long and mv >= 0) or (not is_long and mv <= 0):
                    mv = Fraction(0)
                moves.append((mv, p.size_in_usd))
            total = sum(p.size_in_usd for p in pos if p.is_long == is_long)
            row[f"liquidation_move_{side}"] = liquidation_distances(moves, total)
            now = sum(s for mv, s in moves if mv == 0)
            row[f"liquidatable_now_{side}"] = dec(Fraction(now, total), 4) if total else "0.0000"
        markets.append(row)
    meta = snap.meta
    return {
        "snapshot_id": meta.id, "chain_id": meta.chain_id, "block_number": meta.block_number,
        "block_timestamp": meta.block_timestamp, "block_hash": meta.block_hash, "protocol": meta.protocol,
        "data_store": meta.data_store, "price_source": meta.price_source, "positions": len(snap.positions),
        "markets": markets,
    }


def _sym(tokens: dict[str, Any], addr: str) -> str:
    t = tokens.get(addr.lower())
    return t.symbol if t else addr[:8]


def console():  # type: ignore[no-untyped-def]
    """stdout console; piped output is not wrapped to 80 columns, so tables stay readable in logs."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=170)


def render(summary: dict[str, Any]) -> None:
    """Print the summary as two rich tables on stdout (state, then risk)."""
    from rich.table import Table

    # Piped output is not wrapped to 80 columns: the tables stay readable in logs and files.
    c = console()
    c.print(f"[bold]snapshot {summary['snapshot_id']}[/]  chain {summary['chain_id']}  block {summary['block_number']}"
            f"  {summary['protocol']}  prices: {summary['price_source']}  positions: {summary['positions']}")
    state = Table(title="markets")
    for col in ("market", "price $", "pool value $", "OI long $", "OI short $", "positions L/S"):
        state.add_column(col, justify="left" if col == "market" else "right")
    risk = Table(title="pnl-to-pool vs ADL threshold; price move that liquidates 1% / 10% / 50% of OI")
    for col in ("market", "pnl/pool long (ADL at)", "pnl/pool short (ADL at)", "liquidatable now L/S",
                "liq move long", "liq move short"):
        risk.add_column(col, justify="left" if col == "market" else "right")
    for r in summary["markets"]:
        def lm(side: str, r: dict[str, Any] = r) -> str:
            d = r.get(f"liquidation_move_{side}")
            return "-" if not d else " / ".join(_pct(v) for v in d.values())

        def pf(side: str, r: dict[str, Any] = r) -> str:
            v = r.get(f"pnl_to_pool_{side}")
            if v is None:
                return "-"
            flag = " [red]ADL[/]" if r.get(f"adl_exceeded_{side}") else ""
            return f"{_pct(v)} ({_pct(r[f'adl_threshold_{side}'])}){flag}"

        state.add_row(r["name"], r["price_usd"] or "-", r["pool_value_usd"] or "-", r["oi_long_usd"],
                      r["oi_short_usd"], f"{r['positions_long']}/{r['positions_short']}")
        now = (f"{_pct(r.get('liquidatable_now_long'))} / {_pct(r.get('liquidatable_now_short'))}"
               if r.get("liquidatable_now_long") is not None else "-")
        risk.add_row(r["name"], pf("long"), pf("short"), now, lm("long"), lm("short"))
    c.print(state)
    c.print(risk)


def _pct(v: str | None) -> str:
    if v is None:
        return "-"
    q = (Decimal(v) * 100).quantize(Decimal("0.1"))
    return f"{abs(q) if q == 0 else q}%"   # no "-0.0%"
