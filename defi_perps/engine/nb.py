"""numba kernel: Monte Carlo of liquidation cascades with account-level state inside each path.

Only NumPy arrays, NamedTuples of arrays and scalars go in (see ``inputs.py``); outputs are
preallocated by :mod:`defi_perps.engine.api` (``Outputs``) and filled row by row, one row per
path. Paths run in parallel (``prange``) over chunks; each chunk owns thread-local scratch (every
position's remaining fraction, ADL candidates, accounts hit) that is reset between paths, entry by
touched entry (liquidations touch only each segment's swept prefix; ADL lists what it touches), so a path's result depends on its seed and index only. Each path
draws from its own SplitMix64 stream (``rng.py``).

Units: float64 USD, USD per index token, index tokens; rates are fractions (see ``rules.py``).

One path, one step, one market:

1. exogenous price ``X``: GBM + common jump + GARCH(1,1), factor-correlated, times the
   deterministic base path (shock/replay); mark ``= X·exp(permanent + transient impact)``;
2. funding/borrowing accrues per token (``Φ``), shifting each segment's thresholds uniformly;
3. cascade fixed point (≤ ``max_cascade_iterations``): a pointer per segment sweeps the sorted
   thresholds for newly liquidatable positions, pending partial liquidations are re-checked, and
   pass 1 decides per position (backstop takeover / 20 % slice / full close) and sums the flow sent
   to the book; the flow walks the depth; pass 2 executes the decisions at the iteration's fill;
4. loss beyond collateral (bad debt) goes down the venue's waterfall: ADL first on negative
   equity (Hyperliquid), the fund (down to its drawdown floor), the pool / broker, ADL on the
   opposite side's accounts ranked by the venue's score, and what is left is ``uncovered``;
5. the step's impact splits into permanent and transient parts; GMX's pnl-to-pool ADL is checked
   (an O(1) test guards the call); a B-book broker hedges its net exposure through the depth.

Party balances (``codes.Party``) are path state: every close books what each party pays or
receives, open positions and hedges are marked at the path's final mark, and the balances sum to
zero on every path (tests: relative 1e-9).

Speed notes (``benchmarks/engine.py``; ``benchmarks/engine_profile.py`` times one venue): helpers
that run per liquidation take scalars and return tuples; arrays are unpacked into locals once per
call (reading ``pos.qty[j]`` inside a loop costs an atomic refcount per access); the cascade, called
on every busy market-step, takes slim views (:class:`CascadePositions`, :class:`CascadeMarket` as
scalars, :class:`CascadeOutputs`) and, for the arrays the step loop's caller owns, views without an
owner (``unowned_nb.py``), since numba reference-counts every array argument of every call; a
step whose next thresholds are not crossed skips the cascade, and that test is O(1) per market-step
from cached bounds on the segments' next thresholds (``sweep.py``: exact, it only decides when to
rescan); the price model draws both normals of each polar pair. Inside the cascade, a segment's newly
crossed run is first summed in a SIMD loop (``_new_run``: its flow, and whether any position needs a
decision of its own); Hyperliquid's backstop test is skipped where the mark is clear of the position's
float32 backstop bound (``inputs.backstop_prices``, conservative: the same decisions); and a run in
which every position closes whole is settled in a SIMD loop (``_plain_run``). Both SIMD loops may
reassociate their sums (the twin agrees to 1e-9; runs reproduce bit for bit on one machine). Tiered
venues' empty (market, side, class) segments are dropped at input (``inputs._compact_segments``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from defi_perps.engine import hedger_nb
from defi_perps.engine._jit import njit, prange
from defi_perps.engine.broker import hedge_trade
from defi_perps.engine.codes import Absorber, AdlFill, AdlPolicy, AdlTrigger, Dest, Event, Exec, N_PARTIES, Party, Ranking
from defi_perps.engine.depth import MAX_DISTANCE, curve_end_depth, walk_distance, walk_integral
from defi_perps.engine.exogenous import exog_step
from defi_perps.engine.liq_window import window_take
from defi_perps.engine.profit_cap_nb import open_profit_cap_haircut_nb
from defi_perps.engine.rng import path_state
from defi_perps.engine.ccp_nb import ccp_gate, ccp_settled, ccp_state, ccp_waterfall
from defi_perps.engine.liquidity_nb import WD_ON, WD_THIN, band_depth_now, liquidity_state, liquidity_update
from defi_perps.engine.sweep import may_trigger, scan
from defi_perps.engine.unowned_nb import unowned


class _Tot(NamedTuple):
    """Columns of the per-path totals (``totals_dt`` has the same fields, in this order)."""

    BAD_DEBT: int = 0          # loss beyond collateral, before anyone covers it
    PAID_FUND: int = 1         # covered by the insurance fund (or the backstop vault's capital)
    PAID_POOL: int = 2
    PAID_BROKER: int = 3
    PAID_ADL: int = 4          # covered by ADL haircuts on the opposite side
    UNCOVERED: int = 5
    FUND: int = 6              # fund (or vault capital) at the end
    FUND_MIN: int = 7
    FUND_PEAK: int = 8
    LIQ_FEES: int = 9
    BACKSTOP_GAIN: int = 10    # equity the backstop vault kept ("maintenance margin not returned")
    SURPLUS_TO_FUND: int = 11  # equity left after liquidation, kept by the fund or, where the pool absorbs, the pool (keep_remainder = false)
    LIQ_NOTIONAL: int = 12
    LIQUIDATIONS: int = 13     # liquidation closes (each slice counts)
    BACKSTOP_NOTIONAL: int = 14
    ADL_NOTIONAL: int = 15
    ADL_HAIRCUT: int = 16      # profit taken by ADL (bankruptcy fills) or by GMX's profit cap
    ADL_EVENTS: int = 17
    ADL_POSITIONS: int = 18    # position closes by ADL
    ADL_ACCOUNTS: int = 19     # distinct accounts hit by ADL
    PROFIT_CAP_HAIRCUT: int = 20
    HEDGE_NOTIONAL: int = 21
    DEPTH_CAPPED: int = 22     # market-steps whose walk went past the depth curve's end
    NONCONVERGED: int = 23     # steps whose cascade hit max_cascade_iterations
    ITERATIONS: int = 24       # cascade iterations that liquidated something
    # a clearing house's waterfall (venue ccp, engine/ccp_nb.py), in layer order
    PAID_DEFAULTER_GF: int = 25
    PAID_CCP_CAPITAL: int = 26
    PAID_GUARANTEE_FUND: int = 27
    PAID_ASSESSMENTS: int = 28
    PAID_VM_HAIRCUT: int = 29
    DEFAULTER_MARGIN: int = 30  # margin the defaulters lost (the waterfall's first layer, before bad debt)
    HALT_STEPS: int = 31        # market-steps halted by a price limit
    SETTLEMENTS: int = 32       # market-steps that settled variation margin
    LOCKED_AT_END: int = 33     # markets still halted (beyond the hard price limit) at the horizon's end


Tot = _Tot()
N_TOT = len(Tot)
totals_dt = np.dtype([(name.lower(), np.float64) for name in Tot._fields])

event_dt = np.dtype([("step", np.int32), ("market", np.int16), ("side", np.int8), ("kind", np.int8),
                     ("notional", np.float64), ("haircut", np.float64), ("shortfall", np.float64),
                     ("qty", np.float64), ("price", np.float64), ("mark", np.float64), ("fraction", np.float64),
                     ("positions", np.int64)], align=True)


class Outputs(NamedTuple):
    liq_count: np.ndarray          # int64[P, M, 2] liquidation closes (each slice counts)
    liq_notional: np.ndarray       # float64[P, M, 2] notional closed by liquidations, at fill price
    backstop_notional: np.ndarray  # float64[P, M, 2]
    adl_count: np.ndarray          # int64[P, M, 2] ADL events (side = the side deleveraged)
    adl_notional: np.ndarray       # float64[P, M, 2]
    adl_haircut: np.ndarray        # float64[P, M, 2]
    bad_debt: np.ndarray           # float64[P, M]
    depth_capped: np.ndarray       # int64[P, M] steps whose walk passed the depth curve's end
    min_mark: np.ndarray           # float64[P, M]
    max_mark: np.ndarray           # float64[P, M]
    final_mark: np.ndarray         # float64[P, M]
    min_exog: np.ndarray           # float64[P, M]
    max_exog: np.ndarray           # float64[P, M]
    final_exog: np.ndarray         # float64[P, M]
    totals: np.ndarray             # float64[P, N_TOT] (a view of a totals_dt[P] record array)
    parties: np.ndarray            # float64[P, N_PARTIES] balance change per party (sums to 0)
    insurance_path: np.ndarray     # float64[P, R] fund balance every ``record_every`` steps
    events: np.ndarray             # event_dt[P, E] first E ADL/shortfall events of each path
    n_events: np.ndarray           # int64[P] all events (may exceed E)
    det_liq_notional: np.ndarray   # float64[D, T, M, 2] per-step detail for the first D paths
    det_liq_count: np.ndarray      # int64[D, T, M, 2]
    det_mark: np.ndarray           # float64[D, T + 1, M]
    det_exog: np.ndarray           # float64[D, T + 1, M]
    det_rem: np.ndarray            # float64[D, N] remaining fraction of each position at the end (sorted order)
    hedger: np.ndarray             # float64[P, hedger_nb.N_H] the hedger's P&L by cause and state (0 rows: none)
    wd_min: np.ndarray             # float64[P, M] lowest near-mid depth the makers quoted (withdrawal, 1 = normal)
    wd_thin: np.ndarray            # int64[P, M] steps with near-mid depth below the thin level (withdrawal.toml)
    det_wd: np.ndarray             # float64[D, T + 1, M] the makers' near-mid depth multiplier by step


class CascadePositions(NamedTuple):
    """What the cascade and ADL read of :class:`~defi_perps.engine.inputs.PositionArrays` (same names).

    numba increfs every array of every argument when a compiled function is entered and decrefs it
    when it returns (an atomic operation each); the cascade is entered on every busy market-step, so
    it takes these slim views, built once per path, instead of the whole input and output records
    (whose other arrays, for the price model, depth schedule, withdrawal or hedger, it never reads)."""

    thr: np.ndarray
    qty: np.ndarray
    entry: np.ndarray
    coll_usd: np.ndarray
    coll_tok: np.ndarray
    seg_start: np.ndarray
    seg_market: np.ndarray
    seg_side: np.ndarray
    seg_rate: np.ndarray
    seg_amount: np.ndarray
    seg_mark: np.ndarray
    seg_w: np.ndarray
    acct: np.ndarray
    hedger_i: np.ndarray
    bthr: np.ndarray
    bthr_bf: np.ndarray


class CascadeMarket(NamedTuple):
    """One market's values the cascade reads (:class:`~defi_perps.engine.inputs.MarketArrays`' names,
    each at the market): scalars, built by the step loop for each call, so that only the band table
    is an array numba has to reference-count (see :class:`CascadePositions`)."""

    n_markets: int
    close_fee: float
    close_fee_in_trigger: float
    liq_fee: float
    impact_cap: float
    min_coll: float
    depth_kind: int
    depth_k: float
    depth_a: float
    band_n: int
    liq_cap: float
    band_x: np.ndarray     # float64[M, B], all markets (the cascade takes row m)


class CascadeOutputs(NamedTuple):
    """What the cascade, ADL and the pnl-factor check write of :class:`Outputs` (same names; see
    :class:`CascadePositions` for why)."""

    liq_count: np.ndarray
    liq_notional: np.ndarray
    backstop_notional: np.ndarray
    adl_count: np.ndarray
    adl_notional: np.ndarray
    adl_haircut: np.ndarray
    bad_debt: np.ndarray
    events: np.ndarray
    n_events: np.ndarray
    det_liq_notional: np.ndarray
    det_liq_count: np.ndarray
    hedger: np.ndarray


@njit(inline="always")
def _sdist(q: float, kind: int, k: float, a: float, bx, bd, nb_: int) -> float:
    d = walk_distance(abs(q), kind, k, a, bx, bd, nb_)
    return d if q >= 0.0 else -d


@njit(inline="always")
def _equity_mm(q: float, e: float, cu: float, ct: float, seg_mark: int, rate: float, amount: float, s: float,
               mark: float, phi: float, fee_trig: float, min_coll: float) -> tuple:
    """Equity and maintenance of the whole original position at ``mark`` (trigger terms). Both scale
    with the remaining fraction, so ratios (the backstop test) do not depend on it."""
    eq = cu + ct * mark + s * q * (mark - e) - fee_trig * q * e - phi * q
    if seg_mark == 1:
        mm = rate * q * mark - amount
    else:
        mm = rate * q * e
    return eq, max(mm, min_coll)


@njit(inline="always")
def _decide(eq: float, mm: float, notional_rem: float, backstop_fraction: float, partial_min: float,
            partial_fraction: float, in_cooldown: bool, slot_free: bool, tried: bool) -> tuple:
    """(to the backstop?, fraction of the *remaining* size closed now, opens a pending slice?)

    Hyperliquid (venues.md §1.6): a position above ``partial_min`` sends a ``partial_fraction``
    slice to the book; while the cooldown that follows runs, a position still liquidatable is
    liquidated in full; after it, a new trigger starts a new slice. Equity under
    ``backstop_fraction`` × MM goes to the backstop vault whole if ``tried``. Under the book-first
    order (``rules.backstop_book_first``: "below 2/3 of the maintenance margin *without successful
    liquidation through the order book*") only a position the book was tried on (a sliced position
    re-tested) is ``tried``: a first trigger goes to the book however far the mark gapped within the
    step, and what the book cannot fill of its order goes to the vault at once (:func:`_book_share`;
    docs/hyperliquid_adl_calibration.md). Otherwise every trigger is ``tried``.
    """
    if tried and backstop_fraction > 0.0 and eq < backstop_fraction * mm:
        return True, 1.0, False
    if in_cooldown:
        return False, 1.0, False
    if notional_rem > partial_min and partial_fraction < 1.0 and slot_free:
        return False, partial_fraction, True
    return False, 1.0, False


@njit(inline="always")
def _first_trigger(q: float, e: float, cu: float, ct: float, sm: int, sr: float, sa: float, s: float, mark: float,
                   ph: float, fee_trig: float, min_coll: float, r: float, backstop_fraction: float,
                   partial_min: float, partial_fraction: float, si: int, free0: int, free1: int,
                   tried: bool) -> tuple:
    """A position's first trigger in a step, as both cascade passes decide it (one place, so the flow
    pass and the execution pass cannot drift apart): :func:`_decide` on its equity and maintenance,
    taking a pending-slice slot of its side when it opens a slice; ``tried`` is false under the
    book-first order (``rules.backstop_book_first``). Returns (backstop?, fraction, new slice?,
    free0, free1)."""
    eq, mm = _equity_mm(q, e, cu, ct, sm, sr, sa, s, mark, ph, fee_trig, min_coll)
    free = free0 if si == 0 else free1
    bs, fr, newp = _decide(eq, mm, q * r * mark, backstop_fraction, partial_min, partial_fraction, False, free > 0,
                           tried)
    if newp:
        if si == 0:
            free0 -= 1
        else:
            free1 -= 1
    return bs, fr, newp, free0, free1


@njit(inline="always")
def _backstop_shift(s: int, seg_mark: int, rate: float, bf: float, ph: float) -> float:
    """How far accrual ``ph`` may have moved a segment's backstop prices (inputs.backstop_prices): ``s``
    times the larger of its two lines' shifts, so the shifted bound is never past the true price."""
    w1 = 1.0 / (1.0 - s * bf * rate) if seg_mark == 1 else 1.0
    return s * max(w1 * ph, ph)


