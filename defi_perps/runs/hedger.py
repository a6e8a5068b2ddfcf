"""The delta-neutral hedger on a venue: ``defi-perps hedger``, ``compare --hedge`` and the audit's section.

A market maker holds spot long and a perp short of ``hedge_usd`` on one market of the book. The
short is added to the book as its own account (``hedger``: collateral ``hedge_usd / leverage``,
entry at the book's price), so the venue admits it like any position (a leverage above the venue's
maximum is topped up, ``margin_topup``) and the one engine runs it: in-path ADL selects it by the
venue's own ranking, a rising path can liquidate it, and the kernel's hedger agent
(:mod:`defi_perps.engine.hedger_nb`) re-hedges what was closed after the latency, through the
market's depth at that step, and books the P&L by cause.

Funding: what the short receives, as an APR, is ``--funding-apr``; else the scenario's
``[funding]`` short rate where it declares one (the rate the engine charges every short, the
hedger's included: oct-10-2025 says "near 40 % annualized" before the crash, incidents.md §1.5);
else the venue's premium-index rule at a zero premium (the interest-rate component only:
``0.01 %/8 h`` = 10.95 %/yr on Binance, Bybit, OKX, BitMEX and Hyperliquid;
:mod:`defi_perps.venues.funding` and its sources). A venue without such a rule (GMX's open-interest
funding, a broker, a clearing house) gets 0 unless given, and the output says so. The same rate is paid on a re-hedge short on another venue (modelling
choice). Fees: the re-hedge's taker fee ``--fee``.

Latency: ``30s`` (fixed) or ``30s..5m`` (uniform per path between the two, drawn from the run's
seed, independently of the price paths), rounded up to whole steps of the scenario (at least one).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine.api import SimulationConfig, simulate
from defi_perps.engine.codes import Absorber, names
from defi_perps.engine.hedger_nb import CAUSES, H
from defi_perps.engine.inputs import HedgerConfig
from defi_perps.engine.results import SimulationResult, describe
from defi_perps.exceptions import DefiPerpsError, InputError
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues import funding as fu
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import VenueParams, asset_of, load_venue

HEDGER_ACCOUNT = "hedger"
HEDGE_OI_SHARE = 0.05        # modelling choice: one maker's hedge = 5 % of the market's open interest
DEFAULT_LEVERAGE = 5.0       # market makers run hedged books at low leverage (engine_rules.MARKET_MAKER_LEVERAGE)
DEFAULT_FEE = 0.00045        # Hyperliquid's base-tier perp taker fee, 0.045 % (venues.md §1.6); a parameter
LATENCY_SEED_SALT = 0x4845444745   # "HEDGE": the latency draw's own stream, apart from the price paths'
CAUSE_LABELS = {"spot_mtm": "spot mark-to-market", "perp_mtm": "perp mark-to-market",
                "adl_vs_market": "ADL close price vs market", "liquidation_vs_market": "liquidation vs market",
                "rehedge_slippage": "re-hedge slippage", "funding": "funding", "fees": "fees"}
_CAUSE_COL = {"spot_mtm": H.SPOT_MTM, "perp_mtm": H.PERP_MTM, "adl_vs_market": H.ADL_VS_MARKET,
              "liquidation_vs_market": H.LIQ_VS_MARKET, "rehedge_slippage": H.REHEDGE_SLIPPAGE,
              "funding": H.FUNDING, "fees": H.FEES}


def parse_latency(text: str) -> tuple[float, float]:
    """``"30s"`` → (30, 30); ``"30s..5m"`` → (30, 300) seconds. One-line errors for anything else."""
    from defi_perps.scenarios.durations import parse_duration

    raw = str(text).strip()
    parts = raw.split("..")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise InputError(f"--latency {raw!r}: expected a duration (30s) or a range (30s..5m)")
    try:
        vals = [parse_duration(p.strip(), "--latency") for p in parts]
    except DefiPerpsError:
        raise InputError(f"--latency {raw!r}: expected a positive duration (30s) or a range (30s..5m), each a "
                         "number and a unit s/m/h/d/w") from None
    lo, hi = vals[0], vals[-1]
    if hi < lo:
        raise InputError(f"--latency {raw!r}: the range's upper end is below its lower end")
    return lo, hi


@dataclass(frozen=True)
class HedgerInputs:
    market: str | None = None
    hedge_usd: float | None = None        # default: HEDGE_OI_SHARE of the market's open interest
    leverage: float = DEFAULT_LEVERAGE
    latency: str = "60s"
    route: str = "perp"                   # perp on another venue | spot
    fee: float = DEFAULT_FEE
    funding_apr: float | None = None      # default: the venue's rule at zero premium

    def check(self) -> None:
        if self.hedge_usd is not None and not (math.isfinite(self.hedge_usd) and self.hedge_usd > 0):
            raise InputError(f"--hedge must be a positive notional in USD (got {self.hedge_usd!r})")
        if not (math.isfinite(self.leverage) and 1 <= self.leverage <= 200):
            raise InputError(f"--leverage must be in 1..200 (got {self.leverage!r})")
        if self.route not in ("perp", "spot"):
            raise InputError(f"--rehedge {self.route!r}: expected perp or spot")
        if not (math.isfinite(self.fee) and 0 <= self.fee < 0.1):
            raise InputError(f"--fee {self.fee!r}: a fraction per trade in [0, 0.1)")
        if self.funding_apr is not None and not (math.isfinite(self.funding_apr) and abs(self.funding_apr) <= 100):
            raise InputError(f"--funding-apr {self.funding_apr!r}: a finite APR within ±100 (0.1 = 10 %/yr)")
        parse_latency(self.latency)


def market_index(book: Book, market: str | None) -> int:
    if market is None:
        return 0
    names_ = list(book.market_names)
    hits = [i for i, n in enumerate(names_) if n == market or asset_of(n) == asset_of(market)]
    if not hits:
        raise InputError(f"--market {market!r} is not in the book (markets: {', '.join(names_)})")
    return hits[0]


def with_hedger(book: Book, market: int, hedge_usd: float, leverage: float) -> tuple[Book, int]:
    """The book plus the hedger's perp short on ``market`` (entry at the book price, collateral
    ``hedge_usd / leverage`` USD, its own account ``hedger``); returns it and the short's index."""
    price = float(book.price[market])
    n_acc = int(book.account.max()) + 1 if book.n_positions else 0
    names_ = list(book.account_names) or [str(a) for a in range(n_acc)]
    acct = max(n_acc, len(names_))
    names_ = names_ + [""] * (acct - len(names_)) + [HEDGER_ACCOUNT]
    grown = book.with_positions(
        account_names=names_, market=np.array([market], np.int32), side=np.array([-1], np.int8),
        size=np.array([hedge_usd / price]), entry_price=np.array([price]),
        collateral_usd=np.array([hedge_usd / leverage]), collateral_tokens=np.zeros(1),
        account=np.array([acct], np.int32))
    return grown, book.n_positions


