"""The venue's own oracle / mark series beside the exogenous price, for ``simulate`` and ``compare``.

The engine moves every venue along the same exogenous price (plus, on order-book venues, the
cascade's impact on the venue's own book: the engine's ``mark``). A venue does not read that price
directly: GMX v2 reads keeper prices (Data Streams min/max checked against the Chainlink
reference), GMX v1 its FastPriceFeed against Chainlink, Hyperliquid and Binance a mark that is a
median of the index plus a smoothed basis, the venue's own book and an external reference. This
module runs each venue's rule (the kernels of :mod:`defi_perps.engine.oracles`, parameters with
sources in ``defi_perps/venues/oracles/models.toml``) on the detail paths the engine kept
(``det_exog``, ``det_mark``) and summarises how far the venue's price strays from the exogenous
one (and from the engine's trigger price), so a reader sees where the oracle lags or dampens.

What it does not do: feed the oracle back into the engine. The engine's liquidations trigger at its
own price (``det_mark``: the exogenous price moved by the cascade, through the venue's book on an
order-book venue, through ``oracle_feedback`` on an oracle venue); the summary gives the venue
rule's distance from both, so the two can be compared.

Venues whose price rule the reference does not give beyond "mark price" (Bybit, OKX, BitMEX) and
the broker / CCP venues (the exogenous price is their feed) carry no oracle section.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from defi_perps.engine import oracles as orc
from defi_perps.venues.oracles import oracle_models

# venue -> (rule, which price feeds it, source)
VENUE_ORACLES: dict[str, tuple[str, str]] = {
    "gmx-v2": ("gmx-v2-keeper", "protocols.md §1.7: keeper prices from Chainlink Data Streams (bid → min, ask → max), a "
                                "report deviating from the Chainlink reference by more than "
                                "MAX_ORACLE_REF_PRICE_DEVIATION_FACTOR is rejected; liquidation at the worst side "
                                "(PositionUtils pickPriceForPnl)"),
    "gmx-v1": ("gmx-v1-fast", "protocols.md GMX v1: FastPriceFeed keeper price within maxDeviationBasisPoints of the "
                              "Chainlink reference, min/max spread"),
    "hyperliquid": ("hl-mark", "venues.md §1.6: mark = median(oracle + 150-s EMA of (HL mid − oracle), HL mid, "
                               "external perp mids); HL mid = the engine's book price, oracle and external mids = the "
                               "exogenous price"),
    "binance": ("binance-mark", "venues.md §1.1: mark = median(index·(1 + funding·t/8h), index + MA(basis), contract "
                                "price); index = the exogenous price, contract price = the engine's book price, funding "
                                "term ≈ 0 within a crash; MA(basis) modelled by a 150-s EMA (modelling choice)"),
}
N_POINTS = 61          # time-aligned series kept in the JSON (sub-sampled steps)


def _rule_series(rule: str, exog: np.ndarray, mark: np.ndarray, dt: float,
                 params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float64[D, T+1] of the venue's price over the exogenous start (equal unless the
    rule publishes a min/max pair)."""
    ones = np.ones(1)
    if rule in ("gmx-v2-keeper", "gmx-v1-fast"):
        # the feeds read the external market: the exogenous price plus what the venue's liquidations
        # moved it by (oracle_feedback), i.e. the engine's price
        src = np.ascontiguousarray(mark[:, :, None])
        lo = orc.oracle_from_sources(orc.ORACLE.MEDIAN, src, ones, rule, dt, params, maximize=False)
        hi = orc.oracle_from_sources(orc.ORACLE.MEDIAN, src, ones, rule, dt, params, maximize=True)
        return lo, hi
    if rule in ("hl-mark", "binance-mark"):
        c = params.get("hyperliquid", {})
        basis = float(c.get("basis_ema_s", 150.0))
        m = orc.hl_mark(exog, mark, np.ascontiguousarray(exog[:, :, None]), ones, dt, basis,
                        float(c.get("mid_ema_s", 30.0)))
        return m, m
    raise ValueError(f"no oracle series rule {rule!r}")


