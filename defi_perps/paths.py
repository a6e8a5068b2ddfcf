"""Where defi-perps keeps its own state: the default database and the devnet's run files.

``$DEFI_PERPS_HOME`` (default ``~/.defi-perps``) holds ``defi-perps.db`` (the default SQLite
store) and ``devnet/`` (the running devnet's state, log and chain file). ``$DEFI_PERPS_DB``
overrides the default database URL.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    p = Path(os.environ.get("DEFI_PERPS_HOME", Path.home() / ".defi-perps")).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        from defi_perps.exceptions import ConfigError

        raise ConfigError(f"cannot create DEFI_PERPS_HOME {p}: {err.strerror}; set DEFI_PERPS_HOME to a writable "
                          f"folder or pass --db URL") from None
    return p


def default_db_url() -> str:
    return os.environ.get("DEFI_PERPS_DB") or f"sqlite:///{home() / 'defi-perps.db'}"


def devnet_dir() -> Path:
    p = home() / "devnet"
    p.mkdir(parents=True, exist_ok=True)
    return p
