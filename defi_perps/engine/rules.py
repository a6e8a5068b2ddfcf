"""Venue rules as data: one numba-friendly record that the cascade kernel reads.

A venue (GMX v2, GMX v1, Hyperliquid, Binance, Bybit, OKX, BitMEX, a B-book broker, …) is *not*
code in the kernel. It is a :class:`VenueRules` value: a ``NamedTuple`` of scalars and three
small float64 arrays (the maintenance tiers). The kernel (:mod:`defi_perps.engine.nb`) and its
plain-Python twin (:mod:`defi_perps.engine.reference`) branch on the integer codes below, so the
same book and the same shock run on every venue. Build one with :func:`make_rules`, which checks
values and coerces types (numba compiles one specialisation per field-type combination, so an
``int`` where a ``float`` is expected would cost a recompile).

Units: money is float64 USD (the book converted it from exact on-chain ints); rates and factors
are plain fractions (0.01 = 1 %); steps are simulation steps (``--step``, one minute by default).

What the fields express
-----------------------
**Maintenance margin (the liquidation trigger).** A position with side ``s`` (+1 long, −1 short),
size ``q`` index tokens, entry price ``E``, collateral ``C`` USD plus ``c`` index tokens, at price
``P``, has equity ``C + c·P + s·q·(P − E) − close_fee − accrued`` and is liquidated when equity
falls below the maintenance requirement ``MM``:

* ``mm_kind = MM_FLAT``: ``MM = mm_rate × base`` where ``base`` is the entry notional ``q·E`` when
  ``mm_on_entry_notional`` (GMX: ``sizeInUsd × MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION``,
  protocols.md §1.2) or the mark notional ``q·P`` otherwise (CEXs, Hyperliquid).
* ``mm_kind = MM_TIERED``: Binance-style brackets chosen by the position notional at the book's
  price: tier ``k`` is the last with ``tier_floor[k] <= notional``, and
  ``MM = q·P·tier_rate[k] − tier_amount[k]`` ("maintenance amount", venues.md §1.1; Bybit's
  "MM deduction" is the same). Tiers are fixed per position at book time, so positions of one
  (market, side, tier) share a rule and one sorted sweep (see below).
* ``count_close_fee``: the close fee ``close_fee_rate × q·E`` is subtracted from equity in the
  trigger (GMX counts the position fee, ``isLiquidation=false``; the liquidation fee is excluded,
  protocols.md §1.2). The liquidation fee is never part of the trigger.
* ``min_collateral_usd``: a floor; equity below it also liquidates (GMX ``MIN_COLLATERAL_USD``).

**Liquidation fee.** ``liq_fee_rate × executed notional + liq_fee_usd``, paid out of what equity
remains after the close (never more), to ``liq_fee_dest``: ``insurance`` (CEX insurance fund),
``pool`` (LPs: GMX splits with ``LIQUIDATION_FEE_RECEIVER_FACTOR``; modelled as all to pool),
``broker``, ``vault`` or ``venue`` (the liquidator / exchange keeps it).

**Execution.**

* ``exec_mode = EXEC_BOOK``: the closing order walks the market's depth curve (order book). Its
  USD flow moves the mark; the impact splits into a permanent and a decaying transient part
  (market parameters, :mod:`defi_perps.engine.depth`).
* ``exec_mode = EXEC_ORACLE``: the keeper closes against the pool at the oracle price moved by a
  protocol impact ``min(liq_impact_factor × notional, liq_impact_cap)`` (GMX negative position
  impact with exponent 2 on a balanced book gives a fraction ``factor × notional``; the cap is
  ``MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS``, default 0, protocols.md §1.2/§1.3). A fraction
  ``oracle_feedback`` of the liquidated notional still reaches the external book (hedgers, GM
  arbitrage), which is how an oracle venue's liquidations can move its own oracle; 0 by default.
* Partial liquidation: when the position notional exceeds ``partial_min_notional``, only
  ``partial_fraction`` of the original size is closed, then the position waits
  ``partial_cooldown_steps`` steps before the next slice (Hyperliquid: 20 % slices above
  $100k with a 30 s cooldown, venues.md §1.6). ``inf`` disables it. Waiting slices are kept in a
  small per-(market, side) list (``MAX_PENDING``), so the state is O(events), not O(positions).
* ``backstop_mm_fraction``: if at the trigger equity is below this fraction of MM, the backstop
  vault takes the whole position at mark with no book impact and keeps the remaining equity
  (Hyperliquid: 2/3, "the maintenance margin is not returned"). 0 disables it.
  ``backstop_book_first`` (off by default) applies Hyperliquid's documented order instead: "below
  2/3 of the maintenance margin *without successful liquidation through the order book*". A first
  trigger always goes to the book; the vault takes a sliced position re-tested below the fraction,
  and, at once, the rest of a position whose liquidation order would walk past the end of the
  step's depth curve (the book fills up to the end). Measured against the records (Oct 10, JELLY,
  POPCAT) in docs/hyperliquid_adl_calibration.md, which says why it is not the default.

**Loss absorption.** Loss beyond collateral is bad debt. ``insurance_initial`` seeds the
insurance fund, which receives the liquidation fees routed to it. ``bad_debt_absorber``
(:data:`~defi_perps.engine.codes.Absorber`): ``insurance`` (the fund pays what it can; the rest
goes to ADL or stays ``uncovered``), ``vault`` (the same, the fund being the backstop vault's
capital: Hyperliquid HLP, which also keeps the backstop takeovers' equity), ``pool`` (the fund
first if it holds anything, then LPs take the rest: GMX/GLP pools), ``broker`` (a B-book broker
takes it on its own book). Names below are the codes' lower-case names (``make_rules`` takes them).

**ADL.** ``adl_trigger``:

* ``none``: nothing; an unabsorbed shortfall is recorded as ``uncovered``.
* ``fund_exhausted``: the residual shortfall after the insurance fund deleverages the
  opposite side (Binance/BitMEX). The deleveraged size is the bankrupt size the fund
  could not take over (pro-rata share of the uncovered loss).
* ``fund_drawdown``: the fund pays only down to ``(1 + fund_drawdown) × its peak`` (Bybit,
  OKX: −30 %); beyond that the opposite side is deleveraged; whatever ADL at a mark fill leaves is
  paid by the fund below its floor, then stays uncovered.
* ``pnl_factor``: per market and side, when the side's pending PnL / pool USD exceeds
  ``max_pnl_factor_adl`` (GMX ``MAX_PNL_FACTOR_FOR_ADL``), the side is reduced until the factor is
  back at ``min_pnl_factor_after_adl`` (``MIN_PNL_FACTOR_AFTER_ADL``); realised profit is paid
  from the pool (protocols.md §1.5). Per-market values in the book override these defaults.
* ``negative_equity``: any negative equity after a liquidation deleverages the opposite side
  directly, before the insurance fund (Hyperliquid, venues.md §1.6).

``adl_fill`` chooses the price the deleveraged side closes at: ``bankruptcy`` (Binance,
Bybit, BitMEX): the bankrupt position's bankruptcy price, which covers the whole gap;
``mark`` (no haircut; the gap stays with the fund or uncovered); ``prev_mark`` (Hyperliquid: the
previous mark against the underwater user; Hyperliquid marks update about every second, so the
previous mark is the last price at which the account was solvent, i.e. its bankruptcy price: the
whole shortfall is covered whatever our step length); ``mark_unless_fund_low`` (OKX: mark, the
bankruptcy price once the fund is below ``fill_bankruptcy_below`` of its initial size).

**Fees and remainder.** ``liq_fee_usd`` is a fixed fee per liquidation (GMX v1
``liquidationFeeUsd``) on top of ``liq_fee_rate``. ``keep_remainder=False`` settles a liquidation
at the bankruptcy price: what equity remains after the fee goes to the insurance fund (Bybit,
OKX, BitMEX); ``True``: the trader keeps it.

**Counterparty.** ``counterparty`` is the party on the other side of every trader
(:data:`~defi_perps.engine.codes.Party`: ``market`` for order books, ``pool`` for GMX, ``broker``
for a B-book). A B-book broker internalises ``internalized_fraction`` of every client position and
passes the rest to an A-book LP; the pass-through leg closes with the client's position. It hedges
the client exposure above ``hedge_threshold`` × the market's open interest through the depth once per
step (``inf``: never); the snapshot's hedge is in place at the start, and the hedge never covers more
than the client book, so stop-outs unwind it (:mod:`defi_perps.engine.broker`). The kernel deleverages *accounts inside the path*: the
opposite side's open positions are ranked by the venue's own score (``adl_ranking``, see
:data:`~defi_perps.engine.codes.Ranking`) and closed one after another (``adl_policy = queue``),
or all by the same fraction (``pro_rata``), or in proportion to their profit (``pro_rata_pnl``).
Each position keeps its remaining fraction for the rest of the path (thread-local scratch), so an
ADL'd position is not liquidated later, and its threshold stays where the sorted sweep expects it.

``max_pnl_factor_traders`` caps pool-level trader profit (GMX ``MAX_PNL_FACTOR_FOR_TRADERS``):
profit realised by ADL is scaled by ``min(1, cap × pool / pnl)``. ``inf`` disables it.

``max_cascade_iterations`` bounds the fixed-point loop inside a step.

``max_trade_gain`` caps each trade's profit at that multiple of its collateral (gTrade v8's +900 %:
9.0), applied where open positions are marked at the end of a path (engine/profit_cap_nb.py); the
withheld profit stays with the counterparty and is reported as ``profit_cap_haircut``. ``inf``: none.

Why the sorted sweep stays valid
--------------------------------
Each rule above makes the trigger a threshold price per position: equity is affine in ``P`` and
MM is either constant (flat on entry notional, min collateral) or proportional to ``P`` minus a
constant (mark notional, tiers). Funding/borrowing accrual is charged per index token (price units,
like CEX and Hyperliquid funding ``size × oracle × rate``), so it shifts every threshold of one
(market, side, tier) by the same amount ``Φ / (1 − s·rate)`` (mark-based MM) or ``Φ`` (constant
MM). Sorting once per (market, side, tier) and sweeping a pointer is therefore exact for stable
collateral; for collateral held in the index token the shift is applied the same way, which is an
approximation of order ``c/(q+c)`` on the (small) accrual term. ADL scales a whole side pro-rata,
which leaves thresholds unchanged; partial slices keep their threshold (collateral leaves
pro-rata) and wait in the pending list.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from defi_perps.engine.codes import (Absorber, AdlFill, AdlPolicy, AdlTrigger, Dest, Exec, MmKind, Party, Ranking,
                                     codes, names)
from defi_perps.exceptions import ConfigError

# kept for callers that used the flat constants
MM_FLAT, MM_TIERED = MmKind.FLAT, MmKind.TIERED
DEST_INSURANCE, DEST_POOL, DEST_VENUE = Dest.INSURANCE, Dest.POOL, Dest.VENUE
EXEC_BOOK, EXEC_ORACLE = Exec.BOOK, Exec.ORACLE
ABSORB_INSURANCE, ABSORB_POOL, ABSORB_BROKER = Absorber.INSURANCE, Absorber.POOL, Absorber.BROKER
ADL_NONE, ADL_FUND_EXHAUSTED, ADL_PNL_FACTOR, ADL_NEGATIVE_EQUITY = (AdlTrigger.NONE, AdlTrigger.FUND_EXHAUSTED,
                                                                   AdlTrigger.PNL_FACTOR, AdlTrigger.NEGATIVE_EQUITY)
FILL_BANKRUPTCY, FILL_MARK, FILL_PREV_MARK = AdlFill.BANKRUPTCY, AdlFill.MARK, AdlFill.PREV_MARK

# Waiting partial-liquidation slices kept per (market, side); when full, a new large position is
# closed whole instead of sliced (kernel and twin do the same).
MAX_PENDING = 16

_TABLES = {"mm_kind": MmKind, "liq_fee_dest": Dest, "exec_mode": Exec, "bad_debt_absorber": Absorber,
           "adl_trigger": AdlTrigger, "adl_fill": AdlFill, "adl_ranking": Ranking, "adl_policy": AdlPolicy,
           "counterparty": Party}
_NAMES = {key: codes(table) for key, table in _TABLES.items()}


class VenueRules(NamedTuple):
    """Liquidation, loss-absorption and ADL rules of one venue (see the module docstring)."""

    mm_kind: int
    mm_rate: float
    mm_on_entry_notional: bool
    tier_floor: np.ndarray        # float64[K], ascending, tier_floor[0] == 0
    tier_rate: np.ndarray         # float64[K]
    tier_amount: np.ndarray       # float64[K] maintenance amount (USD)
    count_close_fee: bool
    close_fee_rate: float
    min_collateral_usd: float
    liq_fee_rate: float
    liq_fee_usd: float            # fixed fee per liquidation (USD)
    liq_fee_dest: int
    keep_remainder: bool
    exec_mode: int
    oracle_feedback: float
    liq_impact_factor: float      # fraction of price per USD of notional (oracle mode)
    liq_impact_cap: float
    partial_min_notional: float
    partial_fraction: float
    partial_cooldown_steps: int
    backstop_mm_fraction: float
    insurance_initial: float
    bad_debt_absorber: int
    counterparty: int
    internalized_fraction: float
    hedge_threshold: float        # B-book: hedge net exposure above this fraction of the market's OI
    adl_trigger: int
    adl_fill: int
    adl_ranking: int
    adl_policy: int
    fund_drawdown: float          # <= 0: the fund pays down to (1 + fund_drawdown) × peak (FUND_DRAWDOWN)
    fill_bankruptcy_below: float  # OKX: bankruptcy fill once the fund < this × initial
    max_pnl_factor_adl: float
    min_pnl_factor_after_adl: float
    max_pnl_factor_traders: float
    max_cascade_iterations: int
    # a regulated clearing house (venue ``ccp``; engine/ccp_nb.py): close-outs only at a variation-
    # margin settlement, price-limit halts, and the default waterfall instead of ADL
    ccp: bool = False
    vm_interval_steps: int = 0         # scheduled settlement every this many steps (and at the horizon)
    intraday_call_move: float = math.inf  # an extra (intraday) margin call once the mark moved this far
    price_limits: np.ndarray = np.zeros(0)  # float64[L] successive limit bands (fraction of the reference)
    limit_halt_steps: int = 0          # trading halt (no close-outs) when a band is hit
    limit_reset_steps: int = 0         # a new session every this many steps re-arms the bands (0: never)
    defaulter_gf_fraction: float = 0.0  # a defaulter's guarantee-fund contribution / its margin
    ccp_capital: float = 0.0           # USD, the clearing house's own capital in the waterfall
    mutual_gf: float = 0.0             # USD, non-defaulting members' guarantee fund
    assessments_cap: float = 0.0       # USD, what assessments can raise
    vm_haircut: bool = False           # last resort: haircut winners' variation-margin gains
    max_trade_gain: float = math.inf  # per-trade profit cap, multiple of collateral (gTrade v8: 9.0); inf = none
    backstop_book_first: bool = False  # Hyperliquid's book-first order for the backstop (see the docstring)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (codes as names), stored with simulation runs."""
        out: dict[str, Any] = {}
        for key, value in self._asdict().items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
            elif key in _TABLES:
                out[key] = names(_TABLES[key])[int(value)]
            elif isinstance(value, float) and math.isinf(value):
                out[key] = None
            else:
                out[key] = value
        return out


