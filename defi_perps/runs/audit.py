"""``defi-perps audit``: a protocol at a block → one report folder a risk committee reads.

Stages: index (or reuse the stored snapshot) → sections → findings → report. A section is a
producer that turns an :class:`AuditContext` into a :class:`Section` (tables as DataFrames,
figures as :class:`FigureSpec` data for :mod:`defi_perps.report.figures`, findings, and the run
ids its numbers come from). Sections live in :data:`SECTIONS`, a small registry: a section whose
producer module is not part of this version (manipulation, hedger) is skipped and listed as such,
and appears as soon as its producer exists.

Every simulation inside an audit is a stored ``simulate`` run (a child of the audit's run), so
each figure cites run ids that ``defi-perps runs rerun ID`` reproduces bit for bit. Computation
happens here and in :mod:`defi_perps.runs.audit_inputs`; :mod:`defi_perps.report` only renders.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defi_perps.exceptions import InputError
from defi_perps.runs import audit_inputs as ai
from defi_perps.runs import record as rec

SCHEMA_VERSION = 1
PROTOCOL_VENUE = {"gmx-v2": "gmx-v2"}          # kept for callers; the stress suite runs protocol_venue(book)
GRID_SHOCKS = (-0.05, -0.10, -0.20, -0.35)     # every market, over 10 minutes
GRID_DEPTH = (1.0, 0.25, 0.05)                 # depth multipliers (1 = normal book)
PRIMARY_SCENARIO = "oct-10-2025"               # the record the venue comparison is run on by default
GRID_BOOK_VENUE = "hyperliquid"                # order-book rules for the depth axis of the grid
PNL_MOVES = tuple(range(-50, 51, 2))           # index price moves (percent) for the pnl-to-pool curve


@dataclass
class AuditRequest:
    protocol: str = "gmx-v2"
    chain: str | None = None
    chain_file: str | None = None
    rpc_url: str | None = None
    block: int | None = None
    snapshot_id: int | None = None            # audit a stored snapshot without indexing (API)
    db_url: str | None = None
    out_dir: Path | None = None               # default: ./defi-perps-report-<protocol>-<block>
    scenarios: list[str] | None = None        # default: every built-in scenario
    venues: list[str] | None = None           # default: every venue
    n_paths: int = 200
    grid_paths: int | None = None             # default: n_paths // 4, at least 20
    seed: int = 0
    threads: int | None = None
    horizon_grid: str = "2h"
    shocks: tuple[float, ...] = GRID_SHOCKS
    depth_stresses: tuple[float, ...] = GRID_DEPTH

    def check(self) -> None:
        if self.protocol not in ai.protocol_names():
            ai.protocol_title(self.protocol)      # the registry's one-line error, with the closest name
            raise InputError(f"unknown protocol {self.protocol!r}; supported: {', '.join(ai.protocol_names())}")
        if self.snapshot_id is None and (self.chain is None) == (self.chain_file is None):
            raise InputError("give exactly one of --chain NAME or --chain-file FILE")
        if self.n_paths < 1:
            raise InputError("--paths must be at least 1")
        if self.n_paths > 100_000:
            raise InputError("--paths: an audit runs dozens of simulations; at most 100,000 paths each")
        # every input is checked here, before the (long) indexing step: a bad scenario file, a
        # duplicate or an unwritable --out fails in one line with nothing indexed or written
        from defi_perps.scenarios import load_scenario
        from defi_perps.venues.params import load_venue

        names = ai.builtin_scenarios()
        for opt, items in (("--scenarios", self.scenarios), ("--venues", self.venues)):
            dup = sorted({x for x in items or [] if (items or []).count(x) > 1})
            if dup:
                raise InputError(f"{opt}: {', '.join(map(repr, dup))} given more than once")
        for s in self.scenarios or []:
            if s not in names and not Path(s).is_file():
                raise InputError(f"--scenarios: {s!r} is neither a built-in ({', '.join(names)}) nor a file")
            if s not in names:
                load_scenario(Path(s))
        known = ai.venue_names()
        for v in self.venues or []:
            if v not in known and not Path(v).is_file():
                raise InputError(f"--venues: unknown venue {v!r}; known: {', '.join(known)}")
            if v not in known:
                load_venue(Path(v))
        if self.out_dir is not None:
            _check_writable_folder(Path(self.out_dir))

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["out_dir"] = None if self.out_dir is None else str(self.out_dir)
        d.pop("db_url", None)
        return rec.canonical(d)


def _check_writable_folder(out: Path) -> None:
    """``out`` exists as a writable folder, or its nearest existing parent is one (it will be created)."""
    import os

    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"--out {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: folder {probe} is not writable")


class SectionSkipped(Exception):
    """Raised by a section producer that does not apply to the audited snapshot (a GMX v2-only section
    on a gTrade snapshot): the audit lists the section under ``sections_skipped`` with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def protocol_venue(book: Any) -> str:
    """The audited snapshot's own protocol's venue rules (``simulate``'s default for a snapshot)."""
    from defi_perps.runs.simulate import default_venue

    return default_venue(book)


