"""Deterministic shock specs → a log-price base path per market.

Grammar (whitespace ignored)::

    SPEC    := ITEM (";" ITEM)*
    ITEM    := [MARKET ":"] SEGMENT ("," SEGMENT)*
    SEGMENT := ("+"|"-") NUMBER "%" "@" DURATION        e.g.  -13%@12m

Segments of one item run back to back from the start; each moves the price by the percentage
(relative to the level when the segment starts) linearly in log-price over its duration, and the
level holds after the last one. ``0%@2h,-13%@12m`` waits two hours, then falls 13 % in 12 minutes.
``MARKET`` matches book market names case-insensitively, by exact name or prefix (``BTC`` matches
``BTC/USD [WBTC-USDC]``); ``*`` (or no market) applies to every market not named elsewhere.
"""

from __future__ import annotations

import math
import re

import numpy as np

from defi_perps.exceptions import ConfigError
from defi_perps.scenarios.durations import parse_duration

MAX_RISE = 999.0   # +99,900 %: a 1,000x move (MNGO's +2,300 % is the largest in incidents.md)
_SEG = re.compile(r"^([+-]?\d+(?:\.\d+)?)%@(.+)$")


def parse_shock(spec: str) -> dict[str, list[tuple[float, float]]]:
    """``{market or '*': [(fraction, seconds), ...]}``; raises ConfigError naming the bad part."""
    out: dict[str, list[tuple[float, float]]] = {}
    text = "".join(str(spec).split())
    if not text:
        raise ConfigError("shock spec is empty (expected e.g. -13%@12m)")
    for item in text.split(";"):
        if not item:
            continue   # a trailing ';' is harmless; a spec of only ';' is refused below
        market = "*"
        if ":" in item:
            market, item = item.split(":", 1)
            if not market:
                raise ConfigError(f"shock spec {spec!r}: empty market name before ':'")
        segs = []
        for seg in item.split(","):
            m = _SEG.match(seg)
            if not m:
                raise ConfigError(f"shock spec {spec!r}: bad segment {seg!r} (expected e.g. -13%@12m)")
            pct = float(m.group(1)) / 100.0
            if pct <= -1.0:
                raise ConfigError(f"shock spec {spec!r}: a fall of {m.group(1)}% would take the price to zero")
            if pct > MAX_RISE:
                raise ConfigError(f"shock spec {spec!r}: a rise of {m.group(1)}% is beyond the accepted "
                                  f"+{MAX_RISE * 100:,.0f}% (1,000x)")
            segs.append((pct, parse_duration(m.group(2), f"shock segment {seg!r} duration")))
        if market in out:
            raise ConfigError(f"shock spec {spec!r}: market {market!r} given twice")
        out[market] = segs
    if not out:
        raise ConfigError(f"shock spec {spec!r} has no segment (expected e.g. -13%@12m or 'BTC:-13%@12m; *:-35%@15m')")
    return out


def shock_duration(spec: str | dict[str, list[tuple[float, float]]]) -> dict[str, float]:
    """Seconds until each item's last segment ends (``{market or '*': seconds}``)."""
    parsed = parse_shock(spec) if isinstance(spec, str) else spec
    return {k: sum(d for _, d in segs) for k, segs in parsed.items()}


# Wrapped or bridged tokens index the same asset as the name a scenario uses (GMX's ETH/USD market
# has WETH as its index token, BTC/USD has WBTC on Arbitrum and BTC.b on Avalanche).
_UNDERLYING = {"weth": "eth", "wbtc": "btc", "btc.b": "btc", "wavax": "avax", "wsol": "sol", "wbnb": "bnb"}


def _base_symbols(name: str) -> set[str]:
    """Lower-case symbols a market name answers to: its base and the base's underlying asset."""
    base = name.split("/")[0].split()[0].lower() if name.strip() else ""
    return {base, _UNDERLYING.get(base, base)}


def match_markets(names: list[str], keys: list[str], what: str, strict: bool = True) -> dict[str, list[int]]:
    """Map each key (market name or prefix, or '*') to market indices.

    With ``strict`` (a spec the user typed) a name that matches no market is an error, since it is
    most likely a typo. Scenario files are written for many books (the Oct-2025 scenario names BTC,
    ETH and SOL), so they pass ``strict=False``: a market the book lacks is skipped, and the
    markets it does have still fall under ``*``.
    """
    lowered = [n.lower() for n in names]
    bases = [_base_symbols(n) for n in names]
    taken: set[int] = set()
    result: dict[str, list[int]] = {}
    for key in keys:
        if key == "*":
            continue
        k = key.lower()
        idx = [i for i, n in enumerate(lowered) if n == k] or \
              [i for i, n in enumerate(lowered) if n.startswith(k) or k in bases[i]]
        if not idx:
            if not strict:
                continue
            raise ConfigError(f"{what}: market {key!r} is not in the book (markets: {', '.join(names)})")
        result[key] = idx
        taken.update(idx)
    if "*" in keys:
        result["*"] = [i for i in range(len(names)) if i not in taken]
    return result


def segments_to_log_path(segs: list[tuple[float, float]], n_steps: int, step_seconds: float) -> np.ndarray:
    """float64[n_steps + 1] log multiplier, 0 at t = 0."""
    path = np.zeros(n_steps + 1)
    level = 0.0
    t0 = 0.0
    times = np.arange(n_steps + 1) * step_seconds
    for pct, dur in segs:
        target = level + math.log1p(pct)
        t1 = t0 + dur
        inside = (times > t0) & (times <= t1)
        path[inside] = level + (target - level) * (times[inside] - t0) / dur
        path[times > t1] = target
        level, t0 = target, t1
    return path


def shock_base_path(spec: str | dict[str, list[tuple[float, float]]], market_names: list[str], n_steps: int,
                    step_seconds: float, strict: bool = True) -> np.ndarray:
    """float64[n_steps + 1, M] deterministic log path for a shock spec (``strict``: see match_markets)."""
    parsed = parse_shock(spec) if isinstance(spec, str) else spec
    where = match_markets(market_names, list(parsed), "shock spec", strict=strict)
    base = np.zeros((n_steps + 1, len(market_names)))
    for key, segs in parsed.items():
        col = segments_to_log_path(segs, n_steps, step_seconds)
        for i in where.get(key, ()):
            base[:, i] = col
    return base