def _q(x: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.quantile(x, 0.5)), "p90": float(np.quantile(x, 0.9)), "max": float(x.max())}


def oracle_section(venue: str, det_exog: np.ndarray, det_mark: np.ndarray, price0: np.ndarray,
                   market_names: list[str], step_seconds: float) -> dict[str, Any] | None:
    """The ``oracle`` section of a venue's output, or None when the venue has no separate oracle rule.

    ``det_exog`` / ``det_mark`` float64[D, T+1, M] are the engine's detail paths (``det_mark``: the
    price the engine liquidated on)."""
    if venue not in VENUE_ORACLES:
        return None
    rule, source = VENUE_ORACLES[venue]
    d_n = det_exog.shape[0]
    out: dict[str, Any] = {"rule": rule, "source": source, "parameters": "defi_perps/venues/oracles/models.toml",
                           "engine_trigger_price": "the engine's price (exogenous + the cascade's impact)", "detail_paths": int(d_n), "markets": {}}
    if d_n == 0:
        out["note"] = "no detail paths kept (--detail-paths 0): no oracle series"
        return out
    params = oracle_models()
    t1 = det_exog.shape[1]
    steps = np.unique(np.linspace(0, t1 - 1, min(N_POINTS, t1)).round().astype(np.int64))
    for m, name in enumerate(market_names):
        p0 = float(price0[m])
        exog = np.ascontiguousarray(det_exog[:, :, m] / p0)
        mark = np.ascontiguousarray(det_mark[:, :, m] / p0)
        lo, hi = _rule_series(rule, exog, mark, step_seconds, params)
        dev = np.maximum(np.abs(lo / exog - 1.0), np.abs(hi / exog - 1.0))           # [D, T+1]
        trig = mark
        dev_trig = np.maximum(np.abs(lo / trig - 1.0), np.abs(hi / trig - 1.0))
        per_path = dev.max(axis=1)
        mid = 0.5 * (lo + hi) / exog
        row = {
            "differs_from_exogenous": bool(per_path.max() > 1e-12),
            "max_abs_deviation": float(per_path.max()),
            "per_path_max_abs_deviation": _q(per_path),
            "max_abs_deviation_from_engine_trigger": float(dev_trig.max()),
            "share_of_steps_over_0_1pct": float(np.mean(dev > 1e-3)),
            "min_price_drop": float(np.mean(1.0 - lo.min(axis=1))),
            "exogenous_min_price_drop": float(np.mean(1.0 - exog.min(axis=1))),
            "engine_trigger_min_price_drop": float(np.mean(1.0 - trig.min(axis=1))),
            "series": {"step": steps.tolist(),
                       "oracle_over_exogenous_p50": np.quantile(mid[:, steps], 0.5, axis=0).tolist(),
                       "oracle_over_exogenous_min": (lo / exog)[:, steps].min(axis=0).tolist(),
                       "oracle_over_exogenous_max": (hi / exog)[:, steps].max(axis=0).tolist()},
        }
        out["markets"][name] = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in row.items()}
    return out


def oracle_line(section: dict[str, Any] | None) -> str | None:
    """One short terminal line: the venue's oracle rule and its largest gap from the exogenous price."""
    if not section or not section.get("markets"):
        return None
    worst = max(section["markets"].items(), key=lambda kv: kv[1]["max_abs_deviation"])
    name, r = worst
    if not r["differs_from_exogenous"]:
        return f"oracle ({section['rule']}): equal to the exogenous price on every detail path"
    return (f"oracle ({section['rule']}): up to {r['max_abs_deviation']:.2%} from the exogenous price ({name}, "
            f"{section['detail_paths']} detail paths); min price drop {r['min_price_drop']:.2%} vs exogenous "
            f"{r['exogenous_min_price_drop']:.2%}, engine price {r['engine_trigger_min_price_drop']:.2%}")


__all__ = ["VENUE_ORACLES", "oracle_line", "oracle_section"]
