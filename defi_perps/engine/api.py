"""Python facade of the engine: validate, allocate, run the kernel in chunks, wrap the result.

>>> from defi_perps.book import synthetic_book
>>> from defi_perps.engine import simulate, SimulationConfig
>>> result = simulate(synthetic_book(1000, seed=1), config=SimulationConfig(n_paths=100, n_steps=60, seed=7))
>>> result.summary()["bad_debt_usd"]  # doctest: +SKIP

Paths run in chunks so a progress callback can report; each path has its own random stream and
resets its scratch, so chunking and thread count do not change results.

Memory: per-path results are O(paths × markets); :func:`result_bytes` estimates them and
:func:`simulate` refuses, in one line, a run whose results would not fit ``max_result_bytes``
(default 4 GiB, ``DEFI_PERPS_MAX_RESULT_BYTES``) instead of trying to allocate them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine import hedger_nb, nb
from defi_perps.engine._jit import jit_disabled, kernel_cache_dir, kernels_cached
from defi_perps.engine.codes import N_PARTIES
from defi_perps.engine.inputs import (DepthSpec, Funding, HedgerConfig, PriceModel, prepare_hedger, prepare_markets,
                                     prepare_positions)
from defi_perps.engine.liquidity import Withdrawal
from defi_perps.engine.results import SimulationResult
from defi_perps.engine.rules import GENERIC, MAX_PENDING, VenueRules
from defi_perps.exceptions import EngineInputError

DEFAULT_MAX_RESULT_BYTES = 4 * 2**30
MAX_DETAIL_BYTES = 512 * 2**20


@dataclass
class SimulationConfig:
    n_paths: int = 1000
    n_steps: int = 1440
    step_seconds: float = 60.0
    seed: int = 0
    record_every: int | None = None     # insurance-fund trajectory resolution (default: ~96 points)
    n_detail: int = 8                   # paths with per-step detail (liquidations, marks)
    max_events: int = 64                # ADL/shortfall events kept per path (all are counted)
    threads: int | None = None          # numba threads (default: numba's)
    chunk_paths: int | None = None      # paths per kernel call (progress granularity)
    max_result_bytes: int | None = None

    def check(self) -> None:
        if self.n_paths < 1:
            raise EngineInputError("--paths must be at least 1")
        if self.n_steps < 1:
            raise EngineInputError("the horizon must hold at least one step")
        if not self.step_seconds > 0:
            raise EngineInputError("--step must be positive")
        if self.seed < 0 or self.seed >= 2**63:
            raise EngineInputError("--seed must be a non-negative 63-bit integer")
        if self.threads is not None and self.threads < 1:
            raise EngineInputError("--threads must be at least 1")
        if self.n_detail < 0 or self.max_events < 0:
            raise EngineInputError("--detail-paths and max_events must be >= 0")


def result_bytes(n_paths: int, n_markets: int, n_steps: int, record_every: int, max_events: int) -> int:
    """Bytes of per-path results (everything except the per-step detail)."""
    per_path = 8 * (6 * 2 * n_markets + 8 * n_markets + nb.N_TOT + N_PARTIES + n_steps // record_every + 1)
    per_path += nb.event_dt.itemsize * max_events
    return n_paths * per_path


def detail_bytes(n_detail: int, n_markets: int, n_steps: int, n_positions: int = 0) -> int:
    return n_detail * (n_steps * n_markets * 2 * 16 + (n_steps + 1) * n_markets * 16 + 8 * n_positions)


def allocate_outputs(n_paths: int, n_markets: int, n_steps: int, record_every: int, n_detail: int,
                     max_events: int, n_positions: int = 0, hedger: bool = False) -> nb.Outputs:
    p, m = n_paths, n_markets
    d = min(n_detail, n_paths)
    r = n_steps // record_every
    totals = np.zeros(p, nb.totals_dt)
    return nb.Outputs(
        liq_count=np.zeros((p, m, 2), np.int64), liq_notional=np.zeros((p, m, 2)),
        backstop_notional=np.zeros((p, m, 2)), adl_count=np.zeros((p, m, 2), np.int64),
        adl_notional=np.zeros((p, m, 2)), adl_haircut=np.zeros((p, m, 2)), bad_debt=np.zeros((p, m)),
        depth_capped=np.zeros((p, m), np.int64),
        min_mark=np.zeros((p, m)), max_mark=np.zeros((p, m)), final_mark=np.zeros((p, m)),
        min_exog=np.zeros((p, m)), max_exog=np.zeros((p, m)), final_exog=np.zeros((p, m)),
        totals=totals.view(np.float64).reshape(p, nb.N_TOT), parties=np.zeros((p, N_PARTIES)),
        insurance_path=np.zeros((p, r)),
        events=np.zeros((p, max_events), nb.event_dt), n_events=np.zeros(p, np.int64),
        det_liq_notional=np.zeros((d, n_steps, m, 2)), det_liq_count=np.zeros((d, n_steps, m, 2), np.int64),
        det_mark=np.zeros((d, n_steps + 1, m)),
        det_exog=np.zeros((d, n_steps + 1, m)), det_rem=np.ones((d, n_positions)),
        hedger=np.zeros((p if hedger else 0, hedger_nb.N_H)),
        wd_min=np.ones((p, m)), wd_thin=np.zeros((p, m), np.int64), det_wd=np.ones((d, n_steps + 1, m)))


def checked_inputs(config: SimulationConfig | None, model: PriceModel | None, depth: DepthSpec | None,
                   rules: object, engine: str) -> tuple[SimulationConfig, PriceModel, DepthSpec, int]:
    """The defaults and checks every engine entry point shares (:func:`simulate` and
    :func:`defi_perps.engine.stream.simulate_streaming`): (config, model, depth, record_every)."""
    config = config or SimulationConfig()
    config.check()
    if not isinstance(rules, VenueRules):
        raise EngineInputError("rules must be a VenueRules (see defi_perps.engine.rules.make_rules)")
    if engine not in {"auto", "numba", "reference"}:
        raise EngineInputError(f"unknown engine {engine!r}")
    return config, model or PriceModel(), depth or DepthSpec(), config.record_every or max(1, config.n_steps // 96)


def simulate(book: Book, rules: VenueRules = GENERIC, model: PriceModel | None = None,
             depth: DepthSpec | None = None, funding: Funding | None = None,
             config: SimulationConfig | None = None, base_log: np.ndarray | None = None,
             progress: Callable[[int], None] | None = None, engine: str = "auto",
             scenario: dict | None = None, position_mm: tuple[np.ndarray, np.ndarray] | None = None,
             notice: Callable[[str], None] | None = None,
             adl_observer: Callable[[dict, list], None] | None = None,
             depth_multiplier: np.ndarray | None = None,
             thresholds: np.ndarray | None = None, hedger: HedgerConfig | None = None,
             withdrawal: Withdrawal | None = None) -> SimulationResult:
    """Run the Monte Carlo; ``engine`` is ``"auto"`` (kernel unless JIT is disabled), ``"numba"``
    or ``"reference"`` (the plain-Python twin). ``base_log`` is the deterministic log-price path
    ``float64[n_steps + 1, M]`` (shock or replay) the stochastic part rides on. ``position_mm``:
    per-position maintenance classes (int16 codes, table of rate, amount, mark-based) from a venue's
    per-market tables. ``notice`` receives
    one-line messages (the first run says it is compiling). ``adl_observer(event, candidates)``
    sees every ADL event with its candidate accounts; it runs the plain-Python twin.
    ``depth_multiplier`` (float64[n_steps + 1, bands]): each band's depth at each step relative to
    ``depth`` (a scenario's ``[[depth_schedule]]``: depth that empties and recovers over the path).
    ``thresholds`` (float64[N], book order, NaN = unknown): each position's exact trigger price from
    the protocol's math (GMX v2), used instead of the engine's formula where finite. ``hedger``: a
    delta-neutral hedger whose perp short is one of the book's positions (``result.outputs.hedger``
    holds its P&L by cause per path, columns ``hedger_nb.H``). ``withdrawal``
    (:func:`defi_perps.engine.liquidity.load_withdrawal`; None = off): the makers' depth withdraws
    with volatility, their drawdown and ADL against them, and recovers (on top of the schedule)."""
    config, model, depth, record_every = checked_inputs(config, model, depth, rules, engine)
    limit = config.max_result_bytes or int(os.environ.get("DEFI_PERPS_MAX_RESULT_BYTES", DEFAULT_MAX_RESULT_BYTES))
    need = result_bytes(config.n_paths, book.n_markets, config.n_steps, record_every, config.max_events)
    if need > limit:
        raise EngineInputError(f"--paths {config.n_paths:,} needs ~{need / 2**30:,.1f} GiB of per-path results "
                               f"(limit {limit / 2**30:,.1f} GiB, DEFI_PERPS_MAX_RESULT_BYTES); use fewer paths")
    n_detail = min(config.n_detail, config.n_paths)
    if detail_bytes(n_detail, book.n_markets, config.n_steps, book.n_positions) > MAX_DETAIL_BYTES:
        raise EngineInputError(f"--detail-paths {config.n_detail} × {config.n_steps} steps × {book.n_markets} markets "
                               f"needs more than {MAX_DETAIL_BYTES // 2**20} MiB; use fewer detail paths")
    book.validate()
    pos, sorted_order = prepare_positions(book, rules, position_mm, thresholds)
    if hedger is not None:   # finds its short's sorted index in the permutation
        h_i, h_f, h_lat = prepare_hedger(hedger, book, sorted_order, config.n_paths, config.step_seconds)
        pos = pos._replace(hedger_i=h_i, hedger_f=h_f, hedger_lat=h_lat)
    # only the detail paths' remaining fractions need the permutation: 4 B per position less
    order = sorted_order if n_detail else None
    del sorted_order
    mk = prepare_markets(book, rules, depth, funding, config.step_seconds, depth_multiplier, config.n_steps,
                         withdrawal)
    ma = model.arrays(book.n_markets, config.n_steps, config.step_seconds, base_log)
    out = allocate_outputs(config.n_paths, book.n_markets, config.n_steps, record_every, n_detail, config.max_events,
                           book.n_positions, hedger is not None)
    use_reference = engine == "reference" or (engine == "auto" and jit_disabled()) or adl_observer is not None
    if use_reference:
        import functools

        from defi_perps.engine.reference import simulate_chunk_reference

        run_chunk = functools.partial(simulate_chunk_reference, observer=adl_observer)
    else:
        run_chunk = nb.simulate_chunk
        if notice is not None and not nb.simulate_chunk.signatures and not kernels_cached():
            notice(f"compiling the engine's kernels (first run, about a minute; cached in {kernel_cache_dir()})")
    chunk = config.chunk_paths or max(1, min(config.n_paths, max(64, config.n_paths // 50)))
    threads_before = None
    if config.threads is not None and not use_reference:
        import numba

        threads_before = numba.get_num_threads()
        numba.set_num_threads(min(config.threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    n_threads = 1 if use_reference else _threads()
    try:
        for lo in range(0, config.n_paths, chunk):
            hi = min(config.n_paths, lo + chunk)
            n_chunks = max(1, min(hi - lo, 4 * n_threads))
            run_chunk(lo, hi, n_chunks, config.seed, config.n_steps, record_every, n_detail, MAX_PENDING, pos, mk, ma,
                      rules, out)
            if progress is not None:
                progress(hi - lo)
    finally:
        if threads_before is not None:
            import numba

            numba.set_num_threads(threads_before)
    return SimulationResult(book=book, rules=rules, config=config, model=model, depth=depth, outputs=out,
                            record_every=record_every, engine="reference" if use_reference else "numba",
                            scenario=scenario or {}, position_order=order,
                            threads=None if use_reference else n_threads, withdrawal=withdrawal)


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def engine_bytes_per_position() -> int:
    """Bytes the kernel's inputs hold per position: threshold, size, entry, collateral USD and
    tokens (float64) and the account (int32). Per thread it adds the remaining fraction (float64)
    and the touched list (int32), and where ADL can fire the candidate scratch (20 B)."""
    return 5 * np.dtype(np.float64).itemsize + np.dtype(np.int32).itemsize


__all__ = ["SimulationConfig", "allocate_outputs", "engine_bytes_per_position", "result_bytes", "simulate"]
