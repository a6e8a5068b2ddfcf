"""Manipulation table: per market, what it costs to move the oracle and whether an attack pays.

For each market of a book (a stored snapshot, a book file or a synthetic book):

1. **Reference venues** of its index asset (``defi_perps/venues/oracles/reference_venues.toml``
   or the user's ``--reference-venues FILE``) with their depth curves.
2. **Capital to move the oracle** by 1/5/10/25 % up and down: for each number ``n`` of venues
   moved (cheapest first, by depth per unit of oracle weight) the displacement that moves the
   venue's oracle by the target is found on the real aggregation rule; the push stage
   (:func:`defi_perps.engine.attack.push_sources`) then buys (sells) it, holds it against
   arbitrageurs for the venue's exposure time and unwinds. The cheapest ``n`` wins. "Capital" is
   the peak USD deployed in spot; "spot cost" what the round trip loses (slippage + fees).
3. **OI liquidated by the move**: open interest whose liquidation price (the engine's own
   thresholds, :func:`defi_perps.runs.attack_engine.liquidation_thresholds`) the moved oracle
   crosses — shorts for an up move, longs for a down move.
4. **Best attack within the venue's caps**: a perp position opened at the fair price and closed at
   the moved oracle (GMX: oracle execution, price impact on open, positive impact on close capped
   by ``MAX_POSITION_IMPACT_FACTOR`` and the impact pool, the side's profit scaled down when the
   pool's PnL exceeds ``MAX_PNL_FACTOR_FOR_TRADERS``, size ≤ the side's OI cap = pool USD ×
   ``OPEN_INTEREST_RESERVE_FACTOR`` − open interest), over a grid of moves and sizes. Net = perp
   PnL − fees − impact − spot cost. Break-even capital = the least spot capital + perp margin with
   a positive net; verdict = whether the best net is positive (within ``--capital`` if given).
5. **Defence solver**: the side's OI cap, the negative price-impact factor and (hyperp oracles) the
   EMA cap at which the best net reaches zero (bisection on the same evaluation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.attack import arb_per_step, make_plan, make_sources, push_sources
from defi_perps.engine.oracles import (
    ORACLE_NAMES,
    aggregate_sources,
    oracle_from_sources,
)
from defi_perps.exceptions import InputError
from defi_perps.venues.oracles import AssetSources, asset_of, oracle_models, sources_for

MOVES = (0.01, 0.05, 0.10, 0.25)
STEP_SECONDS = 60.0
_Y_GRID_UP = np.geomspace(1e-4, 60.0, 700)
_Y_GRID_DOWN = np.geomspace(1e-4, 0.985, 700)
X_GRID = tuple(sorted(set(np.round(np.geomspace(0.002, 3.0, 28), 6)) | set(MOVES)))
_N_GRID = np.geomspace(1e-4, 1.0, 48)
ORACLE_CHOICES = ("median", "weighted-median", "exchange-index", "chainlink-push", "pull", "gmx-v1-fast",
                  "gmx-v2-keeper", "twap", "hl-mark", "hyperp", "hyperp-xpl")


def move_key(x: float) -> str:
    return f"{x * 100:g}%"


@dataclass
class PerpLeg:
    """The target venue's perp market, as the attacker meets it (USD, fractions)."""

    venue: str
    price: float
    oi: tuple[float, float]                   # open interest (long, short), USD
    oi_cap: tuple[float, float]               # OI cap per side, USD (inf: none)
    max_leverage: float
    fee: float                                # open / close fee, each, on notional
    spread: float = 0.0                       # min/max spread (entry at max, exit at min)
    impact_neg: float = 0.0                   # impact factor on the imbalance (USD), exponent below
    impact_neg_exp: float = 2.0
    impact_pos: float = 0.0
    impact_pos_exp: float = 1.0
    max_impact_pos: float = 0.0               # cap of positive impact, fraction of size
    max_impact_neg: float = math.inf          # cap of negative impact on a decrease, fraction of size
    impact_pool_usd: float = 0.0
    pool_usd: tuple[float, float] = (math.inf, math.inf)
    max_pnl_factor: tuple[float, float] = (math.inf, math.inf)
    side_tokens: tuple[float, float] = (0.0, 0.0)      # open size per side, tokens
    side_entry_usd: tuple[float, float] = (0.0, 0.0)   # open entry notional per side, USD
    max_position: float = math.inf
    hold_s: float = 60.0
    post: str = "none"                        # oracle rule applied after aggregating the venues
    ema_cap: float = math.inf                 # hyperp: mark move limited to cap - 1
    sources: dict[str, str] = field(default_factory=dict)

    def room(self, side: int) -> float:
        """Largest position the attacker can open on ``side``: the side's OI cap less its open
        interest; with no cap, the side's pool (what can pay it), else 10x the market's OI."""
        i = 0 if side > 0 else 1
        cap = self.oi_cap[i]
        if not math.isfinite(cap):
            cap = self.oi[i] + (self.pool_usd[i] if math.isfinite(self.pool_usd[i]) else 10.0 * sum(self.oi))
        return max(0.0, min(cap - self.oi[i], self.max_position))


