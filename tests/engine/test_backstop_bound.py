"""The cascade's backstop pre-test (engine/nb.py ``_clear_of_backstop``, engine/inputs.py
``backstop_prices``) only skips positions that the exact first-trigger test would keep with the book,
and the bound is the real backstop price (tight, not merely safe); the segment renumbering
(``_compact_segments``) keeps every market's positions in their (side, class) order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.book import Book
from defi_perps.engine import make_rules
from defi_perps.engine import nb
from defi_perps.engine.inputs import backstop_prices, prepare_positions, round_away32
from defi_perps.venues.engine_rules import venue_inputs
from defi_perps.venues.params import load_venue

from ._helpers import random_book


def _exact_backstop(p, q, e, c, side, rate, amount, mark_based, fee, min_coll, bf, phi) -> bool:
    """The kernel's first-trigger backstop test (``_equity_mm`` then ``_decide``), in plain Python."""
    eq = c + side * q * (p - e) - fee * q * e - phi * q
    mm = rate * q * p - amount if mark_based else rate * q * e
    return eq < bf * max(mm, min_coll)


@settings(max_examples=400, deadline=None)
@given(side=st.sampled_from([1, -1]), q=st.floats(0.01, 1e4), e=st.floats(0.5, 1e5), lev=st.floats(1.1, 60.0),
       mark_based=st.booleans(), rate=st.sampled_from([0.005, 0.0125, 0.05]), amount=st.sampled_from([0.0, 60.0]),
       fee=st.sampled_from([0.0, 0.0006]), min_coll=st.sampled_from([0.0, 5.0, -1.0]),
       bf=st.sampled_from([2.0 / 3.0, 0.5]), phi_rel=st.floats(-0.02, 0.02), where=st.floats(-0.5, 0.5),
       near=st.booleans(), off_exp=st.floats(-8.0, -1.5), off_sign=st.sampled_from([1, -1]))
def test_a_position_clear_of_its_bound_is_never_a_backstop(side, q, e, lev, mark_based, rate, amount, fee, min_coll,
                                                           bf, phi_rel, where, near, off_exp, off_sign):
    c = q * e / lev
    args = (q, e, c, side, rate, amount, mark_based, fee, min_coll, bf)
    b0 = backstop_prices(np.array([q]), np.array([e]), np.array([c]), np.zeros(1), side, rate, amount, mark_based,
                         fee, min_coll, bf)
    b32 = float(round_away32(b0, side)[0])
    assert (b32 >= b0[0]) if side > 0 else (b32 <= b0[0])
    phi = phi_rel * e
    bound = b32 + nb._backstop_shift(side, 1 if mark_based else 0, rate, bf, phi)
    # prices spread around the entry, and prices on either side of the bound, from 1e-8 to 3 % away
    if near and np.isfinite(bound) and bound > 0:
        mark = bound * (1.0 + off_sign * 10.0 ** off_exp)
    else:
        mark = e * (1.0 + where)
    if nb._clear_of_backstop(side, mark, bound):
        assert not _exact_backstop(mark, *args, phi)


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from([1, -1]), q=st.floats(0.01, 1e4), e=st.floats(0.5, 1e5), lev=st.floats(1.5, 60.0),
       mark_based=st.booleans(), rate=st.sampled_from([0.005, 0.0125, 0.05]), min_coll=st.sampled_from([0.0, 5.0]),
       bf=st.sampled_from([2.0 / 3.0, 0.5]))
def test_the_bound_is_the_backstop_price(side, q, e, lev, mark_based, rate, min_coll, bf):
    c = q * e / lev
    args = (q, e, c, side, rate, 0.0, mark_based, 0.0, min_coll, bf)
    b = float(backstop_prices(np.array([q]), np.array([e]), np.array([c]), np.zeros(1), side, rate, 0.0, mark_based,
                              0.0, min_coll, bf)[0])
    if not np.isfinite(b) or b <= 0:
        return
    # a little past the price the backstop takes the position; a little before it does not
    assert _exact_backstop(b * (1 - side * 1e-6), *args, 0.0)
    assert not _exact_backstop(b * (1 + side * 1e-6), *args, 0.0)


def test_token_collateral_always_takes_the_exact_test():
    b = backstop_prices(np.array([1.0, 1.0]), np.array([100.0, 100.0]), np.array([5.0, 5.0]), np.array([0.0, 0.01]),
                        1.0, 0.01, 0.0, True, 0.0, 0.0, 2.0 / 3.0)
    assert np.isfinite(b[0]) and b[1] == np.inf


def test_bounds_are_built_for_the_backstop_rules_only():
    book = random_book(4, 300, n_markets=2)
    vi = venue_inputs(load_venue("hyperliquid"), book)
    pos, _ = prepare_positions(vi.book, vi.rules, vi.position_mm)
    assert pos.bthr.dtype == np.float32 and pos.bthr.size == vi.book.n_positions
    assert pos.bthr_bf[0] == vi.rules.backstop_mm_fraction
    assert np.isfinite(pos.bthr).mean() > 0.9
    plain, _ = prepare_positions(book, make_rules())
    assert plain.bthr.size == 1 and plain.bthr_bf[0] == 0.0   # no backstop: a placeholder, no memory
    first = vi.rules._replace(backstop_book_first=True)       # book-first: the first trigger is not tested
    assert prepare_positions(vi.book, first, vi.position_mm)[0].bthr.size == 1


def test_segments_keep_their_order_with_the_empty_ones_dropped():
    book = random_book(6, 600, n_markets=3)
    vi = venue_inputs(load_venue("binance"), book)
    pos, order = prepare_positions(vi.book, vi.rules, vi.position_mm)
    n_m = vi.book.n_markets
    k = pos.seg_market.size // n_m
    counts = np.diff(pos.seg_start).reshape(n_m, k)
    # each market's non-empty segments first, then padding; at least one market fills all its slots
    for m in range(n_m):
        nonempty = counts[m] > 0
        assert not np.any(nonempty[np.argmin(nonempty):]) or nonempty.all()
    assert (counts > 0).sum(axis=1).max() == k
    assert np.all(pos.seg_market == np.repeat(np.arange(n_m), k))
    # positions stay grouped by market, then longs before shorts, as before the renumbering
    mk = vi.book.market[order]
    sd = vi.book.side[order]
    key = mk.astype(np.int64) * 2 + (sd < 0)
    assert np.all(np.diff(key) >= 0)
    one = Book(market_names=["X"], price=[100.0], market=[0], side=[1], size=[1.0], entry_price=[100.0],
               collateral_usd=[10.0], collateral_tokens=[0.0], account=[0])
    p1, _ = prepare_positions(one, vi.rules)
    assert p1.seg_market.size == 1 and p1.seg_side[0] == 1
