"""Benchmark the ADL policy lab and the venue comparison; prints one JSON line.

    python benchmarks/adl.py [--candidates 100000] [--positions 20000] [--paths 4]

Figures: seconds per policy on one event of N candidates, and venue-paths per second of the
account-level venue model (20k positions, 60 steps) for each venue. Speed is shown here, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from defi_perps.adl.events import AdlEvent, make_candidates  # noqa: E402
from defi_perps.adl.policies import POLICIES, run_policy  # noqa: E402
from defi_perps.book import synthetic_book  # noqa: E402
from defi_perps.venues.params import VENUE_NAMES, load_venue  # noqa: E402
from defi_perps.runs.simulate import run_simulate  # noqa: E402
from defi_perps.scenarios.setup import make_setup  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--positions", type=int, default=20_000)
    ap.add_argument("--paths", type=int, default=4)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.candidates
    side = np.full(n, -1.0)
    size = rng.pareto(1.3, n) + 0.01
    entry = rng.uniform(100, 130, n)
    mark = np.full(n, 100.0)
    pnl = side * size * (mark - entry)
    equity = pnl + size * entry / rng.choice([2, 5, 10, 20, 50], n)
    c = make_candidates([str(i) for i in range(n)], side.tolist(), size.tolist(), entry.tolist(), mark.tolist(),
                        equity.tolist(), pnl.tolist())
    ev = AdlEvent("bench", float(pnl.sum() * 0.3), c, bankrupt_size=float(size.sum() * 0.2), fill_price=105.0)
    policy_s = {}
    for p in POLICIES:
        t = time.perf_counter()
        run_policy(ev, p, ranking="hyperliquid")
        policy_s[p] = round(time.perf_counter() - t, 4)
    book = synthetic_book(args.positions, n_markets=4, seed=1)
    setup = make_setup(book, shock="-30%@60m", horizon="60m", volatility=0.5)
    venue_paths_per_s = {}
    for name in VENUE_NAMES:   # every venue through the one engine (in-path ADL included)
        run_simulate(book, setup, load_venue(name), n_paths=2, seed=7, detail_paths=0)   # compile / warm up
        t = time.perf_counter()
        run_simulate(book, setup, load_venue(name), n_paths=args.paths, seed=7, detail_paths=0)
        venue_paths_per_s[name] = round(args.paths / (time.perf_counter() - t), 2)
    print(json.dumps({"benchmark": "adl", "machine": platform.machine(), "python": platform.python_version(),
                      "candidates": n, "policy_seconds": policy_s, "positions": args.positions, "steps": setup.n_steps,
                      "venue_paths_per_second_engine": venue_paths_per_s}))


if __name__ == "__main__":
    main()
