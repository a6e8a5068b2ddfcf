"""Accounts files: the list of accounts a protocol without on-chain enumeration reads (``index --accounts
FILE``, or a plug-in's chain-file ``accounts_file``, e.g. Hyperliquid's). Shared by the plug-ins and the
indexer, so every accounts file reads the same way.

Two layouts, told apart by content (not by the file name):

* one 0x address per line; blank lines and ``#`` comments are ignored (a first line that is just a
  column name such as ``address`` is a one-column CSV's header and is skipped);
* CSV (the first non-comment line holds a comma): with a header row naming the address column
  (``account``, ``address``, ``user``, ``wallet`` or ``trader``, any case), or without one, the
  address then being the first column. Other columns (labels, balances) are ignored.

Every problem is a one-line InputError naming the file and the line: a value that is not an
address (0x and 40 hex digits), a CSV without an address column, a file without any account.
Duplicates (in any letter case) are read once, in the order first seen; addresses come back
checksummed (EIP-55).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from eth_utils import to_checksum_address

from defi_perps.exceptions import InputError

ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")
HEADER_NAMES = ("account", "address", "user", "wallet", "trader")
MAX_ACCOUNTS = 1_000_000


def _shown(v: str) -> str:
    return v if len(v) <= 50 else v[:47] + "..."


def parse_accounts_text(text: str, where: str) -> list[str]:
    """Checksummed addresses of an accounts file's text, in file order, duplicates dropped."""
    lines = [(n, line.split("#", 1)[0].strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, s) for n, s in lines if s]
    items: list[tuple[int, str]]
    if lines and "," in lines[0][1]:
        items = _csv_items(lines, where)
    elif lines and lines[0][1].strip('"').lower() in HEADER_NAMES:
        items = lines[1:]                                  # a one-column CSV: its header, then addresses
    else:
        items = lines
    out: list[str] = []
    seen: set[str] = set()
    for n, item in items:
        if not ADDRESS.fullmatch(item):
            raise InputError(f"{where} line {n}: {_shown(item)!r} is not an account address (0x and 40 hex digits)")
        key = item.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(to_checksum_address(key))
        if len(out) > MAX_ACCOUNTS:
            raise InputError(f"{where}: more than {MAX_ACCOUNTS:,} accounts; split the file")
    if not out:
        raise InputError(f"{where} lists no accounts (one 0x address per line, or a CSV with an account column)")
    return out


def _csv_items(lines: list[tuple[int, str]], where: str) -> list[tuple[int, str]]:
    rows = [(n, [c.strip() for c in next(csv.reader(io.StringIO(s)))]) for n, s in lines]
    n0, head = rows[0]
    col = 0
    if not any(ADDRESS.fullmatch(c) for c in head):      # a header row: find the address column by name
        names = [c.lower() for c in head]
        col = next((names.index(h) for h in HEADER_NAMES if h in names), -1)
        if col < 0:
            raise InputError(f"{where} line {n0}: CSV header {_shown(','.join(head))!r} names no account column "
                             f"(one of {', '.join(HEADER_NAMES)})")
        rows = rows[1:]
    out = []
    for n, cells in rows:
        if col >= len(cells):
            raise InputError(f"{where} line {n}: no value in column {col + 1} (the account column)")
        out.append((n, cells[col]))
    return out


def load_accounts_file(path: str | Path) -> list[str]:
    """The accounts in ``path``; one-line InputErrors for a missing, unreadable or malformed file."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"accounts file not found: {p}") from None
    except IsADirectoryError:
        raise InputError(f"accounts file {p} is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"accounts file {p} is not text (one 0x address per line, or CSV)") from None
    except OSError as err:
        raise InputError(f"cannot read accounts file {p}: {err.strerror or err}") from None
    if not text.strip():
        raise InputError(f"accounts file {p} is empty (one 0x address per line, or a CSV with an account column)")
    return parse_accounts_text(text, f"accounts file {p}")