_FLOAT_FIELDS = {"mm_rate", "close_fee_rate", "min_collateral_usd", "liq_fee_rate", "liq_fee_usd", "oracle_feedback",
                 "liq_impact_factor", "liq_impact_cap", "partial_min_notional", "partial_fraction",
                 "backstop_mm_fraction", "insurance_initial", "max_pnl_factor_adl", "min_pnl_factor_after_adl",
                 "max_pnl_factor_traders", "internalized_fraction", "hedge_threshold", "fund_drawdown",
                 "fill_bankruptcy_below", "intraday_call_move", "defaulter_gf_fraction", "ccp_capital",
                 "mutual_gf", "assessments_cap", "max_trade_gain"}
_INT_FIELDS = {"vm_interval_steps", "limit_halt_steps", "limit_reset_steps", "mm_kind", "liq_fee_dest", "exec_mode", "bad_debt_absorber", "adl_trigger", "adl_fill",
               "adl_ranking", "adl_policy", "counterparty", "partial_cooldown_steps", "max_cascade_iterations"}
_BOOL_FIELDS = {"mm_on_entry_notional", "count_close_fee", "keep_remainder", "ccp", "vm_haircut", "backstop_book_first"}
_ARRAY_FIELDS = {"tier_floor", "tier_rate", "tier_amount", "price_limits"}

