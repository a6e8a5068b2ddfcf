"""Venue models: the same book and shock under GMX v2, GMX v1, Hyperliquid, Binance, Bybit, OKX,
BitMEX and a B-book broker.

- ``params/<venue>.toml`` + :mod:`.params`: the rules as sourced data, loaded with one-line errors.
- ``<venue>.py``: exact per-venue formulas (liquidation price, bankruptcy price, ADL score).
- :mod:`.margin`: maintenance margin for any venue's params.
- :mod:`.ledger` / :mod:`.sim`: settle liquidations, the loss waterfall (fee → fund/pool/vault/broker →
  ADL → venue) and ADL on a book along price paths, with a money ledger that sums to zero.
- :mod:`.shock`: adapter over the engine's exogenous paths and depth (one shock grammar, one path
  generator: ``compare`` and ``simulate`` see the same prices for the same book, scenario and seed).
- :mod:`.rules`: the TOML → engine :class:`~defi_perps.engine.rules.VenueRules` translation.
- :mod:`.adl_hook`: :class:`~defi_perps.venues.adl_hook.VenueAdlHook`, the venue's ADL ranking or a
  chosen policy allocating the engine's ADL events over accounts (``simulate --venue V --adl-policy P``).

``defi-perps compare`` (:mod:`defi_perps.report.compare`) runs them side by side.
"""

from defi_perps.venues.params import VENUE_NAMES, VenueParams, load_venue, parse_venue_list

__all__ = ["VENUE_NAMES", "VenueParams", "load_venue", "parse_venue_list"]
