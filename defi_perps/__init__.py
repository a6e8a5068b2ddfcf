"""defi-perps: read DeFi perpetual-futures protocols' on-chain state, stress it, compare venues.

Importing the package has no side effects (no logging configuration, no network, no numba
compilation). Heavy submodules (web3, numba) are imported only by the code that needs them.
"""

__version__ = "0.1.0"

from defi_perps.exceptions import DefiPerpsError  # noqa: E402

__all__ = ["DefiPerpsError", "__version__"]
