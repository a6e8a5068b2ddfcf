"""Attack runs: the incident replays (``scenarios/incidents``) and attacks on a snapshot's market.

Every run goes through the same stages: the attacker's spot pushes on the oracle's reference
venues (:func:`defi_perps.engine.attack.push_sources`), the venue's oracle / mark rule
(:func:`defi_perps.engine.oracles.oracle_from_sources`), and — for the liquidations, bad debt and
who absorbed it — the one engine, fed the oracle series as its path (all through
:mod:`defi_perps.runs.attack_engine`). The attacker's perp leg and the variant's bookkeeping
(borrowing against paper profit, a vault inheriting a position, selling into liquidations) are
arithmetic here, each documented where it is done.

Output keys: ``attacker_cost_usd`` (what the attack costs: spot round-trip loss, fees, margin
abandoned), ``attacker_profit_usd`` (gross gain), ``attacker_net_usd`` = profit − cost, and
``paid_by`` (USD lost per party, keys of :data:`defi_perps.scenarios.incidents.PAYERS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.attack import (
    PushOutputs,
    SourceArrays,
    arb_per_step,
    make_plan,
    make_sources,
    offset_at,
    premium_at,
    push_sources,
)
from defi_perps.engine.attack_vault import make_vault_plan, vault_holding
from defi_perps.engine.oracles import (
    ORACLE_NAMES,
    aggregate_sources,
    oracle_from_sources,
)
from defi_perps.exceptions import InputError
from defi_perps.runs import attack_engine as eng
from defi_perps.scenarios.incidents import PAYERS, Cohort, Incident
from defi_perps.venues.oracles import RefVenue, oracle_models

Progress = Callable[[int], None] | None


# --- shared stages --------------------------------------------------------------------------------
class Sources:
    """A market's reference venues packed for the push kernel, with their aggregation rule."""

    def __init__(self, venues: tuple[RefVenue, ...], aggregate: str, step_s: float) -> None:
        self.venues = venues
        self.kind = ORACLE_NAMES[aggregate]
        self.weights = np.array([v.weight for v in venues], np.float64)
        self.arrays: SourceArrays = make_sources(
            [list(v.bands) for v in venues], [list(v.depth_usd) for v in venues], [v.fee for v in venues],
            [arb_per_step(v.arb_half_life_s / step_s) for v in venues], list(self.weights))
        self.step_s = step_s

    def majority(self, side: int, y: float = 0.05) -> list[int]:
        """The cheapest venues (by depth per weight) whose joint move moves the aggregate."""
        order = sorted(range(len(self.venues)), key=lambda k: self.venues[k].depth_usd[-1] / self.venues[k].weight)
        for n in range(1, len(order) + 1):
            r = np.ones((1, 1, len(order)))
            r[0, 0, order[:n]] = 1.0 + side * y
            if abs(aggregate_sources(self.kind, r, self.weights, 0.05)[0, 0] - 1.0) >= 0.999 * y:
                return order[:n]
        return order

    def oracle(self, out: PushOutputs, rule: str, side: int, params: dict[str, Any] | None = None) -> np.ndarray:
        # the venue closes a long at its minimum price and a short at its maximum
        return oracle_from_sources(self.kind, out.ratio, self.weights, rule, self.step_s,
                                   params if params is not None else oracle_models(), maximize=side < 0)


def push_with_budget(src: Sources, budget: float, side: int, ramp: int, hold: int, unwind: int, n_steps: int,
                     rule: str = "none", grid: int = 240) -> tuple[PushOutputs, np.ndarray, int]:
    """Spend ``budget`` on the push that moves the oracle furthest: a grid of displacements on the
    cheapest majority and on all venues, one kernel call; returns (outputs, oracle[T+1], chosen row)."""
    k_n = len(src.venues)
    ys = np.geomspace(1e-3, 60.0 if side > 0 else 0.98, grid)
    sets = [src.majority(side), list(range(k_n))]
    targets = np.zeros((len(sets) * grid, k_n))
    for i, chosen in enumerate(sets):
        targets[i * grid:(i + 1) * grid][:, chosen] = side * ys[:, None]
    out = push_sources(src.arrays, make_plan(targets, budget, ramp, hold, unwind), n_steps)
    oracle = src.oracle(out, rule, side)
    exit_t = min(ramp + hold, n_steps)
    feasible = out.capital <= budget * (1.0 + 1e-6) + 1.0
    score = np.where(feasible, side * (oracle[:, exit_t] - 1.0), -np.inf)
    g = int(np.argmax(score))
    return out, oracle[g], g


def _pick(out: PushOutputs, g: int) -> dict[str, float]:
    return {"capital": float(out.capital[g]), "premium": float(out.premium[g]), "fees": float(out.fees[g]),
            "bought": float(out.bought[g]), "inventory": float(out.inventory[g])}