@dataclass
class FigureSpec:
    """A figure to draw: ``kind`` names a function in :mod:`defi_perps.report.figures`."""

    name: str                      # file stem under figures/
    kind: str
    title: str
    caption: str                   # what it shows and how to read it
    data: dict[str, Any]
    run_ids: list[int] = field(default_factory=list)


@dataclass
class Finding:
    key: str
    label: str
    value: float | None
    display: str
    meaning: str
    section: str
    run_ids: list[int] = field(default_factory=list)
    severity: str = "info"         # info | warn | alert

    def to_dict(self) -> dict[str, Any]:
        return rec.canonical(dict(self.__dict__))


@dataclass
class Section:
    key: str
    title: str
    intro: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[FigureSpec] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)     # JSON-ready numbers for summary.json


@dataclass
class AuditContext:
    request: AuditRequest
    snapshot_id: int
    provenance: dict[str, Any]
    book: Any
    health: dict[str, Any]
    threads: int
    advance: Callable[[str, float], None]
    outcomes: dict[str, ai.Outcome] = field(default_factory=dict)   # label -> outcome (API access)
    run_ids: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)    # parts of a section not run, with why

    @property
    def protocol_key(self) -> str:
        """The stored protocol key of the audited snapshot (``gmx_v2``, ``gtrade``, …)."""
        return str(self.provenance.get("protocol") or self.health.get("protocol") or "")

    @property
    def is_gmx_v2(self) -> bool:
        return self.protocol_key == "gmx_v2"

    @property
    def protocol_title(self) -> str:
        try:
            return ai.protocol_title(self.protocol_key)
        except InputError:
            return self.protocol_key

    @property
    def protocol_venue(self) -> str:
        return protocol_venue(self.book)

    def skip(self, key: str, title: str, reason: str) -> None:
        self.skipped.append({"key": key, "title": title, "reason": reason})

    @property
    def scenarios(self) -> list[str]:
        """The request's, or every built-in with the October 2025 crash first (the venue comparison's)."""
        if self.request.scenarios:
            return self.request.scenarios
        names = [n for n in ai.builtin_scenarios() if ai.scenario_applies(self.book, n)]
        return sorted(names, key=lambda n: (n != PRIMARY_SCENARIO, n))

    @property
    def skipped_scenarios(self) -> list[str]:
        """Built-in scenarios about markets this book does not have (not run, named in the report)."""
        if self.request.scenarios:
            return []
        return sorted(n for n in ai.builtin_scenarios() if not ai.scenario_applies(self.book, n))

    @property
    def venues(self) -> list[str]:
        return self.request.venues or ai.venue_names()

    @property
    def grid_paths(self) -> int:
        return self.request.grid_paths or max(20, self.request.n_paths // 4)

    def simulate(self, label: str, *, venue: str | None, scenario: str | None = None, shock: str | None = None,
                 horizon: str | None = None, depth_stress: float | None = None, n_paths: int | None = None,
                 n_detail: int = 32) -> tuple[ai.Outcome, int | None]:
        """One stored child run: the simulation ``simulate --snapshot ID … --venue V`` would run."""
        req = self.request
        n = n_paths or req.n_paths
        n_detail = min(n_detail, n)
        setup = ai.scenario_setup(self.book, scenario=scenario, shock=shock, horizon=horizon,
                                  depth_stress=depth_stress)
        t0 = time.perf_counter()
        out = ai.simulate_venue(self.book, setup, venue, n, req.seed, threads=self.threads, n_detail=n_detail,
                                progress=lambda k: self.advance(label, k / n))
        argv = ai.simulate_argv({"snapshot_id": self.snapshot_id}, scenario=scenario, shock=shock, horizon=horizon,
                                depth_stress=depth_stress, venue=venue, n_paths=n, seed=req.seed,
                                threads=self.threads, n_detail=n_detail)
        out.argv = argv
        run = rec.record(argv, out.payload, db_url=req.db_url, book=self.book, threads=self.threads, seed=req.seed,
                         label=label, elapsed_s=time.perf_counter() - t0,
                         aggregates={"venues": [out.row()], "setup": ai.setup_info(setup)})
        self.outcomes[label] = out
        if run.id is not None:
            self.run_ids[label] = run.id
        return out, run.id


# -- sections ------------------------------------------------------------------------------------

def _f(x: str | None) -> float | None:
    return None if x is None else float(x)


def health_section(ctx: AuditContext) -> Section:
    """The snapshot as the contracts see it: exact pnl-to-pool vs ADL thresholds, liquidation distances
    (GMX v2), or the plug-in's own snapshot summary with the book's open interest (any other protocol)."""
    from defi_perps.report.style import pct, usd

    if not ctx.is_gmx_v2:
        return _shared_health_section(ctx)
    h = ctx.health
    rows = []
    for m in h["markets"]:
        lm_l, lm_s = m.get("liquidation_move_long") or {}, m.get("liquidation_move_short") or {}
        rows.append({
            "market": m["name"], "price_usd": _f(m.get("price_usd")), "pool_value_usd": _f(m.get("pool_value_usd")),
            "oi_long_usd": _f(m["oi_long_usd"]), "oi_short_usd": _f(m["oi_short_usd"]),
            "positions_long": m["positions_long"], "positions_short": m["positions_short"],
            "pnl_to_pool_long": _f(m.get("pnl_to_pool_long")), "adl_threshold_long": _f(m["adl_threshold_long"]),
            "pnl_to_pool_short": _f(m.get("pnl_to_pool_short")), "adl_threshold_short": _f(m["adl_threshold_short"]),
            "adl_exceeded_long": m.get("adl_exceeded_long"), "adl_exceeded_short": m.get("adl_exceeded_short"),
            "liquidatable_now_long": _f(m.get("liquidatable_now_long")),
            "liquidatable_now_short": _f(m.get("liquidatable_now_short")),
            "move_liquidating_10pct_long": _f(lm_l.get("10%")), "move_liquidating_10pct_short": _f(lm_s.get("10%")),
        })
    table = pd.DataFrame(rows)
    curves = ai.pnl_to_pool_curves(ctx.request.db_url, ctx.snapshot_id, PNL_MOVES)
    sec = Section("health", "Snapshot health",
                  f"Snapshot {ctx.snapshot_id} of {h['protocol']} on chain {h['chain_id']} at block "
                  f"{h['block_number']} ({h['block_hash']}), {h['positions']:,} open positions, prices from "
                  f"{h['price_source']}. Figures in this section use the contracts' own integer math "
                  "(protocols/gmx_v2/math.py), not a simulation.",
                  tables={"health_markets": table})
    sec.figures.append(FigureSpec(
        "pnl_to_pool_vs_adl", "pnl_to_pool", "Traders' pnl-to-pool vs the ADL thresholds",
        "Per market, the traders' unrealised pnl as a fraction of the pool backing it (GMX getPnlToPoolFactor, "
        "maximized as ADL uses it) as the index price moves; the dashed lines are MAX_PNL_FACTOR_FOR_ADL. Where a "
        "curve crosses its line, keepers may auto-deleverage that side. Only the index token's price moves.",
        {"curves": curves}))
    # findings: ADL already exceeded; the smallest move that triggers ADL; the move that liquidates 10 % of OI
    exceeded = [f"{r['market']} {side}" for r in rows for side in ("long", "short") if r[f"adl_exceeded_{side}"]]
    sec.findings.append(Finding(
        "adl_exceeded_now", "Sides past their ADL threshold now", float(len(exceeded)),
        ", ".join(exceeded) if exceeded else "none",
        "Sides whose pnl-to-pool already exceeds MAX_PNL_FACTOR_FOR_ADL: keepers can deleverage profitable "
        "traders there right now." if exceeded else
        "No market side is past its ADL threshold at this block: ADL needs a price move first.",
        "health", severity="alert" if exceeded else "info"))
    trig = [(abs(c["adl_trigger_move"][side]), c["market"], side, c["adl_trigger_move"][side])
            for c in curves for side in ("long", "short") if c["adl_trigger_move"][side] is not None]
    if trig:
        _, mk, side, mv = min(trig)
        sec.findings.append(Finding(
            "adl_trigger_move", "Smallest price move that triggers ADL", mv / 100, f"{pct(mv / 100, 0)} on {mk} ({side}s)",
            f"A {pct(mv / 100, 0)} move of the {mk.split('/')[0]} price takes the {side} side's pnl-to-pool past "
            "its ADL threshold (exact contract math, pool tokens other than the index token held fixed).",
            "health", severity="warn" if abs(mv) <= 20 else "info"))
    moves = [(abs(r[f"move_liquidating_10pct_{s}"]), r["market"], s, r[f"move_liquidating_10pct_{s}"])
             for r in rows for s in ("long", "short") if r[f"move_liquidating_10pct_{s}"] is not None
             and r[f"oi_{s}_usd"]]
    if moves:
        _, mk, side, mv = min(moves)
        sec.findings.append(Finding(
            "move_liquidating_10pct", "Price move that liquidates 10% of a side's open interest", mv,
            f"{pct(mv)} on {mk} ({side}s)",
            f"Without any cascade, a {pct(mv)} move of {mk.split('/')[0]} alone makes 10% of the {side} open "
            "interest liquidatable under GMX's exact liquidation check.", "health",
            severity="warn" if abs(mv) <= 0.05 else "info"))
    tot_oi = float(table["oi_long_usd"].fillna(0).sum() + table["oi_short_usd"].fillna(0).sum())
    sec.notes.append(f"total open interest {usd(tot_oi)} across {len(rows)} markets")
    return sec


def _shared_health_section(ctx: AuditContext) -> Section:
    """Snapshot health of a protocol other than GMX v2: per market, the book's price, open interest and
    position counts (the float64 book every simulation runs on), and the plug-in's exact summary
    (``snapshots show``) beside it. GMX v2's pnl-to-pool curve is listed as not run, with why."""
    from defi_perps.report.style import usd

    h, book = ctx.health, ctx.book
    oi = book.open_interest()
    longs = np.bincount(book.market[book.side > 0], minlength=len(book.market_names))
    shorts = np.bincount(book.market[book.side < 0], minlength=len(book.market_names))
    rows = [{"market": name, "price_usd": float(book.price[m]), "oi_long_usd": float(oi[m, 0]),
             "oi_short_usd": float(oi[m, 1]), "positions_long": int(longs[m]), "positions_short": int(shorts[m])}
            for m, name in enumerate(book.market_names)]
    table = pd.DataFrame(rows)
    own = pd.DataFrame([{k: v for k, v in m.items() if not isinstance(v, (dict, list))}
                        for m in h.get("markets") or []])
    title = ctx.protocol_title
    sec = Section("health", "Snapshot health",
                  f"Snapshot {ctx.snapshot_id} of {title} on chain {h['chain_id']} at block {h['block_number']} "
                  f"({h.get('block_hash')}), {int(h.get('positions') or 0):,} open positions, prices from "
                  f"{h.get('price_source')}. The first table is the book the simulations run on (USD at the "
                  f"snapshot's prices); the second is {title}'s own exact summary (protocols/{ctx.protocol_key}/"
                  "summary.py, decimal strings from the contracts' integers), as `defi-perps snapshots show` "
                  "prints it.",
                  tables={"health_markets": table, "health_protocol_markets": own},
                  data=rec.canonical({"protocol_summary": {"totals": h.get("totals") or {},
                                                           "markets": h.get("markets") or []}}))
    ctx.skip("health.pnl_to_pool_vs_adl", "Traders' pnl-to-pool vs the ADL thresholds",
             f"GMX v2 only: the curve and its findings (sides past their ADL threshold, the move that triggers "
             f"ADL, the move that liquidates 10% of a side) use GMX v2's getPnlToPoolFactor, "
             f"MAX_PNL_FACTOR_FOR_ADL and liquidation check, which a {title} snapshot does not have; the health "
             f"section's {title} summary table carries what its plug-in computes exactly.")
    tot_oi = float(table["oi_long_usd"].sum() + table["oi_short_usd"].sum()) if rows else 0.0
    sec.notes.append(f"total open interest {usd(tot_oi)} across {len(rows)} markets")
    return sec


def stress_section(ctx: AuditContext) -> Section:
    """Built-in scenarios on the protocol's own rules, and a grid of shocks × depth stress."""
    from defi_perps.report.style import pct, ratio, usd

    venue = ctx.protocol_venue
    oi = ctx.book.open_interest()
    names = ctx.book.market_names
    sec = Section("stress", "Stress suite",
                  f"Each built-in scenario, then a grid of every-market shocks over 10 minutes × depth stress, on "
                  f"{venue}'s own rules (engine, {ctx.request.n_paths} paths per scenario, {ctx.grid_paths} per grid "
                  f"cell, seed {ctx.request.seed}). Depth stress multiplies the order-book depth liquidations sell "
                  "into (1 = normal, 0.05 = 5% of normal)."
                  + (f" Not run: {', '.join(ctx.skipped_scenarios)} (about markets this book does not have)."
                     if ctx.skipped_scenarios else ""))
    rows, fans = [], []
    scen_runs: list[int] = []
    scen_out: dict[str, tuple[ai.Outcome, int | None]] = {}
    for scen in ctx.scenarios:
        label = f"stress {Path(scen).stem} × {venue}"
        out, rid = ctx.simulate(label, venue=venue, scenario=scen)
        scen_out[Path(scen).stem] = (out, rid)
        if rid is not None:
            scen_runs.append(rid)
        bm = out.by_market
        for m, name in enumerate(names):
            m_oi = float(oi[m].sum())
            liq = bm["liquidated_notional_usd"][:, m]
            amp = bm["cascade_amplification"][:, m]
            amp = amp[~np.isnan(amp)]
            rows.append({"scenario": Path(scen).stem, "market": name, "open_interest_usd": m_oi,
                         "liquidated_mean_usd": float(liq.mean()), "liquidated_p99_usd": float(np.quantile(liq, 0.99)),
                         "liquidated_share_of_oi": float(liq.mean() / m_oi) if m_oi else 0.0,
                         "bad_debt_mean_usd": float(bm["bad_debt_usd"][:, m].mean()),
                         "bad_debt_p99_usd": float(np.quantile(bm["bad_debt_usd"][:, m], 0.99)),
                         "exogenous_drop_mean": float(bm["exogenous_min_price_drop"][:, m].mean()),
                         "drop_with_cascade_mean": float(bm["min_price_drop"][:, m].mean()),
                         "amplification_p50": float(np.median(amp)) if amp.size else None,
                         "run_id": rid})
        fans.append(FigureSpec(
            f"fan_{Path(scen).stem}", "fan_chart", f"Price paths and liquidations — {Path(scen).stem}",
            "Mark price relative to the start (median and 50% / 90% bands over the detailed paths, cascade impact "
            "included) for the markets with the most open interest, with the mean liquidated notional per step "
            "beneath.",
            fan_data(out, oi, f"Price paths and liquidations — {Path(scen).stem} on {venue}"), [rid] if rid is not None else []))
    scen_table = pd.DataFrame(rows)
    sec.tables["stress_scenarios"] = scen_table
    grid_rows = []
    grid_runs: list[int] = []
    # GMX v2 fills liquidations at the oracle price: its own selling does not move the price, so depth
    # stress changes nothing on its rules. The depth axis is run on an order-book venue's rules.
    # (a protocol whose own rules are the order book's, Hyperliquid, runs the depth axis only: no duplicate cells)
    own_cells = not (venue == GRID_BOOK_VENUE and 1.0 in ctx.request.depth_stresses)
    cells = [(venue, shock, 1.0) for shock in ctx.request.shocks] if own_cells else []
    cells += [(GRID_BOOK_VENUE, shock, depth) for shock in ctx.request.shocks for depth in ctx.request.depth_stresses]
    for cell_venue, shock, depth in cells:
        spec = f"*:{shock * 100:g}%@10m"
        label = f"grid {spec} depth {depth:g} × {cell_venue}"
        out, rid = ctx.simulate(label, venue=cell_venue, shock=spec, horizon=ctx.request.horizon_grid,
                                depth_stress=depth, n_paths=ctx.grid_paths, n_detail=0)
        if rid is not None:
            grid_runs.append(rid)
        bm = out.by_market
        for m, name in enumerate(names):
            m_oi = float(oi[m].sum())
            amp = bm["cascade_amplification"][:, m]
            amp = amp[~np.isnan(amp)]
            grid_rows.append({"venue": cell_venue, "shock": shock, "depth_stress": depth, "market": name,
                              "liquidated_mean_usd": float(bm["liquidated_notional_usd"][:, m].mean()),
                              "liquidated_share_of_oi": float(bm["liquidated_notional_usd"][:, m].mean() / m_oi)
                              if m_oi else 0.0,
                              "bad_debt_mean_usd": float(bm["bad_debt_usd"][:, m].mean()),
                              "drop_with_cascade_mean": float(bm["min_price_drop"][:, m].mean()),
                              "amplification_p50": float(np.median(amp)) if amp.size else None,
                              "run_id": rid})
    grid = pd.DataFrame(grid_rows)
    sec.tables["stress_grid"] = grid
    sec.run_ids = scen_runs + grid_runs
    sec.data = rec.canonical({"scenarios": {stem: {"run_id": rid, **o.row()} for stem, (o, rid) in scen_out.items()}})
    sec.figures.append(FigureSpec(
        "oi_liquidated_vs_move", "oi_liquidated_vs_move", "Open interest liquidated vs price move",
        f"Share of each market's open interest liquidated (mean over paths) as every market falls by the shock "
        f"size over 10 minutes. Left: {venue}'s own rules"
        f"{' (oracle fills: depth plays no part)' if venue != GRID_BOOK_VENUE else ' at normal depth'}. Right: the same book "
        f"on {GRID_BOOK_VENUE}'s order-book rules, solid at normal depth, dashed at the thinnest depth in the grid; "
        "the gap is what thin liquidity adds through the cascade.",
        {"grid": grid.to_dict("list"), "depths": list(ctx.request.depth_stresses), "protocol_venue": venue,
         "book_venue": GRID_BOOK_VENUE}, grid_runs))
    sec.figures.extend(fans)
    sec.figures.append(FigureSpec(
        "cascade_amplification", "cascade_amplification", "Cascade amplification vs depth",
        f"Median over paths of (price drop with liquidation selling) ÷ (the shock's own drop), per shock size, on "
        f"{GRID_BOOK_VENUE}'s order-book rules, for the market with the most open interest (left) and the median "
        "of markets (right). 1× means liquidations did not move the price"
        + (f"; on {venue}'s oracle-priced rules it is 1× by construction." if venue != GRID_BOOK_VENUE else "."),
        {"grid": grid[grid["venue"] == GRID_BOOK_VENUE].to_dict("list"),
         "market": names[int(np.argmax(oi.sum(axis=1)))]},
        [r for r in grid_runs if r is not None]))
    # findings: the worst scenario's liquidations and bad debt; amplification at the thinnest depth
    if not scen_table.empty:
        total_oi = float(oi.sum())
        worst, (w_out, w_rid) = max(scen_out.items(),
                                    key=lambda kv: float(kv[1][0].per_path["liquidated_notional_usd"].mean()))
        liq = w_out.per_path["liquidated_notional_usd"]
        bad = w_out.per_path["bad_debt_usd"]
        cite = [w_rid] if w_rid is not None else []
        share = float(liq.mean()) / total_oi if total_oi else 0.0
        sec.findings.append(Finding(
            "worst_scenario_liquidated", f"Liquidated in {worst} (mean over paths)", float(liq.mean()),
            f"{usd(float(liq.mean()))} ({pct(share)} of open interest)",
            f"Under the {worst} scenario on {venue}'s rules, this much open interest is force-closed on average, "
            "cascade included.", "stress", cite, "warn" if share > 0.1 else "info"))
        sec.findings.append(Finding(
            "worst_scenario_bad_debt", f"Bad debt in {worst}", float(bad.mean()),
            f"mean {usd(float(bad.mean()))}, 99th percentile {usd(float(np.quantile(bad, 0.99)))}",
            "Losses beyond the liquidated traders' collateral (per path, all markets)"
            + (": on GMX v2 the GM pool's LPs absorb them." if venue == "gmx-v2" else
               f"; {venue}'s rules say who absorbs them (see the venue comparison's who-pays figure)."), "stress", cite, "alert" if float(bad.mean()) > 0.001 * total_oi else "info"))
    thin = grid[(grid["venue"] == GRID_BOOK_VENUE) & (grid["depth_stress"] == min(ctx.request.depth_stresses))]
    thin = thin[thin["amplification_p50"].notna()]
    if not thin.empty:
        j = thin["amplification_p50"].idxmax()
        r = thin.loc[j]
        sec.findings.append(Finding(
            "max_amplification", "Largest cascade amplification", float(r["amplification_p50"]),
            f"{ratio(r['amplification_p50'])} on {r['market']} (shock {pct(r['shock'], 0)}, depth ×{r['depth_stress']:g})",
            f"If this book traded on an order book ({GRID_BOOK_VENUE}'s rules), liquidations selling into a book "
            "this thin would take the price this much further than the shock alone.",
            "stress", [int(r["run_id"])] if pd.notna(r["run_id"]) else [],
            "warn" if r["amplification_p50"] > 1.5 else "info"))
    return sec


def venues_section(ctx: AuditContext) -> Section:
    """The same book and scenario under every venue's rules: who is liquidated, who pays."""
    from defi_perps.report.style import PARTY_LABELS, usd

    scen = ctx.scenarios[0]
    rows, runs, fund, adl = [], [], [], []
    issue_rows: list[dict[str, Any]] = []
    for venue in ctx.venues:
        label = f"venue {venue} × {Path(scen).stem}"
        out, rid = ctx.simulate(label, venue=venue, scenario=scen, n_detail=0)
        r = out.row()
        r["run_id"] = rid
        issue_rows.append(r)
        flat = {"venue": r["venue"], "display": r["display"], "paths": r["paths"],
                "liquidated_notional_usd": r["liquidated_notional_usd"], "bad_debt_usd": r["bad_debt_usd"],
                "adl_notional_usd": r["adl_notional_usd"], "adl_haircut_usd": r["adl_haircut_usd"],
                **{f"paid_by_{k}_usd": v for k, v in r["paid_by"].items()},
                **{f"{k}_{q}": v for k, t in r["tail"].items() for q, v in t.items()},
                "absorber": r["rules"].get("bad_debt_absorber"), "adl_trigger": r["rules"].get("adl_trigger"),
                "run_id": rid}
        rows.append(flat)
        if rid is not None:
            runs.append(rid)
        if out.fund_initial > 0:
            fp = out.fund_path
            fund.append({"venue": out.display, "t_minutes": (np.arange(fp.shape[1]) + 1) * out.fund_step_seconds / 60,
                         "mean": fp.mean(axis=0) / out.fund_initial, "p5": np.quantile(fp, 0.05, axis=0) / out.fund_initial,
                         "p95": np.quantile(fp, 0.95, axis=0) / out.fund_initial, "initial_usd": out.fund_initial})
        adl.append({"venue": out.display, "haircuts": out.adl_haircuts,
                    "per_path_notional": out.per_path["adl_notional_usd"]})
    table = pd.DataFrame(rows)
    sec = Section("venues", "Venue comparison",
                  f"The snapshot's book under each venue's rules and the {Path(scen).stem} scenario, on the same "
                  f"seeded price paths ({ctx.request.n_paths} paths, seed {ctx.request.seed}). A venue is rules plus "
                  "sourced parameters (defi_perps/venues/params/*.toml), stored with each run.",
                  tables={"venues": table}, run_ids=runs,
                  data=rec.canonical({"scenario": Path(scen).stem, "venues": issue_rows}))
    sec.figures.append(FigureSpec(
        "who_pays_by_venue", "who_pays", "Who pays for bad debt, by venue",
        "Mean over paths of the loss beyond liquidated traders' collateral, split by the party that absorbed it "
        "(insurance fund, pool/LPs, backstop vault, broker, profitable traders through ADL, or nobody).",
        {"rows": [{"name": r["display"], "paid_by": {k: r[f"paid_by_{k}_usd"] for k in PARTY_LABELS}} for r in rows]}, runs))
    sec.figures.append(FigureSpec(
        "insurance_fund_over_time", "fund_over_time", "Insurance fund / vault over time",
        "Balance of each venue's insurance fund or backstop vault relative to its starting size (mean and 5–95% "
        "band over paths). Pool and broker venues absorb losses in the pool or the broker's book instead (see "
        "who pays).", {"series": fund}, runs))
    sec.figures.append(FigureSpec(
        "adl_haircut_distribution", "adl_haircuts", "ADL haircut distribution",
        "Left: each auto-deleveraged position's haircut (USD, log scale) per venue, over all paths. Right: ADL'd "
        "notional per path. Venues without ADL in any path are listed as such.", {"venues": adl}, runs))
    if rows:
        worst = max(rows, key=lambda x: x["bad_debt_usd"])
        payer = max(PARTY_LABELS, key=lambda k: worst[f"paid_by_{k}_usd"])
        sec.findings.append(Finding(
            "venue_most_bad_debt", "Venue with the most bad debt", worst["bad_debt_usd"],
            f"{worst['display']}: {usd(worst['bad_debt_usd'])} mean, mostly paid by {PARTY_LABELS[payer]}"
            if worst["bad_debt_usd"] > 0 else "no venue has bad debt",
            f"The same book and shock leave the most loss beyond collateral on {worst['display']}; its rules put it "
            f"on the {PARTY_LABELS[payer]}.", "venues", [worst["run_id"]] if worst["run_id"] else [],
            "warn" if worst["bad_debt_usd"] > 0 else "info"))
        adl_rows = [x for x in rows if x["adl_notional_usd"] > 0]
        sec.findings.append(Finding(
            "venues_with_adl", "Venues where ADL fires", float(len(adl_rows)),
            ", ".join(f"{x['display']} ({usd(x['adl_notional_usd'])})" for x in adl_rows) or "none",
            "Auto-deleveraging closes profitable positions (a market maker's hedge among them) when the loss "
            "absorbers are exhausted or pnl-to-pool is too high.", "venues",
            [x["run_id"] for x in adl_rows if x["run_id"]], "warn" if adl_rows else "info"))
    return sec


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    producer: str                 # "module:function"

    def load(self) -> Callable[[AuditContext], Section] | None:
        """The producer, or None when its module is not part of this version."""
        module, func = self.producer.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name == module:
                return None
            raise
        return getattr(mod, func, None)


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("health", "Snapshot health", "defi_perps.runs.audit:health_section"),
    SectionSpec("stress", "Stress suite", "defi_perps.runs.audit:stress_section"),
    SectionSpec("venues", "Venue comparison", "defi_perps.runs.audit:venues_section"),
    # producers that land with the oracle-manipulation and market-maker issues
    SectionSpec("manipulation", "Oracle manipulation", "defi_perps.runs.manipulation:audit_section"),
    SectionSpec("hedger", "Delta-neutral hedger", "defi_perps.runs.hedger:audit_section"),
)