@njit(inline="always")
def _clear_of_backstop(s: int, mark: float, bound: float) -> bool:
    """True when ``mark`` is clear of a position's shifted backstop bound by a relative 1e-6 (far more
    than the rounding of the exact test): that position's equity is certainly at or above the backstop
    fraction of its maintenance, and :func:`_first_trigger` would not send it to the vault."""
    if s > 0:
        return mark - bound > 1e-6 * mark
    return bound - mark > 1e-6 * mark


@njit(inline="always")
def _slice_only(q: float, r: float, mark: float, partial_min: float, partial_fraction: float, si: int, free0: int,
                free1: int) -> tuple:
    """:func:`_first_trigger` for a position known to stay with the book (:func:`_clear_of_backstop`):
    only :func:`_decide`'s slice test, on the same values. Returns (fraction, new slice?, free0, free1)."""
    free = free0 if si == 0 else free1
    if q * r * mark > partial_min and partial_fraction < 1.0 and free > 0:
        if si == 0:
            free0 -= 1
        else:
            free1 -= 1
        return partial_fraction, True, free0, free1
    return 1.0, False, free0, free1


@njit(inline="always")
def _book_share(order: float, room: float) -> float:
    """Share of a liquidation order of ``order`` USD the book fills when ``room`` USD of depth is left
    before the walk reaches the curve's end (``depth.curve_end_depth`` less what this step's walk
    already took in the order's direction). The rest walks past the end of the depth curve: the book
    liquidation did not succeed, and the backstop vault takes the rest of the position at once."""
    if order <= room:
        return 1.0
    return max(room, 0.0) / order


@njit(inline="always")
def _settle(c: float, backstop: bool, mark: float, book_px: float, s: float, q: float, e: float, cu: float,
            ct: float, close_fee: float, liq_fee: float, fee_usd: float, impact_cap: float, phi: float,
            exec_mode: int, liq_impact_factor: float, keep: bool, extra: float, is_slice: bool) -> tuple:
    """Close ``c`` (fraction of the original size) of one position; scalars in, a tuple out:
    (price, notional, counterparty pays, close fee, liquidation fee, to the fund, to the vault,
    trader's change, bad debt, equity kept). ``extra`` is collateral a previous slice left with the
    position (released in proportion); a slice (``is_slice``) keeps its remaining equity in the
    position ("the remaining collateral stays with the trader", venues.md §1.6), returned last."""
    if backstop:
        px = mark
    elif exec_mode == Exec.BOOK:
        px = book_px
    else:
        slip = min(liq_impact_factor * c * q * mark, impact_cap)
        px = mark * (1.0 - s * slip)
    cq = c * q
    coll = c * (cu + ct * px) + extra
    pnl = s * cq * (px - e)
    cfee = close_fee * cq * e
    fund = phi * cq
    equity = coll + pnl - cfee - fund
    notional = cq * px
    fee = 0.0
    to_fund = 0.0
    to_vault = 0.0
    payout = 0.0
    if backstop:
        to_vault = max(equity, 0.0)
        rest = min(equity, 0.0)
    else:
        fee = min(max(equity, 0.0), liq_fee * notional + fee_usd)
        rest = equity - fee
        if rest > 0.0:
            if keep or is_slice:
                payout = rest
            else:
                to_fund = rest
    bad = -rest if rest < 0.0 else 0.0
    # the trader ends with ``payout`` out of a stake of ``coll`` (absorbers pay ``bad`` to make it so)
    trader = payout - coll
    kept = payout if is_slice else 0.0
    return px, notional, pnl - fund, cfee, fee, to_fund, to_vault, trader, bad, kept