def cohort_book(name: str, price: float, cohorts: tuple[Cohort, ...], seed: int = 0,
                collateral_override: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> Book:
    """Positions of ``cohorts`` on one market: notional split equally per cohort, leverage cycling
    through the mix, entries at ``price·(1 + offset)`` spread uniformly (seeded)."""
    rng = np.random.default_rng(seed)
    side, size, entry, coll, own = [], [], [], [], []
    for c in cohorts:
        own.append(np.full(c.positions, c.owner == "attacker"))
        lev = np.resize(np.asarray(c.leverage, np.float64), c.positions)
        e = price * (1.0 + c.entry_offset) * (1.0 + rng.uniform(-c.entry_spread, c.entry_spread, c.positions))
        notional = np.full(c.positions, c.notional_usd / c.positions)
        side.append(np.full(c.positions, 1 if c.side == "long" else -1))
        size.append(notional / e)
        entry.append(e)
        coll.append(notional / lev)
    s, q, e, cu = (np.concatenate(x) for x in (side, size, entry, coll))
    if collateral_override is not None:
        cu = collateral_override(q, e)
    n = q.size
    return Book(market_names=[name], price=np.array([price]), market=np.zeros(n, np.int32), side=s, size=q,
                entry_price=e, collateral_usd=cu, collateral_tokens=np.zeros(n), account=np.arange(n),
                source=f"incident cohorts ({n} positions)", meta={"attacker": np.concatenate(own)})


def _rules(venue: str, book: Book, step_s: float, **overrides: Any) -> Any:
    return eng.venue_rules(None if venue == "generic" else venue, book, step_s, **overrides)


def _log_path(ratio: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(ratio, np.float64), 1e-12))[:, None]


def _paid(**kw: float) -> dict[str, float]:
    out = {k: 0.0 for k in PAYERS}
    for k, v in kw.items():
        out[k] += float(v)
    return out


def _add_cascade(paid: dict[str, float], c: eng.CascadeOutcome, vault: bool) -> None:
    for k, v in eng.paid_by_from_cascade(c, vault).items():
        paid[k] += float(np.mean(v))


def _result(name: str, move: float, cost: float, profit: float, paid: dict[str, float], liquidated: float,
            details: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "oracle_move": float(move), "attacker_cost_usd": float(cost),
            "attacker_profit_usd": float(profit), "attacker_net_usd": float(profit - cost),
            "paid_by": {k: float(v) for k, v in paid.items()}, "liquidated_notional_usd": float(liquidated),
            "details": details, **extra}


def _steps(seconds: float, step_s: float) -> int:
    return max(1, int(math.ceil(seconds / step_s - 1e-9)))


# --- variants ---------------------------------------------------------------------------------------
def _oracle_close(inc: Incident, seed: int, progress: Progress) -> dict[str, Any]:
    """Open a perp at the fair oracle, push the cheapest majority of venues, close at the moved
    oracle with no price impact (GMX v1), unwind the spot; repeat ``cycles`` times. GLP pays the
    profit less the fees it earns; other traders' positions cross their thresholds in the engine."""
    s, x = inc.spec, inc.inputs
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    hold = _steps(x.hold_s, s.step_s) - 1
    target = np.zeros((1, len(src.venues)))
    target[0, src.majority(1, x.push_target)] = x.push_target
    n_steps = 1 + hold + 2
    out = push_sources(src.arrays, make_plan(target, math.inf, 1, hold, 1), n_steps)
    oracle = src.oracle(out, s.oracle.rule, 1)[0]
    move = float(oracle[1 + hold] - 1.0)
    spot = _pick(out, 0)
    n = x.perp_notional_usd
    perp_fees = 2.0 * x.perp_fee * n
    gross = x.cycles * n * move
    cost = x.cycles * (spot["premium"] + spot["fees"] + perp_fees)
    paid = _paid(pool=gross - x.cycles * perp_fees)
    liquidated, cascade = 0.0, None
    if x.traders:
        book = cohort_book("AVAX", x.price, x.traders, seed)
        rules = _rules(s.venue, book, s.step_s)
        path = np.tile(oracle[1:], x.cycles)
        cascade = eng.run_cascade(book, rules, _log_path(np.concatenate([[1.0], path])), s.step_s, seed=seed,
                                  progress=progress)
        liquidated = float((cascade.liquidated_long + cascade.liquidated_short).mean())
        lost = _trader_losses(book, rules, float(cascade.max_mark.max()), float(cascade.min_mark.min()))
        paid["liquidated_traders"] += lost
        paid["pool"] -= lost          # the pool is the counterparty: liquidated traders' losses are its gain
        _add_cascade(paid, cascade, vault=False)
    per_cycle_cost = spot["premium"] + spot["fees"]
    # the solver: the position (≈ OI cap) below which a cycle does not pay: n·move = n·2·fee + spot cost
    n_star = per_cycle_cost / (move - 2.0 * x.perp_fee) if move > 2.0 * x.perp_fee else math.inf
    # or a GMX v2-style price impact on open, f·N² (exponent 2): it stops paying once f·N² covers
    # a cycle's margin n·move − fees − spot cost
    margin = n * move - perp_fees - per_cycle_cost
    defence = {"oi_cap_usd": n_star, "record_oi_cap_after_usd": x.oi_cap_after_usd,
               "record_cap_stops_it": bool(x.oi_cap_after_usd <= n_star),
               "impact_factor_exp2": max(margin, 0.0) / n ** 2}
    return _result(s.name, move, cost, gross, paid, liquidated,
                   {"spot_per_cycle": spot, "cycles": x.cycles, "perp_notional_usd": n,
                    "venues_moved": [src.venues[k].name for k in src.majority(1, x.push_target)],
                    "oracle_path": oracle.tolist(), "cascade_engine": cascade.engine if cascade else None},
                   defence=defence)


