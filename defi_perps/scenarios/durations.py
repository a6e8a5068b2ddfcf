"""Durations like ``30s``, ``1m``, ``12m``, ``1h``, ``1d``, ``2w`` → seconds."""

from __future__ import annotations

import re

from defi_perps.exceptions import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str, what: str = "duration") -> float:
    m = _RE.match(str(text))
    if not m:
        raise ConfigError(f"{what} {text!r}: expected a number and a unit s/m/h/d/w, e.g. 12m or 1d")
    seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if seconds <= 0:
        raise ConfigError(f"{what} {text!r} must be positive")
    return seconds


def steps_for(seconds: float, step_seconds: float, what: str = "duration") -> int:
    """Whole steps in ``seconds`` (rounded, at least 1)."""
    n = int(round(seconds / step_seconds))
    if n < 1:
        raise ConfigError(f"{what} is shorter than one step")
    return n
