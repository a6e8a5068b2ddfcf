"""Adapter: the engine's exogenous paths and depth, in the form the account-level venue model reads.

There is one shock grammar (``defi_perps.scenarios``: ``BTC:-13%@12m; *:-35%@15m``, scenario
TOML files, replays) and one exogenous path generator (the engine's price model,
:mod:`defi_perps.engine.exogenous`); ``compare`` and ``simulate`` both go through
:func:`defi_perps.scenarios.setup.resolve_setup`. This module only

- hands out the engine's per-path multipliers (:func:`price_multipliers`), and
- reduces the engine's depth curve (:class:`~defi_perps.engine.inputs.DepthSpec`, stress
  included) to the venue model's linear-in-log-price impact: walking ``X`` USD moves the price by
  a factor ``exp(∓k·X)`` with ``k = 0.01 / D(1 %)``, ``D(1 %)`` being the engine's cumulative depth
  within 1 % of mid for that market (:func:`impact_per_usd`). The account-level model keeps only
  the permanent share of impact (``DepthSpec.permanent_fraction``) and walks a linear-in-log book;
  the engine walks the full depth curve and adds a decaying transient part (a modelling
  difference between the two layers; ``compare --engine`` shows both on the same paths).
"""

from __future__ import annotations

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.inputs import DepthSpec
from defi_perps.scenarios.setup import RunSetup


def depth_at(book: Book, depth: DepthSpec, distance: float = 0.01) -> np.ndarray:
    """float64[M] USD depth within ``distance`` of mid, from the engine's own depth construction."""
    from defi_perps.engine import depth as _d
    from defi_perps.engine.inputs import prepare_markets
    from defi_perps.engine.rules import GENERIC

    mk = prepare_markets(book, GENERIC, depth, None, 60.0)
    out = np.zeros(book.n_markets)
    for m in range(book.n_markets):
        kind = int(mk.depth_kind[m])
        if kind == _d.DEPTH_LINEAR:
            out[m] = mk.depth_k[m] * distance
        elif kind == _d.DEPTH_POWER:
            out[m] = mk.depth_k[m] * distance ** mk.depth_a[m]
        else:
            n = int(mk.band_n[m])
            bx = np.concatenate([[0.0], mk.band_x[m, :n]])
            bd = np.concatenate([[0.0], mk.band_d[m, :n]])
            if distance <= bx[-1]:
                out[m] = np.interp(distance, bx, bd)
            else:   # beyond the last band: its slope, as engine.depth.walk_distance
                out[m] = bd[-1] + (distance - bx[-1]) * (bd[-1] - bd[-2]) / (bx[-1] - bx[-2])
    return out


def impact_per_usd(book: Book, depth: DepthSpec) -> np.ndarray:
    """float64[M] log-price move per USD walked: ``0.01 / D(1 %)``."""
    return 0.01 / depth_at(book, depth, 0.01)


def price_multipliers(setup: RunSetup, n_markets: int, seed: int, p_lo: int, p_hi: int) -> np.ndarray:
    """float64[p_hi − p_lo, steps + 1, M]: the engine's exogenous multipliers of paths [p_lo, p_hi)."""
    from defi_perps.engine.exogenous import exogenous_multipliers

    return exogenous_multipliers(setup.model, n_markets, setup.n_steps, setup.step_seconds, setup.base_log, seed,
                                 p_lo, p_hi)


__all__ = ["depth_at", "impact_per_usd", "price_multipliers"]
