"""Oracle and mark-price stages of the engine (numba): source prices in, the venue's price series out.

Each kernel takes the prices of a market's oracle *sources* (reference venues, feeds) per path and
step and returns the series a venue reads: arrays in, arrays out, ``prange`` over paths. The
plain-Python twin of every kernel is :mod:`defi_perps.engine.oracles_reference`; tests compare them.
Parameters with sources live in ``defi_perps/venues/oracles/*.toml``; codes are :data:`ORACLE`.

Rules (sources: ``../shared/reference/venues.md``, ``protocols.md``):

* **Chainlink push** (:func:`chainlink_push`): the on-chain answer changes only when the source
  deviates from the last answer by more than ``deviation`` (fraction) or ``heartbeat`` steps have
  passed since it; between updates it lags the market.
* **Pull feed** (:func:`pull_feed`, Data Streams / Pyth style): the price ``latency`` steps old with a
  confidence band ``± conf`` (fraction); a consumer that maximises reads the top, one that
  minimises the bottom.
* **GMX v2 keeper** (:func:`gmx_v2_keeper`): min/max = stream mid ∓ half the spread; a report
  deviating from the Chainlink reference by more than ``MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR``
  is rejected, so the last accepted prices stay (protocols.md §1.7).
* **Median of venues** (:func:`median_sources`, GMX v1 FastPriceFeed inputs / Mango) and
  **weighted median** (:func:`weighted_median_sources`, Hyperliquid's oracle: Binance 3, OKX 2,
  Bybit 2, Kraken/KuCoin/Gate/MEXC/HL 1).
* **Exchange index** (:func:`exchange_index`, Binance): weighted average of the sources; a single
  source deviating more than ``outlier`` from the median gets weight 0; if more than one deviates,
  the median is the index (venues.md §1.1 "Mark price / index").
* **Hyperliquid mark** (:func:`hl_mark`): median of (oracle + 150-s EMA of (book mid − oracle),
  book mid, weighted median of external perp mids); with no external mids a 30-s EMA of the book mid
  is the third input. EMA: ``num ← num·e^(−t/τ) + sample·t``, ``den ← den·e^(−t/τ) + t`` (venues.md §1.6),
  started in steady state (``den = t/(1 − e^(−t/τ))``: a long history at the first sample, zero basis).
* **Hyperp mark** (:func:`hyperp_mark`): pre-launch markets priced from their own book; after XPL
  (Aug 2025) clamped to ``[EMA/cap, EMA·cap]`` of its 8-hour EMA (cap 10) and, when external
  pre-market data is used, the median of (clamped book, external, EMA). The lower clamp and the
  median form are modelling choices (the record states the 10× cap and "external data added").
* **DEX TWAP** (:func:`twap`): geometric mean over the last ``window`` steps (Uniswap v3 tick
  accumulators average log prices), so an attacker has to hold the pool price for the whole window.
* **Collateral price** (:func:`collateral_price`): own thin book vs an external / redemption
  reference, with an optional floor (Binance USDe / wBETH / BNSOL, 10 Oct 2025: incidents.md §1.4).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from defi_perps.engine._jit import njit, prange


class OracleKinds(NamedTuple):
    """Oracle / mark rule codes (use by name: ``ORACLE.MEDIAN``)."""

    CHAINLINK_PUSH: int = 0
    PULL: int = 1
    GMX_V2_KEEPER: int = 2
    MEDIAN: int = 3
    WEIGHTED_MEDIAN: int = 4
    HL_MARK: int = 5
    HYPERP: int = 6
    EXCHANGE_INDEX: int = 7
    TWAP: int = 8
    OWN_BOOK: int = 9
    REDEMPTION: int = 10


ORACLE = OracleKinds()
ORACLE_NAMES: dict[str, int] = {
    "chainlink-push": ORACLE.CHAINLINK_PUSH, "pull": ORACLE.PULL, "gmx-v2-keeper": ORACLE.GMX_V2_KEEPER,
    "median": ORACLE.MEDIAN, "weighted-median": ORACLE.WEIGHTED_MEDIAN, "hl-mark": ORACLE.HL_MARK,
    "hyperp": ORACLE.HYPERP, "exchange-index": ORACLE.EXCHANGE_INDEX, "twap": ORACLE.TWAP,
    "own-book": ORACLE.OWN_BOOK, "redemption": ORACLE.REDEMPTION,
}
AGGREGATORS = (ORACLE.MEDIAN, ORACLE.WEIGHTED_MEDIAN, ORACLE.EXCHANGE_INDEX)


# --- scalar helpers (buffers are allocated once per path by the caller) ------------------------
@njit(inline="always")
def _sort_pairs(v: np.ndarray, w: np.ndarray, n: int) -> None:
    """Insertion sort of v[:n] ascending, carrying w (n is a handful of venues)."""
    for i in range(1, n):
        x = v[i]
        y = w[i]
        j = i - 1
        while j >= 0 and v[j] > x:
            v[j + 1] = v[j]
            w[j + 1] = w[j]
            j -= 1
        v[j + 1] = x
        w[j + 1] = y


@njit(inline="always")
def weighted_median_sorted(v: np.ndarray, w: np.ndarray, n: int) -> float:
    """Weighted median of sorted v[:n]: the first value whose cumulative weight reaches half;
    exactly half → mean with the next value (equal weights give the ordinary median)."""
    total = 0.0
    for i in range(n):
        total += w[i]
    half = 0.5 * total
    cum = 0.0
    for i in range(n):
        cum += w[i]
        if cum >= half:
            if cum == half and i + 1 < n:
                return 0.5 * (v[i] + v[i + 1])
            return v[i]
    return v[n - 1]


@njit(inline="always")
def _median3(a: float, b: float, c: float) -> float:
    return max(min(a, b), min(max(a, b), c))


@njit
def aggregate_into(kind: int, vals: np.ndarray, weights: np.ndarray, n: int, outlier: float,
                   v: np.ndarray, w: np.ndarray) -> float:
    """One aggregate of ``vals[:n]`` under ``kind`` (median, weighted median, exchange index);
    ``v``/``w`` are scratch buffers of length ≥ n."""
    for i in range(n):
        v[i] = vals[i]
        w[i] = 1.0 if kind == ORACLE.MEDIAN else weights[i]
    _sort_pairs(v, w, n)
    if kind == ORACLE.MEDIAN or kind == ORACLE.WEIGHTED_MEDIAN:
        return weighted_median_sorted(v, w, n)
    # exchange index: median first (equal weights), then the outlier rule
    for i in range(n):
        w[i] = 1.0
    med = weighted_median_sorted(v, w, n)
    n_out = 0
    out_i = -1
    for i in range(n):
        if abs(vals[i] - med) > outlier * med:
            n_out += 1
            out_i = i
    if n_out > 1:
        return med
    num = 0.0
    den = 0.0
    for i in range(n):
        if i != out_i:
            num += weights[i] * vals[i]
            den += weights[i]
    return num / den if den > 0.0 else med


# --- kernels ------------------------------------------------------------------------------------
@njit(parallel=True)
def aggregate_sources(kind: int, src: np.ndarray, weights: np.ndarray, outlier: float) -> np.ndarray:
    """float64[P, T] aggregate of ``src`` float64[P, T, K] (median / weighted median / index)."""
    p_n, t_n, k_n = src.shape
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        v = np.empty(k_n)
        w = np.empty(k_n)
        for t in range(t_n):
            out[p, t] = aggregate_into(kind, src[p, t], weights, k_n, outlier, v, w)
    return out


def median_sources(src: np.ndarray) -> np.ndarray:
    """GMX v1 / Mango: the plain median of the reference venues."""
    return aggregate_sources(ORACLE.MEDIAN, src, np.ones(src.shape[2]), 0.0)


def weighted_median_sources(src: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Hyperliquid's oracle: weighted median of spot venues."""
    return aggregate_sources(ORACLE.WEIGHTED_MEDIAN, src, np.ascontiguousarray(weights, np.float64), 0.0)