def _collateral_borrow(inc: Incident, seed: int, progress: Progress) -> dict[str, Any]:
    """Two accounts self-trade the perp; the spot budget pumps the oracle's venues; the long
    account's paper profit counts as collateral (weight ``pnl_collateral_weight``) and is borrowed
    against (``borrow_weight``, capped by ``lendable_usd`` when known) and never repaid. Lenders lose
    the borrowed amount less the long account's own margin, which stays seized. The short account's
    bad debt (the engine) is the same money as the long's paper profit and is not counted twice."""
    s, x = inc.spec, inc.inputs
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    ramp = _steps(x.ramp_s, s.step_s)
    out, oracle, g = push_with_budget(src, x.spot_budget_usd, 1, ramp, 0, 0, ramp + 1, s.oracle.rule)
    r = float(oracle[ramp])
    notional = x.perp_contracts * x.price
    pnl = notional * (r - 1.0)
    borrowing_power = x.borrow_weight * (x.account_margin_usd + x.pnl_collateral_weight * pnl)
    borrowed = min(borrowing_power, x.lendable_usd) if x.lendable_usd is not None else borrowing_power
    spot = _pick(out, g)
    cost = 2.0 * x.account_margin_usd + spot["premium"] + spot["fees"]
    paid = _paid(pool=borrowed - x.account_margin_usd)
    short = cohort_book("MNGO", x.price, (Cohort(side="short", notional_usd=notional, leverage=(
        notional / x.account_margin_usd,), positions=1),))
    rules = _rules(s.venue, short, s.step_s)
    cascade = eng.run_cascade(short, rules, _log_path(oracle), s.step_s, seed=seed, progress=progress)
    return _result(s.name, r - 1.0, cost, borrowed, paid, float(cascade.liquidated_short.mean()),
                   {"spot": spot, "paper_profit_usd": pnl, "borrowing_power_usd": borrowing_power,
                    "short_account_bad_debt_usd": float(cascade.bad_debt.mean()), "oracle_path": oracle.tolist(),
                    "cascade_engine": cascade.engine})


def _backstop_squeeze(inc: Incident, seed: int, progress: Progress) -> dict[str, Any]:
    """The short's margin is withdrawn to below 2/3 of maintenance, so the engine hands it to the
    backstop vault; the spot budget then pumps the oracle's venues. The vault, holding the short,
    is marked at the pumped oracle (it cannot close into the thin book: the vault kernel,
    :func:`defi_perps.engine.attack_vault.vault_holding`, with no unwind); the attacker's long on a
    second account gains the same move. The vault's loss is the short's move less the equity it kept."""
    s, x = inc.spec, inc.inputs
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    ramp = _steps(x.ramp_s, s.step_s)
    out, oracle, g = push_with_budget(src, x.spot_budget_usd, 1, ramp, 0, 0, ramp + 1, s.oracle.rule)
    mark = np.concatenate([[1.0, 1.0], oracle[1:]])       # one quiet step for the backstop first
    mm = 0.5 / x.max_leverage
    short = cohort_book("JELLY", x.price, (Cohort(side="short", notional_usd=x.short_notional_usd, leverage=(1.0,),
                                                  positions=1),),
                        collateral_override=lambda q, e: 0.5 * mm * q * e)       # equity = ½ MM < ⅔ MM
    rules = _rules(s.venue, short, s.step_s, mm_rate=mm, insurance_initial=x.vault_usd)
    cascade = eng.run_cascade(short, rules, _log_path(mark), s.step_s, seed=seed, progress=progress)
    r = float(oracle[ramp])
    inherited = float(cascade.backstop_notional.mean())
    kept = float(cascade.backstop_gain.mean())
    # the vault takes the short over at the quiet step (mark 1) and holds it along the pumped mark,
    # to the peak (mark[ramp + 1] = oracle[ramp]), where the attacker's long is valued too
    vault = vault_holding(src.arrays, make_vault_plan(-1.0, inherited, kept, x.vault_usd, start=1, unwind=0),
                          np.ascontiguousarray(mark[None, : ramp + 2]))
    vault_loss = float(vault.loss[0])
    long_gain = x.long_notional_usd * (r - 1.0)
    spot = _pick(out, g)
    cost = spot["premium"] + spot["fees"] + kept + x.perp_fee * (x.short_notional_usd + 2 * x.long_notional_usd)
    paid = _paid(backstop_vault=vault_loss)
    # held short: −pnl = q·(m − 1) − kept reaches the vault's capital at m = 1 + (capital + kept)/q
    wipe_out = x.price * (1.0 + (x.vault_usd + kept) / inherited) if inherited > 0 else math.inf
    return _result(s.name, r - 1.0, cost, long_gain, paid, float(cascade.liquidated_short.mean()),
                   {"spot": spot, "backstop_notional_usd": inherited, "vault_equity_kept_usd": kept,
                    "vault_wipe_out_price": wipe_out, "vault_peak_loss_usd": float(vault.peak_loss[0]),
                    "vault_wiped_out_step": int(vault.wiped_step[0]), "vault_pnl_path": vault.pnl[0].tolist(),
                    "oracle_path": oracle.tolist(), "cascade_engine": cascade.engine})