def funding_for(venue: VenueParams, given: float | None, setup: RunSetup | None = None,
                market: int = 0) -> tuple[float, dict[str, Any]]:
    """The APR the short receives and where it comes from: ``--funding-apr``, else the scenario's
    ``[funding]`` (what the engine charges every short, the hedger's included), else the venue's rule."""
    if given is not None:
        return float(given), {"apr": float(given), "source": "--funding-apr"}
    if setup is not None and setup.funding is not None:
        rates = np.broadcast_to(np.asarray(setup.funding.short_rate, dtype=np.float64), (market + 1,))
        apr = -float(rates[market])   # the engine's sign: + pays, − receives
        return apr, {"apr": apr, "basis": "the scenario's [funding] short_rate (the engine charges every short "
                                          "the same)", "source": setup.scenario.name or "scenario"}
    key = venue.name.strip().lower()
    if key in fu.RULES:
        rule = fu.rule_for(key)
        rate = rule.rate(0.0)
        return rule.apr(rate), {"apr": rule.apr(rate), "rate_per_interval": rate,
                                "interval_hours": rule.interval_hours,
                                "basis": "the venue's premium-index rule at zero premium (interest rate only)",
                                "source": rule.source}
    return 0.0, {"apr": 0.0, "basis": f"{venue.name} has no premium-index funding rule in defi_perps/venues/"
                                      "funding.py; taken as 0 (give --funding-apr)", "source": None}


