"""Liquidity that withdraws: parameters (``withdrawal.toml``), the kernel's arrays, and the
plain-Python twin of :mod:`defi_perps.engine.liquidity_nb` (the model is documented there).

>>> from defi_perps.engine.liquidity import load_withdrawal
>>> load_withdrawal().k_vol
0.3
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.engine import liquidity_nb as L
from defi_perps.exceptions import ConfigError, EngineInputError

SECONDS_PER_YEAR = 365.0 * 86400.0


@dataclass(frozen=True)
class Withdrawal:
    """Makers' withdrawal parameters (units: annualised volatility, seconds, fractions)."""

    normal_volatility: float = 0.5
    vol_half_life_s: float = 180.0
    free_vol_ratio: float = 3.0
    k_vol: float = 0.3
    k_drawdown: float = 5.0
    k_adl: float = 10.0
    recovery_half_life_s: float = 900.0
    min_multiplier: float = 0.02
    full_withdrawal_distance: float = 0.005
    band_decay: float = 0.77
    inventory_half_life_s: float = 600.0
    capital_multiple: float = 1.0
    thin_level: float = 0.1
    source: str = "built-in"

    def check(self) -> "Withdrawal":
        def bad(msg: str) -> None:
            raise ConfigError(f"withdrawal parameters ({self.source}): {msg}")

        for f in fields(self):
            if f.name == "source":
                continue
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                bad(f"{f.name} must be a finite number >= 0 (got {v!r})")
        if not 0 < self.min_multiplier <= 1:
            bad("min_multiplier must be in (0, 1]")
        for name in ("normal_volatility", "full_withdrawal_distance", "capital_multiple"):
            if getattr(self, name) <= 0:
                bad(f"{name} must be > 0")
        if not 0 < self.thin_level <= 1:
            bad("thin_level must be in (0, 1]")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_withdrawal(text: str, origin: str, base: Withdrawal | None = None) -> Withdrawal:
    """One withdrawal TOML (``[withdrawal]`` values, ``[sources]`` for each); keys it leaves out keep
    ``base``'s values (the built-in file's, for a user's file); one-line errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"withdrawal file {origin}: not valid TOML: {err}") from err
    body = raw.get("withdrawal")
    if not isinstance(body, dict):
        raise ConfigError(f"withdrawal file {origin}: needs a [withdrawal] table")
    known = {f.name for f in fields(Withdrawal)} - {"source"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ConfigError(f"withdrawal file {origin}: unknown key withdrawal.{unknown[0]}")
    sources = raw.get("sources", {})
    missing = [k for k in body if not str(sources.get(f"withdrawal.{k}", "")).strip()]
    if missing:
        raise ConfigError(f"withdrawal file {origin}: parameter 'withdrawal.{missing[0]}' has no entry in [sources]")
    values = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in body.items()}
    start = {k: v for k, v in asdict(base).items() if k != "source"} if base is not None else {}
    return Withdrawal(**{**start, **values, "source": origin}).check()


def load_withdrawal(path: str | Path | None = None) -> Withdrawal:
    """The built-in parameters (``engine/withdrawal.toml``) or a user's file."""
    if path is None:
        text = resources.files("defi_perps.engine").joinpath("withdrawal.toml").read_text(encoding="utf-8")
        return parse_withdrawal(text, "defi_perps/engine/withdrawal.toml")
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"withdrawal file {p} does not exist")
    try:
        return parse_withdrawal(p.read_text(encoding="utf-8"), str(p), load_withdrawal())
    except UnicodeDecodeError:
        raise ConfigError(f"withdrawal file {p}: not UTF-8 text") from None


def band_exponents(w: Withdrawal, band_x: np.ndarray) -> np.ndarray:
    """Each band's withdrawal exponent ``min(1, (x_ref / x)^γ)``."""
    with np.errstate(divide="ignore"):
        e = np.minimum(1.0, (w.full_withdrawal_distance / np.maximum(band_x, 1e-300)) ** w.band_decay)
    return np.ascontiguousarray(e, dtype=np.float64)