def fan_data(out: ai.Outcome, oi: np.ndarray, title: str, n_markets: int = 4) -> dict[str, Any]:
    top = [int(m) for m in np.argsort(-oi.sum(axis=1))[:n_markets]]
    mark = out.detail["mark"]
    liq = out.detail["liquidated_notional_usd"]
    t = np.arange(mark.shape[1]) * out.step_seconds / 60
    return {"t_minutes": t, "title": title, "markets": [
        {"name": out.market_names[m], "relative_mark": mark[:, :, m] / out.start_price[m],
         "liquidated_per_step_usd": liq[:, :, m].mean(axis=0) if liq.shape[0] else np.zeros(max(0, t.size - 1))}
        for m in top]}


# -- the audit -----------------------------------------------------------------------------------

@dataclass
class AuditResult:
    run_id: int | None
    out_dir: Path
    report_html: Path
    summary: dict[str, Any]
    sections: list[Section]
    findings: list[Finding]
    skipped: list[dict[str, str]]
    context: AuditContext

    def to_dict(self) -> dict[str, Any]:
        return self.summary


def planned_steps(req: AuditRequest, n_scen: int, n_venues: int) -> float:
    """Progress units: one per simulation (the hedger section's runs included, when it is installed),
    plus indexing and rendering."""
    hedger_runs = 0
    spec = next((s for s in SECTIONS if s.key == "hedger"), None)
    if spec is not None and spec.load() is not None:
        from defi_perps.runs.hedger import AUDIT_VENUES

        chosen = req.venues or ai.venue_names()
        hedger_runs = len([v for v in AUDIT_VENUES if v in chosen]) or 1
    return 1 + n_scen + len(req.shocks) * (1 + len(req.depth_stresses)) + n_venues + hedger_runs + 1


