"""Each position's threshold is the price where equity meets maintenance (rules.py model)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.book import Book
from defi_perps.engine import make_rules
from defi_perps.engine.inputs import prepare_positions


def _equity_minus_mm(p, q, e, c, ctok, side, rate, amount, mark_based, fee, min_coll):
    eq = c + ctok * p + side * q * (p - e) - fee * q * e
    mm = rate * q * p - amount if mark_based else rate * q * e
    return eq - max(mm, min_coll)


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from([1, -1]), q=st.floats(0.01, 1e4), e=st.floats(0.5, 1e5), lev=st.floats(1.1, 100.0),
       tok_share=st.sampled_from([0.0, 0.5, 1.0]), rules_kind=st.sampled_from(["mark", "entry", "tiered"]),
       fee=st.sampled_from([0.0, 0.0006]), min_coll=st.sampled_from([0.0, 1.0]))
def test_threshold_is_where_equity_meets_maintenance(side, q, e, lev, tok_share, rules_kind, fee, min_coll):
    notional = q * e
    c_total = notional / lev
    ctok = tok_share * c_total / e
    c = (1 - tok_share) * c_total
    if rules_kind == "tiered":
        rules = make_rules(mm_kind="tiered", tier_floor=[0, 1e4, 1e6], tier_rate=[0.004, 0.01, 0.05],
                           tier_amount=[0, 60, 40060], count_close_fee=fee > 0, close_fee_rate=fee,
                           min_collateral_usd=min_coll)
    else:
        rules = make_rules(mm_rate=0.01, mm_on_entry_notional=rules_kind == "entry", count_close_fee=fee > 0,
                           close_fee_rate=fee, min_collateral_usd=min_coll)
    book = Book(market_names=["X"], price=[e], market=[0], side=[side], size=[q], entry_price=[e],
                collateral_usd=[c], collateral_tokens=[ctok], account=[0])
    pos, _ = prepare_positions(book, rules)
    thr = pos.thr[0]
    g = int(np.searchsorted(pos.seg_start, 0, side="right") - 1)
    args = (q, e, c, ctok, side, pos.seg_rate[g], pos.seg_amount[g], pos.seg_mark[g] == 1, fee, min_coll)
    if not math.isfinite(thr) or thr <= 0:
        probe = e * (0.01 if side > 0 else 100.0)
        if side < 0 and thr <= 0:   # a short already below maintenance at any price
            assert _equity_minus_mm(e * 0.01, *args) < 0
        else:                       # never liquidated at a positive price
            assert _equity_minus_mm(probe, *args) >= -1e-9 * notional
        return
    scale = max(notional, 1.0) * 1e-7
    assert abs(_equity_minus_mm(thr, *args)) <= scale + 1e-9 * abs(thr) * q
    worse = thr * (1 - 1e-4) if side > 0 else thr * (1 + 1e-4)
    better = thr * (1 + 1e-4) if side > 0 else thr * (1 - 1e-4)
    assert _equity_minus_mm(worse, *args) < scale
    assert _equity_minus_mm(better, *args) > -scale


def test_segments_are_sorted_for_the_sweep():
    from ._helpers import random_book

    book = random_book(1, 200, 3)
    pos, order = prepare_positions(book, make_rules(mm_kind="tiered", tier_floor=[0, 1e3], tier_rate=[0.01, 0.02],
                                                    tier_amount=[0, 10]))
    assert sorted(order.tolist()) == list(range(200))
    for g in range(pos.seg_market.size):
        seg = pos.thr[pos.seg_start[g]:pos.seg_start[g + 1]]
        if pos.seg_side[g] > 0:
            assert np.all(np.diff(seg) <= 0)   # longs: highest threshold first
        else:
            assert np.all(np.diff(seg) >= 0)   # shorts: lowest first


def test_position_rates_form_their_own_segments():
    from ._helpers import random_book

    book = random_book(2, 300, 2, own_rates=True)
    pos, order = prepare_positions(book, make_rules(mm_kind="tiered", tier_floor=[0, 1e3], tier_rate=[0.01, 0.02],
                                                    tier_amount=[0, 10]))
    own = book.position_mm_rate[order]
    for g in range(pos.seg_market.size):
        lo, hi = pos.seg_start[g], pos.seg_start[g + 1]
        rates = own[lo:hi][~np.isnan(own[lo:hi])]
        assert np.all(rates == pos.seg_rate[g])   # a segment holds one maintenance rule
    too_many = random_book(3, 200, 1)
    too_many.position_mm_rate = np.linspace(0.001, 0.5, 200)
    import pytest

    from defi_perps.exceptions import EngineInputError

    with pytest.raises(EngineInputError, match="distinct maintenance rules"):
        prepare_positions(too_many, make_rules())
