"""The list of accounts to read: HyperCore has no on-chain enumeration of its users.

Neither HyperEVM nor the precompiles can list every user (../shared/reference/protocols.md §6;
Hyperliquid docs "Interacting with HyperCore" list per-user reads only), so the accounts come from
a file the user gives: one 0x address per line; blank lines and ``#`` comments are ignored;
duplicates (in any case) are read once. Where to get such a list: the Hyperliquid info API
(``clearinghouseState`` per user, leaderboard, ``vaultDetails`` for HLP followers) or node output.
Every problem is a one-line InputError naming the file and line.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from eth_utils import to_checksum_address

from defi_perps.exceptions import InputError

_ADDR = re.compile(r"0[xX][0-9a-fA-F]{40}")
MAX_ACCOUNTS = 1_000_000


def parse_accounts(text: str, where: str = "accounts") -> list[str]:
    """Checksummed addresses in file order, duplicates dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if not _ADDR.fullmatch(item):
            shown = item if len(item) <= 50 else item[:47] + "..."
            raise InputError(f"{where} line {n}: {shown!r} is not an account address (0x and 40 hex digits)")
        key = item.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(to_checksum_address(key))
        if len(out) > MAX_ACCOUNTS:
            raise InputError(f"{where}: more than {MAX_ACCOUNTS:,} accounts; split the file")
    if not out:
        raise InputError(f"{where} lists no accounts (one 0x address per line; HyperCore has no on-chain "
                         f"list of users to read instead)")
    return out


def load_accounts(path: str | Path) -> list[str]:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"accounts file not found: {p}") from None
    except IsADirectoryError:
        raise InputError(f"accounts file {p} is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"accounts file {p} is not text (expected one 0x address per line)") from None
    except OSError as err:
        raise InputError(f"cannot read accounts file {p}: {err.strerror or err}") from None
    return parse_accounts(text, f"accounts file {p}")


def accounts_digest(accounts: list[str]) -> str:
    """sha256 over the sorted lowercase addresses: the same set reads as the same snapshot."""
    body = "\n".join(sorted(a.lower() for a in accounts))
    return hashlib.sha256(body.encode()).hexdigest()


def snapshot_root(accounts: list[str]) -> str:
    """``snapshot.data_store`` of a Hyperliquid snapshot: the precompile range and the account list's
    digest, so the same block read for another list of accounts is another snapshot."""
    from defi_perps.protocols.hyperliquid.deployment import ROOT

    return f"{ROOT}#accounts:{accounts_digest(accounts)[:16]}"