def latency_steps(inp: HedgerInputs, n_paths: int, seed: int, step_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(seconds drawn, whole steps >= 1) per path."""
    lo, hi = parse_latency(inp.latency)
    if hi > lo:
        rng = np.random.default_rng([int(seed), LATENCY_SEED_SALT])
        secs = rng.uniform(lo, hi, n_paths)
    else:
        secs = np.full(n_paths, lo)
    return secs, np.maximum(1, np.ceil(secs / step_seconds - 1e-9)).astype(np.int64)


@dataclass
class HedgerVenueRun:
    venue: str
    display: str
    market: str
    hedge_usd: float
    result: SimulationResult
    latency_s: np.ndarray
    funding: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> np.ndarray:
        return self.result.outputs.hedger

    def per_path(self) -> dict[str, np.ndarray]:
        h = self.rows
        step = float(self.result.config.step_seconds)
        out = {c: h[:, _CAUSE_COL[c]].copy() for c in CAUSES}
        out["total_pnl_usd"] = h[:, H.TOTAL].copy()
        out["adl_closed_notional_usd"] = h[:, H.ADL_NOTIONAL].copy()
        out["adl_closed_fraction"] = h[:, H.ADL_QTY] / max(self._qty, 1e-300)
        out["liquidated_fraction"] = h[:, H.LIQ_QTY] / max(self._qty, 1e-300)
        out["first_adl_minute"] = np.where(h[:, H.ADL_FIRST_STEP] > 0, h[:, H.ADL_FIRST_STEP] * step / 60, np.nan)
        out["rehedge_notional_usd"] = h[:, H.REHEDGE_NOTIONAL].copy()
        out["peak_unhedged_notional_usd"] = h[:, H.PEAK_UNHEDGED_USD].copy()
        out["unhedged_seconds"] = h[:, H.UNHEDGED_STEPS] * step
        out["latency_s"] = self.latency_s.copy()
        return out

    @property
    def _qty(self) -> float:
        return self.hedge_usd / float(self.result.book.price[self.market_i])

    @property
    def market_i(self) -> int:
        return list(self.result.book.market_names).index(self.market)

    def why(self) -> str:
        """What the venue's rules did to the short, in words (the table's last column)."""
        r = self.result
        rules = r.rules.to_dict()
        pp = self.per_path()
        n = pp["total_pnl_usd"].size
        hit = int((pp["adl_closed_fraction"] > 1e-12).sum())
        side_adl = r.outputs.adl_notional[:, self.market_i, 1]
        fired = int((side_adl > 0).sum())
        absorber = rules.get("bad_debt_absorber")
        if rules.get("adl_trigger") == "none":
            return (f"no ADL on {self.display} (ADL trigger none): loss beyond collateral goes to the {absorber}, "
                    "so the short is never deleveraged")
        if hit:
            return (f"ADL ({rules['adl_trigger']}, ranked by {rules['adl_ranking']}, fill at {rules['adl_fill']}) "
                    f"closed {pp['adl_closed_fraction'][pp['adl_closed_fraction'] > 1e-12].mean():.0%} of the short "
                    f"in {hit}/{n} paths; unhedged until the re-hedge")
        if fired:
            return (f"ADL fired on {self.market} shorts in {fired}/{n} paths but the queue "
                    f"({rules['adl_ranking']}) did not reach the hedger")
        return f"ADL ({rules['adl_trigger']}) did not fire on {self.market} shorts: the {absorber} absorbed the losses"

    def to_dict(self) -> dict[str, Any]:
        pp = self.per_path()
        r = self.result
        causes = {c: float(pp[c].mean()) for c in CAUSES}
        out: dict[str, Any] = {
            "venue": self.venue, "display": self.display, "market": self.market,
            "hedge_notional_usd": self.hedge_usd,
            "adl_closed_notional_usd": float(pp["adl_closed_notional_usd"].mean()),
            "adl_closed_fraction": float(pp["adl_closed_fraction"].mean()),
            "paths_adl_hit": int((pp["adl_closed_fraction"] > 1e-12).sum()),
            "paths_liquidated": int((pp["liquidated_fraction"] > 1e-12).sum()),
            "peak_unhedged_notional_usd": float(pp["peak_unhedged_notional_usd"].mean()),
            "unhedged_seconds": float(pp["unhedged_seconds"].mean()),
            "pnl_by_cause_usd": causes,
            "unhedged_pnl_usd": causes["spot_mtm"] + causes["perp_mtm"],
            "total_pnl_usd": float(pp["total_pnl_usd"].mean()),
            "stats": {k: describe(pp[k], loss=False) for k in ("total_pnl_usd", "adl_closed_notional_usd",
                                                               "peak_unhedged_notional_usd", "unhedged_seconds",
                                                               "first_adl_minute")},
            "why": self.why(),
            "venue_adl_short_notional_usd": float(r.outputs.adl_notional[:, self.market_i, 1].mean()),
            "funding": self.funding,
            "rules": r.rules.to_dict(),
            **self.info,
        }
        return out


@dataclass
class HedgerRun:
    venues: list[HedgerVenueRun]
    setup: RunSetup
    inputs: HedgerInputs
    n_paths: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        rows = [v.to_dict() for v in self.venues]
        lo, hi = parse_latency(self.inputs.latency)
        first = self.venues[0].result
        out: dict[str, Any] = {
            "command": "hedger", "scenario": self.setup.info(), "shock": self.setup.describe(),
            "parameters": {**dataclasses.asdict(self.inputs), "latency_s": [lo, hi],
                           "latency_rounding": "up to whole steps, at least one"},
            "run": {"paths": self.n_paths, "seed": self.seed, "steps": self.setup.n_steps,
                    "step_seconds": self.setup.step_seconds, "engine": first.engine, "threads": first.threads},
            "causes": dict(CAUSE_LABELS),
            "method": "defi_perps/engine/hedger_nb.py (kernel), defi_perps/runs/hedger.py (inputs)",
            "venues": rows,
        }
        if len(rows) == 1:   # one venue: its headline numbers at the top level too
            for key in ("venue", "market", "hedge_notional_usd", "adl_closed_notional_usd",
                        "peak_unhedged_notional_usd", "unhedged_seconds", "pnl_by_cause_usd", "total_pnl_usd",
                        "why"):
                out[key] = rows[0][key]
        return out

    def to_pandas(self) -> Any:
        """Per-path DataFrame: one row per (venue, path), the causes, total and exposure columns."""
        import pandas as pd

        frames = []
        for v in self.venues:
            df = pd.DataFrame(v.per_path())
            df.insert(0, "path", np.arange(len(df)))
            df.insert(0, "venue", v.venue)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> Any:
        """Mean P&L by cause per venue (DataFrame, venues as rows)."""
        import pandas as pd

        return pd.DataFrame([{"venue": v.venue, **v.to_dict()["pnl_by_cause_usd"],
                              "total_pnl_usd": v.to_dict()["total_pnl_usd"]} for v in self.venues])


def run_hedger_venue(book: Book, setup: RunSetup, venue: str | VenueParams, inp: HedgerInputs, n_paths: int = 200,
                     seed: int = 0, threads: int | None = None, progress: Callable[[int], None] | None = None,
                     notice: Callable[[str], None] | None = None, engine: str = "auto",
                     adl_policy: str = "venue") -> HedgerVenueRun:
    """The hedger on one venue (the same book, scenario and seed give the same price paths on every venue)."""
    inp.check()
    params = venue if isinstance(venue, VenueParams) else load_venue(venue)
    m = market_index(book, inp.market)
    hedge = inp.hedge_usd if inp.hedge_usd is not None else HEDGE_OI_SHARE * float(book.open_interest()[m].sum())
    if not hedge > 0:
        raise InputError(f"market {book.market_names[m]} has no open interest to size the hedge from; give --hedge")
    hbook, idx = with_hedger(book, m, hedge, inp.leverage)
    vi = venue_inputs(params, hbook, setup.step_seconds, adl_policy)
    if vi.book.account_names[int(vi.book.account[idx])] != HEDGER_ACCOUNT:   # admission keeps the book's order
        raise InputError("internal: the hedger's position moved in the venue's book")
    apr, fsrc = funding_for(params, inp.funding_apr, setup, m)
    secs, steps = latency_steps(inp, n_paths, seed, setup.step_seconds)
    config = SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=seed,
                              threads=threads, n_detail=0)
    cfg = HedgerConfig(position=idx, spot_qty=hedge / float(book.price[m]), latency_steps=steps, route=inp.route,
                       fee=inp.fee, funding_apr=apr)
    res = simulate(vi.book, vi.rules, model=setup.model, depth=setup.depth, funding=setup.funding, config=config,
                   base_log=setup.base_log, progress=progress, scenario=setup.info(), position_mm=vi.position_mm,
                   notice=notice, engine=engine, depth_multiplier=setup.depth_multiplier, thresholds=vi.thresholds,
                   hedger=cfg)
    res.venue = params.name
    res.venue_info = vi.info()
    admitted = float(vi.book.collateral_usd[idx])
    info = {"leverage": inp.leverage, "collateral_usd": admitted, "collateral_topped_up": admitted > hedge / inp.leverage,
            "venue_params": vi.info().get("params", {}), "venue_sources": vi.info().get("sources", {}),
            "adl_policy": adl_policy, "route": inp.route,
            "absorber": names(Absorber)[int(vi.rules.bad_debt_absorber)]}
    return HedgerVenueRun(params.name, params.display, book.market_names[m], float(hedge), res, secs, fsrc, info)


def run_hedger(book: Book, setup: RunSetup, venues: Sequence[str | VenueParams], inp: HedgerInputs, n_paths: int = 200,
               seed: int = 0, threads: int | None = None, progress: Callable[[int], None] | None = None,
               notice: Callable[[str], None] | None = None, engine: str = "auto") -> HedgerRun:
    if not venues:
        raise InputError("give at least one --venue")
    if n_paths < 1:
        raise InputError("--paths must be at least 1")
    runs = [run_hedger_venue(book, setup, v, inp, n_paths, seed, threads, progress, notice, engine) for v in venues]
    return HedgerRun(runs, setup, inp, n_paths, seed)


def compare_rows(book: Book, setup: RunSetup, venues: list[Any], hedge_usd: float, leverage: float, latency: str,
                 n_paths: int, seed: int, adl_policy: str = "venue", threads: int | None = None) -> dict[str, Any]:
    """``compare --hedge``: the hedger's P&L per venue, on the compared book plus its short (same seed)."""
    inp = HedgerInputs(hedge_usd=hedge_usd, leverage=leverage, latency=latency)
    inp.check()
    rows = []
    for v in venues:
        r = run_hedger_venue(book, setup, v, inp, n_paths, seed, threads=threads, adl_policy=adl_policy).to_dict()
        rows.append({k: r[k] for k in ("venue", "display", "market", "pnl_by_cause_usd", "total_pnl_usd",
                                       "unhedged_pnl_usd", "adl_closed_notional_usd", "adl_closed_fraction",
                                       "paths_adl_hit", "peak_unhedged_notional_usd", "unhedged_seconds", "funding",
                                       "why")})
    return {"hedge_notional_usd": hedge_usd, "leverage": leverage, "latency": latency, "route": inp.route,
            "fee": inp.fee, "causes": dict(CAUSE_LABELS),
            "note": "a separate run per venue: the compared book plus the hedger's short (account 'hedger'), the "
                    "same scenario and seed (defi-perps hedger gives the same numbers)",
            "venues": rows}