@njit(fastmath={"reassoc", "nsz"})
def _plain_run(q_, e_, cu_, ct_, rem_, s: float, mark: float, book_px: float, ph: float, close_fee: float,
               liq_fee: float, fee_usd: float, impact_cap: float, exec_mode: int, liq_impact_factor: float,
               keep: bool) -> tuple:
    """Pass 2 of the cascade on one segment's new run (views of it) when every position in it closes
    whole at the book or the oracle (no backstop, slice or split, not the hedger's short): each close
    is :func:`_settle` with ``c = r`` (the rule stays in one place), summed over the run. A position
    already closed (``r = 0``) adds exact zeros, so the loops need no branch; reassociation is allowed,
    so they run on SIMD lanes: the sums may differ from a sequential sum in the last bits (the twin
    agrees to 1e-9; a run's result depends only on its inputs, so seeds still reproduce). Returns
    (counterparty pays, close fees, liquidation fees, to the fund, traders' change, tokens, entry
    notional, bad debt, bankrupt tokens, bankrupt margin, positions, notional); every ``rem`` is 0 after."""
    # two loops: with all twelve sums in one, LLVM's cost model keeps it scalar
    sum_cpty = 0.0
    sum_cfee = 0.0
    dq = 0.0
    de = 0.0
    u = 0.0
    n = 0
    for i in range(q_.size):
        r = rem_[i]
        e = e_[i]
        px, notional, cpty, cfee, fee, to_fund, to_vault, trader, bad, kept = _settle(
            r, False, mark, book_px, s, q_[i], e, cu_[i], ct_[i], close_fee, liq_fee, fee_usd, impact_cap, ph,
            exec_mode, liq_impact_factor, keep, 0.0, False)
        cq = r * q_[i]
        sum_cpty += cpty
        sum_cfee += cfee
        dq += cq
        de += cq * e
        u += notional
        n += 1 if r > 0.0 else 0
    sum_fee = 0.0
    sum_fund = 0.0
    sum_trader = 0.0
    bd = 0.0
    bq = 0.0
    gm = 0.0
    for i in range(q_.size):
        r = rem_[i]
        px, notional, cpty, cfee, fee, to_fund, to_vault, trader, bad, kept = _settle(
            r, False, mark, book_px, s, q_[i], e_[i], cu_[i], ct_[i], close_fee, liq_fee, fee_usd, impact_cap, ph,
            exec_mode, liq_impact_factor, keep, 0.0, False)
        sum_fee += fee
        sum_fund += to_fund
        sum_trader += trader
        bd += bad
        bq += r * q_[i] if bad > 0.0 else 0.0
        gm -= trader if bad > 0.0 else 0.0
        rem_[i] = 0.0
    return sum_cpty, sum_cfee, sum_fee, sum_fund, sum_trader, dq, de, bd, bq, gm, n, u


@njit(fastmath={"reassoc", "nsz"})
def _new_run(q_, rem_, b_, s: float, mark: float, bshift: float, check_bs: bool, check_slice: bool,
             partial_min: float) -> tuple:
    """Pass 1 of the cascade on one segment's newly crossed run (views of it): the tokens it sends to
    the book (sum of ``r·q``), how many open positions it has, and how many of them need the
    position-by-position decision (a backstop bound not cleared, :func:`_clear_of_backstop`; a size
    that may take a slice, :func:`_slice_only`, with a relative 1e-9 margin). When none does, every
    position closes whole at the book and the run is summed here, on SIMD lanes (reassociated: the
    flow may differ from a sequential sum in the last bits)."""
    sq = 0.0
    cnt = 0
    odd = 0
    for i in range(q_.size):
        r = rem_[i]
        rq = r * q_[i]
        sq += rq
        cnt += 1 if r > 0.0 else 0
        odd += 1 if (check_slice and r > 0.0 and rq * mark > partial_min * (1.0 - 1e-9)) else 0
    if check_bs:   # a second loop, so that each stays simple enough for SIMD
        for i in range(q_.size):
            clear = s * (mark - (b_[i] + bshift)) > 1e-6 * mark
            odd += 1 if (rem_[i] > 0.0 and not clear) else 0
    return sq, cnt, odd


@njit(inline="always")
def _adl_score(ranking: int, so: float, q: float, e: float, cu: float, ct: float, rem: float, mark: float,
               rate: float, amount: float, seg_mark: int, phi: float) -> tuple:
    """(score, PnL) of one open position on the deleveraged side (higher score = first).

    Sources: adl/rankings.py and venues/<venue>.py (Hyperliquid (mark/entry)·(notional/account
    value), entry/mark for a short; Binance PnL%·margin ratio; BitMEX/Bybit PnL%·effective leverage, PnL%/leverage for
    losers; OKX likewise on margin; GMX keepers' choice modelled as largest PnL first)."""
    qq = q * rem
    coll = rem * (cu + ct * mark)
    pnl = so * qq * (mark - e) - phi * qq
    equity = coll + pnl
    notional = qq * mark
    if ranking == Ranking.HYPERLIQUID:
        # the docs' (mark/entry)·leverage is written for a long; "ranked by unrealized pnl and leverage"
        # means entry/mark for a short (on 10 Oct 2025, 99.4% of the ADL'd were in profit: incidents §1.3)
        px = mark / e if so > 0.0 else e / mark
        score = px * (notional / equity) if equity > 0.0 else 0.0
    elif ranking == Ranking.BINANCE:
        mm = rate * notional - amount * rem if seg_mark == 1 else rate * qq * e
        pnl_pct = max(pnl, 0.0) / max(coll, 1.0)
        score = pnl_pct * (mm / equity) if equity > 0.0 else 0.0
    elif ranking == Ranking.BITMEX:
        pct = so * (mark - e) / e
        lev = notional / equity if equity > 0.0 else 1e300
        score = pct * lev if pct > 0.0 else pct / lev
    elif ranking == Ranking.OKX:
        if coll > 0.0:
            pct = pnl / coll
            lev = notional / equity if equity > 0.0 else 1e300
            score = pct * lev if pct > 0.0 else pct / lev
        else:
            score = 0.0
    else:
        score = pnl
    return score, pnl


@njit
def _record_event(events, n_events, p: int, t: int, m: int, si: int, kind: int, notional: float, haircut: float,
                  shortfall: float, qty: float, price: float, mark: float, fraction: float, positions: int) -> None:
    k = n_events[p]
    if k < events.shape[1]:
        ev = events[p, k]
        ev["step"] = t
        ev["market"] = m
        ev["side"] = 1 if si == 0 else -1
        ev["kind"] = kind
        ev["notional"] = notional
        ev["haircut"] = haircut
        ev["shortfall"] = shortfall
        ev["qty"] = qty
        ev["price"] = price
        ev["mark"] = mark
        ev["fraction"] = fraction
        ev["positions"] = positions
    n_events[p] = k + 1


@njit(inline="always")
def _pay_counterparty(par, cp: int, alpha: float, amount: float) -> None:
    """The trader's counterparty pays ``amount`` (a B-book broker pays its internalised share and
    its A-book LP the pass-through share: that leg closes with the client's position)."""
    if cp == Party.BROKER:
        par[Party.BROKER] -= alpha * amount
        par[Party.LP] -= (1.0 - alpha) * amount
    else:
        par[cp] -= amount