def perp_net(leg: PerpLeg, side: int, move: np.ndarray, notional: np.ndarray) -> dict[str, np.ndarray]:
    """Perp leg of the attack (broadcast over ``move`` and ``notional``): gross PnL after the pool's
    PnL cap, fees, open impact and close impact; ``move`` is the oracle's relative move in the
    attacker's favour (> 0)."""
    i = 0 if side > 0 else 1
    n = np.asarray(notional, np.float64)
    x = np.asarray(move, np.float64)
    p0 = leg.price
    entry = p0 * (1.0 + 0.5 * leg.spread)
    exit_ = p0 * (1.0 + x) * (1.0 - 0.5 * leg.spread) if side > 0 else p0 * (1.0 - x) * (1.0 + 0.5 * leg.spread)
    if side < 0:
        entry = p0 * (1.0 - 0.5 * leg.spread)
    gross = n * side * (exit_ / entry - 1.0)
    # GMX v2: the side's total PnL is capped at pool × MAX_PNL_FACTOR_FOR_TRADERS; each position's
    # profit is scaled by capped / total (protocols.md §1.5). Existing positions gain from the move too.
    if math.isfinite(leg.max_pnl_factor[i]) and math.isfinite(leg.pool_usd[i]):
        px = p0 * (1.0 + side * x)
        existing = side * (leg.side_tokens[i] * px - leg.side_entry_usd[i])
        total = np.maximum(existing + gross, 1e-300)
        cap = leg.pool_usd[i] * leg.max_pnl_factor[i]
        gross = np.where(gross > 0, gross * np.minimum(1.0, cap / total), gross)
    fees = 2.0 * leg.fee * n
    # price impact on the pool's long-short imbalance (protocols.md §1.6): opening moves it from
    # |imb0| to |imb1|, closing moves it back. Worsening costs f_neg·(b^e − a^e) (on the close capped
    # at MAX_POSITION_IMPACT_FACTOR[negative]·size), improving earns f_pos·(a^e − b^e) capped at
    # MAX_POSITION_IMPACT_FACTOR[positive]·size, and all positive impact by the impact pool. A side
    # flip is priced on absolute imbalances (GMX's crossover formula splits it; a simplification).
    a0 = abs(leg.oi[0] - leg.oi[1])
    a1 = np.abs(leg.oi[0] - leg.oi[1] + side * n)
    worse = a1 > a0

    def neg(hi: np.ndarray | float, lo: np.ndarray | float) -> np.ndarray:
        return leg.impact_neg * (np.asarray(hi) ** leg.impact_neg_exp - np.asarray(lo) ** leg.impact_neg_exp)

    def pos(hi: np.ndarray | float, lo: np.ndarray | float) -> np.ndarray:
        raw = leg.impact_pos * (np.asarray(hi) ** leg.impact_pos_exp - np.asarray(lo) ** leg.impact_pos_exp)
        return np.minimum(raw, leg.max_impact_pos * n)

    impact_open = np.where(worse, neg(a1, a0), 0.0)
    close_cost = np.where(worse, 0.0, np.minimum(neg(a0, a1), leg.max_impact_neg * n))
    impact_open = impact_open + close_cost          # every negative impact of the round trip
    gains = np.where(worse, pos(a1, a0), pos(a0, a1))
    impact_close = np.minimum(gains, leg.impact_pool_usd)
    net = gross - fees - impact_open + impact_close
    shape = np.broadcast(x, n).shape
    return {k: np.broadcast_to(v, shape) for k, v in (("gross", gross), ("fees", fees), ("impact_open", impact_open),
                                                       ("impact_close", impact_close), ("net", net))}


