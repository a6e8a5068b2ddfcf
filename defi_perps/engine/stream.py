"""Streamed simulation: any number of paths in bounded memory.

:func:`simulate_streaming` runs the same kernel as :func:`defi_perps.engine.api.simulate` on chunks
of ``chunk_paths`` paths; row ``p`` of a chunk starting at path ``lo`` is global path ``lo + p``
(its own SplitMix64 stream), so path ``k`` is the same path in a streamed run and in a plain one
(``tests/engine/test_stream.py``). After each chunk its per-path totals, who-paid and party
balances go into :class:`~defi_perps.engine.sketch.StreamingStats` (count, compensated mean,
min, max and a fixed-size quantile sketch each) and the chunk's arrays are dropped. Memory is the
book's arrays, one chunk's per-path results and the sketches (about 80 KB per quantity), whatever
``n_paths`` is; the detail paths (per-step records) are the first ``n_detail`` paths, kept from the
first chunk, and bounded as in ``simulate``.

The summary has the shape of ``SimulationResult.summary()`` (means, ``paid_by``, ``parties``,
``tails``) with tail quantiles from the sketches (relative error ≤ ``alpha``, see ``sketch.py``)
and says so under ``streamed`` and ``tails_method: "sketch"``.

**When the CLI streams** (:func:`plan_run`): ``simulate`` and ``compare`` keep the plain run (every
path's results in memory, exact quantiles) while its per-path results (:func:`~defi_perps.engine.api.result_bytes`)
fit the result budget, ``DEFAULT_RESULT_BUDGET_BYTES`` (1 GiB; ``--result-budget MIB``). Above it they
stream in chunks of at most ``min(budget, MAX_STREAM_CHUNK_BYTES)`` of per-path results. A run of
more than ``MAX_MARKET_STEPS`` (10^10) path × step × market updates (hours of CPU; a small book ran
~6·10^5 market-steps per second per thread here, per-path overhead included) is refused in one
line before anything is allocated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine import nb
from defi_perps.engine._jit import jit_disabled, kernel_cache_dir, kernels_cached
from defi_perps.engine.api import (MAX_DETAIL_BYTES, SimulationConfig, allocate_outputs, checked_inputs,
                                   detail_bytes, result_bytes)
from defi_perps.engine.codes import Absorber
from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel, prepare_markets, prepare_positions
from defi_perps.engine.results import PAID_BY, PARTY_NAMES, SimulationResult
from defi_perps.engine.rules import GENERIC, MAX_PENDING, VenueRules
from defi_perps.engine.sketch import StreamingStats
from defi_perps.exceptions import EngineInputError

TOTALS: tuple[str, ...] = tuple(nb.totals_dt.names or ())
DEFAULT_CHUNK_PATHS = 4096
MAX_STREAM_CHUNK_BYTES = 256 * 2**20
DEFAULT_RESULT_BUDGET_BYTES = 2**30      # per-path results kept in memory before a run streams
MAX_MARKET_STEPS = 10**10                # path × step × market updates one command runs (hours of CPU)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """How a run of ``n_paths`` is executed: plain (all per-path results in memory) or streamed."""

    n_paths: int
    streamed: bool
    chunk_paths: int
    n_chunks: int
    result_bytes: int        # per-path results of the whole run, were it plain
    chunk_bytes: int         # per-path results held at once


def plan_run(n_paths: int, n_markets: int, n_steps: int, max_events: int = 64,
             budget_bytes: int | None = None, record_every: int | None = None) -> RunPlan:
    """Plain while the per-path results fit ``budget_bytes`` (default ``DEFAULT_RESULT_BUDGET_BYTES``),
    else streamed in chunks that fit ``min(budget, MAX_STREAM_CHUNK_BYTES)``; refuses (one line,
    :class:`EngineInputError`) a run of more than ``MAX_MARKET_STEPS`` market-steps. Allocates nothing."""
    budget = DEFAULT_RESULT_BUDGET_BYTES if budget_bytes is None else int(budget_bytes)
    if budget < 1:
        raise EngineInputError("the result budget must be positive")
    work = n_paths * n_steps * max(1, n_markets)
    if work > MAX_MARKET_STEPS:
        raise EngineInputError(f"--paths {n_paths:,} × {n_steps:,} steps × {n_markets} market(s) = {work:.2e} "
                               f"market-steps, more than the {MAX_MARKET_STEPS:.0e} one command runs (hours of CPU); "
                               "use fewer paths or a shorter horizon")
    rec = record_every or max(1, n_steps // 96)
    total = result_bytes(n_paths, n_markets, n_steps, rec, max_events)
    if total <= budget:
        return RunPlan(n_paths, False, n_paths, 1, total, total)
    per_path = result_bytes(1, n_markets, n_steps, rec, max_events)
    chunk = max(1, min(n_paths, min(budget, MAX_STREAM_CHUNK_BYTES) // per_path))
    return RunPlan(n_paths, True, chunk, -(-n_paths // chunk), total, chunk * per_path)


@dataclasses.dataclass
class StreamingResult:
    """Aggregates of a streamed run: ``stats`` over every path, the first chunk's detail paths."""

    book: Book
    rules: VenueRules
    config: SimulationConfig
    stats: StreamingStats
    chunk_paths: int
    depth_capped_count: int
    depth_capped_paths: int
    depth_capped_markets: list[str]
    detail: SimulationResult | None     # the first chunk (its first n_detail paths carry the detail)
    venue: str = "generic"
    venue_info: dict[str, Any] = dataclasses.field(default_factory=dict)
    scenario: dict[str, Any] = dataclasses.field(default_factory=dict)
    engine: str = "numba"
    threads: int | None = None
    record_every: int = 1
    markets: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)   # per-market sums/min/max
    events: dict[str, int] = dataclasses.field(default_factory=dict)
    withdrawal: Any = None

    @property
    def streamed(self) -> bool:
        return True

    def describe(self, name: str, loss: bool = False) -> dict[str, Any]:
        """``results.describe``'s shape from the stream (quantiles from the sketch; no std)."""
        sk = self.stats.sketch[name]
        out: dict[str, Any] = {"n": self.stats.count, "mean": self.stats.mean(name), "min": self.stats.min[name],
                               "max": self.stats.max[name],
                               "quantiles": {f"p{q}": sk.quantile(q / 100) for q in (5, 25, 50, 75, 95, 99)}}
        if loss:
            for a in (0.95, 0.99):
                var = sk.quantile(a)
                out[f"var{round(a * 100)}"] = var
                out[f"es{round(a * 100)}"] = max(sk.tail_mean(a), var)
        return out

    def _market_mean(self, key: str, m: int) -> float:
        return float(self.markets[key + ".sum"][m] / self.stats.count)

    def exogenous(self) -> dict[str, Any]:
        """Per market: the exogenous price's drop and final level (mean, min, max over every path)."""
        out = {}
        for m, name in enumerate(self.book.market_names):
            out[name] = {k: {"n": self.stats.count, "mean": self._market_mean(src, m),
                             "min": float(self.markets[k + ".min"][m]), "max": float(self.markets[k + ".max"][m])}
                         for k, src in (("min_price_drop", "exog_drop"), ("final_price", "final_price"))}
        return out

    def stats_dict(self) -> dict[str, Any]:
        """``SimulationResult.stats()``'s shape: loss metrics from the sketch, per market means only."""
        d = self.describe
        per_market: dict[str, Any] = {}
        for m, name in enumerate(self.book.market_names):
            row: dict[str, Any] = {k: {"n": self.stats.count, "mean": self._market_mean(k, m)}
                   for k in ("liquidated_notional_long_usd", "liquidated_notional_short_usd", "bad_debt_usd",
                             "min_price_drop")}
            row["exogenous_min_price_drop"] = {"n": self.stats.count, "mean": self._market_mean("exog_drop", m)}
            row["start_price"] = float(self.book.price[m])
            row["cascade_amplification"] = {"n": 0}     # a per-path ratio: not kept when streamed
            per_market[name] = row
        vault = self.rules.bad_debt_absorber == Absorber.VAULT
        return {
            "bad_debt_usd": d("bad_debt", True), "shortfall_usd": d("uncovered", True),
            "liquidated_notional_usd": d("liq_notional", True), "liquidations": d("liquidations"),
            "backstop_notional_usd": d("backstop_notional", True), "adl_notional_usd": d("adl_notional", True),
            "adl_haircut_usd": d("adl_haircut", True), "adl_accounts": d("adl_accounts"),
            "insurance_fund_final_usd": d("fund"), "insurance_fund_min_usd": d("fund_min"),
            "insurance_paid_usd": d("paid_by.backstop_vault" if vault else "paid_by.insurance_fund", True),
            "pool_paid_usd": d("paid_by.pool", True), "broker_paid_usd": d("paid_by.broker", True),
            "liquidation_fees_usd": d("liq_fees"), "cascade_steps_not_converged": d("nonconverged"),
            "markets": per_market,
        }

    def to_dict(self, include_paths: bool = False) -> dict[str, Any]:
        """``SimulationResult.to_dict``'s shape (no per-path arrays: they are never all in memory)."""
        from defi_perps.engine.results import _clean

        if include_paths:
            raise EngineInputError(f"--paths {self.stats.count:,} runs streamed (per-path results above the result "
                                   "budget): per-path arrays are not kept; use fewer paths")
        cfg = self.config
        det = self.detail
        out: dict[str, Any] = {
            **self.summary(),
            "venue_info": self.venue_info, "book": self.book.summary(),
            "run": {"paths": cfg.n_paths, "steps": cfg.n_steps, "step_seconds": cfg.step_seconds, "seed": cfg.seed,
                    "engine": self.engine, "threads": self.threads, "insurance_record_every_steps": self.record_every,
                    "chunk_paths": self.chunk_paths},
            "scenario": self.scenario, "stats": self.stats_dict(), "events": self.events,
            "mean_step_liquidated_notional_usd": det.step_profile().tolist() if det is not None else [],
        }
        return _clean(out)

    def mean(self, name: str) -> float:
        return self.stats.mean(name)

    def tail(self, name: str) -> dict[str, float]:
        sk = self.stats.sketch[name]
        p99 = sk.quantile(0.99)
        return {"p50": sk.quantile(0.5), "p95": sk.quantile(0.95), "p99": p99, "var99": p99,
                "es99": max(sk.tail_mean(0.99), p99), "max": self.stats.max[name]}

    def summary(self) -> dict[str, Any]:
        m = self.stats.mean
        return {
            "venue": self.venue,
            "rules": self.rules.to_dict(),
            "liquidated_notional_usd": m("liq_notional"),
            "liquidations": m("liquidations"),
            "bad_debt_usd": m("bad_debt"),
            "adl_notional_usd": m("adl_notional"),
            "adl_accounts": m("adl_accounts"),
            "adl_haircut_usd": m("adl_haircut"),
            "paid_by": {k: m(f"paid_by.{k}") for k in PAID_BY},
            "parties": {k: m(f"parties.{k}") for k in PARTY_NAMES},
            "fund": {"initial_usd": float(self.rules.insurance_initial), "final_mean_usd": m("fund"),
                     "min_usd": self.stats.min["fund_min"],
                     "kind": "backstop_vault" if self.rules.bad_debt_absorber == Absorber.VAULT else "insurance_fund"},
            "backstop_notional_usd": m("backstop_notional"),
            "liquidation_fees_usd": m("liq_fees"),
            "hedge_notional_usd": m("hedge_notional"),
            "tails": {"liquidated_notional_usd": self.tail("liq_notional"), "bad_debt_usd": self.tail("bad_debt"),
                      "adl_notional_usd": self.tail("adl_notional"), "uncovered_usd": self.tail("uncovered")},
            "depth_capped": {"count": self.depth_capped_count, "paths": self.depth_capped_paths,
                             "markets": self.depth_capped_markets},
            "cascade_steps_not_converged": m("nonconverged") * self.stats.count,
            "streamed": {"paths": self.stats.count, "chunk_paths": self.chunk_paths,
                         "quantile_relative_error": self.stats.alpha,
                         "sketch_bytes": sum(s.nbytes for s in self.stats.sketch.values())},
            # tail quantiles come from the mergeable sketch (engine/sketch.py): |q̃ − q| ≤ alpha·|q|
            "tails_method": "sketch", "tails_relative_error": self.stats.alpha,
            "withdrawal": {"on": self.withdrawal is not None},
            **self._ccp_summary(),
        }

    def _ccp_summary(self) -> dict[str, Any]:
        if not self.rules.ccp:
            return {}
        m = self.stats.mean
        layers = ("defaulter_guarantee_fund", "ccp_capital", "mutualised_guarantee_fund", "assessments",
                  "vm_gains_haircut")
        return {"clearing_house": {
            "settlements_mean": m("settlements"), "halted_market_steps_mean": m("halt_steps"),
            "locked_markets_at_end_mean": m("locked_at_end"), "defaulter_margin_usd": m("defaulter_margin"),
            "waterfall_usd": {k: m(f"paid_by.{k}") for k in layers},
            "uncovered_usd": m("uncovered"), "adl_notional_usd": m("adl_notional")}}


