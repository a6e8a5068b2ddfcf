"""Kernel inputs: thresholds, sorted segments and parameter arrays, built once per run.

:func:`prepare` turns a :class:`~defi_perps.book.Book`, venue rules, a depth spec and a price
model into the NamedTuples of arrays the kernel (``nb.py``) and its twin (``reference.py``) read.
Positions are reordered so that each segment — one (market, side, maintenance tier) — is a
contiguous run sorted by liquidation threshold, longs from the highest threshold down, shorts
from the lowest up: a falling price liquidates longs in array order, a rising one shorts.

Engine memory per position is five float64 arrays (threshold, size, entry, collateral USD,
collateral tokens): 40 bytes. Everything else is per market, per segment or per path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine import depth as _depth
from defi_perps.engine.hedger_nb import NO_HEDGER_F, NO_HEDGER_I, NO_HEDGER_LAT
from defi_perps.engine import liq_window as _liq_window
from defi_perps.engine.rules import MM_TIERED, VenueRules
from defi_perps.exceptions import EngineInputError

SECONDS_PER_YEAR = 365.0 * 86400.0
MAX_CLASSES = 64   # distinct maintenance rules (tiers, market and position rates) per book


NO_BTHR = np.full(1, np.inf, np.float32)
NO_BTHR_BF = np.zeros(1)


class PositionArrays(NamedTuple):
    thr: np.ndarray          # float64[N] threshold price (longs liquidate at P <= thr, shorts at P >= thr)
    qty: np.ndarray          # float64[N] index tokens
    entry: np.ndarray        # float64[N]
    coll_usd: np.ndarray     # float64[N]
    coll_tok: np.ndarray     # float64[N]
    seg_start: np.ndarray    # int64[S + 1] segment offsets into the position arrays
    seg_market: np.ndarray   # int64[S]
    seg_side: np.ndarray     # int64[S] +1 / -1
    seg_rate: np.ndarray     # float64[S] maintenance rate
    seg_amount: np.ndarray   # float64[S] maintenance amount (USD)
    seg_mark: np.ndarray     # int64[S] 1: MM on mark notional, 0: on entry notional
    seg_w: np.ndarray        # float64[S] threshold shift per unit of accrued funding (price units)
    acct: np.ndarray         # int32[N] account index (ADL counts distinct accounts)
    n_accounts: np.ndarray   # int64[1]
    # each position's backstop price bound at zero accrual (backstop_prices; float32, rounded away from
    # the mark), for the backstop fraction in bthr_bf[0]; a 1-entry placeholder and 0 where off
    bthr: np.ndarray = NO_BTHR             # float32[N]
    bthr_bf: np.ndarray = NO_BTHR_BF       # float64[1]
    # the delta-neutral hedger whose short is one of the positions (hedger_nb.py: HI, HF columns)
    hedger_i: np.ndarray = NO_HEDGER_I     # int64[3] its short's sorted index (-1: none), market, re-hedge route
    hedger_f: np.ndarray = NO_HEDGER_F     # float64[6] spot tokens, short size, entry, start price, fee, funding/step
    hedger_lat: np.ndarray = NO_HEDGER_LAT  # int64[P] re-hedge latency per path (steps >= 1)


class MarketArrays(NamedTuple):
    price0: np.ndarray            # float64[M]
    close_fee: np.ndarray         # float64[M] charged on every close (on entry notional)
    close_fee_in_trigger: np.ndarray  # float64[M] the part counted in the trigger (0 or close_fee)
    liq_fee: np.ndarray           # float64[M]
    impact_cap: np.ndarray        # float64[M] oracle-mode protocol impact cap
    min_coll: np.ndarray          # float64[M] min collateral USD floor
    max_adl: np.ndarray           # float64[M, 2] (col 0 longs, col 1 shorts)
    min_adl: np.ndarray           # float64[M, 2]
    max_traders: np.ndarray       # float64[M, 2]
    pool_long_tok: np.ndarray     # float64[M]
    pool_short_usd: np.ndarray    # float64[M]
    oi_qty: np.ndarray            # float64[M, 2] open size (tokens)
    oi_entry: np.ndarray          # float64[M, 2] open entry notional (USD)
    accrual: np.ndarray           # float64[M, 2] funding+borrowing per step, fraction of price per token
    depth_kind: np.ndarray        # int64[M]
    depth_k: np.ndarray           # float64[M]
    depth_a: np.ndarray           # float64[M]
    band_x: np.ndarray            # float64[M, B]
    band_d: np.ndarray            # float64[M, B] cumulative depth USD (stress applied)
    band_n: np.ndarray            # int64[M]
    perm_frac: np.ndarray         # float64[M]
    trans_decay: np.ndarray       # float64[M]
    hedge_limit: np.ndarray       # float64[M] B-book: net exposure (USD) the broker keeps unhedged
    depth_sched: np.ndarray       # float64[T + 1, B] each band's depth multiplier at each step (a scenario's
    #                               [[depth_schedule]]); one row of ones = depth constant over the path
    wd_par: np.ndarray            # float64[N_WD_PAR] liquidity withdrawal parameters (engine/liquidity_nb.py); [0] = 0: off
    wd_exp: np.ndarray            # float64[M, B] each band's withdrawal exponent (near mid 1, wide bands less)
    wd_cap: np.ndarray            # float64[M] the makers' capital (USD) their drawdown and ADL are measured against
    liq_cap: np.ndarray           # float64[M] index tokens liquidatable per step (engine/liq_window.py); inf = no cap


class ModelArrays(NamedTuple):
    mu: np.ndarray           # float64[M] drift per step (log)
    sigma: np.ndarray        # float64[M] volatility per sqrt(step)
    beta: np.ndarray         # float64[M] loading on the common factor, in [-1, 1]
    garch_alpha: float
    garch_beta: float
    jump_prob: float         # probability of a common jump per step
    jump_mean: float         # log jump size mean
    jump_std: float
    base_log: np.ndarray     # float64[T + 1, M] deterministic log path (shock / replay), 0 at t=0


@dataclass
class PriceModel:
    """Exogenous price model: GBM + common Poisson jumps + GARCH(1,1), factor-correlated.

    ``volatility``/``drift`` are annualised; ``beta`` is each market's loading on one common
    factor (correlation between markets i, j = beta_i × beta_j). Jumps hit the factor, scaled by
    beta. GARCH runs on the variance multiplier ``h`` (long-run 1): ``h' = 1 − α − β + α ε² + β h``.
    ``volatility=0`` everywhere gives a deterministic run (shock or replay paths only).
    """

    volatility: list[float] | float = 0.6
    beta: list[float] | float = 0.8
    drift: list[float] | float = 0.0
    garch_alpha: float = 0.05
    garch_beta: float = 0.90
    jump_rate_per_year: float = 0.0
    jump_mean: float = -0.05
    jump_std: float = 0.03

    def arrays(self, n_markets: int, n_steps: int, step_seconds: float,
               base_log: np.ndarray | None = None) -> ModelArrays:
        dt = step_seconds / SECONDS_PER_YEAR

        def per_market(v: list[float] | float, name: str) -> np.ndarray:
            arr = np.broadcast_to(np.asarray(v, dtype=np.float64), (n_markets,)).copy() if np.ndim(v) == 0 \
                else np.asarray(v, dtype=np.float64)
            if arr.shape != (n_markets,) or not np.all(np.isfinite(arr)):
                raise EngineInputError(f"price model {name}: expected one finite value per market ({n_markets})")
            return arr

        sigma = per_market(self.volatility, "volatility")
        beta = per_market(self.beta, "beta")
        mu = per_market(self.drift, "drift")
        if np.any(sigma < 0) or np.any(np.abs(beta) > 1):
            raise EngineInputError("price model: volatility must be >= 0 and |beta| <= 1")
        if not (self.garch_alpha >= 0 and self.garch_beta >= 0 and self.garch_alpha + self.garch_beta < 1):
            raise EngineInputError("price model: GARCH needs alpha, beta >= 0 and alpha + beta < 1")
        if base_log is None:
            base_log = np.zeros((n_steps + 1, n_markets))
        base_log = np.ascontiguousarray(base_log, dtype=np.float64)
        if base_log.shape != (n_steps + 1, n_markets):
            raise EngineInputError(f"base path has shape {base_log.shape}, expected {(n_steps + 1, n_markets)}")
        return ModelArrays(mu=mu * dt - 0.0, sigma=sigma * math.sqrt(dt), beta=beta,
                           garch_alpha=float(self.garch_alpha), garch_beta=float(self.garch_beta),
                           jump_prob=float(min(max(self.jump_rate_per_year, 0.0) * dt, 1.0)),
                           jump_mean=float(self.jump_mean), jump_std=float(self.jump_std), base_log=base_log)


@dataclass
class DepthSpec:
    """Per-market depth curves. ``None`` fields get defaults relative to the book's open interest.

    ``bands``: distances (fractions) and ``band_depth_usd`` per market the cumulative USD depth
    at each; or ``kind="linear"|"power"`` with ``k_usd`` (depth at distance 1) and ``exponent``.
    Default: bands ±0.5/1/2/5/10 % holding 5/10/20/50/100 % of the market's open interest (a
    modelling choice: depth scaled to the positions that can be liquidated into it).
    """

    kind: str = "bands"
    bands: tuple[float, ...] = _depth.DEFAULT_BANDS
    band_depth_usd: list[list[float]] | None = None
    k_usd: list[float] | float | None = None
    exponent: list[float] | float = 1.0
    stress: float = 1.0
    permanent_fraction: float = 0.5
    transient_half_life_steps: float = 5.0
    default_band_share: tuple[float, ...] = (0.05, 0.10, 0.20, 0.50, 1.00)
    min_depth_usd: float = 1e5


@dataclass
class Funding:
    """Funding + borrowing paid per index token, annualised fraction of price (+ pays, − receives)."""

    long_rate: list[float] | float = 0.0
    short_rate: list[float] | float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def _thresholds(q: np.ndarray, e: np.ndarray, c_usd: np.ndarray, c_tok: np.ndarray, side: np.ndarray,
                rate: np.ndarray, amount: np.ndarray, mark_based: np.ndarray, fee_trig: np.ndarray,
                min_coll: np.ndarray) -> np.ndarray:
    """Price at which equity = maintenance (see rules.py docstring for the equity/MM model)."""
    qe = q * e
    fee = fee_trig * qe
    long = side > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # constant MM (entry notional) or mark-proportional MM minus maintenance amount
        k_const = np.where(mark_based == 1, 0.0, rate * qe)
        thr_long = np.where(mark_based == 1,
                            (qe + fee - c_usd - amount) / (c_tok + q * (1.0 - rate)),
                            (k_const + qe + fee - c_usd) / (c_tok + q))
        min_coll = np.maximum(min_coll, 0.0)
        floor_long = (min_coll + qe + fee - c_usd) / (c_tok + q)
        den_short_mark = q * (1.0 + rate) - c_tok
        thr_short = np.where(mark_based == 1,
                             np.where(den_short_mark > 0, (qe + c_usd - fee + amount) / den_short_mark, np.inf),
                             np.where(q > c_tok, (qe + c_usd - fee - k_const) / (q - c_tok), np.inf))
        floor_short = np.where(q > c_tok, (qe + c_usd - fee - min_coll) / (q - c_tok), np.inf)
    # equity below max(MM, min collateral, 0) liquidates: a tier's maintenance amount can make MM
    # negative far from the book's price, and equity <= 0 always liquidates (GMX "< 0" reason).
    thr = np.where(long, np.maximum(thr_long, floor_long), np.minimum(thr_short, floor_short))
    return thr


def backstop_prices(q: np.ndarray, e: np.ndarray, c_usd: np.ndarray, c_tok: np.ndarray, side: float,
                    rate: float, amount: float, mark_based: bool, fee_trig: float, min_coll: float,
                    bf: float) -> np.ndarray:
    """float64[n] each position's backstop price at zero accrual: where its equity crosses ``bf`` ×
    its maintenance (the kernel's first-trigger test, engine/nb.py ``_first_trigger``: equity
    ``cu + ct·P + s·q·(P − e) − fee·q·e − Φ·q`` against ``bf · max(MM(P), min collateral)``). Longs are
    taken over by the backstop below it, shorts above it; ``+inf`` (longs) / ``-inf`` (shorts) where the
    bound does not hold in the kernel's form (token collateral, whose accrual shift differs per
    position, or no positive slope): those positions always take the exact test.

    ``equity − bf·max(MM, floor)`` is the smaller of two lines in ``P`` (one per term of the max), both
    rising for a long and falling for a short, so the price is the larger (long) or smaller (short)
    of their two roots. Accrual ``Φ`` moves the MM line's root by ``s·Φ/(1 − s·bf·rate)`` (MM on mark
    notional; else ``s·Φ``) and the floor line's by ``s·Φ``: the kernel shifts the bound by ``s`` times
    the larger of the two, which never moves it past the true price (``_backstop_shift``)."""
    qe = q * e
    fee = fee_trig * qe
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if side > 0:
            den1 = q * (1.0 - bf * rate) if mark_based else q
            num1 = qe + fee - c_usd - (bf * amount if mark_based else -bf * rate * qe)
            r1 = num1 / den1
            r2 = (qe + fee + bf * min_coll - c_usd) / q
            b = np.maximum(r1, r2)
            bad = (c_tok != 0.0) | ~(den1 > 0.0) | ~(q > 0.0) | np.isnan(b)
            return np.where(bad, np.inf, b)
        den1 = q * (1.0 + bf * rate) if mark_based else q
        num1 = c_usd + qe - fee + (bf * amount if mark_based else -bf * rate * qe)
        r1 = num1 / den1
        r2 = (c_usd + qe - fee - bf * min_coll) / q
        b = np.minimum(r1, r2)
        bad = (c_tok != 0.0) | ~(den1 > 0.0) | ~(q > 0.0) | np.isnan(b)
        return np.where(bad, -np.inf, b)


def _backstop_bounds(pos: PositionArrays, fee_trig: np.ndarray, min_coll: np.ndarray, bf: float) -> np.ndarray:
    """float32[N] :func:`backstop_prices` in sorted order, rounded away from the mark (up for longs,
    down for shorts) so that the float32 bound never lets a position skip a test it could fail;
    computed segment by segment in chunks (no full-size float64 temporary)."""
    out = np.empty(pos.qty.size, np.float32)
    step = 1 << 16
    for g in range(pos.seg_market.size):
        m = int(pos.seg_market[g])
        s = float(pos.seg_side[g])
        for lo in range(int(pos.seg_start[g]), int(pos.seg_start[g + 1]), step):
            hi = min(int(pos.seg_start[g + 1]), lo + step)
            b = backstop_prices(pos.qty[lo:hi], pos.entry[lo:hi], pos.coll_usd[lo:hi], pos.coll_tok[lo:hi], s,
                                float(pos.seg_rate[g]), float(pos.seg_amount[g]), bool(pos.seg_mark[g] == 1),
                                float(fee_trig[m]), float(min_coll[m]), bf)
            out[lo:hi] = round_away32(b, s)
    return out


def round_away32(b: np.ndarray, side: float) -> np.ndarray:
    """float32 of ``b`` rounded up (``side > 0``) or down, never toward the price the bound guards."""
    with np.errstate(over="ignore"):
        b32 = b.astype(np.float32)
    toward = np.float32(np.inf) if side > 0 else np.float32(-np.inf)
    off = (b32 < b) if side > 0 else (b32 > b)
    return np.where(off, np.nextafter(b32, toward), b32)


def _override(values: np.ndarray, default: float) -> np.ndarray:
    return np.where(np.isnan(values), default, values)


def _classes(book: Book, rules: VenueRules,
             position_mm: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Each position's maintenance class: (int16[N] code, float64[K, 3] table of rate, amount,
    1 if on mark notional). Built from small per-class tables, never from per-position rate arrays."""
    n = book.n_positions
    mark_default = 0.0 if rules.mm_on_entry_notional else 1.0
    if position_mm is not None:
        codes, table = position_mm
        codes = np.asarray(codes)
        table = np.asarray(table, dtype=np.float64).reshape(-1, 3)
        if codes.shape != (n,) or (n and (codes.min() < 0 or codes.max() >= table.shape[0])):
            raise EngineInputError("per-position maintenance classes must be one valid code per position")
        return codes.astype(np.int16, copy=False), table
    if rules.mm_kind == MM_TIERED:
        tier = np.searchsorted(rules.tier_floor, book.notional(), side="right") - 1
        codes = np.clip(tier, 0, rules.tier_floor.size - 1).astype(np.int16)
        rows = [(float(r), float(a), 1.0) for r, a in zip(rules.tier_rate, rules.tier_amount)]
    else:
        codes = np.zeros(n, np.int16)
        rows = [(float(rules.mm_rate), 0.0, mark_default)]
    # a per-market rate (e.g. GMX MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION), then a per-position one
    for m in np.flatnonzero(~np.isnan(book.mm_rate)):
        rows.append((float(book.mm_rate[m]), 0.0, mark_default))
        codes[book.market == m] = len(rows) - 1
    own = ~np.isnan(book.position_mm_rate)
    if own.any():
        values, inverse = np.unique(book.position_mm_rate[own], return_inverse=True)
        base = len(rows)
        rows.extend((float(v), 0.0, mark_default) for v in values)
        codes[own] = (base + inverse.reshape(-1)).astype(np.int16)
    table = np.array(rows, dtype=np.float64)
    # drop unused and duplicate classes (one segment per distinct rule)
    used = np.unique(codes)
    uniq, remap = np.unique(table[used], axis=0, return_inverse=True)
    lut = np.zeros(table.shape[0], np.int16)
    lut[used] = remap.reshape(-1).astype(np.int16)
    return lut[codes], uniq