@dataclass
class SpotGrid:
    """Cheapest spot schedule per move (index-aligned with ``moves``)."""

    moves: np.ndarray
    capital: np.ndarray        # peak spot capital, USD (inf: unreachable)
    cost: np.ndarray           # round-trip loss, USD
    achieved: np.ndarray       # oracle move at exit actually reached
    venues_moved: np.ndarray   # int
    target: np.ndarray         # displacement applied on each moved venue


def _moved_order(src: AssetSources) -> list[int]:
    score = [v.depth_usd[min(2, len(v.depth_usd) - 1)] / v.weight for v in src.venues]
    return sorted(range(len(src.venues)), key=lambda k: score[k])


def spot_grid(src: AssetSources, aggregate: str, post: str, side: int, moves: tuple[float, ...], hold_s: float,
              params: dict[str, Any], ema_cap: float = math.inf) -> SpotGrid:
    """For each move: the cheapest way (number of venues, displacement) to move the venue's oracle."""
    k_n = len(src.venues)
    weights = np.array([v.weight for v in src.venues])
    arrays = make_sources([list(v.bands) for v in src.venues], [list(v.depth_usd) for v in src.venues],
                          [v.fee for v in src.venues],
                          [arb_per_step(v.arb_half_life_s / STEP_SECONDS) for v in src.venues], list(weights))
    kind = ORACLE_NAMES[aggregate]
    order = _moved_order(src)
    ygrid = _Y_GRID_UP if side > 0 else _Y_GRID_DOWN
    hold = max(0, int(math.ceil(hold_s / STEP_SECONDS)) - 1)
    if post == "twap":
        hold = max(hold, int(round(params.get("twap", {}).get("window_s", 1800) / STEP_SECONDS)) - 1)
    targets, meta = [], []
    for n in range(1, k_n + 1):
        ratio = np.ones((1, ygrid.size, k_n))
        ratio[0, :, order[:n]] = (1.0 + side * ygrid)[None, :]
        env = np.maximum.accumulate(np.abs(aggregate_sources(kind, ratio, weights, 0.05)[0] - 1.0))
        for mi, x in enumerate(moves):
            j = int(np.searchsorted(env, x - 1e-12))
            if j >= env.size:
                continue
            if j == 0:
                y = ygrid[0] * x / max(env[0], 1e-300)
            else:
                lo, hi = env[j - 1], env[j]
                y = ygrid[j - 1] + (ygrid[j] - ygrid[j - 1]) * ((x - lo) / (hi - lo) if hi > lo else 1.0)
            y = min(y * (1.0 + 1e-9), ygrid[-1])
            t = np.zeros(k_n)
            t[order[:n]] = side * y
            targets.append(t)
            meta.append((mi, n, y))
    m = len(moves)
    out = SpotGrid(np.asarray(moves), np.full(m, math.inf), np.full(m, math.inf), np.zeros(m), np.zeros(m, np.int64),
                   np.zeros(m))
    if not targets:
        return out
    plan = make_plan(np.array(targets), math.inf, 1, hold, 1)
    n_steps = 1 + hold + 1
    res = push_sources(arrays, plan, n_steps)
    exit_t = 1 + hold
    # the price the venue closes the attacker's position at: the minimum for a long, the maximum for a short
    oracle = oracle_from_sources(kind, res.ratio, weights, post, STEP_SECONDS,
                                 params, maximize=side < 0)
    achieved = np.abs(oracle[:, exit_t] - 1.0)
    if math.isfinite(ema_cap):
        achieved = np.minimum(achieved, ema_cap - 1.0 if side > 0 else 1.0 - 1.0 / ema_cap)
    cost = res.premium + res.fees
    for g, (mi, n, y) in enumerate(meta):
        if achieved[g] < moves[mi] * (1.0 - 1e-6):
            continue
        if res.capital[g] < out.capital[mi]:
            out.capital[mi], out.cost[mi], out.achieved[mi] = res.capital[g], cost[g], achieved[g]
            out.venues_moved[mi], out.target[mi] = n, y
    return out