def _book_sweep(inc: Incident, seed: int, progress: Progress, rule: str | None = None,
                ema_cap: float | None = None) -> dict[str, Any]:
    """Buy ``sweep_usd`` through the hyperp's own book (the oracle's one venue); the mark follows
    under the pre-XPL rule (own book only), the post-XPL rule (10x 8h-EMA cap, external pre-market
    price in a median) or a given cap. The engine liquidates the shorts along that mark; their
    market buys are filled by the attacker's inventory at the mark, the rest is unwound into the book."""
    s, x = inc.spec, inc.inputs
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    ramp, hold = _steps(x.sweep_s, s.step_s), _steps(x.hold_s, s.step_s) if x.hold_s > 0 else 0
    n_steps = ramp + hold
    rule = rule or s.oracle.rule
    params = dict(oracle_models())
    if ema_cap is not None:
        params["hyperp"] = {**params["hyperp"], "cap": ema_cap, "use_external": False}
        rule = "hyperp"
    # the displacement the sweep budget reaches, spread linearly over the sweep
    out, _, g = push_with_budget(src, x.sweep_usd, 1, ramp, hold, 0, n_steps)
    out = PushOutputs(*(np.ascontiguousarray(a[g:g + 1]) for a in out))
    book_mid = out.ratio
    if rule == "hyperp" and params["hyperp"].get("use_external", True):
        from defi_perps.engine.oracles import hyperp_mark

        ext = np.full((1, n_steps + 1), x.external_price / x.price)
        mark = hyperp_mark(np.ascontiguousarray(book_mid[:, :, 0]), ext, 1, s.step_s,
                           float(params["hyperp"]["ema_s"]), float(params["hyperp"]["cap"]))[0]
    else:
        mark = oracle_from_sources(src.kind, book_mid, src.weights, rule, s.step_s, params)[0]
    book = cohort_book("XPL", x.price, x.traders, seed)
    rules = _rules(s.venue, book, s.step_s, mm_rate=0.5 / x.max_leverage, insurance_initial=x.vault_usd)
    spot = _pick(out, 0)
    # the liquidated shorts' market buys walk the same thin book (the engine's depth is the venue's
    # book, impact permanent: nobody refills a pre-market book within minutes), lifting the mark
    # further: the squeeze
    venue = s.oracle.venues[0]
    own_book_mark = rule in ("none", "hyperp-xpl")
    # the liquidations' buys lift the book; they lift the trigger price only where the mark *is*
    # the book (pre-XPL): a capped / externally anchored mark does not follow them (impact off)
    scale = 1.0 if own_book_mark else 1e12
    depth = {"kind": "bands", "bands": tuple(venue.bands), "band_depth_usd": [[d * scale for d in venue.depth_usd]],
             "permanent_fraction": 1.0}
    cascade = eng.run_cascade(book, rules, _log_path(mark), s.step_s, seed=seed, depth=depth, progress=progress,
                              detail=True)
    liq = float(cascade.liquidated_short.mean())
    peak = float(cascade.max_mark.max()) / x.price       # the venue's price, the cascade's lift included
    inventory = spot["inventory"]                         # fair USD of XPL perps bought by the sweep
    # What the closed shorts bought back (fair USD at the start price: book liquidations and the
    # bankrupt remainder closed by ADL at the mark) lifted the book above the sweep's own price: on
    # the pre-XPL rule the engine's price *is* that book (its final mark); under a capped mark, the
    # same flow walks the book's depth from the sweep's price (the engine's depth model, one lump).
    # The attacker then sells its inventory back into the book from there: its gross profit is the
    # premium that sale earns, its cost the premium the sweep paid plus fees. The sweep pays when the
    # liquidations lift the book further than the attacker's own buying did (incidents.md §2.2 note
    # 12: the main address "generated over $15 million").
    assert cascade.remaining is not None
    closed = float((book.size * (1.0 - cascade.remaining))[book.side < 0].sum()) * x.price
    a = src.arrays
    sweep_ratio = float(book_mid[0, -1, 0])
    if own_book_mark:
        book_after = float(cascade.final_mark[0, 0]) / x.price
    else:
        from defi_perps.engine.depth import DEPTH_BANDS, walk_distance

        bx = np.asarray(venue.bands, np.float64)
        bd = np.asarray(venue.depth_usd, np.float64)
        book_after = sweep_ratio * (1.0 + float(walk_distance(closed * sweep_ratio, DEPTH_BANDS, 1.0, 1.0, bx, bd,
                                                                int(bx.size))))
    s_after = max(_coordinate_of(src, book_after), _coordinate_of(src, sweep_ratio))
    profit = float(premium_at(s_after, a.bid_x[0], a.ask_x[0], a.band_d[0], int(a.band_n[0]))
                   - premium_at(s_after - inventory, a.bid_x[0], a.ask_x[0], a.band_d[0], int(a.band_n[0])))
    cost = spot["premium"] + spot["fees"] + x.perp_fee * 2.0 * inventory
    lost = _trader_losses(book, rules, float(cascade.max_mark.max()), float(cascade.min_mark.min()))
    paid = _paid(liquidated_traders=lost)
    _add_cascade(paid, cascade, vault=True)
    return _result(s.name, peak - 1.0, cost, profit, paid, liq,
                   {"spot": spot, "rule": rule, "mark_path": mark.tolist(), "sweep_mark_peak": float(mark.max()),
                    "shorts_closed_fair_usd": closed, "book_after_liquidations_ratio": book_after,
                    "exit_price_ratio": 1.0 + float(offset_at(s_after - inventory, a.bid_x[0], a.ask_x[0], a.band_d[0],
                                                              int(a.band_n[0]))),
                    "cascade_engine": cascade.engine})