def _compact_segments(seg: np.ndarray, m_count: int, n_cls: int) -> tuple[np.ndarray, ...]:
    """Renumber the (market, side, class) segments ``seg`` (id ``(market·2 + short)·n_cls + class``) so
    that each market has only ``K`` slots, ``K`` the most non-empty segments any market has: a market's
    non-empty segments first, in their (side, class) order, then empty padding. The classes are the
    whole book's (a tiered venue has every market's tiers: Hyperliquid 8 per side, Binance 27), while a
    market's positions use a few of them; the kernel visits every segment of a market on each cascade
    iteration and each rescan, so the empty ones cost time and decide nothing. The renumbering keeps
    the segments' order, so the positions' sorted order, and every result, are unchanged.

    Returns the new ids per position and, per new segment, its market, side (+1 / -1; padding +1) and
    class (-1 for padding)."""
    full = np.bincount(seg, minlength=m_count * 2 * n_cls).reshape(m_count, 2 * n_cls) > 0
    k = max(1, int(full.sum(axis=1).max())) if m_count else 1
    lut = np.zeros(m_count * 2 * n_cls, np.int32)
    seg_market = np.repeat(np.arange(m_count), k).astype(np.int64)
    seg_side = np.ones(m_count * k, np.int64)
    seg_cls = np.full(m_count * k, -1, np.int64)
    for m in range(m_count):
        old = np.flatnonzero(full[m])            # local (side, class) ids, in order
        new = m * k + np.arange(old.size)
        lut[m * 2 * n_cls + old] = new
        seg_side[new] = np.where(old >= n_cls, -1, 1)
        seg_cls[new] = old % n_cls
    return lut[seg], seg_market, seg_side, seg_cls