# -- the audit's section ---------------------------------------------------------------------------

AUDIT_VENUES = ("hyperliquid", "binance")   # an ADL venue whose queue reaches makers, and an insurance-fund venue


def audit_section(ctx: Any) -> Any:
    """The hedger on the audited book under the October 2025 scenario, per venue: P&L by cause (figure
    and table), how much of its short ADL closed and how long it stayed unhedged. Each venue is a
    stored ``hedger`` child run (``runs rerun ID`` reproduces it)."""
    import time

    import pandas as pd

    from defi_perps.report.style import plain, usd
    from defi_perps.runs import audit_inputs as ai
    from defi_perps.runs import record as rec
    from defi_perps.runs.audit import PRIMARY_SCENARIO, FigureSpec, Finding, Section

    req = ctx.request
    scen = PRIMARY_SCENARIO if PRIMARY_SCENARIO in ctx.scenarios else ctx.scenarios[0]
    setup = ai.scenario_setup(ctx.book, scenario=scen)
    oi = ctx.book.open_interest().sum(axis=1)
    m = int(np.argmax(oi))
    market = ctx.book.market_names[m]
    venues = [v for v in AUDIT_VENUES if v in ctx.venues] or list(ctx.venues)[:1]
    n = req.n_paths
    inp = HedgerInputs(market=market)
    rows: list[dict[str, Any]] = []
    runs: list[int] = []
    fig_venues: list[dict[str, Any]] = []
    for venue in venues:
        label = f"hedger {venue} × {scen}"
        t0 = time.perf_counter()
        def advance(k: int, lab: str = label) -> None:
            ctx.advance(lab, k / n)

        run = run_hedger(ctx.book, setup, [venue], inp, n, req.seed, threads=ctx.threads, progress=advance)
        payload = run.to_dict()
        argv = ["hedger", "--snapshot", str(ctx.snapshot_id), "--venue", venue, "--scenario", scen,
                "--market", market, "--paths", str(n), "--seed", str(req.seed)]
        if ctx.threads:
            argv += ["--threads", str(ctx.threads)]
        stored = rec.record(argv, payload, db_url=req.db_url, book=ctx.book, threads=ctx.threads, seed=req.seed,
                            label=label, kind="hedger", elapsed_s=time.perf_counter() - t0,
                            aggregates=hedger_aggregates(payload))
        v = payload["venues"][0]
        if stored.id is not None:
            runs.append(stored.id)
            ctx.run_ids[label] = stored.id
        rows.append({"venue": venue, "display": v["display"], "market": market,
                     "hedge_notional_usd": v["hedge_notional_usd"], **{f"{c}_usd": x for c, x in
                                                                        v["pnl_by_cause_usd"].items()},
                     "total_pnl_usd": v["total_pnl_usd"], "adl_closed_notional_usd": v["adl_closed_notional_usd"],
                     "peak_unhedged_notional_usd": v["peak_unhedged_notional_usd"],
                     "unhedged_seconds": v["unhedged_seconds"], "why": v["why"], "run_id": stored.id})
        fig_venues.append({"name": v["display"], "causes": figure_causes(v)})
    table = pd.DataFrame(rows)
    sec = Section("hedger", "Delta-neutral hedger",
                  f"A market maker's hedge on {market}: spot long and a perp short of "
                  f"{usd(rows[0]['hedge_notional_usd'])} (5% of the market's open interest, {DEFAULT_LEVERAGE:g}x), "
                  f"its own account in the venue's ADL ranking, under the {scen} scenario ({n} paths, seed "
                  f"{req.seed}). When ADL closes part of the short, the hedger is unhedged until it re-hedges "
                  f"{inp.latency} later through the depth at that moment (defi_perps/engine/hedger_nb.py).",
                  tables={"hedger": table}, run_ids=runs, data=rec.canonical({"scenario": scen, "venues": rows}))
    sec.figures.append(FigureSpec(
        "hedger_pnl_by_cause", "hedger_pnl", "Delta-neutral hedger: P&L by cause",
        "Mean over paths of the hedger's P&L by cause, per venue: the unhedged loss (spot + perp mark-to-market, "
        "which cancel while hedged), what the ADL fill paid against the mark, a liquidation's cost, re-hedge slippage "
        "through the depth, funding received and fees.", {"venues": fig_venues}, runs))
    for r in rows:
        sec.findings.append(Finding(
            f"hedger_pnl_{r['venue']}", f"Hedger P&L on {plain(r['display'])}", float(r["total_pnl_usd"]),
            f"{usd(r['total_pnl_usd'])} (ADL closed {usd(r['adl_closed_notional_usd'])} of the short)",
            r["why"], "hedger", [r["run_id"]] if r["run_id"] is not None else [],
            "warn" if r["adl_closed_notional_usd"] > 0 else "info"))
    return sec


