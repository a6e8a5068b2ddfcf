"""The risk engine: numba Monte Carlo of liquidation cascades (see nb.py, rules.py, api.py)."""

from defi_perps.engine.api import SimulationConfig, simulate
from defi_perps.engine.inputs import DepthSpec, Funding, PriceModel
from defi_perps.engine.results import SimulationResult
from defi_perps.engine.rules import GENERIC, VenueRules, make_rules

__all__ = ["GENERIC", "DepthSpec", "Funding", "PriceModel", "SimulationConfig", "SimulationResult", "VenueRules",
           "make_rules", "simulate"]