_DEFAULTS: dict[str, Any] = dict(
    mm_kind=MmKind.FLAT, mm_rate=0.01, mm_on_entry_notional=False,
    tier_floor=(0.0,), tier_rate=(0.01,), tier_amount=(0.0,),
    count_close_fee=False, close_fee_rate=0.0, min_collateral_usd=0.0,
    liq_fee_rate=0.005, liq_fee_usd=0.0, liq_fee_dest=Dest.INSURANCE, keep_remainder=True,
    exec_mode=Exec.BOOK, oracle_feedback=0.0, liq_impact_factor=0.0, liq_impact_cap=0.0,
    partial_min_notional=math.inf, partial_fraction=1.0, partial_cooldown_steps=0,
    backstop_mm_fraction=0.0, insurance_initial=0.0, bad_debt_absorber=Absorber.INSURANCE,
    counterparty=Party.MARKET, internalized_fraction=1.0, hedge_threshold=math.inf,
    adl_trigger=AdlTrigger.NONE, adl_fill=AdlFill.BANKRUPTCY, adl_ranking=Ranking.PNL, adl_policy=AdlPolicy.QUEUE,
    fund_drawdown=0.0, fill_bankruptcy_below=0.0,
    max_pnl_factor_adl=math.inf, min_pnl_factor_after_adl=math.inf, max_pnl_factor_traders=math.inf,
    max_cascade_iterations=32, max_trade_gain=math.inf,
    ccp=False, vm_interval_steps=0, intraday_call_move=math.inf, price_limits=(), limit_halt_steps=0, limit_reset_steps=0,
    defaulter_gf_fraction=0.0, ccp_capital=0.0, mutual_gf=0.0, assessments_cap=0.0, vm_haircut=False,
    backstop_book_first=False,
)