def _chunk_values(res: SimulationResult) -> dict[str, np.ndarray]:
    t = res.totals
    vals = {name: np.asarray(t[name]) for name in TOTALS}
    vals.update({f"paid_by.{k}": v for k, v in res.paid_by().items()})
    vals.update({f"parties.{k}": v for k, v in res.parties().items()})
    return vals


def simulate_streaming(book: Book, rules: VenueRules = GENERIC, model: PriceModel | None = None,
                       depth: DepthSpec | None = None, funding: Funding | None = None,
                       config: SimulationConfig | None = None, base_log: np.ndarray | None = None,
                       position_mm: tuple[np.ndarray, np.ndarray] | None = None,
                       depth_multiplier: np.ndarray | None = None, thresholds: np.ndarray | None = None,
                       chunk_paths: int = DEFAULT_CHUNK_PATHS, alpha: float = 0.005,
                       engine: str = "auto", progress: Callable[[int], None] | None = None,
                       notice: Callable[[str], None] | None = None, scenario: dict | None = None,
                       withdrawal: Any = None) -> StreamingResult:
    """``config.n_paths`` paths in chunks of ``chunk_paths``; see the module docstring. ``progress(n)``
    after each chunk of ``n`` paths; ``config.threads`` numba threads; ``notice`` and ``withdrawal``
    as in :func:`~defi_perps.engine.api.simulate` (the withdrawal counterfactual is not run here)."""
    config, model, depth, record_every = checked_inputs(config, model, depth, rules, engine)
    if chunk_paths < 1:
        raise EngineInputError("chunk_paths must be at least 1")
    chunk = min(chunk_paths, config.n_paths)
    if result_bytes(chunk, book.n_markets, config.n_steps, record_every, config.max_events) > MAX_STREAM_CHUNK_BYTES:
        raise EngineInputError(f"chunk_paths {chunk:,} needs more than {MAX_STREAM_CHUNK_BYTES // 2**20} MiB of "
                               "per-path results per chunk; use smaller chunks")
    n_detail = min(config.n_detail, chunk)
    if detail_bytes(n_detail, book.n_markets, config.n_steps, book.n_positions) > MAX_DETAIL_BYTES:
        raise EngineInputError(f"--detail-paths {config.n_detail} × {config.n_steps} steps × {book.n_markets} markets "
                               f"needs more than {MAX_DETAIL_BYTES // 2**20} MiB; use fewer detail paths")
    book.validate()
    pos, order = prepare_positions(book, rules, position_mm, thresholds)
    mk = prepare_markets(book, rules, depth, funding, config.step_seconds, depth_multiplier, config.n_steps,
                         withdrawal)
    ma = model.arrays(book.n_markets, config.n_steps, config.step_seconds, base_log)
    use_reference = engine == "reference" or (engine == "auto" and jit_disabled())
    if use_reference:
        from defi_perps.engine.reference import simulate_chunk_reference as run_chunk
    else:
        run_chunk = nb.simulate_chunk
        if notice is not None and not nb.simulate_chunk.signatures and not kernels_cached():
            notice(f"compiling the engine's kernels (first run, about a minute; cached in {kernel_cache_dir()})")
    names = list(TOTALS) + [f"paid_by.{k}" for k in PAID_BY] + [f"parties.{k}" for k in PARTY_NAMES]
    stats = StreamingStats(names, alpha)
    capped_count = capped_paths = 0
    capped_any = np.zeros(book.n_markets, bool)
    detail = None
    m_keys = ("liquidated_notional_long_usd", "liquidated_notional_short_usd", "bad_debt_usd", "min_price_drop",
              "exog_drop", "final_price")
    markets: dict[str, np.ndarray] = {}
    for k in m_keys:
        markets[k + ".sum"] = np.zeros(book.n_markets)
    for k in ("min_price_drop", "final_price"):
        markets[k + ".min"] = np.full(book.n_markets, np.inf)
        markets[k + ".max"] = np.full(book.n_markets, -np.inf)
    events = {"events_total": 0, "events_recorded": 0, "adl_bankrupt": 0, "adl_pnl_factor": 0, "shortfall": 0,
              "paths_with_uncovered": 0}
    threads_before = None
    if config.threads is not None and not use_reference:
        import numba

        threads_before = numba.get_num_threads()
        numba.set_num_threads(min(config.threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    n_threads = 1 if use_reference else _threads()
    p0 = book.price[None, :]
    try:
        for lo in range(0, config.n_paths, chunk):
            n = min(chunk, config.n_paths - lo)
            d = n_detail if lo == 0 else 0
            out = allocate_outputs(n, book.n_markets, config.n_steps, record_every, d, config.max_events,
                                   book.n_positions)
            run_chunk(0, n, max(1, min(n, 4 * n_threads)), config.seed, config.n_steps, record_every, d,
                      MAX_PENDING, pos, mk, ma, rules, out, p_base=lo)
            res = SimulationResult(book=book, rules=rules, config=dataclasses.replace(config, n_paths=n),
                                   model=model, depth=depth, outputs=out, record_every=record_every,
                                   engine="reference" if use_reference else "numba",
                                   position_order=order if d else None)
            stats.update(_chunk_values(res))
            c = out.depth_capped
            capped_count += int(c.sum())
            capped_paths += int((c.sum(axis=1) > 0).sum())
            capped_any |= c.any(axis=0)
            per_m = {"liquidated_notional_long_usd": out.liq_notional[:, :, 0],
                     "liquidated_notional_short_usd": out.liq_notional[:, :, 1], "bad_debt_usd": out.bad_debt,
                     "min_price_drop": 1.0 - out.min_mark / p0, "exog_drop": 1.0 - out.min_exog / p0,
                     "final_price": out.final_exog}
            for k, v in per_m.items():
                markets[k + ".sum"] += v.sum(axis=0)
            for k, v in (("min_price_drop", per_m["exog_drop"]), ("final_price", out.final_exog)):
                markets[k + ".min"] = np.minimum(markets[k + ".min"], v.min(axis=0))
                markets[k + ".max"] = np.maximum(markets[k + ".max"], v.max(axis=0))
            for k, v in res.events_summary().items():
                events[k] += int(v)
            if lo == 0:
                detail = res
            if progress is not None:
                progress(n)
    finally:
        if threads_before is not None:
            import numba

            numba.set_num_threads(threads_before)
    return StreamingResult(book=book, rules=rules, config=config, stats=stats, chunk_paths=chunk,
                           depth_capped_count=capped_count, depth_capped_paths=capped_paths,
                           depth_capped_markets=[book.market_names[m] for m in np.flatnonzero(capped_any)],
                           detail=detail, scenario=scenario or {}, engine="reference" if use_reference else "numba",
                           threads=None if use_reference else n_threads, record_every=record_every,
                           markets=markets, events=events, withdrawal=withdrawal)


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


__all__ = ["DEFAULT_RESULT_BUDGET_BYTES", "MAX_MARKET_STEPS", "RunPlan", "StreamingResult", "plan_run",
           "simulate_streaming"]