@njit
def _adl(kind: int, p: int, t: int, m: int, o: int, amount: float, resid: float, mark: float, fund: float, pos, rules,
         rem, touched, ints, cand, cscore, cw, acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd, phi, st, par,
         out) -> float:
    """Deleverage accounts of side ``o`` of market ``m`` inside the path; return the bad debt left.

    ``kind = Event.ADL_BANKRUPT``: close ``amount`` index tokens against bankrupt positions whose
    uncovered loss is ``resid``; at a bankruptcy fill the closed positions pay the whole gap.
    ``kind = Event.ADL_PNL_FACTOR``: remove ``amount`` USD of the side's PnL (GMX v2), realised
    profit paid by the pool and capped by ``max_pnl_factor_traders``.
    Candidates are the side's open positions (remaining fraction > 0), in array order; the policy
    (queue by the venue's ranking, pro-rata, pro-rata by PnL) sets how much each closes.
    """
    if amount <= 0.0 or oi_q[m, o] <= 0.0:
        return resid
    so = 1.0 if o == 0 else -1.0
    qty_ = pos.qty
    entry_ = pos.entry
    cu_ = pos.coll_usd
    ct_ = pos.coll_tok
    acct_ = pos.acct
    seg_start = pos.seg_start
    seg_side = pos.seg_side
    seg_rate = pos.seg_rate
    seg_amount = pos.seg_amount
    seg_mark = pos.seg_mark
    n_seg_m = pos.seg_market.size // oi_q.shape[0]
    ph = phi[m, o]
    n = 0
    side_pnl = 0.0
    pos_pnl = 0.0
    for g in range(m * n_seg_m, (m + 1) * n_seg_m):
        if (seg_side[g] > 0) != (o == 0):
            continue
        for j in range(seg_start[g], seg_start[g + 1]):
            r = rem[j]
            if r <= 0.0:
                continue
            sc, pnl = _adl_score(rules.adl_ranking, so, qty_[j], entry_[j], cu_[j], ct_[j], r, mark, seg_rate[g],
                                 seg_amount[g], seg_mark[g], ph)
            cand[n] = j
            cscore[n] = sc
            cw[n] = pnl
            side_pnl += pnl
            if pnl > 0.0:
                pos_pnl += pnl
            n += 1
    if n == 0:
        return resid
    bankrupt = kind == Event.ADL_BANKRUPT
    policy = rules.adl_policy
    if bankrupt:
        need = min(amount, oi_q[m, o])
    else:
        need = amount
    if policy == AdlPolicy.PRO_RATA_PNL and pos_pnl <= 0.0:
        policy = AdlPolicy.PRO_RATA
    if policy == AdlPolicy.PRO_RATA and not bankrupt and side_pnl <= 0.0:
        return resid
    # closed fraction (of the original size) per candidate, written over cscore
    if policy == AdlPolicy.QUEUE:
        # the queue rarely reaches far down the ranking: sort only the top kk scores (ties at the
        # cut included, so the prefix is exactly the full stable order's), widen if not enough
        kk = 64
        while True:
            complete = kk >= n
            if complete:
                order = np.argsort(-cscore[:n], kind="mergesort")
            else:
                cut = -np.partition(-cscore[:n], kk - 1)[kk - 1]
                top = np.flatnonzero(cscore[:n] >= cut)
                order = top[np.argsort(-cscore[top], kind="mergesort")]
            fr_q = np.zeros(order.size)
            left = need
            for i in range(order.size):
                if left <= 0.0:
                    break
                k = order[i]
                j = cand[k]
                r = rem[j]
                if bankrupt:
                    avail = r * qty_[j]
                else:
                    avail = cw[k]
                    if avail <= 0.0:
                        continue   # GMX: only profitable positions reduce the side's PnL
                if avail <= left:
                    fr_q[i] = r
                    left -= avail
                else:
                    fr_q[i] = r * (left / avail)
                    left = 0.0
            if left <= 0.0 or complete:
                break
            kk *= 4
        for i in range(n):
            cscore[i] = 0.0
        for i in range(order.size):
            cscore[order[i]] = fr_q[i]
    elif policy == AdlPolicy.PRO_RATA:
        f = need / oi_q[m, o] if bankrupt else need / side_pnl
        f = min(f, 1.0)
        for i in range(n):
            cscore[i] = rem[cand[i]] * f
    else:
        if bankrupt:
            for i in range(n):
                j = cand[i]
                w = max(cw[i], 0.0)
                tok = min(rem[j] * qty_[j], need * w / pos_pnl)
                cscore[i] = tok / qty_[j]
        else:
            f = min(need / pos_pnl, 1.0)
            for i in range(n):
                cscore[i] = rem[cand[i]] * f if cw[i] > 0.0 else 0.0
    # execute
    cp = rules.counterparty
    hj = pos.hedger_i[0]   # the hedger's short (hedger_nb.HI.J; -1: none)
    h_q = 0.0
    h_pnl = 0.0
    q_closed = 0.0
    e_closed = 0.0
    pnl_closed = 0.0
    win_closed = 0.0
    n_closed = 0
    oi_before = oi_q[m, o]
    for i in range(n):
        c = cscore[i]
        if c <= 0.0:
            continue
        j = cand[i]
        r = rem[j]
        if r >= 1.0:
            touched[ints[0]] = j
            ints[0] += 1
        frac = c / r
        rem[j] = r - c if c < r else 0.0
        cq = c * qty_[j]
        q_closed += cq
        e_closed += cq * entry_[j]
        pnl_i = cw[i] * frac
        pnl_closed += pnl_i
        if pnl_i > 0.0:
            win_closed += pnl_i
        if j == hj:
            h_q = cq
            h_pnl = pnl_i
        n_closed += 1
        a = acct_[j]
        if acct_hit[a] == 0:
            acct_hit[a] = 1
            acct_list[ints[1]] = a
            ints[1] += 1
            st[Tot.ADL_ACCOUNTS] += 1.0
    if q_closed <= 0.0:
        return resid
    oi_q[m, o] -= q_closed
    oi_e[m, o] -= e_closed
    if oi_q[m, o] < 1e-12 * oi_before:
        oi_q[m, o] = 0.0
        oi_e[m, o] = 0.0
    ratio = 1.0
    if bankrupt:
        fill_code = rules.adl_fill
        if fill_code == AdlFill.MARK_UNLESS_FUND_LOW:
            low = fund < rules.fill_bankruptcy_below * rules.insurance_initial
            fill_code = AdlFill.BANKRUPTCY if low else AdlFill.MARK
        if fill_code == AdlFill.MARK:
            haircut = 0.0
            fill = mark
        else:   # bankruptcy price (Hyperliquid's previous mark: see codes.AdlFill / rules.py)
            haircut = resid
            fill = mark - so * resid / q_closed
        # pnl_closed is at mark, net of accrued funding; the haircut pays the bankrupt gap
        par[Party.ADL] += pnl_closed - haircut
        _pay_counterparty(par, cp, rules.internalized_fraction, pnl_closed)
        st[Tot.PAID_ADL] += haircut
        resid -= haircut
        notional = q_closed * fill
        kind_code = Event.ADL_BANKRUPT
    else:
        pool = pool_tok[m] * mark if o == 0 else pool_usd[m]
        if win_closed > 0.0 and rules.max_pnl_factor_traders < np.inf:
            side_win = max(pos_pnl, 1e-300)
            ratio = min(1.0, rules.max_pnl_factor_traders * pool / side_win)
        haircut = win_closed * (1.0 - ratio)
        realized = pnl_closed - haircut
        if o == 0:
            pool_tok[m] -= realized / mark
        else:
            pool_usd[m] -= realized
        par[Party.ADL] += realized
        par[Party.POOL] -= realized
        st[Tot.PROFIT_CAP_HAIRCUT] += haircut
        fill = mark
        notional = q_closed * mark
        kind_code = Event.ADL_PNL_FACTOR
    if h_q > 0.0:   # the hedger's short: what its close paid against the mark (fill, or GMX's profit cap)
        h_vs = so * h_q * (fill - mark) if bankrupt else -max(h_pnl, 0.0) * (1.0 - ratio)
        hedger_nb.on_adl(out.hedger, p, h_q, mark, h_vs, fill)
    st[Tot.ADL_NOTIONAL] += notional
    st[Tot.ADL_HAIRCUT] += haircut
    st[Tot.ADL_EVENTS] += 1.0
    st[Tot.ADL_POSITIONS] += n_closed
    out.adl_count[p, m, o] += 1
    out.adl_notional[p, m, o] += notional
    out.adl_haircut[p, m, o] += haircut
    _record_event(out.events, out.n_events, p, t, m, o, kind_code, notional, haircut, resid, q_closed, fill, mark,
                  q_closed / oi_before, n_closed)
    return resid


