"""Each venue's ADL ranking score on a set of candidates (higher = deleveraged first).

Formulas live in the per-venue modules of :mod:`defi_perps.venues` (sources cited there); this
module only vectorizes them over :class:`~defi_perps.adl.events.Candidates`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from defi_perps.adl.events import Candidates
from defi_perps.exceptions import ConfigError
from defi_perps.venues.margin import maintenance_margin_array
from defi_perps.venues.params import VenueParams, load_venue


# Vectorized forms of the per-venue scalar formulas (the scalar functions in defi_perps.venues.*
# are the cited reference; tests check these against them element by element).

def _binance(c: Candidates, v: VenueParams | None) -> np.ndarray:
    params = v if v is not None and v.margin.kind == "tiered" else load_venue("binance")
    mm = maintenance_margin_array(params.margin, c.notional)
    wb = c.collateral
    pnl_pct = np.maximum(c.pnl, 0.0) / np.maximum(wb, 1.0)
    mb = wb + c.pnl
    ratio = np.divide(mm, mb, out=np.zeros_like(mb), where=mb > 0)
    return pnl_pct * ratio


def _bitmex(c: Candidates, v: VenueParams | None) -> np.ndarray:
    qty = c.side * c.size
    mv, ev = qty * c.mark, qty * c.entry
    bv = qty * c.entry - c.collateral            # qty·(entry − margin/qty)
    pnl = (mv - ev) / np.abs(ev)
    d = mv - bv
    lev = np.divide(np.abs(mv), d, out=np.full_like(d, np.inf), where=d != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pnl > 0, pnl * lev, pnl / lev)


def _okx(c: Candidates, v: VenueParams | None) -> np.ndarray:
    margin = c.collateral
    eq = margin + c.pnl
    lev = np.divide(c.notional, eq, out=np.full_like(eq, np.inf), where=eq > 0)
    pnl_pct = np.divide(c.pnl, margin, out=np.zeros_like(margin), where=margin > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(pnl_pct > 0, pnl_pct * lev, pnl_pct / lev)
    return np.where(margin > 0, out, 0.0)


def _hyperliquid(c: Candidates, v: VenueParams | None) -> np.ndarray:
    # (mark/entry)·(notional/account value) as the docs write it for a long; "ranked by unrealized pnl
    # and leverage used" makes it entry/mark for a short (venues.md §1.6; on 10 Oct 2025 99.4% of the
    # ADL'd accounts were in profit, incidents.md §1.3)
    ratio = np.divide(c.notional, c.equity, out=np.zeros_like(c.equity), where=c.equity > 0)
    px = np.where(c.side > 0, c.mark / c.entry, c.entry / c.mark)
    return px * ratio


def _pnl(c: Candidates, v: VenueParams | None) -> np.ndarray:
    # GMX v2: no on-chain order; keepers' choice modelled as largest profit first.
    return c.pnl.astype(np.float64).copy()


def _given(c: Candidates, v: VenueParams | None) -> np.ndarray:
    # The venue's own published score (e.g. the "PNL Ranking" column of BitMEX's ADL example).
    if c.score is None or np.isnan(c.score).any():
        raise ConfigError("ranking 'score' needs a score for every candidate (column 'score')")
    return c.score.copy()


RANKINGS: dict[str, Callable[[Candidates, VenueParams | None], np.ndarray]] = {
    "binance": _binance,
    "bitmex": _bitmex,
    "bybit": _bitmex,        # Bybit gives no formula; BitMEX-style PnL% x effective leverage [UNVERIFIED]
    "okx": _okx,
    "hyperliquid": _hyperliquid,
    "gmx_v2": _pnl,
    "pnl": _pnl,
    "score": _given,
}


def scores(c: Candidates, ranking: str, venue: VenueParams | None = None) -> np.ndarray:
    fn = RANKINGS.get(ranking.replace("-", "_"))
    if fn is None:
        raise ConfigError(f"unknown ADL ranking {ranking!r}; choose from {', '.join(sorted(RANKINGS))}")
    return fn(c, venue)


def order(c: Candidates, ranking: str, venue: VenueParams | None = None) -> np.ndarray:
    """Indices of candidates from first to last deleveraged; ties keep the file order."""
    s = scores(c, ranking, venue)
    return np.argsort(-s, kind="stable")
