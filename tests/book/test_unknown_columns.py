"""Optional per-position columns that are unknown stay one broadcast value when positions are
appended (``Book.with_positions``) and when a venue admits the book (``venue_inputs``): no 8 B per
position of NaN copies, which is most of what a venue run's book used to cost."""

from __future__ import annotations

import dataclasses

import numpy as np

from defi_perps.book import synthetic_book
from defi_perps.book.arrays import OPTIONAL_POSITION_COLUMNS, unknown_everywhere
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue


def _appended(book, **extra):  # type: ignore[no-untyped-def]
    return book.with_positions(market=np.array([0], np.int32), side=np.array([-1], np.int8), size=np.array([1.0]),
                               entry_price=book.price[:1], collateral_usd=np.array([100.0]),
                               collateral_tokens=np.zeros(1), account=np.array([0], np.int32), **extra)


def test_appending_keeps_unknown_columns_broadcast() -> None:
    book = synthetic_book(500, seed=3)
    grown = _appended(book)
    assert grown.n_positions == 501
    for name in OPTIONAL_POSITION_COLUMNS:
        col = getattr(grown, name)
        assert col.shape == (501,) and unknown_everywhere(col), name
    # a known column is copied, and the appended position gets the unknown value
    lp = np.linspace(1.0, 2.0, 500)
    with_lp = _appended(dataclasses.replace(book, liquidation_price=lp)).liquidation_price
    assert with_lp.strides != (0,) and np.array_equal(with_lp[:500], lp) and np.isnan(with_lp[500])
    flags = _appended(book, liquidatable_now=np.array([True])).liquidatable_now
    assert flags.tolist() == [False] * 500 + [True]


def test_a_venue_admits_the_book_without_materialising_unknowns() -> None:
    book = synthetic_book(2000, seed=5)
    for venue in ("hyperliquid", "binance", "gmx-v2"):
        admitted = venue_inputs(load_venue(venue), book).book
        for name in ("position_mm_rate", "liquidation_price", "remaining_collateral_usd", "close_cost_usd",
                     "close_impact_usd", "liquidatable_now"):
            assert unknown_everywhere(getattr(admitted, name)), (venue, name)
