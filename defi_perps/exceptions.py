"""The one exception root of defi-perps.

Every error a user can cause (bad address, block, chain file, scenario, CSV, unreachable RPC…)
is raised as a subclass of :class:`DefiPerpsError` whose ``str()`` is a complete one-line message
meant for the user. The CLI turns these into ``Error: <message>`` and exit code 1; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class DefiPerpsError(Exception):
    """Root of all user-facing errors. ``str(err)`` is the one-line message shown to users."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        # Keep the message on one line whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))


class ConfigError(DefiPerpsError):
    """A chain file, venue file, scenario file or option value is invalid."""


class ChainMismatchError(ConfigError):
    """The RPC endpoint serves a different chain than the chain file declares."""


class InputError(DefiPerpsError):
    """User input (address, block, CSV, book file, price file) is malformed."""


class RpcError(DefiPerpsError):
    """The RPC endpoint failed or could not be reached after retries."""


class ArchiveNodeRequired(RpcError):
    """The endpoint cannot serve state at the requested historical block."""


class AbiMismatchError(RpcError):
    """A contract answered with data that does not decode with the expected ABI."""


class UnknownProtocolError(ConfigError):
    """The protocol name is not supported or not deployed on the chosen chain."""


class StoreError(DefiPerpsError):
    """The database cannot be opened or written."""


class SnapshotNotFound(StoreError):
    """No stored snapshot matches the requested id or key."""


class DevnetError(DefiPerpsError):
    """The local devnet (anvil) could not be started, deployed, seeded or found."""


class EngineInputError(DefiPerpsError):
    """Arrays or parameters handed to the simulation engine are inconsistent."""