def _coordinate_of(src: Sources, ratio: float) -> float:
    from defi_perps.engine.attack import coordinate_for

    a = src.arrays
    return float(coordinate_for(float(ratio) - 1.0, a.bid_x[0], a.ask_x[0], a.band_d[0], int(a.band_n[0])))


def _wall_pull(inc: Incident, seed: int, progress: Progress) -> dict[str, Any]:
    """The wall is gone: the price falls ``initial_drop`` over ``drop_s``; the engine liquidates the
    attacker's longs into the thin book (their sales push the mark further) and hands those below
    2/3 of maintenance to the vault. The vault loses the bad debt it absorbs plus the slippage of
    selling what it inherited into the same book, less the equity it kept; the attacker loses margin."""
    s, x = inc.spec, inc.inputs
    t_n = _steps(x.horizon_s, s.step_s)
    d_n = _steps(x.drop_s, s.step_s)
    ratio = np.concatenate([[1.0], 1.0 - x.initial_drop * np.minimum(np.arange(1, t_n + 1) / d_n, 1.0)])
    book = cohort_book("POPCAT", x.price, (x.attacker,), seed)
    rules = _rules(s.venue, book, s.step_s, mm_rate=0.5 / x.max_leverage, insurance_initial=x.vault_usd)
    depth = {"kind": "bands", "bands": tuple(x.book_bands), "band_depth_usd": [list(x.book_depth_usd)],
             "permanent_fraction": 1.0}
    cascade = eng.run_cascade(book, rules, _log_path(ratio), s.step_s, seed=seed, depth=depth, progress=progress)
    inherited = float(cascade.backstop_notional.mean())
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    kept = float(cascade.backstop_gain.mean())
    # the vault sells what it inherited (at its takeover mark, the fallen price: mark 1 from there)
    # in equal slices over the horizon into the same thin book, which refills at its arbitrage speed
    vault = vault_holding(src.arrays, make_vault_plan(1.0, inherited, kept, x.vault_usd, start=0, unwind=t_n),
                          np.ones((1, t_n + 1)))
    slippage, lowest = float(vault.slippage[0]), float(vault.extreme[0])
    vault_loss = float(cascade.insurance_paid.mean()) + float(vault.loss[0])
    margin = float(book.collateral_usd.sum())
    liq = float(cascade.liquidated_long.mean())
    move = float(cascade.min_mark.min() / x.price * (1.0 + lowest) - 1.0)
    paid = _paid(backstop_vault=vault_loss)
    for k, v in eng.paid_by_from_cascade(cascade, True).items():
        if k != "backstop_vault":
            paid[k] += float(np.mean(v))
    return _result(s.name, move, margin, 0.0, paid, liq,
                   {"backstop_notional_usd": inherited, "vault_unwind_slippage_usd": slippage,
                    "vault_unwind_lowest_offset": lowest,
                    "vault_equity_kept_usd": kept, "vault_bad_debt_usd": float(cascade.insurance_paid.mean()),
                    "cascade_engine": cascade.engine})


def _insurance_drain(inc: Incident, seed: int, progress: Progress) -> dict[str, Any]:
    """The crash ``crash`` over ``crash_s`` on longs opened near the pumped peak; the engine sells
    their liquidations into the thin book and charges the loss beyond collateral to the fund."""
    s, x = inc.spec, inc.inputs
    t_n = _steps(x.horizon_s, s.step_s)
    c_n = _steps(x.crash_s, s.step_s)
    ratio = np.concatenate([[1.0], 1.0 - x.crash * np.minimum(np.arange(1, t_n + 1) / c_n, 1.0)])
    book = cohort_book("YFI", x.price, x.traders, seed)
    rules = _rules("generic", book, s.step_s, mm_rate=x.mm_rate, liq_fee_rate=x.liq_fee,
                   insurance_initial=x.insurance_usd)
    depth = {"kind": "bands", "bands": tuple(x.book_bands), "band_depth_usd": [list(x.book_depth_usd)]}
    cascade = eng.run_cascade(book, rules, _log_path(ratio), s.step_s, seed=seed, depth=depth, progress=progress)
    paid = _paid()
    _add_cascade(paid, cascade, vault=False)
    hi, lo = float(cascade.max_mark.max()), float(cascade.min_mark.min())
    paid["liquidated_traders"] += _trader_losses(book, rules, hi, lo)
    own_loss = _trader_losses(book, rules, hi, lo, whose="attacker")
    move = float(cascade.min_mark.min() / x.price - 1.0)
    return _result(s.name, move, own_loss, 0.0, paid, float(cascade.liquidated_long.mean()),
                   {"bad_debt_usd": float(cascade.bad_debt.mean()), "insurance_fund_usd": x.insurance_usd,
                    "cascade_engine": cascade.engine,
                    "note": "the record does not say how the attacker profited; the cost shown is the margin "
                            "the leveraged longs lost"})