def prepare_positions(book: Book, rules: VenueRules,
                      position_mm: tuple[np.ndarray, np.ndarray] | None = None,
                      thresholds: np.ndarray | None = None) -> tuple[PositionArrays, np.ndarray]:
    """Thresholds and segments; also returns ``order`` (sorted index → original position index).

    Each position's maintenance rule is a class (rate, amount, mark-based): ``position_mm`` (codes
    and a class table from a venue's per-market tier tables, :mod:`defi_perps.venues.engine_rules`)
    if given, else its own rate (``book.position_mm_rate``), else its market's (``book.mm_rate``),
    else the venue's tier for its notional at book time, else the venue's flat rate. ``thresholds``
    (float64[N], book order; NaN = unknown) replaces the formula's trigger price where finite: the
    protocol's exact flip price (GMX v2's ``liquidation_price`` from its contract math). A segment is
    one (market, side, class); at most ``MAX_CLASSES`` classes keep the per-step cost O(segments).
    Memory: thresholds are computed in chunks and the sort is by segment then by threshold within
    each segment, so the peak stays near the final arrays (``benchmarks/engine.py`` measures it).
    """
    m_count = book.n_markets
    n = book.n_positions
    codes, classes = _classes(book, rules, position_mm)
    n_cls = classes.shape[0]
    if n_cls > MAX_CLASSES:
        raise EngineInputError(f"{n_cls} distinct maintenance rules in the book; at most {MAX_CLASSES} "
                               "(group per-position rates into classes)")
    seg = ((book.market.astype(np.int32) * 2 + (book.side < 0)) * n_cls + codes).astype(np.int32, copy=False)
    seg, seg_market, seg_side, seg_cls = _compact_segments(seg, m_count, n_cls)
    s_count = seg_market.size
    # padding segments (class -1) hold no position: rate 0, amount 0, entry-based
    cls_rows = np.vstack([classes.reshape(-1, 3), np.zeros((1, 3))])[seg_cls]
    seg_rate = cls_rows[:, 0].copy()
    seg_amount = cls_rows[:, 1].copy()
    seg_mark = cls_rows[:, 2].astype(np.int64)
    seg_w = np.where(seg_mark == 1, 1.0 / (1.0 - seg_side * seg_rate), 1.0)

    close_fee = _override(book.close_fee_rate, rules.close_fee_rate)
    fee_trig = close_fee if rules.count_close_fee else np.zeros(m_count)
    min_coll = _override(book.min_collateral_usd, rules.min_collateral_usd)
    thr = np.empty(n)
    step = 1 << 16
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        sg = seg[lo:hi]
        mk = book.market[lo:hi]
        thr[lo:hi] = _thresholds(book.size[lo:hi], book.entry_price[lo:hi], book.collateral_usd[lo:hi],
                                 book.collateral_tokens[lo:hi], book.side[lo:hi].astype(np.float64), seg_rate[sg],
                                 seg_amount[sg], seg_mark[sg], fee_trig[mk], min_coll[mk])
    if thresholds is not None:
        exact = np.asarray(thresholds, dtype=np.float64)
        if exact.shape != (n,):
            raise EngineInputError(f"exact thresholds: expected one price per position ({n}), got {exact.shape}")
        known = np.isfinite(exact)
        thr[known] = exact[known]
    if np.any(np.isnan(thr)):
        raise EngineInputError("could not compute a liquidation threshold for some positions (check the book)")
    # by segment (stable: ties keep the book's order), then by threshold inside each segment:
    # longs from the highest threshold down, shorts from the lowest up
    # memory: the permutation as int32, per-segment sort temporaries of one segment at a time, the
    # sorted copies filled in chunks (no full-size index or gather temporaries), the unsorted
    # thresholds freed as soon as they are copied
    order = np.argsort(seg, kind="stable")
    if n < 2**31 - 1:
        order = order.astype(np.int32)
    seg_start = np.zeros(s_count + 1, np.int64)
    np.cumsum(np.bincount(seg, minlength=s_count), out=seg_start[1:])
    del seg, codes
    for g in range(s_count):
        a, b = seg_start[g], seg_start[g + 1]
        if b - a > 1:
            key = thr[order[a:b]]
            if seg_side[g] > 0:
                np.negative(key, out=key)
            perm = np.argsort(key, kind="stable")
            del key
            order[a:b] = order[a:b][perm]
            del perm
    sorted_thr = _gather(thr, order)
    del thr
    acct = _gather(book.account, order, np.int32)
    n_acc = int(acct.max()) + 1 if n else 1
    if n and acct.min() < 0:
        raise EngineInputError("book account ids must be >= 0")
    pos = PositionArrays(
        thr=sorted_thr, qty=_gather(book.size, order), entry=_gather(book.entry_price, order),
        coll_usd=_gather(book.collateral_usd, order),
        # no token collateral: fresh zeros, which the OS maps lazily (read-only zero pages, no memory)
        coll_tok=_gather(book.collateral_tokens, order) if book.collateral_tokens.any() else np.zeros(n),
        seg_start=seg_start, seg_market=seg_market, seg_side=seg_side,
        seg_rate=seg_rate.astype(np.float64), seg_amount=seg_amount.astype(np.float64), seg_mark=seg_mark,
        seg_w=seg_w.astype(np.float64), acct=acct, n_accounts=np.array([n_acc], np.int64))
    del sorted_thr
    bf = float(rules.backstop_mm_fraction)
    if n and bf > 0.0 and not rules.backstop_book_first:
        pos = pos._replace(bthr=_backstop_bounds(pos, fee_trig, min_coll, bf), bthr_bf=np.array([bf]))
    _release_freed_memory()
    return pos, order


