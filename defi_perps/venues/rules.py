"""Compatibility name for :mod:`defi_perps.venues.engine_rules` (the venue → engine translation)."""

from defi_perps.venues.engine_rules import ADL_POLICIES, VenueInputs, engine_rules_for, fund_size, to_rules, venue_inputs

__all__ = ["ADL_POLICIES", "VenueInputs", "engine_rules_for", "fund_size", "to_rules", "venue_inputs"]