def _collateral_depeg(inc: Incident, seed: int, progress: Progress, reference: bool = False) -> dict[str, Any]:
    """Sell ``sell_usd`` into the venue's own book of the collateral token; collateral valued from
    that book (``reference=False``) or from the external / redemption price. Accounts hold the token
    as margin for perp positions (``leverage`` mix); an account is liquidated when collateral value
    falls below maintenance. The engine runs the accounts as positions whose equity moves with the
    token (collateral in index-token units, maintenance as a fixed USD debit), and its liquidation
    count maps back to the accounts' perp notional through the same sorted thresholds."""
    s, x = inc.spec, inc.inputs
    src = Sources(s.oracle.venues, s.oracle.aggregate, s.step_s)
    ramp = _steps(x.sell_s, s.step_s)
    target = np.full((1, len(src.venues)), -0.95)
    out = push_sources(src.arrays, make_plan(target, x.sell_usd, ramp, 0, 0), ramp + 1)
    own = src.oracle(out, "none", -1)[0]
    from defi_perps.engine.oracles import ORACLE, collateral_price

    ref = np.full((1, own.size), x.reference_price)
    mode = ORACLE.REDEMPTION if reference else ORACLE.OWN_BOOK
    price = collateral_price(own[None, :], ref, mode, 0.0)[0]
    rng = np.random.default_rng(seed)
    c = x.collateral_usd / x.accounts * (1.0 + rng.pareto(1.5, x.accounts))
    c *= x.collateral_usd / c.sum()
    lev = np.resize(np.asarray(x.leverage, np.float64), x.accounts)
    notional = c * lev
    mm = x.mm_rate * notional
    eps = 1e-9
    book = Book(market_names=["COLLATERAL"], price=np.array([1.0]), market=np.zeros(x.accounts, np.int32),
                side=np.ones(x.accounts, np.int8), size=np.full(x.accounts, eps), entry_price=np.ones(x.accounts),
                collateral_usd=-mm, collateral_tokens=c, account=np.arange(x.accounts), source="collateral accounts")
    rules = _rules("generic", book, s.step_s, mm_rate=0.0, liq_fee_rate=0.0)
    cascade = eng.run_cascade(book, rules, _log_path(price), s.step_s, seed=seed, progress=progress)
    count = int(round(float(cascade.liquidations.mean())))
    thr = eng.liquidation_thresholds(book, rules)
    order = np.argsort(-thr, kind="stable")
    liq_notional = float(notional[order[:count]].sum())
    lost = float((x.liq_fee * notional[order[:count]]).sum() + (c[order[:count]] * (1.0 - price.min())).sum())
    seller_cost = float(out.premium[0] + out.fees[0])
    paid = _paid(liquidated_traders=lost)
    return _result(s.name, float(price.min() - 1.0), seller_cost, 0.0, paid, liq_notional,
                   {"collateral_pricing": "redemption reference" if reference else "own order book",
                    "liquidated_accounts": count, "own_book_min_price": float(own.min()),
                    "sold_usd": float(out.bought[0]), "price_path": price.tolist(), "cascade_engine": cascade.engine,
                    "note": "Binance later compensated affected users (venue); the seller's profit is not in the record"})


def _trader_losses(book: Book, rules: Any, max_price: float, min_price: float, whose: str = "traders",
                   market: int | None = None) -> float:
    """Collateral of the positions whose liquidation price the move crossed (what they lost):
    other traders' (``whose="traders"``) or the attacker's own accounts' (``"attacker"``); longs
    whose threshold is at or above ``min_price``, shorts at or below ``max_price``."""
    thr = eng.liquidation_thresholds(book, rules)
    hit = ((book.side > 0) & (thr >= min_price)) | ((book.side < 0) & (thr <= max_price))
    if market is not None:
        hit &= book.market == market
    mine = np.asarray(book.meta.get("attacker", np.zeros(book.n_positions, bool)), bool)
    hit &= mine if whose == "attacker" else ~mine
    return float(np.maximum(book.collateral_usd[hit], 0.0).sum())


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "oracle_close": _oracle_close, "collateral_borrow": _collateral_borrow, "backstop_squeeze": _backstop_squeeze,
    "book_sweep": _book_sweep, "wall_pull": _wall_pull, "insurance_drain": _insurance_drain,
    "collateral_depeg": _collateral_depeg,
}


