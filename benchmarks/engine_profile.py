"""Engine profile: one venue's case (a) at reduced paths, CPU seconds on one thread; prints ONE JSON line.

The full benchmark (``benchmarks/engine.py``) runs 10,000 paths per venue; this driver runs the same
book (100,000 positions, seed 1), price model and depth for a chosen venue at fewer paths (default
1,000), after a warm-up that compiles (or loads) the kernel, and reports ``time.process_time()``
seconds of the best of ``--repeat`` runs (the machine may be shared: the best run is the least
disturbed one). Rule variants switch one venue rule off at a time, to attribute what each costs:

* ``no_backstop``: ``backstop_mm_fraction = 0``;
* ``no_slices``: ``partial_min_notional = inf`` (no 20 % slices, no cooldown list);
* ``no_adl``: ``adl_trigger = none``;
* ``flat_mm``: one maintenance class per market and side (no per-asset tiers);
* ``calm``: the full rules on a price model with 1 % of the volatility and no jumps, so that almost
  nothing liquidates: what the step loop costs without the cascade (random numbers, the O(1)
  trigger test, the per-market-step bookkeeping).

Usage: ``python benchmarks/engine_profile.py --venue hyperliquid [--paths 1000] [--variant no_adl]
[--repeat 2] [--src DIR] [--limit]``. ``--limit`` also times the physical limit
(``physical_limit.py``) after each run, on the same paths and touches, and reports the ratio. ``--src`` imports the engine from another source tree (e.g. a base
commit exported with ``git archive``), so two versions can be timed back to back; give each its own
``DEFI_PERPS_CACHE_DIR`` or rely on the per-digest cache folders (``engine/_jit.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

# OpenBLAS threads (numpy's set-up, never the kernel) spin for a while after each call, and
# process_time() counts every thread of the process: one BLAS thread keeps that out of the engine's CPU
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venue", default="hyperliquid")
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1440)
    ap.add_argument("--positions", type=int, default=100_000)
    ap.add_argument("--variant", default="full", choices=["full", "no_backstop", "no_slices", "no_adl", "flat_mm", "calm"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--src", default=None, help="source tree to import defi_perps from (default: this one)")
    ap.add_argument("--limit", action="store_true",
                    help="also time the physical limit (physical_limit.py) on the same paths, in turn with each run")
    return ap.parse_args()


def _digest(out) -> str:
    """sha256 (12 hex digits) over every per-path output array: equal iff the results are bit-identical."""
    import hashlib

    h = hashlib.sha256()
    for a in out:
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def main() -> None:
    args = _args()
    src = Path(args.src).resolve() if args.src else Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(src))

    from defi_perps.book import synthetic_book
    from defi_perps.engine import GENERIC, DepthSpec, PriceModel, SimulationConfig, simulate
    from defi_perps.engine.codes import AdlTrigger
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    def inputs(book):
        if args.venue == "generic":
            return book, GENERIC, None
        vi = venue_inputs(load_venue(args.venue), book)
        return vi.book, vi.rules, vi.position_mm

    def variant(rules, pmm):
        if args.variant == "no_backstop":
            return rules._replace(backstop_mm_fraction=0.0), pmm
        if args.variant == "no_slices":
            return rules._replace(partial_min_notional=math.inf), pmm
        if args.variant == "no_adl":
            return rules._replace(adl_trigger=AdlTrigger.NONE), pmm
        if args.variant == "flat_mm":
            return rules, None
        return rules, pmm

    def _model(book):
        if args.variant == "calm":
            return PriceModel(volatility=[0.01 * float(v) for v in np.atleast_1d(book.meta["volatility"])],
                              beta=book.meta["beta"])
        return PriceModel(volatility=book.meta["volatility"], beta=book.meta["beta"], jump_rate_per_year=20.0,
                          jump_mean=-0.03, jump_std=0.02)

    def run(book, n_paths, n_steps):
        b, rules, pmm = inputs(book)
        rules, pmm = variant(rules, pmm)
        model = _model(book)
        cfg = SimulationConfig(n_paths=n_paths, n_steps=n_steps, seed=1, threads=1, n_detail=0, max_events=4)
        c0 = time.process_time()
        r = simulate(b, rules, model, DepthSpec(), config=cfg, position_mm=pmm)
        return time.process_time() - c0, r

    def _limit(book, liquidations):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from physical_limit import limit_cpu_seconds

        return limit_cpu_seconds(book, _model(book), 1, args.paths, args.steps, liquidations)

    w0 = time.perf_counter()
    run(synthetic_book(1000, seed=1), 2, 10)
    warm = time.perf_counter() - w0
    book = synthetic_book(args.positions, seed=1)
    load_before = os.getloadavg()
    times, limits = [], []
    r = None
    for _ in range(max(1, args.repeat)):
        c, r = run(book, args.paths, args.steps)
        times.append(round(c, 3))
        if args.limit:
            limits.append(round(_limit(book, r.totals["liquidations"]), 3))
    assert r is not None
    t = r.totals
    extra = {}
    if limits:
        extra = {"physical_limit_cpu_seconds": min(limits), "limit_cpu_seconds_runs": limits,
                 # (a tiny case can time the limit at 0: no ratio then)
                 "ratio_to_physical_limit": round(min(times) / min(limits), 2) if min(limits) > 0 else None}
    print(json.dumps({
        "benchmark": "engine_profile", "src": str(src), "venue": args.venue, "variant": args.variant,
        "positions": args.positions, "paths": args.paths, "steps": args.steps, "threads": 1,
        "cpu_seconds": min(times), "cpu_seconds_runs": times, "warmup_wall_s": round(warm, 1),
        "liquidations_per_path": float(t["liquidations"].mean()), "adl_events_per_path": float(t["adl_events"].mean()),
        # a fingerprint of the outputs: equal across code versions when the results are bit-identical
        "digest": _digest(r.outputs), **extra,
        "load_avg_before": load_before, "load_avg_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
