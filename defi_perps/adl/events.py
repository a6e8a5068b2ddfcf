"""ADL events: a shortfall plus candidate counterparties (struct-of-arrays), and the CSV loader."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from defi_perps.exceptions import InputError


@dataclass(frozen=True)
class Candidates:
    """Candidate counterparties (float64 USD / base units, one entry per account)."""

    account: tuple[str, ...]
    side: np.ndarray      # +1 long / −1 short
    size: np.ndarray      # base units, > 0
    entry: np.ndarray
    mark: np.ndarray
    equity: np.ndarray    # account value, USD
    pnl: np.ndarray       # unrealized PnL, USD
    score: np.ndarray | None = None   # venue-published ADL ranking score, if the event file has one

    def __len__(self) -> int:
        return len(self.account)

    @property
    def notional(self) -> np.ndarray:
        return self.size * self.mark

    @property
    def endowment(self) -> np.ndarray:
        """Haircutable endowment ``w_i = max(PnL_i, 0)`` (Chitra et al., corrected version)."""
        return np.maximum(self.pnl, 0.0)

    @property
    def collateral(self) -> np.ndarray:
        return self.equity - self.pnl

    @property
    def leverage(self) -> np.ndarray:
        eq = self.equity
        return np.where(eq > 0, self.notional / np.where(eq > 0, eq, 1.0), np.inf)


@dataclass(frozen=True)
class AdlEvent:
    event: str
    shortfall: float
    candidates: Candidates
    bankrupt_size: float | None = None
    fill_price: float | None = None


def make_candidates(account: list[str], side: list[float], size: list[float], entry: list[float], mark: list[float],
                    equity: list[float], pnl: list[float | None] | None = None,
                    score: list[float | None] | None = None) -> Candidates:
    s = np.asarray(side, dtype=np.float64)
    q = np.asarray(size, dtype=np.float64)
    e = np.asarray(entry, dtype=np.float64)
    m = np.asarray(mark, dtype=np.float64)
    if pnl is None:
        p = s * q * (m - e)
    else:
        p = np.array([s[i] * q[i] * (m[i] - e[i]) if v is None else v for i, v in enumerate(pnl)], dtype=np.float64)
    sc = None
    if score is not None and any(v is not None for v in score):
        sc = np.array([np.nan if v is None else v for v in score], dtype=np.float64)
    return Candidates(tuple(account), s, q, e, m, np.asarray(equity, dtype=np.float64), p, sc)


REQUIRED = ("event", "shortfall", "account", "side", "size", "entry", "mark", "equity")
OPTIONAL = ("pnl", "bankrupt_size", "fill_price", "score")


def _num(raw: str, row: int, col: str, *, positive: bool = False, allow_blank: bool = False) -> float | None:
    text = (raw or "").strip()
    if not text:
        if allow_blank:
            return None
        raise InputError(f"row {row}, column {col!r}: value is missing")
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"row {row}, column {col!r}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"row {row}, column {col!r}: {text!r} is not a finite number")
    if positive and v <= 0:
        raise InputError(f"row {row}, column {col!r}: must be > 0 (got {text})")
    return v


def _side(raw: str, row: int) -> float:
    t = (raw or "").strip().lower()
    if t in ("long", "1", "+1", "buy"):
        return 1.0
    if t in ("short", "-1", "sell"):
        return -1.0
    raise InputError(f"row {row}, column 'side': {raw!r} is not long/short")


def load_events_csv(path: str | Path) -> list[AdlEvent]:
    """Read an event CSV (format in :mod:`defi_perps.adl`); rows are numbered as in the file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"event file {p} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"event file {p}: cannot be read as UTF-8 text ({err.__class__.__name__})") from err
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines())
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise InputError(f"event file {p} is empty")
    reader = csv.reader([line for _, line in numbered])
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"event file {p}: header (row {numbered[0][0]}) lacks column {missing[0]!r}")
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(f"event file {p}: header (row {numbered[0][0]}) has unknown column {unknown[0]!r}")
    events: dict[str, dict] = {}
    for (lineno, _), values in zip(numbered[1:], reader):
        if len(values) != len(header):
            raise InputError(f"row {lineno}: expected {len(header)} columns, found {len(values)}")
        rec = dict(zip(header, values))
        eid = rec["event"].strip()
        if not eid:
            raise InputError(f"row {lineno}, column 'event': value is missing")
        shortfall = _num(rec["shortfall"], lineno, "shortfall")
        assert shortfall is not None
        if shortfall < 0:
            raise InputError(f"row {lineno}, column 'shortfall': must be >= 0 (got {rec['shortfall'].strip()})")
        ev = events.setdefault(eid, {"shortfall": shortfall, "rows": [], "bankrupt_size": None, "fill_price": None,
                                     "first": lineno})
        if ev["shortfall"] != shortfall:
            raise InputError(f"row {lineno}, column 'shortfall': {shortfall} differs from {ev['shortfall']} "
                             f"given for event {eid!r} on row {ev['first']}")
        for col in ("bankrupt_size", "fill_price"):
            if col in rec:
                v = _num(rec[col], lineno, col, positive=True, allow_blank=True)
                if v is not None:
                    if ev[col] is not None and ev[col] != v:
                        raise InputError(f"row {lineno}, column {col!r}: differs from the value given earlier "
                                         f"for event {eid!r}")
                    ev[col] = v
        account = rec["account"].strip()
        if not account:
            raise InputError(f"row {lineno}, column 'account': value is missing")
        ev["rows"].append((account, _side(rec["side"], lineno), _num(rec["size"], lineno, "size", positive=True),
                           _num(rec["entry"], lineno, "entry", positive=True),
                           _num(rec["mark"], lineno, "mark", positive=True), _num(rec["equity"], lineno, "equity"),
                           _num(rec.get("pnl", ""), lineno, "pnl", allow_blank=True),
                           _num(rec.get("score", ""), lineno, "score", allow_blank=True)))
    if not events:
        raise InputError(f"event file {p} has a header but no rows")
    out = []
    for eid, ev in events.items():
        cols = list(zip(*ev["rows"]))
        c = make_candidates(list(cols[0]), list(cols[1]), list(cols[2]), list(cols[3]), list(cols[4]), list(cols[5]),
                            list(cols[6]), list(cols[7]))
        out.append(AdlEvent(eid, ev["shortfall"], c, ev["bankrupt_size"], ev["fill_price"]))
    return out
