"""Translate a venue's parameters (``params/<venue>.toml``) into what the one engine reads.

:func:`venue_inputs` is the only mapping from :class:`~defi_perps.venues.params.VenueParams` to
the kernel: a :class:`~defi_perps.engine.rules.VenueRules` record, per-position maintenance
(rate, amount, mark-based) from the venue's per-market tables, and the book as the venue admits
it. Every venue rule is data the kernel reads; nothing is simulated here.

Admission (the same for every venue): a position whose collateral is below what the venue lets
a position open with (entry notional / the market's maximum leverage; GMX v2 also
``MIN_COLLATERAL_USD``; GMX v1 also its fees plus the fixed liquidation fee) gets its collateral
topped up to that minimum (× 1.0001). The count, the notional and the USD added are reported
(``margin_topup``) so a reader can see how far the venue's rules had to bend the book.

Market makers (order-book venues): on an order book every long has a short on the other side, but
a book read from one protocol, a file or the generator need not balance. For venues whose
counterparty is the order book, each market's imbalance is held by one market-maker account
(``market-maker:<MARKET>``) on the other side, entered at the book's price with
``MARKET_MAKER_LEVERAGE`` (a modelling choice). It can be liquidated and, as on 10 Oct 2025, ADL'd
like any account; without it ADL on a one-sided book would run out of counterparties. Reported as
``market_makers`` (USD notional per market).

Per-market book values a GMX v2 snapshot carries (its on-chain factors: min-collateral factor,
position fee, liquidation fee, pnl-factor caps) are kept for GMX v2 only; another venue run on
the same book uses its own parameters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book, unknown_everywhere
from defi_perps.engine.codes import ADL_POLICY_NAMES, RANKING_OF_VENUE
from defi_perps.engine.rules import VenueRules, make_rules
from defi_perps.exceptions import ConfigError
from defi_perps.venues.margin import effective_brackets, market_margin, max_leverage_for
from defi_perps.venues.params import Bracket, Margin, VenueParams

ADL_POLICIES: tuple[str, ...] = ("venue",) + ADL_POLICY_NAMES
MARKET_MAKER_LEVERAGE = 5.0   # modelling choice: market makers run hedged books at low leverage
"""CLI choices for ``--adl-policy``: ``venue`` = the venue's own (a queue in its ranking order)."""


@dataclass
class VenueInputs:
    """Everything the engine needs to run ``params`` on a book."""

    params: VenueParams
    rules: VenueRules
    book: Book                                  # the book as the venue admits it (top-ups applied)
    position_mm: tuple[np.ndarray, np.ndarray]   # class code per position, class table
    margin_topup: dict[str, Any] = field(default_factory=dict)
    market_makers: dict[str, float] = field(default_factory=dict)
    # float64[N] (book order) the protocol's exact trigger price where known, NaN elsewhere: GMX v2
    # on a snapshot book (book.liquidation_price, protocols/gmx_v2/math.py); None for other venues
    thresholds: np.ndarray | None = None

    def info(self) -> dict[str, Any]:
        p = self.params
        exact = 0 if self.thresholds is None else int(np.isfinite(self.thresholds).sum())
        return {"venue": p.name, "display": p.display, "counterparty": p.counterparty,
                "margin_topup": self.margin_topup, "market_makers": self.market_makers,
                "exact_thresholds": exact,
                "params": p.model_dump(exclude={"sources"}),
                "sources": dict(p.sources)}


def _brackets(m: Margin) -> tuple[Bracket, ...]:
    """The market's notional brackets (tiered venues; Hyperliquid's per-asset tiers)."""
    return tuple(effective_brackets(m))


