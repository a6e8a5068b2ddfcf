"""Each venue's ADL ranking score on a set of candidates (higher = deleveraged first).

Formulas live in the per-venue modules of :mod:`defi_perps.venues` (sources cited there); this
module only vectorizes them over :class:`~defi_perps.adl.events.Candidates`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from defi_perps.adl.events import Candidates
from defi_perps.exceptions import ConfigError
from defi_perps.venues import binance, bitmex, hyperliquid, okx
from defi_perps.venues.margin import maintenance_margin
from defi_perps.venues.params import VenueParams, load_venue


def _binance(c: Candidates, v: VenueParams | None) -> np.ndarray:
    params = v or load_venue("binance")
    out = np.empty(len(c))
    for i in range(len(c)):
        mm = maintenance_margin(params.margin, float(c.notional[i]))
        out[i] = binance.adl_score(float(c.collateral[i]), float(c.pnl[i]), mm)
    return out


def _bitmex(c: Candidates, v: VenueParams | None) -> np.ndarray:
    out = np.empty(len(c))
    for i in range(len(c)):
        qty = float(c.side[i] * c.size[i])
        mv, ev, bv = bitmex.position_values(qty, float(c.mark[i]), float(c.entry[i]), float(c.collateral[i]))
        out[i] = bitmex.adl_score(mv, ev, bv)
    return out


def _okx(c: Candidates, v: VenueParams | None) -> np.ndarray:
    return np.array([okx.adl_score(float(c.pnl[i]), float(c.collateral[i]), float(c.notional[i])) for i in range(len(c))])


def _hyperliquid(c: Candidates, v: VenueParams | None) -> np.ndarray:
    return np.array([hyperliquid.adl_score(float(c.mark[i]), float(c.entry[i]), float(c.notional[i]),
                                           float(c.equity[i])) for i in range(len(c))])


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
