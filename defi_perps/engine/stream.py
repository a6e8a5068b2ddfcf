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
and says so under ``streamed``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.engine import nb
from defi_perps.engine._jit import jit_disabled
from defi_perps.engine.api import (MAX_DETAIL_BYTES, SimulationConfig, allocate_outputs, detail_bytes,
                                   result_bytes)
from defi_perps.engine.codes import Absorber
from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel, prepare_markets, prepare_positions
from defi_perps.engine.results import PAID_BY, PARTY_NAMES, SimulationResult
from defi_perps.engine.rules import GENERIC, MAX_PENDING, VenueRules
from defi_perps.engine.sketch import StreamingStats
from defi_perps.exceptions import EngineInputError

TOTALS: tuple[str, ...] = tuple(nb.totals_dt.names or ())
DEFAULT_CHUNK_PATHS = 4096
MAX_STREAM_CHUNK_BYTES = 256 * 2**20


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
        }


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
                       engine: str = "auto") -> StreamingResult:
    """``config.n_paths`` paths in chunks of ``chunk_paths``; see the module docstring."""
    config = config or SimulationConfig()
    config.check()
    model = model or PriceModel()
    depth = depth or DepthSpec()
    if not isinstance(rules, VenueRules):
        raise EngineInputError("rules must be a VenueRules (see defi_perps.engine.rules.make_rules)")
    if engine not in {"auto", "numba", "reference"}:
        raise EngineInputError(f"unknown engine {engine!r}")
    if chunk_paths < 1:
        raise EngineInputError("chunk_paths must be at least 1")
    record_every = config.record_every or max(1, config.n_steps // 96)
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
    mk = prepare_markets(book, rules, depth, funding, config.step_seconds, depth_multiplier, config.n_steps)
    ma = model.arrays(book.n_markets, config.n_steps, config.step_seconds, base_log)
    use_reference = engine == "reference" or (engine == "auto" and jit_disabled())
    if use_reference:
        from defi_perps.engine.reference import simulate_chunk_reference as run_chunk
    else:
        run_chunk = nb.simulate_chunk
    names = list(TOTALS) + [f"paid_by.{k}" for k in PAID_BY] + [f"parties.{k}" for k in PARTY_NAMES]
    stats = StreamingStats(names, alpha)
    capped_count = capped_paths = 0
    capped_any = np.zeros(book.n_markets, bool)
    detail = None
    n_threads = 1 if use_reference else _threads()
    for lo in range(0, config.n_paths, chunk):
        n = min(chunk, config.n_paths - lo)
        d = n_detail if lo == 0 else 0
        out = allocate_outputs(n, book.n_markets, config.n_steps, record_every, d, config.max_events,
                               book.n_positions)
        run_chunk(0, n, max(1, min(n, 4 * n_threads)), config.seed, config.n_steps, record_every, d, MAX_PENDING,
                  pos, mk, ma, rules, out, p_base=lo)
        res = SimulationResult(book=book, rules=rules, config=dataclasses.replace(config, n_paths=n), model=model,
                               depth=depth, outputs=out, record_every=record_every,
                               engine="reference" if use_reference else "numba",
                               position_order=order if d else None)
        stats.update(_chunk_values(res))
        c = out.depth_capped
        capped_count += int(c.sum())
        capped_paths += int((c.sum(axis=1) > 0).sum())
        capped_any |= c.any(axis=0)
        if lo == 0:
            detail = res
    return StreamingResult(book=book, rules=rules, config=config, stats=stats, chunk_paths=chunk,
                           depth_capped_count=capped_count, depth_capped_paths=capped_paths,
                           depth_capped_markets=[book.market_names[m] for m in np.flatnonzero(capped_any)],
                           detail=detail)


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


__all__ = ["StreamingResult", "simulate_streaming"]