@njit
def _cascade(p: int, t: int, m: int, pre: float, pos, mk, bd_all, rules, ptr, pend_idx, pend_seg, pend_until, pend_extra, pend_n, oi_q,
             oi_e, pool_tok, pool_usd, phi, st, par, ints, rem, touched, it_lo, ex_k, ex_si, ex_fr, ex_bs, cand,
             cscore, cw, acct_hit, acct_list, out, det_row: int, cst) -> tuple:
    """Market ``m``'s cascade at step ``t`` (see the module docstring); returns (mark, the USD flow
    sent to the book, its walk's slippage integral). ``pos``, ``mk`` and ``out`` are the slim
    :class:`CascadePositions`, :class:`CascadeMarket` and :class:`CascadeOutputs`."""
    # unpack once: reading arrays out of the NamedTuples inside the loops costs a refcount per access
    thr_ = pos.thr
    qty_ = pos.qty
    entry_ = pos.entry
    cu_ = pos.coll_usd
    ct_ = pos.coll_tok
    seg_start = pos.seg_start
    seg_side = pos.seg_side
    seg_w = pos.seg_w
    seg_mark = pos.seg_mark
    seg_rate = pos.seg_rate
    seg_amount = pos.seg_amount
    fee_trig = mk.close_fee_in_trigger
    min_coll = mk.min_coll
    close_fee = mk.close_fee
    liq_fee = mk.liq_fee
    impact_cap = mk.impact_cap
    dkind = mk.depth_kind
    dk = mk.depth_k
    da = mk.depth_a
    bx = mk.band_x[m]
    bdp = bd_all[m]     # this step's band depth (the schedule applied by the step loop)
    nbands = mk.band_n
    exec_mode = rules.exec_mode
    liq_impact_factor = rules.liq_impact_factor
    fee_usd = rules.liq_fee_usd
    keep = rules.keep_remainder
    backstop_fraction = rules.backstop_mm_fraction
    partial_min = rules.partial_min_notional
    partial_fraction = rules.partial_fraction
    cooldown = rules.partial_cooldown_steps
    cp = rules.counterparty
    alpha = rules.internalized_fraction
    fee_dest = rules.liq_fee_dest
    fund_party = Party.VAULT if rules.bad_debt_absorber == Absorber.VAULT else Party.INSURANCE
    pool_absorbs = rules.bad_debt_absorber == Absorber.POOL
    if cp == Party.POOL:
        cfee_party = Party.POOL
    elif cp == Party.BROKER:
        cfee_party = Party.BROKER
    else:
        cfee_party = Party.VENUE
    trigger = rules.adl_trigger
    n_seg_m = pos.seg_market.size // mk.n_markets
    g_lo = m * n_seg_m
    g_hi = g_lo + n_seg_m
    maxp = pend_idx.shape[2]
    simple = backstop_fraction <= 0.0 and not (partial_min < np.inf and partial_fraction < 1.0)
    # the book-first order: the backstop takes what a liquidation order cannot fill in the book, the part
    # that would walk past the end of this step's depth curve (_book_share)
    first_tried = not rules.backstop_book_first
    book_first = rules.backstop_book_first and backstop_fraction > 0.0 and exec_mode == Exec.BOOK
    q_end = curve_end_depth(dkind, dk, da, bx, bdp, nbands) if book_first else math.inf
    # the backstop pre-test: a position whose mark is clear of its backstop bound (inputs.backstop_prices)
    # skips the equity/maintenance computation; the bound is conservative, so every decision is the same
    bthr_ = pos.bthr
    bfilt = (first_tried and backstop_fraction > 0.0 and pos.bthr_bf[0] == backstop_fraction
             and bthr_.size == qty_.size)
    # pass 1's summed runs (_new_run): no book-first split, and a backstop test the bounds can clear
    run_sums = not book_first and (backstop_fraction <= 0.0 or bfilt)
    check_slice = partial_min < np.inf and partial_fraction < 1.0
    liq_count = out.liq_count
    liq_notional = out.liq_notional
    backstop_notional = out.backstop_notional
    hj = pos.hedger_i[0]   # the hedger's short (hedger_nb.HI.J; -1: none)
    mark = pre
    qcum = 0.0
    i_cum = 0.0
    cap_left = mk.liq_cap         # the market's liquidation window for this step (liq_window.py)
    for it in range(rules.max_cascade_iterations):
        # ---- pass 1: what triggers at this mark, and the flow it sends to the book. Newly
        # triggered positions are a contiguous run [it_lo, ptr) of each sorted segment; their
        # decision (backstop / slice / full) is a pure function of the position, the mark and the
        # free pending slots, so pass 2 recomputes it in the same order instead of storing it.
        flow = 0.0
        n_new = 0
        n_ex = 0
        plain = True    # every new position closes whole at the book (pass 2's _plain_run)
        free0 = maxp - pend_n[m, 0]
        free1 = maxp - pend_n[m, 1]
        for g in range(g_lo, g_hi):
            s = seg_side[g]
            si = 0 if s > 0 else 1
            ph = phi[m, si]
            shift = s * seg_w[g] * ph
            bshift = _backstop_shift(s, seg_mark[g], seg_rate[g], backstop_fraction, ph) if bfilt else 0.0
            it_lo[g] = ptr[g]
            j = ptr[g]
            end = seg_start[g + 1]
            if run_sums:
                je = j
                while je < end:
                    th = thr_[je] + shift
                    if not ((s > 0 and th >= mark) or (s < 0 and th <= mark)):
                        break
                    je += 1
                if je == j:
                    continue
                sq, cnt, odd = _new_run(qty_[j:je], rem[j:je], bthr_[j:je] if bfilt else bthr_[:0], float(s), mark,
                                        bshift, bfilt, check_slice, partial_min)
                # every position closes whole at the book (code 0 for pass 2), and the liquidation
                # window (if any) has room for the whole run, with a margin for the sum's rounding
                if odd == 0 and cap_left > sq * (1.0 + 1e-9):
                    cap_left -= sq
                    flow -= s * mark * sq
                    if not simple:
                        for k in range(n_new, n_new + cnt):
                            cand[k] = 0
                    n_new += cnt
                    ptr[g] = je
                    continue
            while j < end:
                th = thr_[j] + shift
                if not ((s > 0 and th >= mark) or (s < 0 and th <= mark)):
                    break
                r = rem[j]
                if r > 0.0:
                    ok, cap_left = window_take(cap_left, r * qty_[j])
                    if not ok:
                        break     # the window is used up: this position waits (its trigger stays crossed)
                    if simple:
                        flow -= s * r * qty_[j] * mark
                    else:
                        if bfilt and _clear_of_backstop(s, mark, bthr_[j] + bshift):
                            bs = False
                            fr, newp, free0, free1 = _slice_only(qty_[j], r, mark, partial_min, partial_fraction, si,
                                                                 free0, free1)
                        else:
                            bs, fr, newp, free0, free1 = _first_trigger(
                                qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g], seg_amount[g], s, mark,
                                ph, fee_trig, min_coll, r, backstop_fraction, partial_min, partial_fraction, si, free0,
                                free1, first_tried)
                        # kept for pass 2 in ``cand`` (ADL's scratch, free until the waterfall below;
                        # sized for every position where the rules are not simple): 2 backstop, 1 slice,
                        # 3 the book fills a share of the order (in ``cscore``) and the vault takes the rest
                        code = 2 if bs else (1 if newp else 0)
                        if not bs:
                            o = fr * r * qty_[j] * mark
                            bsh = _book_share(o, q_end + s * (qcum + flow)) if book_first else 1.0
                            if bsh < 1.0:
                                if newp:   # no slice waits: the position is finished now
                                    if si == 0:
                                        free0 += 1
                                    else:
                                        free1 += 1
                                code = 3 if bsh > 0.0 else 2
                                cscore[n_new] = bsh * fr
                            flow -= s * bsh * o
                        cand[n_new] = code
                        plain = plain and code == 0
                    n_new += 1
                j += 1
            ptr[g] = j
        for si in range(2):
            s = 1 if si == 0 else -1
            ph = phi[m, si]
            for k in range(pend_n[m, si]):
                j = pend_idx[m, si, k]
                r = rem[j]
                if r <= 0.0:
                    continue
                g = pend_seg[m, si, k]
                # a sliced position keeps collateral beyond its share: test its own equity
                eq, mm = _equity_mm(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark[g], seg_rate[g], seg_amount[g], s,
                                    mark, ph, fee_trig, min_coll)
                eq = r * eq + pend_extra[m, si, k]
                mm = r * mm
                if not eq <= max(mm, 0.0):
                    continue
                bs, fr, newp = _decide(eq, mm, qty_[j] * r * mark, backstop_fraction, partial_min, partial_fraction,
                                       t <= pend_until[m, si, k], True, True)
                bsh = 1.0
                if not bs:
                    o = fr * r * qty_[j] * mark
                    bsh = _book_share(o, q_end + s * (qcum + flow)) if book_first else 1.0
                    if bsh <= 0.0:
                        bs = True
                        fr = 1.0
                    else:
                        flow -= s * bsh * o
                cscore[n_new + n_ex] = bsh * fr   # the book's share of the remaining size, when < fr
                ex_k[n_ex] = k
                ex_si[n_ex] = si
                ex_fr[n_ex] = fr
                ex_bs[n_ex] = bs
                n_ex += 1
        if n_new == 0 and n_ex == 0:
            break
        st[Tot.ITERATIONS] += 1.0
        # ---- the flow walks the depth; fills at the average over the walk
        ext = flow if exec_mode == Exec.BOOK else flow * rules.oracle_feedback
        qnew = qcum + ext
        if qnew != qcum:
            i_new = walk_integral(abs(qnew), dkind, dk, da, bx, bdp, nbands)
            avg = (i_new - i_cum) / (qnew - qcum)
        else:
            i_new = i_cum
            avg = _sdist(qcum, dkind, dk, da, bx, bdp, nbands)
        book_px = pre * (1.0 + avg)
        # ---- pass 2: execute, in the same order: new positions segment by segment, then the pending
        bd0 = 0.0
        bd1 = 0.0
        bq0 = 0.0
        bq1 = 0.0
        n0 = 0
        n1 = 0
        u0 = 0.0
        u1 = 0.0
        b0 = 0.0
        b1 = 0.0
        gm0 = 0.0   # margin of the positions that went bankrupt (a clearing house's first layer)
        gm1 = 0.0
        dq0 = 0.0
        dq1 = 0.0
        de0 = 0.0
        de1 = 0.0
        sum_cpty = 0.0
        sum_cfee = 0.0
        sum_fee = 0.0
        sum_fund = 0.0
        sum_vault = 0.0
        sum_trader = 0.0
        k_dec = 0
        x_first = -1
        if plain and hj >= 0:
            for g in range(g_lo, g_hi):
                if it_lo[g] <= hj < ptr[g]:
                    plain = False   # the hedger's short books its own close (general loop)
        if plain:
            x_first = 0
            for g in range(g_lo, g_hi):
                a = it_lo[g]
                b = ptr[g]
                if a == b:
                    continue
                s = seg_side[g]
                si = 0 if s > 0 else 1
                (r_cpty, r_cfee, r_fee, r_fund, r_trader, r_dq, r_de, r_bd, r_bq, r_gm, r_n,
                 r_u) = _plain_run(qty_[a:b], entry_[a:b], cu_[a:b], ct_[a:b], rem[a:b], float(s), mark, book_px,
                                   phi[m, si], close_fee, liq_fee, fee_usd, impact_cap, exec_mode, liq_impact_factor,
                                   keep)
                sum_cpty += r_cpty
                sum_cfee += r_cfee
                sum_fee += r_fee
                sum_fund += r_fund
                sum_trader += r_trader
                if si == 0:
                    dq0 += r_dq
                    de0 += r_de
                    bd0 += r_bd
                    bq0 += r_bq
                    gm0 += r_gm
                    n0 += r_n
                    u0 += r_u
                else:
                    dq1 += r_dq
                    de1 += r_de
                    bd1 += r_bd
                    bq1 += r_bq
                    gm1 += r_gm
                    n1 += r_n
                    u1 += r_u
        for x in range(x_first, n_ex):
            if x == -1:
                g_a = g_lo
                g_b = g_hi
            else:
                g_a = 0
                g_b = 1
            for g in range(g_a, g_b):
                if x == -1:
                    s = seg_side[g]
                    si = 0 if s > 0 else 1
                    j_a = it_lo[g]
                    j_b = ptr[g]
                else:
                    si = ex_si[x]
                    s = 1 if si == 0 else -1
                    j_a = 0
                    j_b = 1
                ph = phi[m, si]
                for jj in range(j_a, j_b):
                    if x == -1:
                        j = jj
                        r = rem[j]
                        if r <= 0.0:
                            continue
                        k = -1
                        split = False
                        cb = 1.0
                        if simple:
                            bs = False
                            fr = 1.0
                            newp = False
                        else:   # pass 1's decision, in the same order
                            code = cand[k_dec]
                            split = code == 3
                            cb = cscore[k_dec]
                            k_dec += 1
                            bs = code == 2
                            newp = code == 1
                            fr = partial_fraction if newp else 1.0
                    else:
                        k = ex_k[x]
                        j = pend_idx[m, si, k]
                        r = rem[j]
                        fr = ex_fr[x]
                        bs = ex_bs[x]
                        newp = False
                        cb = cscore[n_new + x]
                        split = not bs and cb < fr
                    # a split: the book fills ``cb`` of the remaining size, the backstop takes the rest
                    for part in range(2 if split else 1):
                        if not split:
                            c = r if fr >= 1.0 else fr * r
                            extra = pend_extra[m, si, k] * fr if k >= 0 else 0.0
                            bsp = bs
                            slc = fr < 1.0
                        elif part == 0:
                            c = cb * r
                            extra = pend_extra[m, si, k] * cb if k >= 0 else 0.0
                            bsp = False
                            slc = False
                        else:
                            c = r - cb * r
                            extra = pend_extra[m, si, k] * (1.0 - cb) if k >= 0 else 0.0
                            bsp = True
                            slc = False
                        px, notional, cpty, cfee, fee, to_fund, to_vault, trader, bad, kept = _settle(
                            c, bsp, mark, book_px, float(s), qty_[j], entry_[j], cu_[j], ct_[j], close_fee, liq_fee,
                            fee_usd, impact_cap, ph, exec_mode, liq_impact_factor, keep, extra, slc)
                        cq = c * qty_[j]
                        if j == hj:
                            hedger_nb.on_liq(out.hedger, p, cq, mark, trader)
                        sum_cpty += cpty
                        sum_cfee += cfee
                        sum_fee += fee
                        sum_fund += to_fund
                        sum_vault += to_vault
                        sum_trader += trader
                        if si == 0:
                            dq0 += cq
                            de0 += cq * entry_[j]
                            bd0 += bad
                            if bad > 0.0:
                                bq0 += cq
                                gm0 -= trader
                            n0 += 1
                            u0 += notional
                            if bsp:
                                b0 += notional
                        else:
                            dq1 += cq
                            de1 += cq * entry_[j]
                            bd1 += bad
                            if bad > 0.0:
                                bq1 += cq
                                gm1 -= trader
                            n1 += 1
                            u1 += notional
                            if bsp:
                                b1 += notional
                    # inside its segment's swept prefix: reset at the path's end
                    rem[j] = 0.0 if (fr >= 1.0 or split) else r - c
                    if newp:   # (never with a split: pass 1 gave its slot back)
                        kk = pend_n[m, si]
                        pend_idx[m, si, kk] = j
                        pend_seg[m, si, kk] = g
                        pend_until[m, si, kk] = t + cooldown
                        pend_extra[m, si, kk] = kept
                        pend_n[m, si] = kk + 1
                    elif k >= 0 and fr < 1.0 and not split:
                        pend_until[m, si, k] = t + cooldown   # a new slice after the cooldown: a new cooldown
                        pend_extra[m, si, k] = pend_extra[m, si, k] - extra + kept
        oi_q[m, 0] -= dq0
        oi_e[m, 0] -= de0
        oi_q[m, 1] -= dq1
        oi_e[m, 1] -= de1
        # drop finished positions from the pending lists, keeping order
        for si in range(2):
            w = 0
            for k in range(pend_n[m, si]):
                if rem[pend_idx[m, si, k]] > 0.0:
                    pend_idx[m, si, w] = pend_idx[m, si, k]
                    pend_seg[m, si, w] = pend_seg[m, si, k]
                    pend_until[m, si, w] = pend_until[m, si, k]
                    pend_extra[m, si, w] = pend_extra[m, si, k]
                    w += 1
            pend_n[m, si] = w
        # ---- book the flows of this iteration
        par[Party.TRADERS] += sum_trader
        _pay_counterparty(par, cp, alpha, sum_cpty)
        par[cfee_party] += sum_cfee
        fund = st[Tot.FUND]
        if fee_dest == Dest.INSURANCE:
            par[Party.INSURANCE] += sum_fee
            if fund_party == Party.INSURANCE:
                fund += sum_fee
        elif fee_dest == Dest.POOL:
            par[Party.POOL] += sum_fee
        elif fee_dest == Dest.BROKER:
            par[Party.BROKER] += sum_fee
        elif fee_dest == Dest.VAULT:
            par[Party.VAULT] += sum_fee
            if fund_party == Party.VAULT:
                fund += sum_fee
        else:
            par[Party.VENUE] += sum_fee
        par[Party.VAULT] += sum_vault
        if pool_absorbs:
            # the seized surplus is the LPs': where the pool absorbs losses, it also keeps what a
            # liquidation leaves (Synthetix v3's seized collateral, gTrade's vault), no fund between
            par[Party.POOL] += sum_fund
            pool_usd[m] += sum_fund
        else:
            par[Party.INSURANCE] += sum_fund
        if fund_party == Party.VAULT:
            fund += sum_vault
        elif not pool_absorbs:
            fund += sum_fund
        if cp == Party.POOL:
            pool_usd[m] += -sum_cpty + sum_cfee + (sum_fee if fee_dest == Dest.POOL else 0.0)
        st[Tot.LIQ_FEES] += sum_fee
        st[Tot.SURPLUS_TO_FUND] += sum_fund
        st[Tot.BACKSTOP_GAIN] += sum_vault
        st[Tot.FUND_PEAK] = max(st[Tot.FUND_PEAK], fund)
        # ---- losses beyond collateral: the venue's waterfall, side by side
        for si in range(2):
            b = bd0 if si == 0 else bd1
            if b <= 0.0:
                continue
            bq = bq0 if si == 0 else bq1
            o = 1 - si
            st[Tot.BAD_DEBT] += b
            out.bad_debt[p, m] += b
            resid = b
            if rules.ccp:
                gm = gm0 if si == 0 else gm1
                st[Tot.DEFAULTER_MARGIN] += gm
                resid = ccp_waterfall(resid, gm, mark, m, o, oi_q[m, o], cst, rules, par, st, Tot.PAID_DEFAULTER_GF)
            if trigger == AdlTrigger.NEGATIVE_EQUITY:
                resid = _adl(Event.ADL_BANKRUPT, p, t, m, o, bq, resid, mark, fund, pos, rules, rem, touched, ints,
                             cand, cscore, cw, acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, out)
            floor = 0.0
            if trigger == AdlTrigger.FUND_DRAWDOWN:
                floor = (1.0 + rules.fund_drawdown) * st[Tot.FUND_PEAK]
            if resid > 0.0:
                take = min(resid, max(fund - floor, 0.0))
                fund -= take
                par[fund_party] -= take
                st[Tot.PAID_FUND] += take
                resid -= take
            if resid > 0.0:
                if rules.bad_debt_absorber == Absorber.POOL:
                    par[Party.POOL] -= resid
                    pool_usd[m] -= resid
                    st[Tot.PAID_POOL] += resid
                    resid = 0.0
                elif rules.bad_debt_absorber == Absorber.BROKER:
                    par[Party.BROKER] -= resid
                    st[Tot.PAID_BROKER] += resid
                    resid = 0.0
                elif trigger == AdlTrigger.FUND_EXHAUSTED or trigger == AdlTrigger.FUND_DRAWDOWN:
                    resid = _adl(Event.ADL_BANKRUPT, p, t, m, o, bq * resid / b, resid, mark, fund, pos, rules, rem,
                                 touched, ints, cand, cscore, cw, acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd,
                                 phi, st, par, out)
            if resid > 0.0 and trigger == AdlTrigger.FUND_DRAWDOWN:
                take = min(resid, max(fund, 0.0))   # a mark fill left the gap: the fund pays below its floor
                fund -= take
                par[fund_party] -= take
                st[Tot.PAID_FUND] += take
                resid -= take
                if resid > 0.0 and rules.adl_fill == AdlFill.MARK_UNLESS_FUND_LOW:
                    # OKX: the fund is now depleted, so the rest is deleveraged at the bankruptcy price
                    resid = _adl(Event.ADL_BANKRUPT, p, t, m, o, bq * resid / b, resid, mark, fund, pos, rules, rem,
                                 touched, ints, cand, cscore, cw, acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd,
                                 phi, st, par, out)
            if resid > 0.0:
                par[Party.UNCOVERED] -= resid
                st[Tot.UNCOVERED] += resid
                _record_event(out.events, out.n_events, p, t, m, si, Event.SHORTFALL, 0.0, 0.0, resid, 0.0, mark,
                              mark, 0.0, 0)
        st[Tot.FUND] = fund
        st[Tot.FUND_MIN] = min(st[Tot.FUND_MIN], fund)
        qcum = qnew
        i_cum = i_new
        dist = _sdist(qcum, dkind, dk, da, bx, bdp, nbands)
        mark = pre * (1.0 + dist)
        liq_count[p, m, 0] += n0
        liq_count[p, m, 1] += n1
        liq_notional[p, m, 0] += u0
        liq_notional[p, m, 1] += u1
        backstop_notional[p, m, 0] += b0
        backstop_notional[p, m, 1] += b1
        st[Tot.LIQ_NOTIONAL] += u0 + u1
        st[Tot.LIQUIDATIONS] += n0 + n1
        st[Tot.BACKSTOP_NOTIONAL] += b0 + b1
        if det_row >= 0:
            out.det_liq_notional[det_row, t - 1, m, 0] += u0
            out.det_liq_notional[det_row, t - 1, m, 1] += u1
            out.det_liq_count[det_row, t - 1, m, 0] += n0
            out.det_liq_count[det_row, t - 1, m, 1] += n1
        if it == rules.max_cascade_iterations - 1:
            st[Tot.NONCONVERGED] += 1.0
    return mark, qcum, i_cum


