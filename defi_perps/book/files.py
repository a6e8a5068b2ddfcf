"""Book from a CSV or Parquet file (one row per position).

Columns (header names, case-insensitive; extra columns are ignored):

==================  ========  =============================================================
column              required  meaning
==================  ========  =============================================================
market              yes       market name (any string; rows with the same name share a market)
side                yes       ``long``/``short`` (also ``buy``/``sell``, ``+1``/``-1``)
size                one of    position size in index tokens (> 0)
size_usd            one of    position notional at entry in USD (> 0); size = size_usd / entry
entry_price         yes       USD per index token (> 0)
collateral_usd      yes       collateral value in USD, net of fees owed (may be ≤ 0)
mark_price          yes       the market's index price at book time, USD (> 0; same on every row
                              of a market)
collateral_tokens   no        collateral held in the index token (default 0)
account             no        account label (default: the row number)
mm_rate             no        the position's maintenance rate, overriding the venue's (empty: venue's)
==================  ========  =============================================================

A bad file raises :class:`~defi_perps.exceptions.InputError` naming the file, the row (1-based,
header excluded) and the column.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.exceptions import InputError

_SIDES = {"long": 1, "buy": 1, "+1": 1, "1": 1, "l": 1, "short": -1, "sell": -1, "-1": -1, "s": -1}


def _read_table(path: Path) -> tuple[list[str], list[list[object]]]:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        except Exception as err:  # pyarrow raises many types for a broken file
            raise InputError(f"book file {path}: not a readable Parquet file ({err})") from err
        cols = [c.lower() for c in table.column_names]
        data = table.to_pydict()
        columns = [data[c] for c in table.column_names]
        return cols, [list(r) for r in zip(*columns)] if columns else []
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as err:
        raise InputError(f"book file {path}: not a UTF-8 CSV file") from err
    if not rows:
        raise InputError(f"book file {path}: empty file (expected a header row)")
    return [h.strip().lower() for h in rows[0]], [list[object](r) for r in rows[1:] if any(c.strip() for c in r)]


def read_book_file(path: str | Path) -> Book:
    """Read a CSV (``.csv``) or Parquet (``.parquet``) book file; see the module docstring."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"book file {p} does not exist")
    header, rows = _read_table(p)
    col = {name: i for i, name in enumerate(header)}
    required = ["market", "side", "entry_price", "collateral_usd", "mark_price"]
    missing = [c for c in required if c not in col]
    if "size" not in col and "size_usd" not in col:
        missing.append("size (or size_usd)")
    if missing:
        raise InputError(f"book file {p}: missing column(s) {', '.join(missing)}")
    if not rows:
        raise InputError(f"book file {p}: no positions")

    def cell(r: int, row: list[object], name: str) -> object:
        i = col[name]
        if i >= len(row):
            raise InputError(f"book file {p}: row {r}: missing value for column {name!r}")
        return row[i]

    def number(r: int, row: list[object], name: str, *, positive: bool = False, default: float | None = None) -> float:
        if name not in col:
            if default is None:
                raise InputError(f"book file {p}: row {r}: no value for {name!r} (add the column, or fill 'size')")
            return default
        raw = cell(r, row, name)
        if (raw is None or (isinstance(raw, str) and not raw.strip())) and default is not None:
            return default
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"book file {p}: row {r}, column {name!r}: {raw!r} is not a number") from None
        if not math.isfinite(value) or (positive and value <= 0):
            need = "a positive number" if positive else "a finite number"
            raise InputError(f"book file {p}: row {r}, column {name!r}: {raw!r} is not {need}")
        return value

    names: dict[str, int] = {}
    prices: dict[int, float] = {}
    accounts: dict[str, int] = {}
    n = len(rows)
    market = np.zeros(n, np.int32)
    side = np.zeros(n, np.int8)
    size, entry, coll, coll_tok = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    account = np.zeros(n, np.int32)
    pos_mm = np.full(n, np.nan)
    for k, row in enumerate(rows):
        r = k + 1
        name = str(cell(r, row, "market")).strip()
        if not name or name == "None":
            raise InputError(f"book file {p}: row {r}, column 'market': empty")
        mi = names.setdefault(name, len(names))
        raw_side = str(cell(r, row, "side")).strip().lower()
        if raw_side not in _SIDES:
            raise InputError(f"book file {p}: row {r}, column 'side': {raw_side!r} is not long/short")
        e = number(r, row, "entry_price", positive=True)
        if "size" in col and str(cell(r, row, "size")).strip() not in {"", "None"}:
            q = number(r, row, "size", positive=True)
        else:
            q = number(r, row, "size_usd", positive=True) / e
        mp = number(r, row, "mark_price", positive=True)
        if prices.setdefault(mi, mp) != mp:
            raise InputError(f"book file {p}: row {r}, column 'mark_price': {mp} differs from {prices[mi]} "
                             f"given earlier for market {name!r}")
        if "mm_rate" in col:
            rate = number(r, row, "mm_rate", default=math.nan)
            if not math.isnan(rate) and not 0 <= rate < 1:
                raise InputError(f"book file {p}: row {r}, column 'mm_rate': {rate} is not in [0, 1)")
            pos_mm[k] = rate
        acc = str(cell(r, row, "account")).strip() if "account" in col else str(r)
        market[k], side[k], size[k], entry[k] = mi, _SIDES[raw_side], q, e
        coll[k] = number(r, row, "collateral_usd")
        coll_tok[k] = number(r, row, "collateral_tokens", default=0.0)
        account[k] = accounts.setdefault(acc, len(accounts))
    m = len(names)
    return Book(market_names=list(names), price=np.array([prices[i] for i in range(m)]), market=market, side=side,
                size=size, entry_price=entry, collateral_usd=coll, collateral_tokens=coll_tok, account=account,
                account_names=list(accounts), position_mm_rate=pos_mm, source=f"book file {p.name}")


