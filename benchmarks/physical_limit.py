"""The physical limit the engine's case (a) is measured against (issue 7: "within 5x of the physical
limit: one touch per liquidated position plus random numbers per market-step").

:func:`limit_cpu_seconds` times, on one thread, a kernel that does only the work no simulator of this
model can skip, on the same paths as the engine run it is compared with:

* per path and step, the price model's random numbers (``exogenous.exog_step``: the common factor,
  the jump draw, one normal per market, the GARCH update) and one ``exp`` per market-step for the
  price, exactly as the engine draws them (same seed, same stream);
* per path, one touch per position the engine liquidated on that path: its size, entry and
  collateral are read (in storage order, so the reads stream) and its equity at a price is added up.

No trigger test, no cascade, no book walk, no loss waterfall, no bookkeeping: every one of those is
work the engine does on top. The ratio engine / limit is then measured on one machine in one run, so
it does not move with the machine's speed the way CPU seconds do (this 2-core VM's speed drifts by a
third within an hour).
"""

from __future__ import annotations

import math
import time

import numpy as np

from defi_perps.engine._jit import njit
from defi_perps.engine.exogenous import exog_step
from defi_perps.engine.rng import path_state


@njit
def _limit_kernel(seed: int, n_paths: int, n_steps: int, mu, sigma, beta, ga: float, gb: float, jump_prob: float,
                  jump_mean: float, jump_std: float, base_log, price0, touches, qty, entry, coll) -> float:
    n_m = price0.size
    n_pos = qty.size
    acc = 0.0
    for p in range(n_paths):
        state = np.empty(1, np.uint64)
        state[0] = path_state(seed, p)
        spare = np.zeros(2)
        logx = np.zeros(n_m)
        h = np.ones(n_m)
        px = 0.0
        for t in range(1, n_steps + 1):
            exog_step(state, spare, mu, sigma, beta, ga, gb, jump_prob, jump_mean, jump_std, logx, h, n_m)
            for m in range(n_m):
                px = price0[m] * math.exp(logx[m] + base_log[t, m])
                acc += px
        k = (p * 7919) % n_pos   # each path starts somewhere else in the book
        for _ in range(touches[p]):
            acc += coll[k] + qty[k] * (px - entry[k])
            k += 1
            if k == n_pos:
                k = 0
    return acc


def limit_cpu_seconds(book, model, seed: int, n_paths: int, n_steps: int, liquidations_per_path: np.ndarray,
                      step_seconds: float = 60.0) -> float:
    """CPU seconds (one thread) of the limit kernel on ``n_paths`` paths of ``model`` with
    ``liquidations_per_path[p]`` touches on path ``p`` (the engine run's own counts)."""
    ma = model.arrays(book.n_markets, n_steps, step_seconds)
    touches = np.rint(np.asarray(liquidations_per_path, dtype=np.float64)).astype(np.int64)
    qty = np.ascontiguousarray(book.size, dtype=np.float64)
    entry = np.ascontiguousarray(book.entry_price, dtype=np.float64)
    coll = np.ascontiguousarray(book.collateral_usd, dtype=np.float64)
    args = (ma.mu, ma.sigma, ma.beta, ma.garch_alpha, ma.garch_beta, ma.jump_prob, ma.jump_mean, ma.jump_std,
            ma.base_log, np.ascontiguousarray(book.price, dtype=np.float64))
    _limit_kernel(seed, 2, 3, *args, touches[:2], qty, entry, coll)   # compile (or load) outside the timing
    c0 = time.process_time()
    _limit_kernel(seed, n_paths, n_steps, *args, touches[:n_paths], qty, entry, coll)
    return time.process_time() - c0