@njit
def _pnl_factor_check(p: int, t: int, m: int, mark: float, mk, rules, pos, rem, touched, ints, cand, cscore, cw,
                      acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, out) -> None:
    """GMX v2 (AdlUtils): a side whose PnL exceeds MAX_PNL_FACTOR_FOR_ADL × its pool is reduced until
    the factor is back at MIN_PNL_FACTOR_AFTER_ADL. Removing X of PnL pays c·X from the pool
    (c = the profit cap's ratio), so X solves ``pnl − X = min × (pool − c·X)``."""
    for si in range(2):
        s = 1.0 if si == 0 else -1.0
        mx = mk.max_adl[m, si]
        pnl = s * (oi_q[m, si] * mark - oi_e[m, si])
        pool = pool_tok[m] * mark if si == 0 else pool_usd[m]
        if not (mx < np.inf) or pnl <= 0.0 or pool <= 0.0 or pnl <= mx * pool:
            continue
        mn = min(mk.min_adl[m, si], mx)
        ratio = min(1.0, mk.max_traders[m, si] * pool / pnl)
        x = (pnl - mn * pool) / (1.0 - mn * ratio) if mn * ratio < 1.0 else pnl
        _adl(Event.ADL_PNL_FACTOR, p, t, m, si, min(x, pnl), 0.0, mark, st[Tot.FUND], pos, rules, rem, touched, ints,
             cand, cscore, cw, acct_hit, acct_list, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, out)


@njit
def simulate_path(p: int, seed: int, n_steps: int, record_every: int, n_detail: int, max_pending: int, pos, mk,
                  model, rules, out, rem, touched, cand, cscore, cw, acct_hit,
                  acct_list, p_base=0) -> None:
    """Simulate global path ``p_base + p`` into row ``p`` of ``out``, using (and then resetting) the
    scratch (``p_base``: the first path of a streamed chunk, :mod:`defi_perps.engine.stream`).

    This allocates the path's own state that the cascade takes and runs :func:`_path` on it: the
    state is then owned by this caller, so :func:`_path` may pass it to the cascade as unowned views
    (``unowned_nb.py``)."""
    n_m = mk.price0.size
    n_s = pos.seg_market.size
    ptr = pos.seg_start[:-1].copy()
    pend_idx = np.zeros((n_m, 2, max_pending), np.int64)
    pend_seg = np.zeros((n_m, 2, max_pending), np.int64)
    pend_until = np.zeros((n_m, 2, max_pending), np.int64)
    pend_extra = np.zeros((n_m, 2, max_pending))
    it_lo = np.zeros(n_s, np.int64)
    ex_k = np.zeros(2 * max_pending, np.int64)
    ex_si = np.zeros(2 * max_pending, np.int64)
    ex_fr = np.zeros(2 * max_pending)
    ex_bs = np.zeros(2 * max_pending, np.bool_)
    pend_n = np.zeros((n_m, 2), np.int64)
    oi_q = mk.oi_qty.copy()
    oi_e = mk.oi_entry.copy()
    pool_tok = mk.pool_long_tok.copy()
    pool_usd = mk.pool_short_usd.copy()
    phi = np.zeros((n_m, 2))
    st = np.zeros(N_TOT)
    par = np.zeros(N_PARTIES)
    ints = np.zeros(2, np.int64)   # positions touched by ADL, accounts hit
    band_now = mk.band_d.copy()
    cst = ccp_state(mk.price0, rules)
    _path(p, seed, n_steps, record_every, n_detail, pos, mk, model, rules, out, rem, touched, cand, cscore, cw,
          acct_hit, acct_list, p_base, ptr, pend_idx, pend_seg, pend_until, pend_extra, it_lo, ex_k, ex_si, ex_fr, ex_bs,
          pend_n, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, ints, band_now, cst)