def record_check(result: dict[str, Any], inc: Incident) -> list[dict[str, Any]]:
    """Model vs record, figure by figure: same sign and within a factor of 10."""
    checks = []
    rec = inc.spec.record
    for key, value in rec.figures.items():
        model = result["paid_by"].get(key.split(".", 1)[1], 0.0) if key.startswith("paid_by.") else result.get(key)
        ok = model is not None and value != 0 and model * value > 0 and abs(math.log10(model / value)) <= 1.0
        checks.append({"figure": key, "model": model, "record": value,
                       "ratio": (model / value) if model is not None and value else float("nan"),
                       "within_order_of_magnitude": bool(ok), "source": rec.sources.get(key, "")})
    if rec.price_move is not None:
        lo, hi = rec.price_move
        m = result["oracle_move"]
        ok = (m * lo > 0) and (abs(lo) / 10.0 <= abs(m) <= abs(hi) * 10.0)
        checks.append({"figure": "oracle_move", "model": m, "record": 0.5 * (lo + hi), "ratio": m / (0.5 * (lo + hi)),
                       "within_order_of_magnitude": bool(ok), "source": rec.sources.get("price_move", "")})
    payer = max((k for k in PAYERS), key=lambda k: result["paid_by"].get(k, 0.0))
    checks.append({"figure": "payer", "model": payer, "record": rec.payer, "ratio": 1.0 if payer == rec.payer else 0.0,
                   "within_order_of_magnitude": payer == rec.payer, "source": rec.sources.get("payer", "")})
    return checks


def run_incident(inc: Incident, seed: int = 0, progress: Progress = None) -> dict[str, Any]:
    """Replay one incident; the result carries the record's figures and the check beside them."""
    result = RUNNERS[inc.spec.variant](inc, seed, progress)
    s = inc.spec
    result.update({"description": s.description, "date": s.date, "venue": s.venue, "variant": s.variant,
                   "seed": seed, "oracle": {"aggregate": s.oracle.aggregate, "rule": s.oracle.rule,
                                            "venues": [v.model_dump() for v in s.oracle.venues]},
                   "inputs": inc.inputs.model_dump(), "input_sources": s.sources,
                   "record": {"price_move": s.record.price_move, "payer": s.record.payer, **s.record.figures,
                              "notes": s.record.notes, "sources": s.record.sources},
                   "origin": inc.origin})
    result["record_check"] = record_check(result, inc)
    if s.variant == "book_sweep":
        result["with_fix"] = _fix_summary(_book_sweep(inc, seed, None, rule="hyperp"))
        fence = result.setdefault("defence", {})
        fence["ema_cap"] = _solve_ema_cap(inc, seed)
        fence["ema_cap_no_liquidations"] = _solve_ema_cap(inc, seed, harm=True)
    if s.variant == "collateral_depeg":
        result["with_fix"] = _fix_summary(_collateral_depeg(inc, seed, None, reference=True))
    return result


def _fix_summary(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("oracle_move", "attacker_cost_usd", "attacker_profit_usd", "attacker_net_usd",
                              "liquidated_notional_usd", "paid_by")}


def _solve_ema_cap(inc: Incident, seed: int, harm: bool = False) -> float | None:
    """The hyperp EMA cap (multiple of the 8h EMA) at which the sweep stops paying (``harm``: stops
    liquidating anyone), by bisection; None when the 10x cap already stops it."""
    def pays(cap: float) -> bool:
        r = _book_sweep(inc, seed, None, ema_cap=cap)
        return r["liquidated_notional_usd"] > 0 if harm else r["attacker_net_usd"] > 0

    lo, hi = 10.0, 1.0 + 1e-6
    if not pays(lo) or pays(hi):
        return None
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if pays(mid) else (lo, mid)
    return hi