def _position_mm(params: VenueParams, book: Book, notional: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position a maintenance class code (int16) and the class table (rate, maintenance amount,
    1 if on mark notional else 0), fixed at book time from each market's own table."""
    rows: list[tuple[float, float, float]] = []
    index: dict[tuple[float, float, float], int] = {}

    def code(row: tuple[float, float, float]) -> int:
        if row not in index:
            index[row] = len(rows)
            rows.append(row)
        return index[row]

    codes = np.zeros(book.n_positions, np.int16)
    entry_notional = book.size * book.entry_price
    gmx = params.margin.kind == "gmx_v2"
    per_market_classes = max(1, SYNTHETIX_CLASSES // max(1, book.n_markets))
    for mi, name in enumerate(book.market_names):
        sel = np.flatnonzero(book.market == mi)
        if sel.size == 0:
            continue
        m = market_margin(params, name)
        if m.kind == "synthetix_v3":
            codes[sel] = [code(row) for row in _synthetix_rows(m, book, sel, per_market_classes)]
            continue
        on_entry = bool(m.mm_on_entry_value)   # BitMEX: maintenance on the entry value
        brackets = _brackets(m)
        if brackets:
            base = entry_notional[sel] if on_entry else notional[sel]
            caps = np.array([b.cap for b in brackets])
            k = np.minimum(np.searchsorted(caps, base, side="left"), len(brackets) - 1)
            # entry-value MM: rate × entry value (BitMEX's example has no deduction)
            lut = np.array([code((b.mmr, 0.0 if on_entry else b.maint_amount, 0.0 if on_entry else 1.0))
                            for b in brackets], np.int16)
            codes[sel] = lut[k]
            continue
        if m.kind == "gmx_v2":
            row = (float(book.mm_rate[mi]) if gmx and np.isfinite(book.mm_rate[mi]) else m.mmr, 0.0, 0.0)
        elif m.kind == "gmx_v1":
            row = (1.0 / m.max_leverage, 0.0, 0.0)
        elif m.kind == "gtrade":   # each position carries its own rate (_admit); this is the fallback
            row = (m.mmr / m.max_leverage, 0.0, 0.0)
        elif m.kind == "stop_out":
            row = (m.stop_out_level / m.max_leverage, 0.0, 1.0)
        elif m.kind == "half_im_at_max_leverage":
            row = (0.5 / m.max_leverage, 0.0, 1.0)
        else:
            row = (m.mmr, 0.0, 1.0)
        codes[sel] = code(row)
    own_book = book.meta.get("protocol", "gmx_v2")   # a protocol's own per-position factors apply only to its books
    if (gmx and own_book == "gmx_v2") or (params.margin.kind == "gtrade" and own_book == "gtrade"):
        own = np.flatnonzero(~np.isnan(book.position_mm_rate))
        rates = book.position_mm_rate[own]
        if params.margin.kind == "gtrade":
            rates = _gtrade_rate_classes(rates)
        for v in np.unique(rates):
            codes[own[rates == v]] = code((float(v), 0.0, 0.0))
    return codes, np.array(rows or [(0.01, 0.0, 1.0)], dtype=np.float64)


SYNTHETIX_CLASSES = 48   # of the engine's MAX_CLASSES maintenance rules (engine/inputs.py)


def _synthetix_rows(m: Margin, book: Book, sel: np.ndarray, n_classes: int) -> list[tuple[float, float, float]]:
    """Synthetix v3 maintenance per position (PerpsMarketConfiguration.calculateRequiredMargins): rate
    ``(|size| / skewScale · initialMarginRatio + minimumInitialMarginRatio) · maintenanceMarginScalar``
    on the mark notional, plus the flat ``minimumPositionMargin`` (as a negative maintenance amount:
    the kernel's MM is ``rate · notional − amount``). A Synthetix snapshot's own exact ratio
    (``book.position_mm_rate``) is used where the book has it. The size-scaled rates are a continuum;
    the engine sorts positions by segment (market, side, rule), so each market's rates are rounded UP to
    at most ``n_classes`` steps between its smallest and largest rate (a stricter maintenance by less
    than one step, reported nowhere else: the step is (max − min) / n_classes)."""
    own = book.position_mm_rate[sel]
    base = (book.size[sel] / m.skew_scale * m.initial_margin_ratio + m.minimum_initial_margin_ratio) \
        * m.maintenance_margin_scalar
    rate = np.where(np.isfinite(own), own, base)
    lo, hi = float(rate.min()), float(rate.max())
    if hi > lo and n_classes > 1:
        step = (hi - lo) / (n_classes - 1)
        rate = lo + np.ceil((rate - lo) / step - 1e-9) * step
    return [(float(r), -m.flat_mm_usd, 1.0) for r in rate]


def _liquidation_windows(params: VenueParams, book: Book) -> np.ndarray | None:
    """Per market the venue's liquidation window as index tokens per second (Synthetix v3:
    ``window_skew_rate · skew_scale``, i.e. ``maxLiquidationAmountInWindow / maxSecondsInLiquidationWindow``;
    engine/liq_window.py); None when no market has one."""
    out = np.full(book.n_markets, np.inf)
    for mi, name in enumerate(book.market_names):
        p = params.for_market(name)
        if p.liquidation.window_s > 0 and p.liquidation.window_skew_rate > 0 and p.margin.skew_scale > 0:
            out[mi] = p.liquidation.window_skew_rate * p.margin.skew_scale
    return None if np.isinf(out).all() else out


GTRADE_RATE_CLASSES = 40


def _gtrade_rate_classes(rates: np.ndarray) -> np.ndarray:
    """gTrade's maintenance, (1 − liqThreshold) · collateral, is a different rate on notional for every
    leverage; the engine groups positions into at most 64 maintenance classes, so the rates are snapped
    to ``GTRADE_RATE_CLASSES`` log-spaced levels (to the nearest level below: never a later trigger). A
    gTrade snapshot's positions trigger at their exact prices (``thresholds``), for which the class only
    groups segments; only a position without one (topped up at admission, or another book) uses it."""
    if rates.size == 0 or np.unique(rates).size <= GTRADE_RATE_CLASSES:
        return rates
    lo, hi = float(rates.min()), float(rates.max())
    levels = np.geomspace(lo, hi, GTRADE_RATE_CLASSES)
    k = np.clip(np.searchsorted(levels, rates * (1 + 1e-12), side="right") - 1, 0, levels.size - 1)
    return levels[k]


def _max_leverage(params: VenueParams, market: str, notional: np.ndarray) -> np.ndarray:
    return np.array([max_leverage_for(params, market, float(x)) for x in notional]) if notional.size < 64 \
        else _tiered_leverage(params, market, notional)


def _tiered_leverage(params: VenueParams, market: str, notional: np.ndarray) -> np.ndarray:
    # leverage limits are step functions of notional: evaluate once per distinct step edge
    edges = sorted({0.0, *[float(t.lower_bound) for t in (market_margin(params, market).tiers or ())]})
    lev = np.full(notional.shape, max_leverage_for(params, market, 0.0))
    for lo in edges:
        lev = np.where(notional >= lo, max_leverage_for(params, market, lo), lev)
    return lev


def _admit(params: VenueParams, book: Book, top_up: bool = True) -> tuple[Book, dict[str, Any]]:
    notional0 = book.size * book.entry_price
    coll = book.collateral_usd + book.collateral_tokens * book.price[book.market]
    lev = np.ones(book.n_positions)
    for mi, name in enumerate(book.market_names):
        sel = book.market == mi
        if sel.any():
            lev[sel] = _max_leverage(params, name, notional0[sel])
    min_coll = notional0 / lev
    if params.margin.kind == "gmx_v1":   # the fixed liquidation fee makes tiny positions unopenable
        min_coll = np.maximum(min_coll, notional0 * params.margin.close_fee_rate + params.liquidation.fee_usd)
    if params.margin.kind == "gmx_v2":
        min_coll = np.maximum(min_coll, params.margin.min_collateral_usd)
    min_coll = min_coll * 1.0001
    topup = np.maximum(min_coll - coll, 0.0) if top_up else np.zeros(book.n_positions)
    hit = topup > 0
    info = {"positions": int(hit.sum()), "notional_usd": float(notional0[hit].sum()),
            "collateral_added_usd": float(topup.sum()),
            "rule": ("collateral raised to entry notional / max leverage (× 1.0001) where below it" if top_up
                     else "collateral kept as given (no top-up)")}
    changes: dict[str, Any] = {}
    if hit.any():
        changes["collateral_usd"] = book.collateral_usd + topup
        # the protocol's exact liquidation terms were computed for the collateral actually posted
        for name in ("liquidation_price", "remaining_collateral_usd"):
            if not unknown_everywhere(getattr(book, name)):   # (nothing to clear in a broadcast NaN)
                changes[name] = np.where(hit, np.nan, getattr(book, name))
    if params.margin.kind == "gtrade":
        # gTrade liquidates at a loss of liqThresholdP of the collateral: the equity left, mmr × collateral,
        # as a rate on entry notional. A gTrade snapshot brings each trade's own rate (its stored
        # liquidation params); any other book gets the venue file's share.
        own = book.position_mm_rate if book.meta.get("protocol") == "gtrade" else np.full(book.n_positions, np.nan)
        coll_after = coll + topup
        changes["gtrade_position_mm_rate"] = np.where(
            np.isfinite(own) & ~hit, own, np.minimum(params.margin.mmr * coll_after / notional0, 0.999))
    if params.margin.kind != "gmx_v2":
        # the book's own on-chain factors belong to GMX v2; other venues use their parameters (a
        # Synthetix v3 snapshot's exact per-position maintenance ratios stay for the Synthetix venue)
        m = book.n_markets
        nan = np.full(m, np.nan)
        own_rates = params.margin.kind == "synthetix_v3" and book.meta.get("protocol") == "synthetix_v3"
        changes.update(mm_rate=nan.copy(), close_fee_rate=nan.copy(),
                       liq_fee_rate=nan.copy(), liq_impact_cap=nan.copy(), min_collateral_usd=nan.copy(),
                       max_pnl_factor_adl=np.full((m, 2), np.nan), min_pnl_factor_after_adl=np.full((m, 2), np.nan),
                       max_pnl_factor_traders=np.full((m, 2), np.nan))
        if not own_rates:
            changes["position_mm_rate"] = None   # unknown: one broadcast NaN, not 8 B per position
    if params.counterparty == "pool" and params.adl.trigger == "pnl_to_pool":
        # pools backing traders' profit: the book's (GMX snapshot) where known, else sized from the file
        oi = book.open_interest().sum(axis=1)
        share = params.insurance.initial_oi_fraction * oi / 2
        unknown = (book.pool_long_tokens <= 0) | (book.pool_short_usd <= 0)
        if unknown.any():
            changes["pool_long_tokens"] = np.where(unknown, share / book.price, book.pool_long_tokens)
            changes["pool_short_usd"] = np.where(unknown, share, book.pool_short_usd)
    if book.meta.get("protocol") == "gtrade" and params.margin.kind != "gtrade":
        # a gTrade trade's maintenance (its liquidation threshold) is gTrade's rule, not another venue's
        changes["position_mm_rate"] = np.full(book.n_positions, np.nan)
    own_rate = changes.pop("gtrade_position_mm_rate", None)
    if own_rate is not None:
        changes["position_mm_rate"] = own_rate
    return (dataclasses.replace(book, **changes) if changes else book), info


def fund_size(params: VenueParams, book: Book) -> float:
    """The insurance fund or backstop vault the venue file sizes as a fraction of the book's open
    interest; pools and brokers absorb losses themselves (no separate fund is seeded for them)."""
    if params.insurance.absorber in ("insurance_fund", "liquidator_vault"):
        return params.insurance.initial_oi_fraction * float(book.open_interest().sum())
    return 0.0


def to_rules(params: VenueParams, insurance_initial: float = 0.0, step_seconds: float = 60.0,
             adl_policy: str = "venue") -> VenueRules:
    """The kernel's rule record for ``params`` with a fund of ``insurance_initial`` USD."""
    if adl_policy not in ADL_POLICIES:
        raise ConfigError(f"unknown ADL policy {adl_policy!r}; choose from {', '.join(ADL_POLICIES)}")
    m, liq, ins, adl = params.margin, params.liquidation, params.insurance, params.adl
    f: dict[str, Any] = {}
    # the venue-wide table: used where no per-position classes are given (venue_inputs gives them,
    # from each market's own table)
    if m.kind == "tiered":
        f.update(mm_kind="tiered", tier_floor=[0.0] + [b.cap for b in m.brackets[:-1]],
                 tier_rate=[b.mmr for b in m.brackets], tier_amount=[b.maint_amount for b in m.brackets],
                 mm_rate=m.brackets[0].mmr)
    elif m.kind == "half_im_at_max_leverage":
        f.update(mm_rate=0.5 / m.max_leverage)
    elif m.kind == "stop_out":
        f.update(mm_rate=m.stop_out_level / m.max_leverage)
    elif m.kind == "flat":
        f.update(mm_rate=m.mmr)
    elif m.kind == "synthetix_v3":   # the venue-wide floor; venue_inputs gives every position its own class
        f.update(mm_rate=m.minimum_initial_margin_ratio * m.maintenance_margin_scalar)
    if m.kind == "gmx_v2":
        f.update(mm_on_entry_notional=True, count_close_fee=True, close_fee_rate=m.close_fee_rate,
                 min_collateral_usd=m.min_collateral_usd, mm_rate=m.mmr)
    elif m.kind == "gmx_v1":
        f.update(mm_on_entry_notional=True, count_close_fee=True, close_fee_rate=m.close_fee_rate,
                 mm_rate=1.0 / m.max_leverage)
    elif m.kind == "gtrade":
        f.update(mm_on_entry_notional=True, count_close_fee=True, close_fee_rate=m.close_fee_rate,
                 mm_rate=m.mmr / m.max_leverage)
    dest = {"insurance_fund": "insurance", "pool": "pool", "liquidator_vault": "vault", "keeper": "venue",
            "broker": "broker", "none": "venue"}[liq.fee_destination]
    f.update(liq_fee_rate=liq.fee_rate if liq.fee_destination != "none" else 0.0,
             liq_fee_usd=liq.fee_usd if liq.fee_destination != "none" else 0.0, liq_fee_dest=dest,
             keep_remainder=liq.trader_keeps_remainder,
             exec_mode="oracle" if liq.execution == "oracle" else "book")
    if liq.partial_threshold_usd > 0 and liq.partial_fraction < 1:
        f.update(partial_min_notional=liq.partial_threshold_usd, partial_fraction=liq.partial_fraction,
                 partial_cooldown_steps=int(math.ceil(liq.cooldown_s / step_seconds)))
    f.update(backstop_mm_fraction=liq.backstop_mm_fraction, backstop_book_first=liq.backstop_book_first,
             insurance_initial=insurance_initial,
             bad_debt_absorber={"insurance_fund": "insurance", "liquidator_vault": "vault", "pool": "pool",
                                "broker": "broker"}[ins.absorber],
             counterparty={"book": "market", "pool": "pool", "broker": "broker",
                           "clearing_house": "market"}[params.counterparty])
    if params.bbook is not None:
        f.update(internalized_fraction=params.bbook.internalized_fraction,
                 hedge_threshold=params.bbook.hedge_threshold_oi_fraction)
    f["adl_trigger"] = {"none": "none", "fund_depleted": "fund_exhausted", "fund_drawdown": "fund_drawdown",
                        "pnl_to_pool": "pnl_factor", "account_negative": "negative_equity"}[adl.trigger]
    fill = {"none": "bankruptcy", "bankruptcy": "bankruptcy", "mark": "mark", "previous_mark": "prev_mark",
            "oracle": "mark"}[adl.fill]
    if adl.fill == "mark" and adl.fill_bankruptcy_when_fund_below > 0:
        fill = "mark_unless_fund_low"
        f["fill_bankruptcy_below"] = adl.fill_bankruptcy_when_fund_below
    f["adl_fill"] = fill
    if adl.trigger == "fund_drawdown":
        f["fund_drawdown"] = adl.drawdown_ratio
    ranking = RANKING_OF_VENUE.get(adl.ranking.replace("-", "_"), RANKING_OF_VENUE.get(params.name, 0))
    f["adl_ranking"] = ranking
    f["adl_policy"] = "queue" if adl_policy == "venue" else adl_policy
    if adl.trigger == "pnl_to_pool":
        f.update(max_pnl_factor_adl=adl.max_pnl_factor_for_adl, min_pnl_factor_after_adl=adl.min_pnl_factor_after_adl)
    if params.profit_cap.max_pnl_factor_for_traders > 0:
        f["max_pnl_factor_traders"] = params.profit_cap.max_pnl_factor_for_traders
    if params.ccp is not None:   # a clearing house: settlement cycle, price limits, waterfall (venues/ccp.py)
        from defi_perps.venues.ccp import ccp_rule_fields

        f.update(ccp_rule_fields(params.ccp, step_seconds))
    if params.profit_cap.max_gain_collateral_multiple > 0:
        f["max_trade_gain"] = params.profit_cap.max_gain_collateral_multiple
    return make_rules(**f)


def _with_market_makers(book: Book) -> tuple[Book, dict[str, float]]:
    """The book with each market's imbalance held by a market-maker account (see the module doc)."""
    net = np.zeros(book.n_markets)
    np.add.at(net, book.market, book.side * book.size)
    mk = [m for m in range(book.n_markets) if abs(net[m]) > 1e-12 * max(1.0, float(book.size[book.market == m].sum()))]
    if not mk:
        return book, {}
    k = len(mk)
    size = np.abs(net[mk])
    price = book.price[mk]
    names = list(book.account_names) or [str(int(a)) for a in range(int(book.account.max()) + 1 if book.n_positions else 0)]
    first = max(int(book.account.max()) + 1 if book.n_positions else 0, len(names))
    names = names + [""] * (first - len(names)) + [f"market-maker:{book.market_names[m]}" for m in mk]
    grown = book.with_positions(
        account_names=names, market=np.array(mk, np.int32), side=-np.sign(net[mk]).astype(np.int8), size=size,
        entry_price=price, collateral_usd=size * price / MARKET_MAKER_LEVERAGE, collateral_tokens=np.zeros(k),
        account=np.arange(first, first + k, dtype=np.int32))
    return grown, {book.market_names[m]: float(size[i] * price[i]) for i, m in enumerate(mk)}


def venue_inputs(params: VenueParams, book: Book, step_seconds: float = 60.0, adl_policy: str = "venue",
                 top_up: bool = True) -> VenueInputs:
    """Rules, per-position maintenance and the admitted book for running ``params`` on ``book``.
    ``top_up=False`` keeps every position's collateral as given (a state built on purpose, e.g. the
    oracle lab's margin withdrawn below maintenance); the venue's other parameters still apply."""
    admitted, topup = _admit(params, book, top_up)
    window = _liquidation_windows(params, admitted)
    if window is not None:
        admitted = dataclasses.replace(admitted, liq_window_qty_per_s=window)
    makers: dict[str, float] = {}
    if params.counterparty in ("book", "clearing_house"):   # a clearing house's close-outs meet the book too
        admitted, makers = _with_market_makers(admitted)
    rules = to_rules(params, fund_size(params, admitted), step_seconds, adl_policy)
    position_mm = _position_mm(params, admitted, admitted.notional())
    thresholds = None
    # gTrade's exact liquidation prices belong to a gTrade snapshot's book, not to another protocol's
    protocol = admitted.meta.get("protocol")
    exact = (params.margin.kind == "gmx_v2" and protocol != "gtrade") or (params.margin.kind == "gtrade"
                                                                          and protocol == "gtrade")
    if exact and np.isfinite(admitted.liquidation_price).any():
        # the contract's own flip price (funding, fees, referral, impact) is the trigger; a
        # topped-up position (admission NaNs it) or one math.py could not price uses the formula
        thresholds = np.asarray(admitted.liquidation_price, dtype=np.float64)
    return VenueInputs(params=params, rules=rules, book=admitted, position_mm=position_mm, margin_topup=topup,
                       market_makers=makers, thresholds=thresholds)


def engine_rules_for(params: VenueParams, book: Book, step_seconds: float = 60.0) -> VenueRules:
    """The rules for ``params`` with the fund sized from ``book`` (the book as the venue admits it)."""
    return to_rules(params, fund_size(params, book), step_seconds)


__all__ = ["ADL_POLICIES", "VenueInputs", "engine_rules_for", "fund_size", "to_rules", "venue_inputs"]