@njit
def _path(p: int, seed: int, n_steps: int, record_every: int, n_detail: int, pos, mk, model, rules, out, rem,
          touched, cand, cscore, cw, acct_hit, acct_list, p_base: int, ptr, pend_idx, pend_seg, pend_until, pend_extra,
          it_lo, ex_k, ex_si, ex_fr, ex_bs, pend_n, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, ints, band_now,
          cst) -> None:
    """:func:`simulate_path`'s body, on the state it allocated."""
    # the caller owns this state: unowned views (unowned_nb.py), so passing it to the cascade on every
    # busy market-step costs no atomic reference counts
    ptr = unowned(ptr)
    pend_idx = unowned(pend_idx)
    pend_seg = unowned(pend_seg)
    pend_until = unowned(pend_until)
    pend_extra = unowned(pend_extra)
    it_lo = unowned(it_lo)
    ex_k = unowned(ex_k)
    ex_si = unowned(ex_si)
    ex_fr = unowned(ex_fr)
    ex_bs = unowned(ex_bs)
    pend_n = unowned(pend_n)
    oi_q = unowned(oi_q)
    oi_e = unowned(oi_e)
    pool_tok = unowned(pool_tok)
    pool_usd = unowned(pool_usd)
    phi = unowned(phi)
    st = unowned(st)
    par = unowned(par)
    ints = unowned(ints)
    band_now = unowned(band_now)
    cst = unowned(cst)
    n_m = mk.price0.size
    n_s = pos.seg_market.size
    n_seg_m = n_s // n_m
    state = np.empty(1, np.uint64)
    state[0] = path_state(seed, p_base + p)
    spare = np.zeros(2)   # the held second normal of a pair (rng.gauss)
    nxt = np.zeros((n_m, 2))              # the trigger test's cached bounds (sweep.py)
    phr = np.zeros((n_m, 2))
    wlo = np.zeros((n_m, 2))
    whi = np.zeros((n_m, 2))
    dirty = np.ones(n_m, np.bool_)
    logx = np.zeros(n_m)
    h = np.ones(n_m)
    perm = np.zeros(n_m)
    trans = np.zeros(n_m)
    hedge_q = np.zeros(n_m)
    hedge_cost = np.zeros(n_m)
    mark_lo = mk.price0.copy()
    mark_hi = mk.price0.copy()
    last_mark = mk.price0.copy()
    lx_lo = np.zeros(n_m)
    lx_hi = np.zeros(n_m)
    last_lx = np.zeros(n_m)
    st[Tot.FUND] = rules.insurance_initial
    st[Tot.FUND_MIN] = rules.insurance_initial
    st[Tot.FUND_PEAK] = rules.insurance_initial
    det_row = p if p < n_detail else -1
    h_i = pos.hedger_i
    h_f = pos.hedger_f
    h_lat = pos.hedger_lat
    hmk = h_i[hedger_nb.HI.MARKET]
    if hmk >= 0:
        hedger_nb.start(h_f, out.hedger, p)
    for m in range(n_m):
        out.min_mark[p, m] = mk.price0[m]
        out.max_mark[p, m] = mk.price0[m]
        out.min_exog[p, m] = mk.price0[m]
        out.max_exog[p, m] = mk.price0[m]
        if det_row >= 0:
            out.det_mark[det_row, 0, m] = mk.price0[m]
            out.det_exog[det_row, 0, m] = mk.price0[m]
    # the cascade's slim views (CascadePositions says why), once per path; of arrays this function's
    # caller owns (the book, the outputs, the chunk's scratch) without an owner (unowned_nb.py: numba's
    # reference counts on the cascade's arguments are then no atomic operations)
    cpos = CascadePositions(unowned(pos.thr), unowned(pos.qty), unowned(pos.entry), unowned(pos.coll_usd),
                            unowned(pos.coll_tok), unowned(pos.seg_start), unowned(pos.seg_market),
                            unowned(pos.seg_side), unowned(pos.seg_rate), unowned(pos.seg_amount),
                            unowned(pos.seg_mark), unowned(pos.seg_w), unowned(pos.acct), unowned(pos.hedger_i),
                            unowned(pos.bthr), unowned(pos.bthr_bf))
    rem_c = unowned(rem)
    touched_c = unowned(touched)
    cand_c = unowned(cand)
    cscore_c = unowned(cscore)
    cw_c = unowned(cw)
    acct_hit_c = unowned(acct_hit)
    acct_list_c = unowned(acct_list)
    close_fee_ = mk.close_fee
    liq_fee_ = mk.liq_fee
    impact_cap_ = mk.impact_cap
    depth_kind_ = mk.depth_kind
    depth_k_ = mk.depth_k
    depth_a_ = mk.depth_a
    band_x_ = unowned(mk.band_x)
    band_n_ = mk.band_n
    liq_cap_ = mk.liq_cap
    cout = CascadeOutputs(unowned(out.liq_count), unowned(out.liq_notional), unowned(out.backstop_notional),
                          unowned(out.adl_count), unowned(out.adl_notional), unowned(out.adl_haircut),
                          unowned(out.bad_debt), unowned(out.events), unowned(out.n_events),
                          unowned(out.det_liq_notional), unowned(out.det_liq_count), unowned(out.hedger))
    ga = model.garch_alpha
    gb = model.garch_beta
    price0 = mk.price0
    trans_decay = mk.trans_decay
    accrual = mk.accrual
    perm_frac = mk.perm_frac
    mu = model.mu
    sigma = model.sigma
    beta = model.beta
    base_log = model.base_log
    thr_ = pos.thr
    qty_ = pos.qty
    entry_ = pos.entry
    cu_ = pos.coll_usd
    ct_ = pos.coll_tok
    seg_start = pos.seg_start
    seg_side = pos.seg_side
    seg_w = pos.seg_w
    seg_mark_ = pos.seg_mark
    seg_rate_ = pos.seg_rate
    seg_amount_ = pos.seg_amount
    min_mark = out.min_mark
    max_mark = out.max_mark
    min_exog = out.min_exog
    max_exog = out.max_exog
    final_mark = out.final_mark
    final_exog = out.final_exog
    det_mark = out.det_mark
    det_exog = out.det_exog
    ins_path = out.insurance_path
    max_adl = mk.max_adl
    fee_trig_ = mk.close_fee_in_trigger
    min_coll_ = mk.min_coll
    pnl_factor = rules.adl_trigger == AdlTrigger.PNL_FACTOR
    hedging = rules.counterparty == Party.BROKER and rules.hedge_threshold < np.inf
    alpha = rules.internalized_fraction
    if hedging:
        # the snapshot's hedge: in place before the path starts, at the initial price (broker.py)
        for m in range(n_m):
            hedge_q[m] = hedge_trade(-alpha * (oi_q[m, 0] - oi_q[m, 1]), 0.0, mk.hedge_limit[m] / mk.price0[m])
            hedge_cost[m] = hedge_q[m] * mk.price0[m]
    # depth over the path: this step's band depth is band_d × the schedule's row t, written into
    # band_now by the step loop only on steps that walk the book (scalars in, no per-step arrays)
    band_d = mk.band_d
    sched = mk.depth_sched
    n_rows = sched.shape[0]
    sched_on = n_rows > 1
    wd_on = mk.wd_par[WD_ON] > 0.0
    bd_all = band_now if sched_on or wd_on else band_d
    ls = liquidity_state(price0, mk.wd_par)
    ccp_on = rules.ccp
    for t in range(1, n_steps + 1):
        exog_step(state, spare, mu, sigma, beta, ga, gb, model.jump_prob, model.jump_mean, model.jump_std, logx, h, n_m)
        for m in range(n_m):
            trans[m] *= trans_decay[m]
            # one exp per market-step: the exogenous price itself is only needed at its extremes (kept in
            # log space, exp is monotone), at the end and on detail paths
            lx = logx[m] + base_log[t, m]
            pre = price0[m] * math.exp(lx + perm[m] + trans[m])
            phi[m, 0] += accrual[m, 0] * pre
            phi[m, 1] += accrual[m, 1] * pre
            # fast path: most steps trigger nothing; skip the cascade call (and its argument passing).
            # Pending slices are tested on their own equity (the collateral a slice left with them).
            busy = False
            for si in range(2):
                for k in range(pend_n[m, si]):
                    j = pend_idx[m, si, k]
                    r = rem[j]
                    if r > 0.0 and not busy:
                        g = pend_seg[m, si, k]
                        eq, mm = _equity_mm(qty_[j], entry_[j], cu_[j], ct_[j], seg_mark_[g], seg_rate_[g],
                                            seg_amount_[g], 1 if si == 0 else -1, pre, phi[m, si],
                                            fee_trig_[m], min_coll_[m])
                        if r * eq + pend_extra[m, si, k] <= max(r * mm, 0.0):
                            busy = True
            if not busy and (dirty[m] or may_trigger(m, pre, phi[m, 0], phi[m, 1], nxt, phr, wlo, whi)):
                # the exact scan (sweep.py: the cached bounds only skip steps that cannot trigger)
                busy = scan(m, m * n_seg_m, (m + 1) * n_seg_m, pre, phi[m, 0], phi[m, 1], thr_, ptr, seg_start,
                            seg_side, seg_w, nxt, phr, wlo, whi)
                dirty[m] = busy
            qcum = 0.0
            i_cum = 0.0
            settle = False
            if ccp_on:   # close-outs only at a settlement, none while a price limit halts trading
                halted, settle = ccp_gate(cst, m, t, n_steps, pre, rules)
                st[Tot.HALT_STEPS] += 1.0 if halted else 0.0
                st[Tot.LOCKED_AT_END] += 1.0 if halted and t == n_steps else 0.0
                busy = busy and settle
            if (sched_on or wd_on) and (busy or hedging):
                band_depth_now(band_now, band_d, sched, t, m, ls, mk.wd_exp, wd_on)
            if not busy:
                mark = pre
            else:
                cmk = CascadeMarket(n_m, close_fee_[m], fee_trig_[m], liq_fee_[m], impact_cap_[m], min_coll_[m],
                                    depth_kind_[m], depth_k_[m], depth_a_[m], band_n_[m], liq_cap_[m], band_x_)
                mark, qcum, i_cum = _cascade(p, t, m, pre, cpos, cmk, bd_all, rules, ptr, pend_idx, pend_seg, pend_until, pend_extra, pend_n, oi_q, oi_e,
                                pool_tok, pool_usd, phi, st, par, ints, rem_c, touched_c, it_lo, ex_k, ex_si, ex_fr,
                                ex_bs, cand_c, cscore_c, cw_c, acct_hit_c, acct_list_c, cout, det_row, cst)
                dirty[m] = True   # the cascade moved pointers: rescan next step
            liq_q = qcum   # the liquidations' own flow this step (what the makers react to)
            liq_i = i_cum
            if hedging:
                # the broker's own book is short its internalised share of the clients' net position;
                # the hedge follows that exposure above the limit (broker.py says why)
                dq = hedge_trade(-alpha * (oi_q[m, 0] - oi_q[m, 1]), hedge_q[m], mk.hedge_limit[m] / pre)
                if dq != 0.0:
                    q1 = qcum + dq * pre
                    i1 = walk_integral(abs(q1), mk.depth_kind[m], mk.depth_k[m], mk.depth_a[m], mk.band_x[m],
                                       bd_all[m], mk.band_n[m])
                    fill = pre * (1.0 + (i1 - i_cum) / (q1 - qcum))
                    hedge_q[m] += dq
                    hedge_cost[m] += dq * fill
                    st[Tot.HEDGE_NOTIONAL] += abs(dq) * fill
                    qcum = q1
                    mark = pre * (1.0 + _sdist(q1, mk.depth_kind[m], mk.depth_k[m], mk.depth_a[m], mk.band_x[m],
                                               bd_all[m], mk.band_n[m]))
            if m == hmk:   # the hedger re-hedges through this step's depth once its latency has passed
                q0 = qcum
                mark, qcum = hedger_nb.rehedge(h_i, h_f, h_lat, out.hedger, p, t, pre, mark, qcum, mk.depth_kind[m], mk.depth_k[m],
                                               mk.depth_a[m], mk.band_x[m], bd_all[m], band_d[m], sched, mk.band_n[m])
                busy = busy or qcum != q0
            if busy or hedging:
                if abs(mark / pre - 1.0) >= MAX_DISTANCE * (1.0 - 1e-12):
                    out.depth_capped[p, m] += 1
                    st[Tot.DEPTH_CAPPED] += 1.0
            if mark != pre:
                lg = math.log(mark / pre)
                perm[m] += perm_frac[m] * lg
                trans[m] += (1.0 - perm_frac[m]) * lg
            if pnl_factor:
                # guard: an O(1) test per side before the call (the call itself passes ~20 arrays)
                hit = False
                for si in range(2):
                    sgn = 1.0 if si == 0 else -1.0
                    pnl = sgn * (oi_q[m, si] * mark - oi_e[m, si])
                    pool = pool_tok[m] * mark if si == 0 else pool_usd[m]
                    if pnl > 0.0 and pool > 0.0 and pnl > max_adl[m, si] * pool:
                        hit = True
                if hit:
                    _pnl_factor_check(p, t, m, mark, mk, rules, cpos, rem_c, touched_c, ints, cand_c, cscore_c, cw_c,
                                      acct_hit_c, acct_list_c, oi_q, oi_e, pool_tok, pool_usd, phi, st, par, cout)
            if m == hmk:
                hedger_nb.after_step(h_f, h_lat, out.hedger, p, t, mark)
            if settle:
                ccp_settled(cst, m, t, mark, rules)
                st[Tot.SETTLEMENTS] += 1.0
            if wd_on:   # the makers react to this step (their depth for the next): engine/liquidity_nb.py
                w = liquidity_update(ls, m, mark, pre, liq_q, liq_i,
                                     out.adl_notional[p, m, 0] + out.adl_notional[p, m, 1], mk.wd_par, mk.wd_cap[m])
                out.wd_min[p, m] = min(out.wd_min[p, m], w)
                out.wd_thin[p, m] += 1 if w < mk.wd_par[WD_THIN] else 0
                if det_row >= 0:
                    out.det_wd[det_row, t, m] = w
            mark_lo[m] = min(mark_lo[m], mark)
            mark_hi[m] = max(mark_hi[m], mark)
            lx_lo[m] = min(lx_lo[m], lx)
            lx_hi[m] = max(lx_hi[m], lx)
            last_mark[m] = mark
            last_lx[m] = lx
            if det_row >= 0:
                det_mark[det_row, t, m] = mark
                det_exog[det_row, t, m] = price0[m] * math.exp(lx)
        if t % record_every == 0:
            r = t // record_every - 1
            if r < ins_path.shape[1]:
                ins_path[p, r] = st[Tot.FUND]
    for m in range(n_m):
        min_mark[p, m] = mark_lo[m]
        max_mark[p, m] = mark_hi[m]
        min_exog[p, m] = min(price0[m], price0[m] * math.exp(lx_lo[m]))
        max_exog[p, m] = max(price0[m], price0[m] * math.exp(lx_hi[m]))
        final_mark[p, m] = last_mark[m]
        final_exog[p, m] = price0[m] * math.exp(last_lx[m]) if n_steps > 0 else price0[m]
    # mark what is still open at the final mark: traders against their counterparty, hedges
    for m in range(n_m):
        fin = final_mark[p, m]
        for si in range(2):
            sgn = 1.0 if si == 0 else -1.0
            open_pnl = sgn * (oi_q[m, si] * fin - oi_e[m, si]) - phi[m, si] * oi_q[m, si]
            par[Party.TRADERS] += open_pnl
            _pay_counterparty(par, rules.counterparty, alpha, open_pnl)
        v = hedge_q[m] * fin - hedge_cost[m]
        par[Party.BROKER] += v
        par[Party.MARKET] -= v
    if hmk >= 0:
        hedger_nb.finish(h_f, out.hedger, p, last_mark[hmk])
    if rules.max_trade_gain < np.inf:   # a per-trade profit cap (gTrade v8): profit_cap_nb.py
        cut = open_profit_cap_haircut_nb(pos.qty, pos.entry, pos.coll_usd, pos.coll_tok, pos.seg_start, pos.seg_market,
                                         pos.seg_side, rem, final_mark[p], phi, rules.max_trade_gain)
        par[Party.TRADERS] -= cut
        _pay_counterparty(par, rules.counterparty, alpha, -cut)
        st[Tot.PROFIT_CAP_HAIRCUT] += cut
    for k in range(N_TOT):
        out.totals[p, k] = st[k]
    for k in range(N_PARTIES):
        out.parties[p, k] = par[k]
    # reset the scratch this path touched (the next path of this chunk starts clean): liquidations
    # only touch each segment's swept prefix [seg_start, ptr); ADL lists what it touched anywhere
    if det_row >= 0:   # (both lists first: a position can be in both)
        for g in range(n_s):
            for j in range(seg_start[g], ptr[g]):
                out.det_rem[det_row, j] = rem[j]
        for i in range(ints[0]):
            out.det_rem[det_row, touched[i]] = rem[touched[i]]
    for g in range(n_s):
        for j in range(seg_start[g], ptr[g]):
            rem[j] = 1.0
    for i in range(ints[0]):
        rem[touched[i]] = 1.0
    for i in range(ints[1]):
        acct_hit[acct_list[i]] = 0


