"""The list of accounts to read: HyperCore has no on-chain enumeration of its users.

Neither HyperEVM nor the precompiles can list every user (../shared/reference/protocols.md §6;
Hyperliquid docs "Interacting with HyperCore" list per-user reads only), so the accounts come from
a file the user gives, read by the shared accounts-file rules (``protocols/accounts.py``: one 0x
address per line or a CSV with an account column; ``#`` comments; duplicates read once). Where to
get such a list: the Hyperliquid info API (``clearinghouseState`` per user, leaderboard,
``vaultDetails`` for HLP followers) or node output.
Every problem is a one-line InputError naming the file and line.
"""

from __future__ import annotations

import hashlib


def accounts_digest(accounts: list[str]) -> str:
    """sha256 over the sorted lowercase addresses: the same set reads as the same snapshot."""
    body = "\n".join(sorted(a.lower() for a in accounts))
    return hashlib.sha256(body.encode()).hexdigest()


def snapshot_root(accounts: list[str]) -> str:
    """``snapshot.data_store`` of a Hyperliquid snapshot: the precompile range and the account list's
    digest, so the same block read for another list of accounts is another snapshot."""
    from defi_perps.protocols.hyperliquid.deployment import ROOT

    return f"{ROOT}#accounts:{accounts_digest(accounts)[:16]}"
