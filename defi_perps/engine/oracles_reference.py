"""Plain-Python twin of :mod:`defi_perps.engine.oracles` (same rules, written for reading).

Tests (``tests/oracle/test_oracles_twin.py``) run random inputs through both and require equal
results; the kernels are the ones the engine runs.
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine.oracles import ORACLE


def weighted_median(values: list[float], weights: list[float]) -> float:
    pairs = sorted(zip(values, weights), key=lambda vw: vw[0])
    half = 0.5 * sum(w for _, w in pairs)
    cum = 0.0
    for i, (v, w) in enumerate(pairs):
        cum += w
        if cum >= half:
            if cum == half and i + 1 < len(pairs):
                return 0.5 * (v + pairs[i + 1][0])
            return v
    return pairs[-1][0]


def aggregate(kind: int, values: list[float], weights: list[float], outlier: float = 0.05) -> float:
    if kind == ORACLE.MEDIAN:
        return weighted_median(values, [1.0] * len(values))
    if kind == ORACLE.WEIGHTED_MEDIAN:
        return weighted_median(values, weights)
    if kind != ORACLE.EXCHANGE_INDEX:
        raise ValueError(f"not an aggregator: {kind}")
    med = weighted_median(values, [1.0] * len(values))
    outliers = [i for i, v in enumerate(values) if abs(v - med) > outlier * med]
    if len(outliers) > 1:
        return med
    keep = [i for i in range(len(values)) if i not in outliers]
    den = sum(weights[i] for i in keep)
    return sum(weights[i] * values[i] for i in keep) / den if den > 0 else med


def aggregate_sources(kind: int, src: np.ndarray, weights: np.ndarray, outlier: float) -> np.ndarray:
    p_n, t_n, _ = src.shape
    out = np.empty((p_n, t_n))
    for p in range(p_n):
        for t in range(t_n):
            out[p, t] = aggregate(kind, list(src[p, t]), list(weights), outlier)
    return out


def chainlink_push(src: np.ndarray, deviation: float, heartbeat_steps: int) -> np.ndarray:
    out = np.empty_like(src, dtype=np.float64)
    for p in range(src.shape[0]):
        last, age = src[p, 0], 0
        out[p, 0] = last
        for t in range(1, src.shape[1]):
            age += 1
            if abs(src[p, t] - last) > deviation * abs(last) or age >= heartbeat_steps:
                last, age = src[p, t], 0
            out[p, t] = last
    return out


def pull_feed(src: np.ndarray, conf: float, latency_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.maximum(np.arange(src.shape[1]) - latency_steps, 0)
    mid = src[:, idx].astype(np.float64)
    return mid * (1.0 - conf), mid, mid * (1.0 + conf)


def gmx_v2_keeper(stream: np.ndarray, ref: np.ndarray, spread: float,
                  max_ref_deviation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pmin, pmax = np.empty(stream.shape), np.empty(stream.shape)
    rej = np.zeros(stream.shape, np.int8)
    for p in range(stream.shape[0]):
        lo, hi = stream[p, 0] * (1 - 0.5 * spread), stream[p, 0] * (1 + 0.5 * spread)
        for t in range(stream.shape[1]):
            if abs(stream[p, t] - ref[p, t]) > max_ref_deviation * ref[p, t]:
                rej[p, t] = 1
            else:
                lo, hi = stream[p, t] * (1 - 0.5 * spread), stream[p, t] * (1 + 0.5 * spread)
            pmin[p, t], pmax[p, t] = lo, hi
    return pmin, pmax, rej


def gmx_v1_fast_price(fast: np.ndarray, ref: np.ndarray, max_deviation: float) -> tuple[np.ndarray, np.ndarray]:
    off = np.abs(fast - ref) > max_deviation * ref
    return np.where(off, np.minimum(fast, ref), fast), np.where(off, np.maximum(fast, ref), fast)


def _ema(num: float, den: float, sample: float, dt: float, tau: float) -> tuple[float, float]:
    d = math.exp(-dt / tau)
    return num * d + sample * dt, den * d + dt


def _median3(a: float, b: float, c: float) -> float:
    return sorted((a, b, c))[1]


def hl_mark(oracle: np.ndarray, mid: np.ndarray, ext: np.ndarray, ext_w: np.ndarray, dt: float,
            tau_basis: float, tau_mid: float) -> np.ndarray:
    out = np.empty(oracle.shape)
    k = ext.shape[2]
    for p in range(oracle.shape[0]):
        bd = dt / (1.0 - math.exp(-dt / tau_basis))
        bn = 0.0
        md = dt / (1.0 - math.exp(-dt / tau_mid))
        mn = mid[p, 0] * md
        for t in range(oracle.shape[1]):
            o, m = oracle[p, t], mid[p, t]
            bn, bd = _ema(bn, bd, m - o, dt, tau_basis)
            if k > 0:
                c = weighted_median(list(ext[p, t]), list(ext_w))
            else:
                mn, md = _ema(mn, md, m, dt, tau_mid)
                c = mn / md
            out[p, t] = _median3(o + bn / bd, m, c)
    return out


def hyperp_mark(mid: np.ndarray, ext: np.ndarray, use_ext: int, dt: float, tau: float, cap: float) -> np.ndarray:
    out = np.empty(mid.shape)
    for p in range(mid.shape[0]):
        den = dt / (1.0 - math.exp(-dt / tau))
        num = mid[p, 0] * den
        ema = mid[p, 0]
        for t in range(mid.shape[1]):
            x = mid[p, t]
            if t > 0 and cap < math.inf:
                x = min(max(x, ema / cap), ema * cap)
            if use_ext:
                x = _median3(x, ext[p, t], ema)
            out[p, t] = x
            num, den = _ema(num, den, x, dt, tau)
            ema = num / den
    return out


def twap(src: np.ndarray, window_steps: int) -> np.ndarray:
    out = np.empty(src.shape)
    for p in range(src.shape[0]):
        for t in range(src.shape[1]):
            lo = max(0, t - window_steps + 1)
            out[p, t] = math.exp(sum(math.log(x) for x in src[p, lo:t + 1]) / (t + 1 - lo))
    return out


def collateral_price(own_book: np.ndarray, reference: np.ndarray, mode: int, floor: float) -> np.ndarray:
    base = own_book if mode == ORACLE.OWN_BOOK else reference
    return np.maximum(base.astype(np.float64), floor)
