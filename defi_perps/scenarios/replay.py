"""Replay of historical prices from CSV → a log-price base path per market.

Accepted layouts (header required):

* ``timestamp,price`` — one series, applied to every market;
* ``timestamp,market,price`` — long form, one series per market name (or prefix, as in shocks);
* ``timestamp,<market>,<market>,...`` — wide form, one column per market.

``timestamp`` is unix seconds or ISO-8601 (``2025-10-10T21:15:00Z``). The series is used as
relative moves from its first row, interpolated linearly at each simulation step and held after
its last row, so a replay recorded on one venue can drive a book read from another. Markets
absent from the file do not move (apart from the stochastic part of the model).
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from defi_perps.exceptions import InputError
from defi_perps.scenarios.shocks import match_markets


MAX_REPLAY_BYTES = 256 * 2**20   # ~10M rows; a replay is a price path, not a tick archive


def _ts(raw: str, path: Path, row: int) -> float:
    text = raw.strip()
    try:
        v = float(text)
    except ValueError:
        try:
            v = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise InputError(f"replay file {path}: row {row}, column 'timestamp': {raw!r} is not unix seconds "
                             "or ISO-8601") from None
    if not math.isfinite(v) or abs(v) > 1e11:
        raise InputError(f"replay file {path}: row {row}, column 'timestamp': {raw!r} is not a unix time "
                         "(seconds, finite, before year 5000)")
    return v


def _price(raw: str, path: Path, row: int, col: str) -> float:
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"replay file {path}: row {row}, column {col!r}: {raw!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"replay file {path}: row {row}, column {col!r}: price must be positive")
    return v


def read_replay(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{market or '*': (seconds since the first row, price)}``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"replay file {p} does not exist")
    if p.stat().st_size > MAX_REPLAY_BYTES:
        raise InputError(f"replay file {p}: {p.stat().st_size:,} bytes; at most {MAX_REPLAY_BYTES:,} are accepted "
                         "(resample the series to the simulation step)")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except UnicodeDecodeError as err:
        raise InputError(f"replay file {p}: not UTF-8 text (byte {err.start}); save it as UTF-8 CSV") from None
    except csv.Error as err:
        raise InputError(f"replay file {p}: not a CSV file ({err})") from None
    if len(rows) < 2:
        raise InputError(f"replay file {p}: needs a header and at least one row")
    header = [h.strip().lower() for h in rows[0]]
    if "timestamp" not in header:
        raise InputError(f"replay file {p}: missing column 'timestamp'")
    ti = header.index("timestamp")
    series: dict[str, list[tuple[float, float]]] = {}
    if "market" in header and "price" in header:
        mi, pi = header.index("market"), header.index("price")
        for k, r in enumerate(rows[1:], start=1):
            if len(r) <= max(ti, mi, pi):
                raise InputError(f"replay file {p}: row {k} has {len(r)} columns, expected {len(header)}")
            series.setdefault(r[mi].strip(), []).append((_ts(r[ti], p, k), _price(r[pi], p, k, "price")))
    else:
        cols = [(i, h) for i, h in enumerate(rows[0]) if i != ti]
        if not cols:
            raise InputError(f"replay file {p}: no price column")
        single = len(cols) == 1 and cols[0][1].strip().lower() == "price"
        for k, r in enumerate(rows[1:], start=1):
            if len(r) < len(header):
                raise InputError(f"replay file {p}: row {k} has {len(r)} columns, expected {len(header)}")
            t = _ts(r[ti], p, k)
            for i, name in cols:
                if r[i].strip() == "":
                    continue
                key = "*" if single else name.strip()
                series.setdefault(key, []).append((t, _price(r[i], p, k, name.strip())))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, pts in series.items():
        arr = np.array(pts)
        d = np.diff(arr[:, 0])
        if np.any(d <= 0):
            k = int(np.argmax(d <= 0)) + 1
            what = "repeats" if d[k - 1] == 0 else "goes back in"
            raise InputError(f"replay file {p}: the series for {key!r} {what} time at its row {k + 1} "
                             "(rows must be in increasing time order, one row per timestamp)")
        out[key] = (arr[:, 0] - arr[0, 0], arr[:, 1])
    return out


def replay_base_path(path: str | Path, market_names: list[str], n_steps: int, step_seconds: float) -> np.ndarray:
    """float64[n_steps + 1, M] log path relative to each series' first price."""
    series = read_replay(path)
    where = match_markets(market_names, list(series), f"replay file {path}")
    base = np.zeros((n_steps + 1, len(market_names)))
    times = np.arange(n_steps + 1) * step_seconds
    for key, (t, price) in series.items():
        col = np.log(np.interp(times, t, price) / price[0])
        for i in where[key]:
            base[:, i] = col
    return base