def exchange_index(src: np.ndarray, weights: np.ndarray, outlier: float = 0.05) -> np.ndarray:
    """Binance-style index: weighted average, one >5 % outlier dropped, several → median."""
    return aggregate_sources(ORACLE.EXCHANGE_INDEX, src, np.ascontiguousarray(weights, np.float64), outlier)


@njit(parallel=True)
def chainlink_push(src: np.ndarray, deviation: float, heartbeat_steps: int) -> np.ndarray:
    """float64[P, T] on-chain answer of a push feed watching ``src`` float64[P, T]."""
    p_n, t_n = src.shape
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        last = src[p, 0]
        age = 0
        out[p, 0] = last
        for t in range(1, t_n):
            age += 1
            x = src[p, t]
            if abs(x - last) > deviation * abs(last) or age >= heartbeat_steps:
                last = x
                age = 0
            out[p, t] = last
    return out


@njit(parallel=True)
def pull_feed(src: np.ndarray, conf: float, latency_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, price, high) float64[P, T]: the report ``latency_steps`` old, ± ``conf``."""
    p_n, t_n = src.shape
    lo = np.empty((p_n, t_n))
    mid = np.empty((p_n, t_n))
    hi = np.empty((p_n, t_n))
    for p in prange(p_n):
        for t in range(t_n):
            x = src[p, max(t - latency_steps, 0)]
            mid[p, t] = x
            lo[p, t] = x * (1.0 - conf)
            hi[p, t] = x * (1.0 + conf)
    return lo, mid, hi


@njit(parallel=True)
def gmx_v2_keeper(stream: np.ndarray, ref: np.ndarray, spread: float,
                  max_ref_deviation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min, max, rejected int8) float64[P, T]: keeper prices; a report off the reference by more
    than ``max_ref_deviation`` is rejected and the last accepted min/max stay."""
    p_n, t_n = stream.shape
    pmin = np.empty((p_n, t_n))
    pmax = np.empty((p_n, t_n))
    rej = np.zeros((p_n, t_n), np.int8)
    for p in prange(p_n):
        lo = stream[p, 0] * (1.0 - 0.5 * spread)
        hi = stream[p, 0] * (1.0 + 0.5 * spread)
        for t in range(t_n):
            x = stream[p, t]
            r = ref[p, t]
            if abs(x - r) > max_ref_deviation * r:
                rej[p, t] = 1
            else:
                lo = x * (1.0 - 0.5 * spread)
                hi = x * (1.0 + 0.5 * spread)
            pmin[p, t] = lo
            pmax[p, t] = hi
    return pmin, pmax, rej


