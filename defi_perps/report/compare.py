"""Venue comparison: run one book and one shock on several venues, summarize across paths, render.

Pure aggregation and formatting; the simulation is :mod:`defi_perps.venues.sim`. Every venue sees
the same book and the same seeded price paths, so differences come from the rules alone. The paths
are the engine's exogenous paths (:mod:`defi_perps.engine.exogenous`) for the run's
:class:`~defi_perps.scenarios.setup.RunSetup`: ``defi-perps simulate`` with the same book, scenario
and seed rides on the very same exogenous prices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.scenarios.setup import RunSetup
from defi_perps.venues.params import VenueParams
from defi_perps.venues.shock import price_multipliers
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
    adl_hook: dict[str, Any] | None = None                  # engine backend: the ADL hook's summary

    def to_dict(self, with_paths: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"venue": self.venue, "display": self.display, "counterparty": self.counterparty,
                               "metrics": self.metrics, "loss_bearers_mean_usd": self.bearers,
                               "margin_topped_up": self.margin_topped_up, "params": self.params}
        if self.adl_hook is not None:
            out["adl_hook"] = self.adl_hook
        if with_paths:
            out["per_path"] = self.per_path
        return out


def _run_chunk(params: VenueParams, book: Book, setup: RunSetup, adl_policy: str, paths: np.ndarray) -> np.ndarray:
    run = VenueRun(params, book, setup.depth, adl_policy=adl_policy, step_seconds=setup.step_seconds)
    rows = np.zeros((paths.shape[0], len(METRICS)))
    for k in range(paths.shape[0]):
        res = run.run_path(paths[k])
        rows[k] = [res.metrics[m] for m in METRICS]
    return rows


def compare(book: Book, venues: list[VenueParams], setup: RunSetup, n_paths: int, seed: int,
            adl_policy: str = "venue", progress: Callable[[int], None] | None = None,
            workers: int = 1) -> list[VenueSummary]:
    """Run every venue on the same book and the same ``n_paths`` seeded paths.

    Path ``p`` is the engine's exogenous path ``p`` for ``seed`` (its own random stream), drawn
    here in the parent process chunk by chunk, so ``workers`` (processes, each taking chunks of
    paths) changes the speed only, never the figures.
    """
    chunk = max(1, min(32, -(-n_paths // max(1, workers * 4))))
    starts = list(range(0, n_paths, chunk))
    results: dict[tuple[int, int], np.ndarray] = {}

    def paths_of(a: int) -> np.ndarray:
        return price_multipliers(setup, book.n_markets, seed, a, min(n_paths, a + chunk))

    if workers <= 1 or len(starts) * len(venues) == 1:
        for a in starts:
            ext = paths_of(a)
            for v in range(len(venues)):
                results[(v, a)] = _run_chunk(venues[v], book, setup, adl_policy, ext)
                if progress is not None:
                    progress(results[(v, a)].shape[0])
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {}
            for a in starts:
                ext = paths_of(a)
                for v in range(len(venues)):
                    futs[pool.submit(_run_chunk, venues[v], book, setup, adl_policy, ext)] = (v, a)
            for fut in as_completed(futs):
                results[futs[fut]] = fut.result()
                if progress is not None:
                    progress(results[futs[fut]].shape[0])
    out = []
    for v, params in enumerate(venues):
        rows = np.concatenate([results[(v, a)] for a in starts])
        per = {m: rows[:, j] for j, m in enumerate(METRICS)}
        bearers = {name: float(sum(per[k].mean() for k in keys)) for name, keys in BEARERS.items()}
        topped = VenueRun(params, book, setup.depth, adl_policy=adl_policy).topped
        out.append(VenueSummary(params.name, params.display, params.counterparty,
                                {m: _stats(per[m]) for m in METRICS}, bearers, topped,
                                {m: per[m].tolist() for m in METRICS}, params.model_dump(exclude={"sources"})))
    return out


def compare_engine(book: Book, venues: list[VenueParams], setup: RunSetup, n_paths: int, seed: int,
                   adl_policy: str = "venue", progress: Callable[[int], None] | None = None) -> list[VenueSummary]:
    """``compare --backend engine``: every venue through the numba cascade engine (its aggregate
    rules, :func:`defi_perps.venues.rules.engine_rules_for`) with :class:`~defi_perps.venues.adl_hook.VenueAdlHook`
    allocating its ADL events over accounts, on the same setup and paths as ``simulate --venue V``.

    Fills the table's columns from engine outputs: liquidated notional and liquidation events
    (a partial slice counts once), bad debt and who bore it (insurance fund or vault, pool, broker,
    ADL'd traders, and the unabsorbed shortfall as "venue"), ADL notional and accounts (from the
    hook). The engine does not track the counterparty's whole P&L, so those columns are left out
    (see ``NOT_IN_ENGINE`` for the rules the aggregate engine does not have).
    """
    from defi_perps.engine import nb
    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.venues.adl_hook import VenueAdlHook
    from defi_perps.venues.rules import engine_rules_for

    out = []
    for params in venues:
        rules = engine_rules_for(params, book, setup.step_seconds)
        hook = VenueAdlHook(params, book, adl_policy, keep_events=0)
        res = simulate(book, rules, model=setup.model, depth=setup.depth, funding=setup.funding,
                       base_log=setup.base_log, adl_hook=hook,
                       config=SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds,
                                               seed=seed, n_detail=0, max_events=256),
                       progress=progress)
        o, st = res.outputs, res.outputs.scalars
        ins_paid = st[:, nb.ST_INSURANCE_PAID]
        vault = params.insurance.absorber == "liquidator_vault"
        zero = np.zeros(n_paths)
        liq_n = o.liq_count.sum(axis=(1, 2)).astype(np.float64)
        per = {
            "liquidated_notional": o.liq_notional.sum(axis=(1, 2)), "liquidated_positions": liq_n,
            "liquidation_fills": liq_n, "bad_debt": st[:, nb.ST_BAD_DEBT],
            "fund_paid": zero if vault else ins_paid, "vault_paid": ins_paid if vault else zero,
            "pool_paid": st[:, nb.ST_POOL_PAID], "broker_paid": st[:, nb.ST_BROKER_PAID],
            "adl_paid": st[:, nb.ST_ADL_COVERED], "venue_paid": st[:, nb.ST_SHORTFALL],
            "adl_notional": o.adl_notional.sum(axis=(1, 2)), "adl_accounts": hook.accounts_per_path,
            "profit_cap_haircut": o.adl_haircut.sum(axis=(1, 2)) if params.adl.trigger == "pnl_to_pool" else zero,
            "liquidation_fees": st[:, nb.ST_FEE_INSURANCE] + st[:, nb.ST_FEE_POOL] + st[:, nb.ST_FEE_VENUE],
            ("vault_pnl" if vault else "fund_pnl"): st[:, nb.ST_INSURANCE] - rules.insurance_initial,
        }
        bearers = {name: float(sum(per[k].mean() for k in keys)) for name, keys in BEARERS.items()}
        summary = VenueSummary(params.name, params.display, params.counterparty, {m: _stats(v) for m, v in per.items()},
                               bearers, 0, {m: v.tolist() for m, v in per.items()},
                               params.model_dump(exclude={"sources"}))
        summary.adl_hook = {k: v for k, v in res.adl.items() if k != "events"}
        out.append(summary)
    return out


from defi_perps.report.style import usd as _usd  # noqa: E402  one number style across commands


def bearer_text(s: VenueSummary) -> str:
    tot = sum(s.bearers.values())
    cap = s.metrics["profit_cap_haircut"]["mean"]
    extra = f" (+ profit cap on winners {_usd(cap)})" if cap > 0 else ""
    if tot <= 0:
        return "none" + extra
    parts = sorted(((v / tot, k) for k, v in s.bearers.items() if v > 0), reverse=True)
    return " · ".join(f"{k} {share:.0%}" for share, k in parts) + extra


def _counterparty_key(s: VenueSummary) -> str:
    key = {"pool": "pool_pnl", "broker": "broker_pnl"}.get(s.counterparty)
    if key is None:
        key = "vault_pnl" if s.venue == "hyperliquid" else "fund_pnl"
    return key


def counterparty_pnl(s: VenueSummary) -> tuple[str, dict[str, float] | None]:
    """The counterparty's P&L statistics, or None where the backend does not track it."""
    key = _counterparty_key(s)
    label = {"pool_pnl": "pool", "broker_pnl": "broker", "vault_pnl": "HLP vault", "fund_pnl": "ins. fund"}[key]
    return label, s.metrics.get(key)


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
        cp_text = "n/a (engine)"
        if cp is not None:
            per = np.asarray(s.per_path[_counterparty_key(s)])
            cp_text = f"{label} {_usd(cp['mean'])} / {_usd(float(np.percentile(per, 5)))}→{_usd(cp['p95'])}"
        t.add_row(s.display,
                  f"{_usd(m['liquidated_notional']['mean'])} / {_usd(m['liquidated_notional']['p95'])}",
                  f"{m['liquidated_positions']['mean']:,.1f}",
                  f"{_usd(m['bad_debt']['mean'])} / {_usd(m['bad_debt']['p95'])} / {_usd(m['bad_debt']['p99'])}",
                  f"{_usd(used_mean)} / {_usd(used_p99)}",
                  f"{_usd(m['adl_notional']['mean'])} / {_usd(m['adl_notional']['p99'])}",
                  f"{m['adl_accounts']['mean']:,.1f}",
                  bearer_text(s),
                  cp_text)
    return t


