"""Venue comparison: run one book and one shock on several venues, summarize across paths, render.

Pure aggregation and formatting; the simulation is :mod:`defi_perps.venues.sim`. Every venue sees
the same book and the same seeded price paths, so differences come from the rules alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.venues.params import VenueParams
from defi_perps.venues.shock import Shock, price_multipliers
from defi_perps.venues.sim import METRICS, VenueRun

# Who absorbed the bad debt, by metric; "profitable traders" = ADL haircuts + GMX profit cap.
BEARERS: dict[str, tuple[str, ...]] = {
    "pool/LPs": ("pool_paid",),
    "insurance fund": ("fund_paid",),
    "liquidator vault": ("vault_paid",),
    "profitable traders": ("adl_paid",),
    "broker": ("broker_paid",),
    "venue": ("venue_paid",),
}


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(x.mean()), "p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95)),
            "p99": float(np.percentile(x, 99)), "max": float(x.max())}


@dataclass
class VenueSummary:
    venue: str
    display: str
    counterparty: str
    metrics: dict[str, dict[str, float]]
    bearers: dict[str, float]                  # mean USD of bad debt borne, by bearer
    margin_topped_up: int
    per_path: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)   # the venue's rules as run (sources left out)

    def to_dict(self, with_paths: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"venue": self.venue, "display": self.display, "counterparty": self.counterparty,
                               "metrics": self.metrics, "loss_bearers_mean_usd": self.bearers,
                               "margin_topped_up": self.margin_topped_up, "params": self.params}
        if with_paths:
            out["per_path"] = self.per_path
        return out


def _run_chunk(params: VenueParams, book: Book, shock: Shock, adl_policy: str, paths: np.ndarray) -> np.ndarray:
    run = VenueRun(params, book, shock, adl_policy=adl_policy)
    rows = np.zeros((paths.shape[0], len(METRICS)))
    for k in range(paths.shape[0]):
        res = run.run_path(paths[k])
        rows[k] = [res.metrics[m] for m in METRICS]
    return rows


def compare(book: Book, venues: list[VenueParams], shock: Shock, n_paths: int, seed: int,
            adl_policy: str = "venue", progress: Callable[[int], None] | None = None,
            workers: int = 1) -> list[VenueSummary]:
    """Run every venue on the same book and the same ``n_paths`` seeded paths.

    Paths are drawn once, before any venue runs, so ``workers`` (processes, each taking chunks of
    paths) changes the speed only, never the figures.
    """
    paths = price_multipliers(shock, n_paths, book.n_markets, seed, book.market_names)
    chunk = max(1, min(32, -(-n_paths // max(1, workers * 4))))
    tasks = [(v, a) for v in range(len(venues)) for a in range(0, n_paths, chunk)]
    results: dict[tuple[int, int], np.ndarray] = {}
    if workers <= 1 or len(tasks) == 1:
        for v, a in tasks:
            results[(v, a)] = _run_chunk(venues[v], book, shock, adl_policy, paths[a:a + chunk])
            if progress is not None:
                progress(results[(v, a)].shape[0])
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(_run_chunk, venues[v], book, shock, adl_policy, paths[a:a + chunk]): (v, a)
                    for v, a in tasks}
            for fut in as_completed(futs):
                results[futs[fut]] = fut.result()
                if progress is not None:
                    progress(results[futs[fut]].shape[0])
    out = []
    for v, params in enumerate(venues):
        rows = np.concatenate([results[(v, a)] for a in range(0, n_paths, chunk)])
        per = {m: rows[:, j] for j, m in enumerate(METRICS)}
        bearers = {name: float(sum(per[k].mean() for k in keys)) for name, keys in BEARERS.items()}
        topped = VenueRun(params, book, shock, adl_policy=adl_policy).topped
        out.append(VenueSummary(params.name, params.display, params.counterparty,
                                {m: _stats(per[m]) for m in METRICS}, bearers, topped,
                                {m: per[m].tolist() for m in METRICS}, params.model_dump(exclude={"sources"})))
    return out


def _usd(x: float) -> str:
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}"


def bearer_text(s: VenueSummary) -> str:
    tot = sum(s.bearers.values())
    cap = s.metrics["profit_cap_haircut"]["mean"]
    extra = f" (+ profit cap on winners {_usd(cap)})" if cap > 0 else ""
    if tot <= 0:
        return "none" + extra
    parts = sorted(((v / tot, k) for k, v in s.bearers.items() if v > 0), reverse=True)
    return " · ".join(f"{k} {share:.0%}" for share, k in parts) + extra


def counterparty_pnl(s: VenueSummary) -> tuple[str, dict[str, float]]:
    key = {"pool": "pool_pnl", "broker": "broker_pnl"}.get(s.counterparty)
    if key is None:
        key = "vault_pnl" if s.venue == "hyperliquid" else "fund_pnl"
    label = {"pool_pnl": "pool", "broker_pnl": "broker", "vault_pnl": "HLP vault", "fund_pnl": "ins. fund"}[key]
    return label, s.metrics[key]


def render_table(summaries: list[VenueSummary], title: str) -> Any:
    from rich.table import Table

    t = Table(title=title, caption="USD; mean / p95 / p99 across paths. Loss = bad debt, split by who absorbed it.")
    cols = ("venue", "liq. notional\nmean / p95", "liq. positions\nmean", "bad debt\nmean / p95 / p99",
            "fund / pool / vault used\nmean / p99", "ADL notional\nmean / p99", "ADL accts\nmean",
            "who bears the loss (mean)", "counterparty P&L\nmean / p5→p95")
    for c in cols:
        t.add_column(c, justify="left" if c in ("venue", "who bears the loss (mean)") else "right")
    for s in summaries:
        m = s.metrics
        used = {k: m[k] for k in ("fund_paid", "pool_paid", "vault_paid", "broker_paid")}
        used_mean = sum(v["mean"] for v in used.values())
        used_p99 = max(v["p99"] for v in used.values())
        label, cp = counterparty_pnl(s)
        per = np.asarray(s.per_path[{"pool": "pool_pnl", "broker": "broker_pnl"}.get(
            s.counterparty, "vault_pnl" if s.venue == "hyperliquid" else "fund_pnl")])
        t.add_row(s.display,
                  f"{_usd(m['liquidated_notional']['mean'])} / {_usd(m['liquidated_notional']['p95'])}",
                  f"{m['liquidated_positions']['mean']:,.1f}",
                  f"{_usd(m['bad_debt']['mean'])} / {_usd(m['bad_debt']['p95'])} / {_usd(m['bad_debt']['p99'])}",
                  f"{_usd(used_mean)} / {_usd(used_p99)}",
                  f"{_usd(m['adl_notional']['mean'])} / {_usd(m['adl_notional']['p99'])}",
                  f"{m['adl_accounts']['mean']:,.1f}",
                  bearer_text(s),
                  f"{label} {_usd(cp['mean'])} / {_usd(float(np.percentile(per, 5)))}→{_usd(cp['p95'])}")
    return t


def engine_cross_check(book: Book, venues: list[VenueParams], shock: Shock, n_paths: int, seed: int) -> dict[str, Any]:
    """Run each venue through the numba cascade engine (aggregate rules, :mod:`defi_perps.venues.rules`)
    on the same book and the same deterministic shock path; its own seeded noise, the engine's
    default depth bands scaled by ``shock.depth / 0.10``. Aggregate figures only: the engine
    deleverages pro-rata per side and has no per-account ranking, backstop takeover by account,
    Bybit/OKX drawdown trigger or broker hedging (see ``NOT_IN_ENGINE``)."""
    import math

    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.engine.inputs import DepthSpec, PriceModel
    from defi_perps.venues.rules import NOT_IN_ENGINE, to_rules

    t = shock.steps
    if shock.scenario is not None:
        base = shock.scenario.base_path(book.market_names, t, shock.step_seconds)
        if base is None:
            base = np.zeros((t + 1, book.n_markets))
    else:
        drift = np.full(t, shock.drop / t)
        if shock.rebound > 0:
            k = max(1, t // 3)
            drift[-k:] += -shock.drop * shock.rebound / k
        base = np.zeros((t + 1, book.n_markets))
        base[1:, :] = np.cumsum(drift)[:, None]
    years_per_step = shock.step_seconds / (365.0 * 24 * 3600)
    model = PriceModel(volatility=shock.vol / math.sqrt(years_per_step), beta=math.sqrt(max(0.0, 1 - shock.idio)))
    depth = DepthSpec(stress=shock.depth / 0.10, permanent_fraction=shock.perm)
    oi = float(book.open_interest().sum())
    out: dict[str, Any] = {"note": "aggregate engine (numba); differences from the account-level model are listed "
                                   "in not_in_engine", "not_in_engine": NOT_IN_ENGINE, "venues": {}}
    for params in venues:
        fund = params.insurance.initial_oi_fraction * oi if params.insurance.absorber == "insurance_fund" else 0.0
        res = simulate(book, to_rules(params, fund, shock.step_seconds), model=model, depth=depth,
                       config=SimulationConfig(n_paths=n_paths, n_steps=t, step_seconds=shock.step_seconds, seed=seed),
                       base_log=base)
        st = res.stats()
        out["venues"][params.name] = {k: {"mean": st[k].get("mean", 0.0), "p99": st[k].get("quantiles", {}).get("p99", 0.0)}
                                      for k in ("liquidated_notional_usd", "liquidations", "bad_debt_usd",
                                                "insurance_paid_usd", "pool_paid_usd", "broker_paid_usd",
                                                "adl_notional_usd", "adl_haircut_usd", "shortfall_usd")}
    return out


def render_engine_table(summaries: list[VenueSummary], engine: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="Cross-check: account-level venue model vs numba cascade engine (means across paths)",
              caption="The engine runs aggregate rules with its own noise on the same deterministic shock.")
    for c in ("venue", "liq. notional\nmodel / engine", "bad debt\nmodel / engine", "ADL notional\nmodel / engine"):
        t.add_column(c, justify="left" if c == "venue" else "right")
    for s in summaries:
        e = engine["venues"].get(s.venue, {})
        m = s.metrics
        t.add_row(s.display,
                  f"{_usd(m['liquidated_notional']['mean'])} / {_usd(e.get('liquidated_notional_usd', {}).get('mean', 0.0))}",
                  f"{_usd(m['bad_debt']['mean'])} / {_usd(e.get('bad_debt_usd', {}).get('mean', 0.0))}",
                  f"{_usd(m['adl_notional']['mean'])} / {_usd(e.get('adl_notional_usd', {}).get('mean', 0.0))}")
    return t


def write_adl_events(path: str, book: Book, venues: list[VenueParams], shock: Shock, seed: int,
                     adl_policy: str = "venue") -> int:
    """Write the ADL events of the first path of every venue to ``path`` in the ``adl replay`` CSV
    format (:mod:`defi_perps.adl`), so simulated events can be replayed under other policies.
    Returns the number of rows written."""
    import csv

    ext = price_multipliers(shock, 1, book.n_markets, seed, book.market_names)[0]
    rows: list[dict[str, Any]] = []
    for params in venues:
        run = VenueRun(params, book, shock, adl_policy=adl_policy)
        run.record_events = True
        run.run_path(ext)
        rows.extend(run.events)
    cols = ["event", "shortfall", "account", "side", "size", "entry", "mark", "equity", "pnl"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# ADL events from defi-perps compare: first path (seed {seed}), shock {shock.describe()}\n")
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return len(rows)
