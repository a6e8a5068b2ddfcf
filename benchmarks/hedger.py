"""Hedger benchmark: prints ONE JSON line.

The cost of the kernel's hedger agent: the same book (the hedger's short in it), scenario, venue and
seed with and without the agent (``HedgerConfig``), CPU seconds of this process on one numba thread
(``time.process_time``), best of three. The agent adds an integer compare per ADL'd or liquidated
position (the hooks in ``nb._adl`` / ``nb._cascade``) and O(1) work per step on its market.

Case: a seeded synthetic book (85 % long, 4 markets) on Hyperliquid's rules under oct-10-2025 (180
one-minute steps; in-path ADL, slices, backstop), the hedger at 20x on BTC with a 30s..5m latency.
Compile time is excluded (one warm-up run). The machine may be shared: quote CPU seconds, not wall.

Usage: ``python benchmarks/hedger.py [--positions N] [--paths N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=100_000)
    ap.add_argument("--paths", type=int, default=1_000)
    args = ap.parse_args()
    import numba

    from defi_perps.book import synthetic_book
    from defi_perps.engine.api import SimulationConfig, simulate
    from defi_perps.engine.hedger_nb import H
    from defi_perps.engine.inputs import HedgerConfig
    from defi_perps.runs.hedger import HedgerInputs, latency_steps, with_hedger
    from defi_perps.scenarios.setup import make_setup
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    numba.set_num_threads(1)
    book = synthetic_book(args.positions, n_markets=4, seed=2, long_share=0.85)
    setup = make_setup(book, scenario="oct-10-2025")
    hedge = 0.05 * float(book.open_interest()[0].sum())
    hbook, idx = with_hedger(book, 0, hedge, 20.0)
    vi = venue_inputs(load_venue("hyperliquid"), hbook, setup.step_seconds)
    _, steps = latency_steps(HedgerInputs(latency="30s..5m"), args.paths, 3, setup.step_seconds)
    cfg = SimulationConfig(n_paths=args.paths, n_steps=setup.n_steps, step_seconds=setup.step_seconds, seed=3,
                           n_detail=0, threads=1)
    agent = HedgerConfig(position=idx, spot_qty=hedge / float(book.price[0]), latency_steps=steps, fee=0.00045)

    def run(hedger: HedgerConfig | None) -> tuple[float, object]:
        t0 = time.process_time()
        res = simulate(vi.book, vi.rules, model=setup.model, depth=setup.depth, funding=setup.funding, config=cfg,
                       base_log=setup.base_log, position_mm=vi.position_mm, depth_multiplier=setup.depth_multiplier,
                       hedger=hedger)
        return time.process_time() - t0, res

    run(None), run(agent)   # compile / warm the caches
    plain = min(run(None)[0] for _ in range(3))
    timed = [run(agent) for _ in range(3)]
    with_agent = min(t for t, _ in timed)
    h = timed[0][1].outputs.hedger   # type: ignore[attr-defined]
    print(json.dumps({
        "benchmark": "hedger", "positions": vi.book.n_positions, "paths": args.paths, "steps": setup.n_steps,
        "venue": "hyperliquid", "threads": 1, "cpu_s_without_agent": round(plain, 3),
        "cpu_s_with_agent": round(with_agent, 3), "overhead_ratio": round(with_agent / plain, 3),
        "paths_adl_hit": int((h[:, H.ADL_QTY] > 0).sum()), "load_avg": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