def figure_causes(venue_row: dict[str, Any]) -> dict[str, float]:
    """The figure's bars for one venue row: the two mark-to-market legs as their net (the unhedged loss;
    each leg alone is the market's move, shown in the table), then the other causes and the total."""
    c = venue_row["pnl_by_cause_usd"]
    out = {"unhedged (spot + perp MTM)": c["spot_mtm"] + c["perp_mtm"]}
    out.update({CAUSE_LABELS[k]: v for k, v in c.items() if k not in ("spot_mtm", "perp_mtm")})
    out["total"] = venue_row["total_pnl_usd"]
    return out


def hedger_aggregates(payload: dict[str, Any]) -> dict[str, Any]:
    """Headline numbers kept with a stored hedger run (``runs show``)."""
    return {"venues": [{"venue": v["venue"], "total_pnl_usd": v["total_pnl_usd"],
                        "adl_closed_notional_usd": v["adl_closed_notional_usd"],
                        "peak_unhedged_notional_usd": v["peak_unhedged_notional_usd"],
                        "unhedged_seconds": v["unhedged_seconds"]} for v in payload.get("venues", [])]}


__all__ = ["CAUSE_LABELS", "HEDGER_ACCOUNT", "HedgerInputs", "HedgerRun", "HedgerVenueRun", "audit_section",
           "compare_rows", "figure_causes", "funding_for", "hedger_aggregates", "latency_steps", "market_index", "parse_latency", "run_hedger",
           "run_hedger_venue", "with_hedger"]