def engine_cross_check(book: Book, venues: list[VenueParams], setup: RunSetup, n_paths: int,
                       seed: int) -> dict[str, Any]:
    """Run each venue through the numba cascade engine (aggregate rules, :mod:`defi_perps.venues.rules`)
    on the same book, the same depth and the same exogenous paths (same setup and seed: the engine
    draws exactly the paths the account-level model ran on). Funding is left out on both sides (the
    account-level model does not accrue it), so the two differ by their rules only. Aggregate
    figures only: the engine deleverages pro-rata per side and has no per-account ranking, backstop
    takeover by account, Bybit/OKX drawdown trigger or broker hedging (see ``NOT_IN_ENGINE``)."""
    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.venues.rules import NOT_IN_ENGINE, engine_rules_for

    out: dict[str, Any] = {"note": "aggregate engine (numba) on the same exogenous paths; differences from the "
                                   "account-level model are listed in not_in_engine", "not_in_engine": NOT_IN_ENGINE,
                           "venues": {}}
    for params in venues:
        res = simulate(book, engine_rules_for(params, book, setup.step_seconds), model=setup.model, depth=setup.depth,
                       config=SimulationConfig(n_paths=n_paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds,
                                               seed=seed, n_detail=0),
                       base_log=setup.base_log)
        st = res.stats()
        out["venues"][params.name] = {k: {"mean": st[k].get("mean", 0.0), "p99": st[k].get("quantiles", {}).get("p99", 0.0)}
                                      for k in ("liquidated_notional_usd", "liquidations", "bad_debt_usd",
                                                "insurance_paid_usd", "pool_paid_usd", "broker_paid_usd",
                                                "adl_notional_usd", "adl_haircut_usd", "shortfall_usd")}
    return out