@njit(parallel=True)
def gmx_v1_fast_price(fast: np.ndarray, ref: np.ndarray, max_deviation: float) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) float64[P, T] of GMX v1's FastPriceFeed against its Chainlink reference: while
    ``|fast − ref| / ref > max_deviation`` the vault prices at max(ref, fast) when maximising and
    min(ref, fast) when minimising (a spread); otherwise both are the fast price (protocols.md GMX v1)."""
    p_n, t_n = fast.shape
    pmin = np.empty((p_n, t_n))
    pmax = np.empty((p_n, t_n))
    for p in prange(p_n):
        for t in range(t_n):
            f = fast[p, t]
            r = ref[p, t]
            if abs(f - r) > max_deviation * r:
                pmin[p, t] = min(f, r)
                pmax[p, t] = max(f, r)
            else:
                pmin[p, t] = f
                pmax[p, t] = f
    return pmin, pmax


@njit(inline="always")
def _ema_step(num: float, den: float, sample: float, dt: float, tau: float) -> tuple[float, float]:
    d = math.exp(-dt / tau)
    return num * d + sample * dt, den * d + dt


@njit(parallel=True)
def hl_mark(oracle: np.ndarray, mid: np.ndarray, ext: np.ndarray, ext_w: np.ndarray, dt: float,
            tau_basis: float, tau_mid: float) -> np.ndarray:
    """float64[P, T] Hyperliquid mark from the oracle, its own book mid and external perp mids
    ``ext`` float64[P, T, K] (K may be 0)."""
    p_n, t_n = oracle.shape
    k_n = ext.shape[2]
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        v = np.empty(max(k_n, 1))
        w = np.empty(max(k_n, 1))
        # EMAs start in steady state: a long history at zero basis and at the first mid
        bd = dt / (1.0 - math.exp(-dt / tau_basis))
        bn = 0.0
        md = dt / (1.0 - math.exp(-dt / tau_mid))
        mn = mid[p, 0] * md
        for t in range(t_n):
            o = oracle[p, t]
            m = mid[p, t]
            bn, bd = _ema_step(bn, bd, m - o, dt, tau_basis)
            a = o + bn / bd
            if k_n > 0:
                for i in range(k_n):
                    v[i] = ext[p, t, i]
                    w[i] = ext_w[i]
                _sort_pairs(v, w, k_n)
                c = weighted_median_sorted(v, w, k_n)
            else:
                mn, md = _ema_step(mn, md, m, dt, tau_mid)
                c = mn / md
            out[p, t] = _median3(a, m, c)
    return out


@njit(parallel=True)
def hyperp_mark(mid: np.ndarray, ext: np.ndarray, use_ext: int, dt: float, tau: float,
                cap: float) -> np.ndarray:
    """float64[P, T] hyperp mark: own book mid clamped to ``[EMA/cap, EMA·cap]`` of its own
    ``tau`` EMA (cap = inf: no clamp, the XPL-era rule); with ``use_ext`` the median of (clamped mid,
    external price, EMA)."""
    p_n, t_n = mid.shape
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        den = dt / (1.0 - math.exp(-dt / tau))     # steady state: a long history at the first mid
        num = mid[p, 0] * den
        ema = mid[p, 0]
        for t in range(t_n):
            x = mid[p, t]
            if t > 0 and cap < math.inf:
                x = min(max(x, ema / cap), ema * cap)
            if use_ext != 0:
                x = _median3(x, ext[p, t], ema)
            out[p, t] = x
            num, den = _ema_step(num, den, x, dt, tau)
            ema = num / den
    return out


@njit(parallel=True)
def twap(src: np.ndarray, window_steps: int) -> np.ndarray:
    """float64[P, T] geometric-mean TWAP over the last ``window_steps`` samples (fewer at the start)."""
    p_n, t_n = src.shape
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        acc = 0.0
        for t in range(t_n):
            acc += math.log(src[p, t])
            if t >= window_steps:
                acc -= math.log(src[p, t - window_steps])
            out[p, t] = math.exp(acc / min(t + 1, window_steps))
    return out


@njit(parallel=True)
def collateral_price(own_book: np.ndarray, reference: np.ndarray, mode: int, floor: float) -> np.ndarray:
    """float64[P, T] the price a venue values collateral at: its own book (``ORACLE.OWN_BOOK``) or
    the external / redemption reference (``ORACLE.REDEMPTION``), never below ``floor``."""
    p_n, t_n = own_book.shape
    out = np.empty((p_n, t_n))
    for p in prange(p_n):
        for t in range(t_n):
            x = own_book[p, t] if mode == ORACLE.OWN_BOOK else reference[p, t]
            out[p, t] = max(x, floor)
    return out


# --- composition: moved sources → the venue's oracle series (plain Python over the kernels) -----
POST_KINDS = ("none", "chainlink-push", "pull", "gmx-v1-fast", "gmx-v2-keeper", "twap", "hl-mark", "hyperp",
              "hyperp-xpl")


def oracle_from_sources(aggregate: int, ratio: np.ndarray, weights: np.ndarray, post: str = "none",
                        dt: float = 60.0, params: dict | None = None, maximize: bool = True) -> np.ndarray:
    """float64[P, T] the venue's oracle (as a ratio to fair) from source ratios float64[P, T, K]:
    aggregate the sources, then apply the feed / mark rule ``post`` with ``params`` (a dict shaped
    like ``defi_perps/venues/oracles/models.toml``). ``maximize`` picks the top of a min/max pair
    (GMX prices a closing long at the minimum and a closing short at the maximum)."""
    p = params or {}
    agg = aggregate_sources(aggregate, np.ascontiguousarray(ratio, np.float64),
                            np.ascontiguousarray(weights, np.float64), float(p.get("exchange_index", {}).get("outlier", 0.05)))
    if post == "none":
        return agg
    if post == "chainlink-push":
        c = p.get("chainlink_push", {})
        return chainlink_push(agg, float(c.get("deviation", 0.005)), max(1, int(round(c.get("heartbeat_s", 86400) / dt))))
    if post == "pull":
        c = p.get("pull", {})
        lo, _mid, hi = pull_feed(agg, float(c.get("confidence", 0.0005)), int(round(c.get("latency_s", 0.0) / dt)))
        return hi if maximize else lo
    if post == "gmx-v1-fast":
        c = p.get("chainlink_push", {})
        ref = chainlink_push(agg, float(c.get("deviation", 0.005)), max(1, int(round(c.get("heartbeat_s", 86400) / dt))))
        pmin, pmax = gmx_v1_fast_price(agg, ref, float(p.get("gmx_v1", {}).get("max_deviation", 0.025)))
        return pmax if maximize else pmin
    if post == "gmx-v2-keeper":
        c = p.get("gmx_v2_keeper", {})
        ref = chainlink_push(agg, float(p.get("chainlink_push", {}).get("deviation", 0.005)),
                             max(1, int(round(p.get("chainlink_push", {}).get("heartbeat_s", 86400) / dt))))
        pmin, pmax, _ = gmx_v2_keeper(agg, ref, float(c.get("spread", 0.0)), float(c.get("max_ref_deviation", 0.005)))
        return pmax if maximize else pmin
    if post == "twap":
        return twap(agg, max(1, int(round(p.get("twap", {}).get("window_s", 1800) / dt))))
    if post == "hl-mark":
        # Hyperliquid's mark with the venue's own perp book arbitraged to the oracle and no
        # external perp listing (a long-tail asset): median(oracle + basis EMA, mid, 30-s EMA of mid)
        c = p.get("hyperliquid", {})
        return hl_mark(agg, agg, np.zeros((agg.shape[0], agg.shape[1], 0)), np.zeros(0), dt,
                       float(c.get("basis_ema_s", 150.0)), float(c.get("mid_ema_s", 30.0)))
    if post in ("hyperp", "hyperp-xpl"):
        c = p.get("hyperp", {})
        cap = math.inf if post == "hyperp-xpl" else float(c.get("cap", 10.0))
        use_ext = 0 if post == "hyperp-xpl" else int(bool(c.get("use_external", True)))
        ext = np.ones_like(agg)      # external pre-market price: unmoved by the attacker's sweep
        return hyperp_mark(agg, ext, use_ext, dt, float(c.get("ema_s", 28800.0)), cap)
    raise ValueError(f"unknown oracle rule {post!r}")


__all__ = [
    "AGGREGATORS",
    "ORACLE",
    "ORACLE_NAMES",
    "POST_KINDS",
    "OracleKinds",
    "aggregate_into",
    "aggregate_sources",
    "chainlink_push",
    "collateral_price",
    "exchange_index",
    "gmx_v2_keeper",
    "hl_mark",
    "hyperp_mark",
    "median_sources",
    "oracle_from_sources",
    "pull_feed",
    "twap",
    "weighted_median_sorted",
    "weighted_median_sources",
]