# --- attack on a snapshot's market ------------------------------------------------------------------
def snapshot_attack(book: Book, leg: Any, market: int, src_spec: Any, capital: float, oracle: str | None,
                    rules: Any, n_paths: int = 1, seed: int = 0, volatility: float | list[float] = 0.0,
                    side: int | None = None, progress: Progress = None, n_steps: int | None = None) -> dict[str, Any]:
    """Best attack on one market within ``capital`` (spot + perp margin) and the venue's caps, then
    the engine run of the whole book along the moved oracle (``n_paths`` with market noise, over
    ``n_steps`` one-minute steps: the push, the hold, then the unmoved oracle)."""
    from dataclasses import replace

    from defi_perps.runs.manipulation import X_GRID, best_attack, spot_grid

    if not capital > 0 or not math.isfinite(capital):
        raise InputError("--capital must be a positive USD amount")
    params = oracle_models()
    aggregate = oracle if oracle in ("median", "weighted-median", "exchange-index") else src_spec.aggregate
    if oracle is not None and oracle not in ("median", "weighted-median", "exchange-index"):
        leg = replace(leg, post=oracle)
    best, chosen = None, 1
    for sd in ((1, -1) if side is None else (side,)):
        grid = spot_grid(src_spec, aggregate, leg.post, sd, X_GRID, leg.hold_s, params)
        b = best_attack(leg, sd, grid, capital)
        if best is None or (b.get("best_net_usd") or -math.inf) > (best.get("best_net_usd") or -math.inf):
            best, chosen = b, sd
    assert best is not None
    if best.get("reason") == "capital":
        raise InputError(f"--capital {capital:,.0f} USD cannot move the oracle of {book.market_names[market]}: the "
                         f"smallest push needs {best['min_capital_usd']:,.0f} USD")
    if best.get("best_move") is None:
        raise InputError(f"market {book.market_names[market]}: no attack fits the venue's caps (OI cap reached "
                         "or the oracle rule does not move)")
    move = best["best_move"]
    hold = max(1, int(math.ceil(leg.hold_s / 60.0)))
    ratio = np.ones(max(hold + 3, n_steps + 1 if n_steps else 0))
    ratio[1:hold + 1] = 1.0 + chosen * move
    log_path = np.zeros((ratio.size, book.n_markets))
    log_path[:, market] = np.log(ratio)
    cascade = eng.run_cascade(book, rules, log_path, 60.0, n_paths=n_paths, seed=seed, volatility=volatility,
                              progress=progress)
    gross = best["best_gross_usd"]
    cost = gross - best["best_net_usd"]
    paid = _paid(pool=max(gross, 0.0))
    _add_cascade(paid, cascade, vault=False)
    # other traders on the attacked market whose thresholds the move crosses lose their collateral;
    # the pool is their counterparty, so it recovers that much of what it pays the attacker
    p0 = float(leg.price)
    lost = _trader_losses(book, rules, p0 * (1.0 + move) if chosen > 0 else p0,
                          p0 * (1.0 - move) if chosen < 0 else p0, market=market)
    paid["liquidated_traders"] += lost
    paid["pool"] = max(paid["pool"] - lost, 0.0)
    # the attacker's figures are those of the push and the perp round trip (one to two minutes);
    # market noise over that hold is not applied to them, so they are the same on every path
    per_path_net = best["best_net_usd"] + np.zeros(n_paths)
    return _result(book.market_names[market], chosen * move, cost, gross, paid,
                   float((cascade.liquidated_long + cascade.liquidated_short).mean()),
                   {"direction": "up" if chosen > 0 else "down", "perp_notional_usd": best["best_perp_notional_usd"],
                    "capital_used_usd": best["best_capital_usd"], "spot_cost_usd": best["best_spot_cost_usd"],
                    "impact_usd": best["best_impact_usd"], "break_even_capital_usd": best["break_even_capital_usd"],
                    "bad_debt_usd": float(cascade.bad_debt.mean()), "paths": n_paths,
                    "per_path": {"liquidated_notional_usd": (cascade.liquidated_long + cascade.liquidated_short).tolist(),
                                 "bad_debt_usd": cascade.bad_debt.tolist(), "attacker_net_usd": per_path_net.tolist(),
                                 "cascade_paid_by": {k: v.tolist() for k, v in
                                                     eng.paid_by_from_cascade(cascade, False).items()}},
                    "cascade_engine": cascade.engine}, profitable=bool(best["profitable"]))


def market_index(book: Book, market: str) -> int:
    """A market of ``book`` by name, index or asset symbol (``ETH``); a one-line error otherwise."""
    names = book.market_names
    if market.isdigit() and int(market) < len(names):
        return int(market)
    from defi_perps.venues.oracles import asset_of

    hits = [i for i, n in enumerate(names) if n == market] or [i for i, n in enumerate(names)
                                                                 if asset_of(n) == market.upper()]
    if not hits:
        raise InputError(f"--market {market!r} is not in the book (markets: {', '.join(names)})")
    return hits[0]


def book_attack(book: Book, legs: list[Any], rules: Any, market: str, capital: float, *, venue: str,
                oracle: str | None = None, side: int | None = None, ref_file: str | None = None,
                n_paths: int = 1, volatility: float = 0.0, seed: int = 0, progress: Progress = None) -> dict[str, Any]:
    """``defi-perps attack --snapshot/--book/--synthetic``'s payload (the CLI and the API share it):
    the best attack on ``market`` within ``capital``, then the engine run of the whole book."""
    from defi_perps.runs.manipulation import ORACLE_CHOICES
    from defi_perps.venues.oracles import load_reference_venues, sources_for

    if oracle is not None and oracle not in ORACLE_CHOICES:
        raise InputError(f"--oracle {oracle!r}: expected one of {', '.join(ORACLE_CHOICES)}")
    if not volatility >= 0:
        raise InputError("--volatility must be >= 0")
    assets = load_reference_venues(None if ref_file is None else Path(ref_file))
    m = market_index(book, market)
    src = sources_for(book.market_names[m], assets, ref_file)
    data = snapshot_attack(book, legs[m], m, src, capital, oracle, rules, n_paths=n_paths, seed=seed,
                           volatility=volatility, side=side, progress=progress)
    data.update({"book": book.summary(), "venue": venue, "capital_usd": capital, "seed": seed,
                 "rules": rules.to_dict(), "description": f"best attack on {book.market_names[m]}"})
    return data


__all__ = ["RUNNERS", "Sources", "book_attack", "cohort_book", "market_index", "push_with_budget", "record_check",
           "run_incident", "snapshot_attack"]