def exogenous_extremes(book: Book, setup: RunSetup, n_paths: int, seed: int, chunk: int = 256) -> dict[str, np.ndarray]:
    """Per path and market: minimum and final exogenous price (the engine's ``min_exog`` /
    ``final_exog`` for the same setup and seed), drawn chunk by chunk."""
    lo = np.empty((n_paths, book.n_markets))
    fin = np.empty((n_paths, book.n_markets))
    p0 = book.price.astype(np.float64)
    for a in range(0, n_paths, chunk):
        x = p0[None, None, :] * price_multipliers(setup, book.n_markets, seed, a, min(n_paths, a + chunk))
        lo[a:a + x.shape[0]] = x.min(axis=1)
        fin[a:a + x.shape[0]] = x[:, -1, :]
    return {"exogenous_min_price": lo, "exogenous_final_price": fin}


def render_engine_table(summaries: list[VenueSummary], engine: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="Cross-check: account-level venue model vs numba cascade engine (means across paths)",
              caption="Same book, depth and exogenous paths; the engine runs the venues' aggregate rules.")
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


def write_adl_events(path: str, book: Book, venues: list[VenueParams], setup: RunSetup, seed: int,
                     adl_policy: str = "venue") -> int:
    """Write the ADL events of the first path of every venue to ``path`` in the ``adl replay`` CSV
    format (:mod:`defi_perps.adl`), so simulated events can be replayed under other policies.
    Returns the number of rows written."""
    import csv

    ext = price_multipliers(setup, book.n_markets, seed, 0, 1)[0]
    rows: list[dict[str, Any]] = []
    for params in venues:
        run = VenueRun(params, book, setup.depth, adl_policy=adl_policy, step_seconds=setup.step_seconds)
        run.record_events = True
        run.run_path(ext)
        rows.extend(run.events)
    cols = ["event", "shortfall", "account", "side", "size", "entry", "mark", "equity", "pnl"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# ADL events from defi-perps compare: first path (seed {seed}), {setup.describe()}\n")
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return len(rows)