def run_audit(req: AuditRequest, progress: Callable[[str, float], None] | None = None) -> AuditResult:
    """Index (or reuse), run every available section, write the report folder; returns what it wrote."""
    from defi_perps.report.writer import check_out_dir, write_report
    from defi_perps.store.runs import list_runs, save_run, update_run

    req.check()
    if req.out_dir is not None:
        check_out_dir(req.out_dir)      # before any work: a bad --out fails in a second, not after the runs
    advance = progress or (lambda _label, _k: None)
    t0 = time.perf_counter()
    if req.snapshot_id is None:
        idx = ai.index_or_reuse(req.protocol, req.chain, req.chain_file, req.rpc_url, req.block, req.db_url)
        sid = int(idx["snapshot_id"])
    else:
        idx = {"snapshot_id": req.snapshot_id, "created": False, "warnings": []}
        sid = req.snapshot_id
    advance("index", 1)
    prov = ai.snapshot_provenance(req.db_url, sid)
    book = ai.load_book(req.db_url, sid)
    if book.n_positions == 0:
        raise InputError(f"snapshot {sid} has no open positions: nothing to stress")
    threads = ai.thread_count(req.threads)
    version, code = rec.code_version()
    audit_id = save_run(req.db_url, kind="audit", request=req.to_dict(), venues={}, scenario={}, aggregates={},
                        result_digest="", seed=req.seed, threads=threads, code_version=version, code_digest=code,
                        book_source=book.source, snapshot=prov, label=f"audit {req.protocol} snapshot {sid}")
    try:
        ctx = AuditContext(req, sid, prov, book, ai.snapshot_health(req.db_url, sid), threads, advance)
        sections: list[Section] = []
        skipped: list[dict[str, str]] = []
        with rec.parent_run(audit_id):
            for spec in SECTIONS:
                producer = spec.load()
                if producer is None:
                    skipped.append({"key": spec.key, "title": spec.title,
                                    "reason": f"not in this version ({spec.producer.split(':')[0]} is not installed)"})
                    continue
                try:
                    sections.append(producer(ctx))
                except SectionSkipped as sk:      # does not apply to this protocol's snapshot
                    skipped.append({"key": spec.key, "title": spec.title, "reason": sk.reason})
        skipped.extend(ctx.skipped)
        findings = [f for s in sections for f in s.findings]
        child_ids = sorted({rid for s in sections for rid in s.run_ids} | set(ctx.run_ids.values()))
        from defi_perps.store.runs import get_run

        digests = [get_run(req.db_url, rid).result_digest for rid in child_ids]
        summary: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION, "audit_run_id": audit_id,
            "protocol": req.protocol if req.snapshot_id is None else str(prov["protocol"]).replace("_", "-"),
            "snapshot": prov, "index": {k: v for k, v in idx.items() if k != "snapshot_id"},
            "request": req.to_dict(), "code_version": version, "threads": threads,
            "findings": [f.to_dict() for f in findings],
            "sections": {}, "sections_skipped": skipped, "child_runs": child_ids,
            "result_digest": rec.combine_digests(digests),
        }
        out_dir = Path(req.out_dir) if req.out_dir is not None else Path(f"defi-perps-report-{req.protocol}-"
                                                                           f"{prov['block_number']}")
        html = write_report(out_dir, summary, sections, findings)
        advance("report", 1)
        elapsed = time.perf_counter() - t0
        update_run(req.db_url, audit_id, result_digest=summary["result_digest"], elapsed_s=elapsed,
                   aggregates=rec.canonical({"findings": summary["findings"], "report": str(html),
                                             "child_runs": child_ids}))
    except BaseException:
        # an audit that did not finish leaves neither its run nor its children behind
        from defi_perps.store.runs import delete_runs

        kids = [r.id for r in list_runs(req.db_url, parent_id=audit_id)]
        delete_runs(req.db_url, [*kids, audit_id])
        raise
    return AuditResult(audit_id, html.parent, html, summary, sections, findings, skipped, ctx)


__all__ = [
    "SCHEMA_VERSION",
    "SECTIONS",
    "AuditContext",
    "AuditRequest",
    "AuditResult",
    "FigureSpec",
    "Finding",
    "Section",
    "SectionSkipped",
    "SectionSpec",
    "fan_data",
    "planned_steps",
    "protocol_venue",
    "run_audit",
]
