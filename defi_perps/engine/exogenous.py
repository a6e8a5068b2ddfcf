"""The exogenous price paths alone: the engine's price model without the cascade.

One step of the exogenous model (:func:`exog_step`: common factor, optional common jump,
idiosyncratic shocks, GARCH(1,1) variance update) is the single implementation used by the cascade
kernel (:func:`defi_perps.engine.nb.simulate_path`) and by :func:`exogenous_multipliers`, which
other tools (agents, reports, tests) call so that, for the same book, scenario and seed, their
exogenous prices are the engine's bit for bit: path ``p``
draws from the SplitMix64 stream ``(seed, p)`` in the same order, whatever the cascade does
(the cascade draws no random numbers).

Output: float64[paths, steps + 1, markets] multipliers ``exp(log X_t + base_log_t)`` of the book
price, 1 at t = 0; the engine's exogenous price is ``price0 × multiplier`` (the same product).
:func:`exogenous_multipliers_reference` is the plain-Python twin (``PyStream``).
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine._jit import jit_disabled, njit, prange
from defi_perps.engine.inputs import ModelArrays, PriceModel
from defi_perps.engine.rng import PyStream, gauss, path_state, uniform
from defi_perps.exceptions import EngineInputError


@njit(inline="always")
def exog_step(state, spare, mu, sigma, beta, ga: float, gb: float, jump_prob: float, jump_mean: float,
              jump_std: float, logx, h, n_m: int) -> None:
    """Advance the stochastic log price ``logx`` and GARCH multiplier ``h`` of every market by one
    step (draw order: factor, [jump uniform, jump size], one idiosyncratic normal per market; the
    normals from :func:`~defi_perps.engine.rng.gauss`, so a held second normal can sit across a
    jump uniform and across steps: ``spare`` is the path's, like ``state``)."""
    zf = gauss(state, spare)
    jump = 0.0
    if jump_prob > 0.0:
        if uniform(state) < jump_prob:
            jump = jump_mean + jump_std * gauss(state, spare)
    for m in range(n_m):
        zi = gauss(state, spare)
        b = beta[m]
        e = b * zf + math.sqrt(1.0 - b * b) * zi
        sig = sigma[m] * math.sqrt(h[m])
        logx[m] += mu[m] - 0.5 * sig * sig + sig * e + b * jump
        h[m] = (1.0 - ga - gb) + ga * e * e + gb * h[m]


@njit(parallel=True)
def exogenous_chunk(p_lo: int, seed: int, n_steps: int, model, out) -> None:
    """Fill ``out[i]`` (float64[T + 1, M]) with path ``p_lo + i``'s multipliers, in parallel."""
    n_m = out.shape[2]
    for i in prange(out.shape[0]):
        state = np.empty(1, np.uint64)
        state[0] = path_state(seed, p_lo + i)
        spare = np.zeros(2)
        logx = np.zeros(n_m)
        h = np.ones(n_m)
        for m in range(n_m):
            out[i, 0, m] = 1.0
        for t in range(1, n_steps + 1):
            exog_step(state, spare, model.mu, model.sigma, model.beta, model.garch_alpha, model.garch_beta,
                      model.jump_prob, model.jump_mean, model.jump_std, logx, h, n_m)
            for m in range(n_m):
                out[i, t, m] = math.exp(logx[m] + model.base_log[t, m])


def exogenous_multipliers_reference(p_lo: int, p_hi: int, seed: int, n_steps: int, model: ModelArrays,
                                    n_markets: int) -> np.ndarray:
    """Plain-Python twin of :func:`exogenous_chunk` (the same draws through :class:`PyStream`)."""
    out = np.ones((p_hi - p_lo, n_steps + 1, n_markets))
    ga, gb = float(model.garch_alpha), float(model.garch_beta)
    for i, p in enumerate(range(p_lo, p_hi)):
        rng = PyStream(seed, p)
        logx, h = [0.0] * n_markets, [1.0] * n_markets
        for t in range(1, n_steps + 1):
            zf = rng.gauss()
            jump = 0.0
            if model.jump_prob > 0.0 and rng.uniform() < model.jump_prob:
                jump = model.jump_mean + model.jump_std * rng.gauss()
            for m in range(n_markets):
                zi = rng.gauss()
                b = float(model.beta[m])
                e = b * zf + math.sqrt(1.0 - b * b) * zi
                sig = float(model.sigma[m]) * math.sqrt(h[m])
                logx[m] += float(model.mu[m]) - 0.5 * sig * sig + sig * e + b * jump
                h[m] = (1.0 - ga - gb) + ga * e * e + gb * h[m]
            for m in range(n_markets):
                out[i, t, m] = math.exp(logx[m] + float(model.base_log[t, m]))
    return out


def exogenous_multipliers(model: PriceModel, n_markets: int, n_steps: int, step_seconds: float,
                          base_log: np.ndarray | None, seed: int, p_lo: int, p_hi: int,
                          engine: str = "auto") -> np.ndarray:
    """float64[p_hi − p_lo, n_steps + 1, n_markets] exogenous price multipliers of paths
    ``[p_lo, p_hi)``: exactly the engine's ``det_exog / price0`` for the same inputs and seed."""
    if not (0 <= p_lo <= p_hi):
        raise EngineInputError("path range must satisfy 0 <= p_lo <= p_hi")
    if seed < 0 or seed >= 2**63:
        raise EngineInputError("--seed must be a non-negative 63-bit integer")
    ma = model.arrays(n_markets, n_steps, step_seconds, base_log)
    if engine == "reference" or (engine == "auto" and jit_disabled()):
        return exogenous_multipliers_reference(p_lo, p_hi, seed, n_steps, ma, n_markets)
    out = np.empty((p_hi - p_lo, n_steps + 1, n_markets))
    if out.shape[0]:
        exogenous_chunk(p_lo, seed, n_steps, ma, out)
    return out


__all__ = ["exog_step", "exogenous_chunk", "exogenous_multipliers", "exogenous_multipliers_reference"]