COLUMNS = ["market", "side", "size", "entry_price", "collateral_usd", "collateral_tokens", "mark_price", "account",
           "mm_rate"]


def _rows(book: Book, market_mm: bool = False) -> list[list[object]]:
    """One row per position in the file format above. Floats are written at full precision
    (``repr``), so a reader gets the same float64 back. ``market_mm``: a position without its own
    maintenance rate gets its market's (``book.mm_rate``), so a book exported from a snapshot keeps
    the protocol's rate instead of falling back to the venue's."""
    out: list[list[object]] = []
    for i in range(book.n_positions):
        m = int(book.market[i])
        rate = book.position_mm_rate[i]
        if market_mm and np.isnan(rate):
            rate = book.mm_rate[m]
        out.append([book.market_names[m], "long" if book.side[i] > 0 else "short", float(book.size[i]),
                    float(book.entry_price[i]), float(book.collateral_usd[i]), float(book.collateral_tokens[i]),
                    float(book.price[m]),
                    book.account_names[book.account[i]] if book.account_names else str(int(book.account[i])),
                    None if np.isnan(rate) else float(rate)])
    return out


def write_book_csv(book: Book, path: str | Path, market_mm: bool = False) -> None:
    """Write a book in the file format above (used by tests and to export synthetic books)."""
    import csv

    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in _rows(book, market_mm):
            w.writerow([repr(v) if isinstance(v, float) else ("" if v is None else v) for v in r])


def write_book_parquet(book: Book, path: str | Path, market_mm: bool = False) -> None:
    """The same rows as a Parquet file (float64 columns, so values round-trip exactly)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(book, market_mm)
    cols = list(zip(*rows)) if rows else [()] * len(COLUMNS)
    types = [pa.string(), pa.string(), pa.float64(), pa.float64(), pa.float64(), pa.float64(), pa.float64(),
             pa.string(), pa.float64()]
    table = pa.table({name: pa.array(list(c), type=t) for name, c, t in zip(COLUMNS, cols, types)})
    pq.write_table(table, path)


def write_book_file(book: Book, path: str | Path, fmt: str, market_mm: bool = False) -> None:
    """Write ``book`` as ``csv`` or ``parquet``; an unwritable path is a one-line InputError."""
    p = Path(path)
    if not p.parent.is_dir():
        raise InputError(f"cannot write {p}: folder {p.parent} does not exist")
    try:
        if fmt == "csv":
            write_book_csv(book, p, market_mm)
        elif fmt == "parquet":
            write_book_parquet(book, p, market_mm)
        else:
            raise InputError(f"unknown book format {fmt!r}: use csv or parquet")
    except OSError as err:
        raise InputError(f"cannot write {p}: {err.strerror}") from None