def make_rules(base: VenueRules | None = None, **fields: Any) -> VenueRules:
    """Build a checked :class:`VenueRules`, starting from ``base`` (default: the generic values).

    Integer codes may be given by name (``adl_trigger="pnl_factor"``, ``adl_policy="pro-rata"``).
    ``None`` for a float field means "off" (``inf``). Raises :class:`ConfigError` naming the bad field.
    """
    values: dict[str, Any] = dict(_DEFAULTS if base is None else base._asdict())
    unknown = set(fields) - set(VenueRules._fields)
    if unknown:
        raise ConfigError(f"unknown venue rule field(s): {', '.join(sorted(unknown))}")
    values.update(fields)
    for key in list(values):
        v = values[key]
        try:
            if key in _NAMES and isinstance(v, str):
                name = v.strip().lower().replace("-", "_")
                if name not in _NAMES[key]:
                    raise ConfigError(f"venue rule {key}={v!r}: expected one of {', '.join(_NAMES[key])}")
                values[key] = _NAMES[key][name]
            elif key in _FLOAT_FIELDS:
                values[key] = math.inf if v is None else float(v)
            elif key in _INT_FIELDS:
                values[key] = int(v)
            elif key in _BOOL_FIELDS:
                values[key] = bool(v)
            elif key in _ARRAY_FIELDS:
                values[key] = np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"venue rule {key}={v!r} is not a valid value") from err
    rules = VenueRules(**values)
    _check(rules)
    return rules


