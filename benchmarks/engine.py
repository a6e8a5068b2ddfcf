"""Engine benchmark: prints ONE JSON line.

(a) the default case: 100,000 positions × 10,000 paths × 1,440 one-minute steps — wall time and
    effective position-steps per second (positions × paths × steps / wall time);
(b) the same model as straightforward vectorized NumPy (``benchmarks/numpy_engine.py``) on a case it
    can finish, the kernel on that same case, the speedup, and how far their totals differ;
(c) scaling: wall time at 10⁴, 10⁵, 10⁶ positions with paths and steps fixed, and the engine's
    bytes per position.

Book: seeded synthetic (4 correlated markets, heavy-tailed sizes, 2–50x leverage); rules: the
generic rule set; price model: GBM + GARCH(1,1) + common jumps (20/year) at each market's
volatility; default depth. Compile time is measured separately and excluded (numba caches it).
Targets (issue 3, 2-core machine): (a) ≤ 60 s; (b) ≥ 50×; (c) no worse than linear; ≤ 64 B/position.

Usage: ``python benchmarks/engine.py [--quick] [--threads N]``. ``--quick`` shrinks every case
(for a smoke run); the figures to report come from the default run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from defi_perps.book import synthetic_book  # noqa: E402
from defi_perps.engine import GENERIC, DepthSpec, PriceModel, SimulationConfig, simulate  # noqa: E402
from defi_perps.engine import nb  # noqa: E402
from defi_perps.engine.api import engine_bytes_per_position  # noqa: E402
from defi_perps.engine.inputs import prepare_markets, prepare_positions  # noqa: E402


def _model(book) -> PriceModel:
    return PriceModel(volatility=book.meta["volatility"], beta=book.meta["beta"], jump_rate_per_year=20.0,
                      jump_mean=-0.03, jump_std=0.02)


def _time(book, n_paths: int, n_steps: int, threads: int | None, seed: int = 1):
    cfg = SimulationConfig(n_paths=n_paths, n_steps=n_steps, seed=seed, threads=threads, n_detail=0, max_events=4)
    t0 = time.perf_counter()
    r = simulate(book, GENERIC, _model(book), DepthSpec(), config=cfg)
    return time.perf_counter() - t0, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    q = args.quick
    n_pos_a, n_paths_a, n_steps = (20_000, 200, 1440) if q else (100_000, 10_000, 1440)
    np_case = (2_000, 16, 240) if q else (5_000, 40, 1440)
    scale_paths = 20 if q else 200
    load_before = os.getloadavg()

    t0 = time.perf_counter()
    _time(synthetic_book(1000, seed=1), 2, 10, args.threads)
    compile_s = time.perf_counter() - t0

    # (a) the default case
    book = synthetic_book(n_pos_a, seed=1)
    wall_a, res_a = _time(book, n_paths_a, n_steps, args.threads)
    case_a = {"positions": n_pos_a, "paths": n_paths_a, "steps": n_steps, "wall_s": round(wall_a, 2),
              "position_steps_per_s": n_pos_a * n_paths_a * n_steps / wall_a,
              "liquidations_per_path": float(res_a.outputs.liq_count.sum() / n_paths_a),
              "threads": res_a.threads, "target_wall_s": 60.0, "met": wall_a <= 60.0}

    # (b) NumPy baseline on a case it can finish, the kernel on the same case
    from numpy_engine import simulate_numpy

    nb_book = synthetic_book(np_case[0], seed=2)
    wall_k, res_k = _time(nb_book, np_case[1], np_case[2], args.threads, seed=3)
    pos, _ = prepare_positions(nb_book, GENERIC)
    mk = prepare_markets(nb_book, GENERIC, DepthSpec(), None, 60.0)
    ma = _model(nb_book).arrays(nb_book.n_markets, np_case[2], 60.0)
    t0 = time.perf_counter()
    ref = simulate_numpy(pos, mk, ma, GENERIC, np_case[1], np_case[2], seed=3)
    wall_np = time.perf_counter() - t0
    k_liq = res_k.outputs.liq_notional.sum(axis=(1, 2))
    agree = {
        "liq_count_equal": bool(np.array_equal(ref["liq_count"], res_k.outputs.liq_count.sum(axis=(1, 2)))),
        "liq_notional_max_rel_diff": float(np.max(np.abs(ref["liq_notional"] - k_liq) / np.maximum(k_liq, 1.0))),
        "bad_debt_max_abs_diff_usd": float(np.max(np.abs(ref["bad_debt"] - res_k.bad_debt))),
    }
    case_b = {"positions": np_case[0], "paths": np_case[1], "steps": np_case[2], "numpy_wall_s": round(wall_np, 3),
              "kernel_wall_s": round(wall_k, 4), "speedup": wall_np / wall_k, "target_speedup": 50.0,
              "met": wall_np / wall_k >= 50.0, "agreement": agree}

    # (c) scaling in positions, paths and steps fixed
    scaling = []
    for n in (10_000, 100_000, 1_000_000):
        b = synthetic_book(n, seed=4)
        wall, r = _time(b, scale_paths, n_steps, args.threads, seed=5)
        scaling.append({"positions": n, "paths": scale_paths, "steps": n_steps, "wall_s": round(wall, 3),
                        "liquidations_per_path": float(r.outputs.liq_count.sum() / scale_paths)})
    ratio = scaling[-1]["wall_s"] / scaling[0]["wall_s"]
    pos_1m, _ = prepare_positions(synthetic_book(1_000_000, seed=4), GENERIC)
    per_pos = sum(getattr(pos_1m, f).nbytes for f in ("thr", "qty", "entry", "coll_usd", "coll_tok")) / 1_000_000
    case_c = {"runs": scaling, "time_ratio_1e6_vs_1e4": ratio, "linear_ratio": 100.0,
              "met_linear_or_better": ratio <= 100.0, "engine_bytes_per_position": per_pos,
              "engine_bytes_per_position_declared": engine_bytes_per_position(), "target_bytes": 64,
              "met_bytes": per_pos <= 64}

    print(json.dumps({
        "benchmark": "engine", "quick": q, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                        "load_avg_before": load_before, "load_avg_after": os.getloadavg()},
        "compile_and_warmup_s": round(compile_s, 2), "default_case": case_a, "numpy_baseline": case_b,
        "scaling": case_c, "per_path_outputs_bytes": int(sum(a.nbytes for a in res_a.outputs) / n_paths_a),
        "n_scalars": nb.N_SCALARS}))


if __name__ == "__main__":
    main()