def _release_freed_memory() -> None:
    """Give the sort's freed temporaries back to the OS before the long kernel run. glibc keeps
    freed blocks of a few MB in its heap once its mmap threshold has grown past them (it grows on
    every large free), so without this the process keeps ~12 B per position it no longer uses.
    A no-op where the C library has no ``malloc_trim``."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None


def _gather(values: np.ndarray, order: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """``values[order]`` as a new contiguous ``dtype`` array, gathered 64k entries at a time."""
    out: np.ndarray = np.empty(order.size, dtype)
    step = 1 << 16
    for lo in range(0, order.size, step):
        out[lo:lo + step] = values[order[lo:lo + step]]
    return out


def _depth_schedule(mult: np.ndarray | None, band_d: np.ndarray, kind: str, n_steps: int | None) -> np.ndarray:
    """Validated ``float64[T + 1, B]`` schedule (or ``[[1, …]]``): every step's curve must stay a
    depth curve (positive, increasing across bands), so the walk stays well defined."""
    nb = band_d.shape[1]
    if mult is None:
        return np.ones((1, nb))
    mult = np.ascontiguousarray(mult, dtype=np.float64)
    if kind != "bands":
        raise EngineInputError("a depth schedule needs band depth (depth kind 'bands')")
    if n_steps is not None and mult.shape != (n_steps + 1, nb):
        raise EngineInputError(f"depth schedule has shape {mult.shape}, expected {(n_steps + 1, nb)} "
                               "(one multiplier per step and band)")
    if mult.ndim != 2 or mult.shape[1] != nb or mult.shape[0] < 1:
        raise EngineInputError(f"depth schedule needs one multiplier per band ({nb}) per step")
    if not np.all(np.isfinite(mult)) or np.any(mult <= 0):
        raise EngineInputError("depth schedule multipliers must be positive and finite")
    curves = band_d[None, :, :] * mult[:, None, :]          # [T + 1, M, B]
    if nb > 1 and np.any(np.diff(curves, axis=2) <= 0):
        raise EngineInputError("depth schedule makes a depth curve non-increasing across bands at some step")
    return mult


def prepare_markets(book: Book, rules: VenueRules, depth: DepthSpec, funding: Funding | None,
                    step_seconds: float, depth_multiplier: np.ndarray | None = None,
                    n_steps: int | None = None, withdrawal: Any = None) -> MarketArrays:
    """Per-market arrays. ``depth_multiplier`` (float64[n_steps + 1, B], a scenario's depth
    schedule) multiplies each band's depth at each step; the kernel applies row ``t`` at step ``t``.
    ``withdrawal`` (:class:`~defi_perps.engine.liquidity.Withdrawal`, None = off): the makers' depth
    that withdraws as state of the path, on top of the schedule."""
    m = book.n_markets
    # open interest per (market, side), in chunks (no per-position temporaries of the whole book)
    qty_flat = np.zeros(2 * m)
    entry_flat = np.zeros(2 * m)
    step = 1 << 16
    for lo in range(0, book.n_positions, step):
        hi = min(book.n_positions, lo + step)
        key = book.market[lo:hi] * 2 + (book.side[lo:hi] < 0)
        qty_flat += np.bincount(key, weights=book.size[lo:hi], minlength=2 * m)
        entry_flat += np.bincount(key, weights=book.size[lo:hi] * book.entry_price[lo:hi], minlength=2 * m)
    oi_qty = qty_flat.reshape(m, 2)
    oi_entry = entry_flat.reshape(m, 2)
    oi_usd = oi_qty * book.price[:, None]
    close_fee = _override(book.close_fee_rate, rules.close_fee_rate)
    if not (depth.stress > 0 and math.isfinite(depth.stress)):
        raise EngineInputError(f"depth stress must be a positive number (got {depth.stress})")
    if not 0 <= depth.permanent_fraction <= 1:
        raise EngineInputError("depth permanent_fraction must be in [0, 1]")
    bands = np.asarray(depth.bands, dtype=np.float64)
    nb = bands.size
    kinds = {"linear": _depth.DEPTH_LINEAR, "power": _depth.DEPTH_POWER, "bands": _depth.DEPTH_BANDS}
    if depth.kind not in kinds:
        raise EngineInputError(f"depth kind {depth.kind!r}: expected linear, power or bands")
    kind = np.full(m, kinds[depth.kind], np.int64)
    band_x = np.tile(bands, (m, 1)) if nb else np.zeros((m, 1))
    band_d = np.zeros_like(band_x)
    k = np.ones(m)
    a = np.broadcast_to(np.asarray(depth.exponent, dtype=np.float64), (m,)).copy()
    if depth.kind == "bands":
        if nb == 0 or np.any(bands <= 0) or np.any(np.diff(bands) <= 0):
            raise EngineInputError("depth bands must be positive and increasing")
        if depth.band_depth_usd is not None:
            bd = np.asarray(depth.band_depth_usd, dtype=np.float64)
            if bd.ndim == 1:
                bd = np.tile(bd, (m, 1))
            if bd.shape != (m, nb) or np.any(bd <= 0) or np.any(np.diff(bd, axis=1) <= 0):
                raise EngineInputError(f"depth band_depth_usd: expected {m} rows of {nb} increasing positive values")
        else:
            share = np.asarray(depth.default_band_share, dtype=np.float64)[:nb]
            if share.size != nb:
                raise EngineInputError("default_band_share needs one value per band")
            scale = np.maximum(oi_usd.sum(axis=1), depth.min_depth_usd)
            bd = scale[:, None] * share[None, :]
        band_d = np.ascontiguousarray(bd * depth.stress)
    else:
        if depth.k_usd is None:
            kk = np.maximum(oi_usd.sum(axis=1), depth.min_depth_usd) * 4.0  # ~4 % of OI within 1 %
        else:
            kk = np.broadcast_to(np.asarray(depth.k_usd, dtype=np.float64), (m,)).copy()
        if np.any(kk <= 0) or np.any(a <= 0):
            raise EngineInputError("depth k_usd and exponent must be positive")
        k = kk * depth.stress
    rates = np.zeros((m, 2))
    if funding is not None:
        rates[:, 0] = np.broadcast_to(np.asarray(funding.long_rate, dtype=np.float64), (m,))
        rates[:, 1] = np.broadcast_to(np.asarray(funding.short_rate, dtype=np.float64), (m,))
    accrual = rates * (step_seconds / SECONDS_PER_YEAR)
    return MarketArrays(
        price0=book.price.copy(), close_fee=close_fee,
        close_fee_in_trigger=close_fee if rules.count_close_fee else np.zeros(m),
        liq_fee=_override(book.liq_fee_rate, rules.liq_fee_rate),
        impact_cap=_override(book.liq_impact_cap, rules.liq_impact_cap),
        min_coll=_override(book.min_collateral_usd, rules.min_collateral_usd),
        max_adl=_override(book.max_pnl_factor_adl, rules.max_pnl_factor_adl),
        min_adl=_override(book.min_pnl_factor_after_adl, rules.min_pnl_factor_after_adl),
        max_traders=_override(book.max_pnl_factor_traders, rules.max_pnl_factor_traders),
        pool_long_tok=book.pool_long_tokens.copy(), pool_short_usd=book.pool_short_usd.copy(),
        oi_qty=oi_qty, oi_entry=oi_entry, accrual=accrual,
        depth_kind=kind, depth_k=k, depth_a=a, band_x=np.ascontiguousarray(band_x), band_d=band_d,
        band_n=np.full(m, nb, np.int64), perm_frac=np.full(m, float(depth.permanent_fraction)),
        trans_decay=np.full(m, _depth.decay_per_step(depth.transient_half_life_steps)),
        hedge_limit=(np.full(m, np.inf) if math.isinf(rules.hedge_threshold)
                     else rules.hedge_threshold * oi_usd.sum(axis=1)),
        depth_sched=_depth_schedule(depth_multiplier, band_d, depth.kind, n_steps),
        liq_cap=_liq_window.step_capacity(book.liq_window_qty_per_s, step_seconds),
        **_withdrawal_arrays(withdrawal, depth.kind, band_x, band_d, step_seconds))


@dataclass
class HedgerConfig:
    """A delta-neutral hedger (spot long + perp short; the kernel's side: ``hedger_nb.py``).

    ``position`` is the book index of its perp short (a position of the book, added by the caller,
    e.g. :func:`defi_perps.runs.hedger.with_hedger`); ``spot_qty`` its spot long in index tokens
    (default: the short's size, delta-neutral). ``latency_steps`` is the re-hedge latency in whole
    steps (>= 1), one value or one per path. ``route``: ``"spot"`` sells the unhedged spot,
    ``"perp"`` sells perp on another venue; both walk the market's depth at that step. ``fee`` is the
    re-hedge's taker fee; ``funding_apr`` what the shorts receive per year (simple; < 0 pays).
    """

    position: int
    spot_qty: float | None = None
    latency_steps: int | np.ndarray = 1
    route: str = "perp"
    fee: float = 0.0
    funding_apr: float = 0.0


def prepare_hedger(cfg: HedgerConfig, book: Book, order: np.ndarray, n_paths: int,
                   step_seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's ``(hedger_i, hedger_f, hedger_lat)`` arrays (the short's sorted index via ``order``)."""
    from defi_perps.engine.hedger_nb import HF, HI, Route

    i = int(cfg.position)
    if not 0 <= i < book.n_positions:
        raise EngineInputError(f"hedger position {i} is not in the book ({book.n_positions} positions)")
    if book.side[i] >= 0:
        raise EngineInputError("the hedger's perp position must be a short")
    routes = {"spot": Route.SPOT, "perp": Route.PERP}
    if cfg.route not in routes:
        raise EngineInputError(f"hedger route {cfg.route!r}: expected spot or perp")
    lat = np.broadcast_to(np.asarray(cfg.latency_steps, dtype=np.int64), (n_paths,)).copy() \
        if np.ndim(cfg.latency_steps) == 0 else np.ascontiguousarray(cfg.latency_steps, dtype=np.int64)
    if lat.shape != (n_paths,) or np.any(lat < 1):
        raise EngineInputError(f"hedger latency: one whole number of steps >= 1 per path ({n_paths})")
    if not (math.isfinite(cfg.fee) and 0 <= cfg.fee < 0.1 and math.isfinite(cfg.funding_apr)):
        raise EngineInputError("hedger fee must be in [0, 0.1) and funding a finite APR")
    spot = float(book.size[i]) if cfg.spot_qty is None else float(cfg.spot_qty)
    if not (math.isfinite(spot) and spot >= 0):
        raise EngineInputError("hedger spot quantity must be a finite number >= 0")
    j = int(np.flatnonzero(order == i)[0])
    m = int(book.market[i])
    hi = np.zeros(len(HI), np.int64)
    hi[HI.J], hi[HI.MARKET], hi[HI.ROUTE] = j, m, routes[cfg.route]
    hf = np.zeros(len(HF))
    hf[HF.SPOT0], hf[HF.QTY], hf[HF.ENTRY], hf[HF.PRICE0] = spot, book.size[i], book.entry_price[i], book.price[m]
    hf[HF.FEE], hf[HF.FUNDING_STEP] = cfg.fee, cfg.funding_apr * step_seconds / SECONDS_PER_YEAR
    return hi, hf, lat


def _withdrawal_arrays(withdrawal: Any, kind: str, band_x: np.ndarray, band_d: np.ndarray,
                       step_seconds: float) -> dict[str, np.ndarray]:
    from defi_perps.engine.liquidity import withdrawal_arrays

    return withdrawal_arrays(withdrawal, kind, band_x, band_d, step_seconds)
