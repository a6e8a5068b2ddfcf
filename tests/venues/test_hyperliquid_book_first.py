"""Hyperliquid's backstop order as venue data: off by default (docs/hyperliquid_adl_calibration.md
says why), on through ``liquidation.backstop_book_first``, and the engine rule follows it."""

from __future__ import annotations

import numpy as np

from defi_perps.book import synthetic_book
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue


def test_the_book_first_order_is_venue_data_and_off_by_default() -> None:
    book = synthetic_book(40, n_markets=2, seed=1)
    v = load_venue("hyperliquid")
    assert v.liquidation.backstop_book_first is False
    assert venue_inputs(v, book, 60.0).rules.backstop_book_first is False
    on = v.model_copy(update={"liquidation": v.liquidation.model_copy(update={"backstop_book_first": True})})
    r = venue_inputs(on, book, 60.0).rules
    assert r.backstop_book_first is True
    assert np.isclose(r.backstop_mm_fraction, 2 / 3) and r.to_dict()["backstop_book_first"] is True