def _check(r: VenueRules) -> None:
    def bad(msg: str) -> None:
        raise ConfigError(f"venue rules: {msg}")

    for key, table in _NAMES.items():
        if int(getattr(r, key)) not in table.values():
            bad(f"{key}={getattr(r, key)} is not a known code")
    k = r.tier_floor.size
    if k == 0 or r.tier_rate.size != k or r.tier_amount.size != k:
        bad("tier_floor, tier_rate and tier_amount must be non-empty and of equal length")
    if r.tier_floor[0] != 0.0 or np.any(np.diff(r.tier_floor) <= 0):
        bad("tier_floor must start at 0 and increase strictly")
    if np.any(r.tier_rate < 0) or np.any(r.tier_rate >= 1) or not (0 <= r.mm_rate < 1):
        bad("maintenance rates must be in [0, 1)")
    for name in ("close_fee_rate", "liq_fee_rate", "liq_fee_usd", "min_collateral_usd", "oracle_feedback",
                 "liq_impact_factor", "liq_impact_cap", "backstop_mm_fraction", "insurance_initial",
                 "fill_bankruptcy_below"):
        value = getattr(r, name)
        if not (value >= 0) or math.isinf(value):
            bad(f"{name} must be a finite number >= 0 (got {value})")
    if not (0 < r.partial_fraction <= 1):
        bad("partial_fraction must be in (0, 1]")
    if not (0 <= r.internalized_fraction <= 1):
        bad("internalized_fraction must be in [0, 1]")
    if not (-1 <= r.fund_drawdown <= 0):
        bad("fund_drawdown must be in [-1, 0]")
    if not (r.max_trade_gain > 0):
        bad("max_trade_gain must be > 0 (a multiple of collateral; inf: no cap)")
    if not (r.hedge_threshold >= 0):
        bad("hedge_threshold must be >= 0 (inf: never hedge)")
    if r.partial_cooldown_steps < 0 or r.max_cascade_iterations < 1:
        bad("partial_cooldown_steps must be >= 0 and max_cascade_iterations >= 1")
    if r.min_pnl_factor_after_adl > r.max_pnl_factor_adl:
        bad("min_pnl_factor_after_adl must not exceed max_pnl_factor_adl")
    if r.counterparty not in (Party.MARKET, Party.POOL, Party.BROKER):
        bad("counterparty must be market, pool or broker")
    if r.ccp:
        if r.vm_interval_steps < 1 or r.limit_halt_steps < 0 or r.limit_reset_steps < 0:
            bad("a clearing house needs vm_interval_steps >= 1, limit_halt_steps >= 0 and limit_reset_steps >= 0")
        lim = r.price_limits
        if np.any(lim <= 0) or np.any(lim >= 1) or np.any(np.diff(lim) <= 0):
            bad("price_limits must be increasing fractions in (0, 1)")
        if not r.intraday_call_move > 0:
            bad("intraday_call_move must be > 0 (None: no intraday call)")
        if r.adl_trigger != AdlTrigger.NONE:
            bad("a clearing house covers defaults through its waterfall, never ADL (adl_trigger must be none)")
    for name in ("defaulter_gf_fraction", "ccp_capital", "mutual_gf", "assessments_cap"):
        value = getattr(r, name)
        if not (value >= 0) or math.isinf(value):
            bad(f"{name} must be a finite number >= 0 (got {value})")


GENERIC: VenueRules = make_rules()
"""The issue's generic rule: flat 1 % maintenance on mark notional, 0.5 % liquidation fee to an
(initially empty) insurance fund, closing orders into the book, no ADL (shortfall recorded)."""