@njit(parallel=True)
def simulate_chunk(p_lo: int, p_hi: int, n_chunks: int, seed: int, n_steps: int, record_every: int, n_detail: int,
                   max_pending: int, pos, mk, model, rules, out, p_base=0) -> None:
    """Paths ``[p_lo, p_hi)`` in ``n_chunks`` parallel chunks; each chunk allocates its scratch once
    and runs its paths one after another; each path writes only its own rows of ``out``. Row ``p``
    holds global path ``p_base + p`` (its random stream)."""
    n = pos.qty.size
    n_paths = p_hi - p_lo
    # ADL scratch only where the rules can deleverage (it is O(positions) per thread)
    # (the cascade also keeps its pass-1 decisions in ``cand`` where the rules are not simple)
    simple = rules.backstop_mm_fraction <= 0.0 and not (rules.partial_min_notional < np.inf
                                                        and rules.partial_fraction < 1.0)
    n_adl = n if rules.adl_trigger != AdlTrigger.NONE or not simple else 1
    n_acc = pos.n_accounts[0] if rules.adl_trigger != AdlTrigger.NONE else 1
    for c in prange(n_chunks):
        lo = p_lo + (n_paths * c) // n_chunks
        hi = p_lo + (n_paths * (c + 1)) // n_chunks
        rem = np.ones(n)
        touched = np.zeros(n_adl, np.int32)   # what ADL touched (liquidations: the swept prefixes)
        cand = np.zeros(n_adl, np.int32)
        cscore = np.zeros(n_adl)
        cw = np.zeros(n_adl)
        acct_hit = np.zeros(n_acc, np.uint8)
        acct_list = np.zeros(n_acc, np.int64)
        for p in range(lo, hi):
            simulate_path(p, seed, n_steps, record_every, n_detail, max_pending, pos, mk, model, rules, out, rem,
                          touched, cand, cscore, cw, acct_hit, acct_list, p_base)