def best_attack(leg: PerpLeg, side: int, grid: SpotGrid, budget: float = math.inf) -> dict[str, Any]:
    """Best net over (move, size) within the side's room and the capital budget; break-even capital."""
    room = leg.room(side)
    ok = np.isfinite(grid.capital)
    if room <= 0 or not ok.any():
        return {"best_net_usd": None if not ok.any() else 0.0, "profitable": False, "break_even_capital_usd": None,
                "room_usd": room}
    moves = grid.achieved[ok][:, None]
    spot_cap = grid.capital[ok][:, None]
    spot_cost = grid.cost[ok][:, None]
    n = room * _N_GRID[None, :]
    perp = perp_net(leg, side, moves, n)
    net = perp["net"] - spot_cost
    capital = spot_cap + n / leg.max_leverage
    feasible = capital <= budget
    be = capital[net > 0]
    if not feasible.any():
        return {"best_net_usd": None, "profitable": False, "room_usd": room, "reason": "capital",
                "min_capital_usd": float(capital.min()),
                "break_even_capital_usd": float(be.min()) if be.size else None}
    masked = np.where(feasible, net, -np.inf)
    i, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
    best = float(masked[i, j])
    pays = np.isfinite(best) and best > 0
    be = capital[net > 0]
    return {"best_net_usd": best if np.isfinite(best) else None, "profitable": bool(pays),
            "best_move": float(moves[i, 0]), "best_perp_notional_usd": float(n[0, j]),
            "best_capital_usd": float(capital[i, j]), "best_spot_cost_usd": float(spot_cost[i, 0]),
            "best_gross_usd": float(perp["gross"][i, j]), "best_impact_usd": float(perp["impact_open"][i, j]),
            "break_even_capital_usd": float(be.min()) if be.size else None, "room_usd": room}


def _solve(pays: Callable[[float], bool], lo: float, hi: float, log: bool = True, iters: int = 40) -> float:
    """Boundary between paying (at ``lo``) and not paying (at ``hi``) by bisection."""
    for _ in range(iters):
        mid = math.sqrt(lo * hi) if log else 0.5 * (lo + hi)
        if pays(mid):
            lo = mid
        else:
            hi = mid
    return hi


