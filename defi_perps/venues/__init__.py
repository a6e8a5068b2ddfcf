"""Venue models: the same book and shock under GMX v2, GMX v1, Hyperliquid, Binance, Bybit, OKX,
BitMEX and a B-book broker — as rules plus parameters the one engine reads.

- ``params/<venue>.toml`` + :mod:`.params`: the rules as sourced data, loaded with one-line errors.
- ``<venue>.py``: exact per-venue formulas (liquidation price, bankruptcy price, ADL score).
- :mod:`.margin`: maintenance margin for any venue's params.
- :mod:`.engine_rules`: the translation into the engine's rule record, per-position maintenance
  classes, margin top-up at admission and market-maker accounts (``.rules`` is the same module).

``defi-perps simulate --venue V`` and ``defi-perps compare`` run them (:mod:`defi_perps.runs`).
"""

from defi_perps.venues.params import VENUE_NAMES, VenueParams, load_venue, parse_venue_list

__all__ = ["VENUE_NAMES", "VenueParams", "load_venue", "parse_venue_list"]