def withdrawal_arrays(w: Withdrawal | None, kind: str, band_x: np.ndarray, band_d: np.ndarray,
                      step_seconds: float) -> dict[str, np.ndarray]:
    """``wd_par``, ``wd_exp``, ``wd_cap`` for :class:`~defi_perps.engine.inputs.MarketArrays`."""
    m = band_d.shape[0]
    par = np.zeros(L.N_WD_PAR)
    if w is None:
        return {"wd_par": par, "wd_exp": np.ones_like(band_d), "wd_cap": np.ones(m)}
    if kind != "bands":
        raise EngineInputError("liquidity withdrawal needs band depth (depth kind 'bands')")

    def half(h: float) -> float:   # per-step retention of a half-life (0 = none)
        return 0.5 ** (step_seconds / h) if h > 0 else 0.0

    par[L.WD_ON] = 1.0
    par[L.WD_LAMBDA] = half(w.vol_half_life_s)
    par[L.WD_SIGMA_REF] = w.normal_volatility * math.sqrt(step_seconds / SECONDS_PER_YEAR)
    par[L.WD_FREE] = w.free_vol_ratio
    par[L.WD_K_VOL] = w.k_vol
    par[L.WD_K_DD] = w.k_drawdown
    par[L.WD_K_ADL] = w.k_adl
    par[L.WD_RECOVERY] = 1.0 - half(w.recovery_half_life_s) if w.recovery_half_life_s > 0 else 1.0
    par[L.WD_MIN] = w.min_multiplier
    par[L.WD_UNWIND] = 1.0 - half(w.inventory_half_life_s) if w.inventory_half_life_s > 0 else 1.0
    par[L.WD_THIN] = w.thin_level
    cap = w.capital_multiple * band_d[:, -1]
    return {"wd_par": par, "wd_exp": band_exponents(w, band_x), "wd_cap": np.ascontiguousarray(cap, np.float64)}


# -- the plain-Python twin ---------------------------------------------------------------------
class MakerState:
    """One path's maker state, column for column ``liquidity_nb``'s ``ls``."""

    def __init__(self, price0: np.ndarray, wd_par: np.ndarray) -> None:
        n = len(price0)
        self.w = [1.0] * n
        self.var = [float(wd_par[L.WD_SIGMA_REF]) ** 2] * n
        self.inv = [0.0] * n
        self.cash = [0.0] * n
        self.peak = [0.0] * n
        self.prev = [float(x) for x in price0]
        self.adl = [0.0] * n

    def depth_factor(self, m: int, b: int, sched_value: float, wd_exp: np.ndarray, on: bool) -> float:
        f = sched_value
        w = self.w[m] if on else 1.0
        if on and w < 1.0:
            f *= w ** float(wd_exp[m, b])
        return f

    def update(self, m: int, mark: float, pre: float, q: float, integ: float, adl_total: float,
               wd_par: np.ndarray, cap: float) -> float:
        """Same arithmetic, same order as :func:`defi_perps.engine.liquidity_nb.liquidity_update`."""
        r = math.log(mark / self.prev[m])
        self.prev[m] = mark
        lam = float(wd_par[L.WD_LAMBDA])
        v = lam * self.var[m] + (1.0 - lam) * r * r
        self.var[m] = v
        ratio = math.sqrt(v) / float(wd_par[L.WD_SIGMA_REF])
        if q != 0.0:
            self.inv[m] += -q / pre
            self.cash[m] += q + integ
        u = float(wd_par[L.WD_UNWIND])
        inv = self.inv[m]
        if u > 0.0 and inv != 0.0:
            self.cash[m] += u * inv * mark
            self.inv[m] = inv - u * inv
        pnl = self.inv[m] * mark + self.cash[m]
        rho = float(wd_par[L.WD_RECOVERY])
        peak = max(pnl, self.peak[m] - rho * (self.peak[m] - pnl))
        self.peak[m] = peak
        dd = (peak - pnl) / cap
        pressure = float(wd_par[L.WD_K_VOL]) * max(0.0, ratio - float(wd_par[L.WD_FREE])) \
            + float(wd_par[L.WD_K_DD]) * dd
        target = math.exp(-pressure)
        a = adl_total - self.adl[m]
        self.adl[m] = adl_total
        w = min(self.w[m] + rho * (1.0 - self.w[m]), target)
        if a > 0.0:
            w *= math.exp(-float(wd_par[L.WD_K_ADL]) * a / cap)
        w = max(w, float(wd_par[L.WD_MIN]))
        self.w[m] = w
        return w


__all__ = ["MakerState", "Withdrawal", "band_exponents", "load_withdrawal", "parse_withdrawal", "withdrawal_arrays"]