def defence(leg: PerpLeg, side: int, grids: dict[int, SpotGrid], budget: float,
            src: AssetSources, aggregate: str, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters at which the best attack stops paying (None: it already does not pay / no bound)."""
    grid = grids[side]
    i = 0 if side > 0 else 1
    out: dict[str, Any] = {}

    def pays_with(new: PerpLeg, g: SpotGrid = grid) -> bool:
        return bool(best_attack(new, side, g, budget)["profitable"])

    room = leg.room(side)
    if pays_with(leg) and room > 0:
        if pays_with(replace(leg, max_position=1.0)):
            out["oi_cap_usd"] = None            # even a $1 position pays: no OI cap stops it
        else:
            lo, hi = 1.0, room
            for _ in range(40):
                mid = math.sqrt(lo * hi)
                lo, hi = (lo, mid) if pays_with(replace(leg, max_position=mid)) else (mid, hi)
            out["oi_cap_usd"] = leg.oi[i] + lo
            out["max_attacker_position_usd"] = lo
        f0 = max(leg.impact_neg, 1e-16)
        out["impact_factor"] = None if pays_with(replace(leg, impact_neg=1e-2)) else _solve(
            lambda f: pays_with(replace(leg, impact_neg=f)), f0, 1e-2)
        if leg.post in ("hyperp", "hyperp-xpl"):
            def with_cap(c: float) -> bool:
                g = spot_grid(src, aggregate, leg.post, side, X_GRID, leg.hold_s, params, ema_cap=c)
                return pays_with(replace(leg, ema_cap=c), g)
            top = min(leg.ema_cap, 1000.0)
            out["ema_cap"] = _solve(with_cap, top, 1.0 + 1e-6, log=False, iters=24) if (
                with_cap(top) and not with_cap(1.0 + 1e-6)) else None
    return out


def oi_liquidated(book: Book, thresholds: np.ndarray, market: int, side: int, moves: tuple[float, ...]) -> list[float]:
    """USD notional (at the book price) whose liquidation price a move in direction ``side`` crosses."""
    sel = book.market == market
    p0 = float(book.price[market])
    notional = book.size * p0
    out = []
    for x in moves:
        if side > 0:   # price up: shorts liquidate at P >= threshold
            hit = sel & (book.side < 0) & (thresholds <= p0 * (1.0 + x))
        else:
            hit = sel & (book.side > 0) & (thresholds >= p0 * (1.0 - x))
        out.append(float(notional[hit].sum()))
    return out


def legs_from_book(book: Book, venue: str, market_params: list[Any] | None, post: str) -> list[PerpLeg]:
    """One perp leg per market: GMX v2 parameters from a snapshot (``market_params``), else the
    book's pools with no OI cap and no impact (a generic pool venue)."""
    models = oracle_models()
    oi = book.open_interest()
    m = book.n_markets
    tok = np.zeros((m, 2))
    ent = np.zeros((m, 2))
    sidx = (book.side < 0).astype(np.intp)
    np.add.at(tok, (book.market, sidx), book.size)
    np.add.at(ent, (book.market, sidx), book.size * book.entry_price)
    legs = []
    for i in range(m):
        p0 = float(book.price[i])
        raw_pool = (float(book.pool_long_tokens[i]) * p0, float(book.pool_short_usd[i]))
        pool = (raw_pool[0] if raw_pool[0] > 0 else math.inf, raw_pool[1] if raw_pool[1] > 0 else math.inf)
        f_l, f_s = (float(v) if np.isfinite(v) and v > 0 else math.inf for v in book.max_pnl_factor_traders[i])
        mpf = (f_l, f_s)
        # no snapshot parameters: the GMX v2 balance-worsening position fee, 0.06 % (protocols.md §1.3)
        fee = float(book.close_fee_rate[i]) if np.isfinite(book.close_fee_rate[i]) else 0.0006
        leg = PerpLeg(venue=venue, price=p0, oi=(float(oi[i, 0]), float(oi[i, 1])), oi_cap=(math.inf, math.inf),
                      max_leverage=50.0, fee=fee, pool_usd=pool, max_pnl_factor=mpf,
                      side_tokens=(float(tok[i, 0]), float(tok[i, 1])),
                      side_entry_usd=(float(ent[i, 0]), float(ent[i, 1])), post=post,
                      hold_s=float(models.get("gmx_v2_keeper", {}).get("hold_s", 60.0)),
                      spread=float(models.get("gmx_v2_keeper", {}).get("spread", 0.0)) if venue == "gmx-v2" else 0.0)
        if market_params is not None:
            mp = market_params[i]
            leg = replace(leg, oi_cap=(pool[0] * mp.oi_reserve_factor_long, pool[1] * mp.oi_reserve_factor_short),
                          max_leverage=1.0 / mp.min_collateral_factor if mp.min_collateral_factor > 0 else 100.0,
                          fee=mp.open_fee, impact_neg=mp.impact_factor_negative,
                          impact_neg_exp=mp.impact_exponent_negative, impact_pos=mp.impact_factor_positive,
                          impact_pos_exp=mp.impact_exponent_positive, max_impact_pos=mp.max_impact_positive,
                          max_impact_neg=mp.max_impact_negative,
                          impact_pool_usd=mp.impact_pool_tokens * p0)
        legs.append(leg)
    return legs


def manipulation_table(book: Book, legs: list[PerpLeg], assets: dict[str, AssetSources], thresholds: np.ndarray,
                       oracle: str | None = None, budget: float = math.inf, reference_file: str | None = None,
                       progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """One row per market (see the module docstring)."""
    if oracle is not None and oracle not in ORACLE_CHOICES:
        raise InputError(f"--oracle {oracle!r}: expected one of {', '.join(ORACLE_CHOICES)}")
    if not budget > 0:
        raise InputError("--capital must be a positive USD amount")
    params = oracle_models()
    rows = []
    for m, name in enumerate(book.market_names):
        src = sources_for(name, assets, reference_file)
        aggregate = oracle if oracle in ("median", "weighted-median", "exchange-index") else src.aggregate
        leg = legs[m]
        if oracle is not None and oracle not in ("median", "weighted-median", "exchange-index"):
            leg = replace(leg, post=oracle)
        if leg.post == "hyperp":
            leg = replace(leg, ema_cap=float(params["hyperp"]["cap"]))
        by_side: dict[str, Any] = {}
        grids: dict[int, SpotGrid] = {}
        for side, label in ((1, "up"), (-1, "down")):
            moves_all = tuple(sorted(set(X_GRID) | set(MOVES)))
            grid = spot_grid(src, aggregate, leg.post, side, moves_all, leg.hold_s, params, ema_cap=leg.ema_cap)
            grids[side] = grid
            idx = [moves_all.index(x) for x in MOVES]
            best = best_attack(leg, side, grid, budget)
            by_side[label] = {
                "capital_to_move_usd": {move_key(x): _num(grid.capital[i]) for x, i in zip(MOVES, idx)},
                "spot_cost_to_move_usd": {move_key(x): _num(grid.cost[i]) for x, i in zip(MOVES, idx)},
                "venues_moved": {move_key(x): int(grid.venues_moved[i]) for x, i in zip(MOVES, idx)},
                "oi_liquidated_usd": dict(zip(map(move_key, MOVES), oi_liquidated(book, thresholds, m, side, MOVES))),
                **best,
            }
        label = max(("up", "down"), key=lambda s: by_side[s]["best_net_usd"] if by_side[s]["best_net_usd"] is not None
                    else -math.inf)
        side = 1 if label == "up" else -1
        chosen = by_side[label]
        fence = defence(leg, side, grids, budget, src, aggregate, params) if chosen["profitable"] else {}
        rows.append({
            "market": name, "asset": asset_of(name), "venue": leg.venue,
            "oracle": {"aggregate": aggregate, "rule": leg.post, "venues": [v.name for v in src.venues],
                       "weights": [v.weight for v in src.venues]},
            "price": leg.price, "open_interest_usd": {"long": leg.oi[0], "short": leg.oi[1]},
            "caps": {"oi_cap_usd": {"long": _num(leg.oi_cap[0]), "short": _num(leg.oi_cap[1])},
                     "max_leverage": leg.max_leverage, "impact_factor_negative": leg.impact_neg,
                     "impact_exponent_negative": leg.impact_neg_exp,
                     "max_pnl_factor_traders": {"long": _num(leg.max_pnl_factor[0]), "short": _num(leg.max_pnl_factor[1])}},
            "direction": label,
            "capital_to_move_usd": chosen["capital_to_move_usd"],
            "spot_cost_to_move_usd": chosen["spot_cost_to_move_usd"],
            "oi_liquidated_usd": chosen["oi_liquidated_usd"],
            "best_profit_usd": chosen["best_net_usd"], "break_even_capital_usd": chosen["break_even_capital_usd"],
            "profitable": chosen["profitable"], "defence": fence, "verdict": _verdict(chosen, fence, label),
            "by_direction": by_side,
        })
        if progress is not None:
            progress(1)
    return rows


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _usd(x: float | None) -> str:
    if x is None:
        return "n/a"
    a = abs(x)
    s = f"${a / 1e9:.2f}B" if a >= 1e9 else f"${a / 1e6:.2f}M" if a >= 1e6 else f"${a / 1e3:.1f}k" if a >= 1e3 else f"${a:.0f}"
    return ("-" if x < 0 else "") + s


def _verdict(best: dict[str, Any], fence: dict[str, Any], label: str) -> str:
    if best.get("room_usd", 0) <= 0:
        return "no room: the side's OI cap is reached"
    if best.get("reason") == "capital":
        return f"the capital cannot move the oracle (the smallest push needs {_usd(best['min_capital_usd'])})"
    if best["best_net_usd"] is None:
        return "spot pushes on the reference venues do not move this oracle (rule or caps)"
    if not best["profitable"]:
        return f"does not pay within the caps (best net {_usd(best['best_net_usd'])})"
    parts = [f"PAYS ({'pump' if label == 'up' else 'dump'}): net {_usd(best['best_net_usd'])} on "
             f"{_usd(best['best_capital_usd'])}, break-even {_usd(best['break_even_capital_usd'])}"]
    if fence.get("oi_cap_usd") is not None:
        parts.append(f"stops at OI cap {_usd(fence['oi_cap_usd'])}")
    if fence.get("impact_factor") is not None:
        parts.append(f"or impact factor {fence['impact_factor']:.2e}")
    if fence.get("ema_cap") is not None:
        parts.append(f"or EMA cap {fence['ema_cap']:.3g}x")
    return "; ".join(parts)


__all__ = ["MOVES", "ORACLE_CHOICES", "PerpLeg", "SpotGrid", "best_attack", "defence", "legs_from_book",
           "manipulation_table", "move_key", "oi_liquidated", "perp_net", "spot_grid"]



def manipulation_payload(book: Book, legs: list[PerpLeg], rules: Any, venue: str, assets: dict[str, AssetSources],
                         *, oracle: str | None = None, budget: float = math.inf, ref_file: str | None = None,
                         progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """What ``defi-perps manipulation --json`` prints (and what a stored run's digest covers): the
    table of every market with the model's inputs and the venue rules it used."""
    from defi_perps.runs.attack_engine import liquidation_thresholds

    rows = manipulation_table(book, legs, assets, liquidation_thresholds(book, rules), oracle=oracle, budget=budget,
                              reference_file=ref_file, progress=progress)
    return {"book": book.summary(), "venue": venue, "capital_usd": None if math.isinf(budget) else budget,
            "oracle_override": oracle, "reference_venues": ref_file or "built-in estimates",
            "model": {"step_seconds": 60.0, "moves": ["1%", "5%", "10%", "25%"],
                      "notes": ["capital = peak spot USD deployed to move and hold the oracle; spot cost = its "
                                "round-trip loss", "built-in reference-venue depth is an order-of-magnitude estimate",
                                "GMX v2 OI cap = pool USD x OPEN_INTEREST_RESERVE_FACTOR (MAX_OPEN_INTEREST is not in "
                                "the snapshot); without a snapshot: the side's pool"]},
            "rules": rules.to_dict(), "markets": rows}

def audit_section(ctx: Any) -> Any:
    """The audit's "Oracle manipulation" section (registry: :data:`defi_perps.runs.audit.SECTIONS`):
    the manipulation table of every market of the audited snapshot on GMX v2's rules, with the
    snapshot's own market parameters (OI caps, impact factors, pnl caps) and the built-in
    reference-venue depth estimates, plus the cost-vs-profit figure and one finding per
    profitable market. It is stored as a ``manipulation`` run that the figure and finding cite."""
    import pandas as pd

    from defi_perps.book.market_params import gmx_v2_market_params
    from defi_perps.runs import audit_inputs as ai
    from defi_perps.runs.attack_engine import venue_rules
    from defi_perps.runs.audit import FigureSpec, Finding, Section
    from defi_perps.venues.oracles import load_reference_venues

    if not getattr(ctx, "is_gmx_v2", True):
        from defi_perps.runs.audit import SectionSkipped

        raise SectionSkipped(
            f"GMX v2 only: the attack model takes each market's OI caps, price-impact factors and max pnl factor "
            f"from a GMX v2 snapshot; this is a {ctx.protocol_title} snapshot, which has none of them.")
    venue = "gmx-v2"
    book = ctx.book
    sec = Section("manipulation", "Oracle manipulation",
                  "Per market: the spot capital that moves the market's oracle by 1/5/10/25 % on its reference "
                  "venues (built-in depth estimates, order of magnitude only), the open interest that move "
                  "liquidates (the engine's thresholds), the best attack within GMX v2's caps taken from the "
                  "snapshot (OI cap, price impact, max pnl factor), break-even capital and a verdict, and the "
                  "defence at which the best attack stops paying. Model: defi_perps/runs/manipulation.py.")
    import time

    from defi_perps.runs import record as rec

    snap = ai.load_snapshot_record(ctx.request.db_url, ctx.snapshot_id)
    legs = legs_from_book(book, venue, gmx_v2_market_params(snap), "none")
    rules = venue_rules(venue, book, 60.0)
    t0 = time.perf_counter()
    try:
        payload = manipulation_payload(book, legs, rules, venue, load_reference_venues(None))
    except InputError as err:   # a market without built-in reference venues: say so, run nothing
        sec.notes.append(f"not computed: {err}")
        return sec
    # stored like every other figure's source: `defi-perps runs rerun ID` reproduces it bit for bit
    argv = ["manipulation", "--snapshot", str(ctx.snapshot_id), "--venue", venue]
    run = rec.record(argv, payload, db_url=ctx.request.db_url, book=book, label=f"manipulation × {venue}",
                     elapsed_s=time.perf_counter() - t0)
    run_ids = [run.id] if run.id is not None else []
    sec.run_ids = run_ids
    rows = payload["markets"]
    table = pd.DataFrame([{
        "market": r["market"], "direction": r["direction"], "oracle": r["oracle"]["rule"],
        **{f"capital_to_move_{k}_usd": v for k, v in r["capital_to_move_usd"].items()},
        **{f"oi_liquidated_{k}_usd": v for k, v in r["oi_liquidated_usd"].items()},
        "best_profit_usd": r["best_profit_usd"], "break_even_capital_usd": r["break_even_capital_usd"],
        "profitable": r["profitable"], "verdict": r["verdict"]} for r in rows])
    sec.tables["manipulation"] = table
    fig_rows = []
    for r in rows:
        best = r["by_direction"][r["direction"]]
        if best.get("best_spot_cost_usd") is not None and best.get("best_gross_usd") is not None:
            fig_rows.append({"market": r["market"].split(" [")[0], "cost_usd": float(best["best_spot_cost_usd"]),
                             "profit_usd": float(best["best_gross_usd"])})
    sec.figures.append(FigureSpec(
        "manipulation_cost_profit", "manipulation_cost_profit", "Oracle manipulation: cost vs profit per market",
        "For each market's best attack within the venue's caps: the spot round-trip cost of moving its oracle (x) "
        "against the perp position's gross profit from that move (y), both log scale; markets above the dotted "
        "break-even line pay for themselves (fees and price impact are in the table's net figure).",
        {"rows": fig_rows}, run_ids))
    paying = [r for r in rows if r["profitable"]]
    sec.findings.append(Finding(
        "manipulation_profitable", "Markets where an oracle attack pays", float(len(paying)),
        ", ".join(r["market"] for r in paying) if paying else "none",
        "markets whose best attack within the venue's caps nets a profit at the built-in depth estimates",
        "manipulation", run_ids, "alert" if paying else "info"))
    sec.data = {"run_id": run.id, "venue": venue, "rules": payload["rules"], "markets": rows}
    return sec
