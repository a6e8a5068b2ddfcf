from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import synthetic_book
from defi_perps.engine import make_rules
from defi_perps.engine.inputs import prepare_positions
from defi_perps.exceptions import InputError


def test_reproducible_heavy_tailed_two_sided_multi_market():
    a, b = synthetic_book(20_000, n_markets=4, seed=9), synthetic_book(20_000, n_markets=4, seed=9)
    np.testing.assert_array_equal(a.size, b.size)
    assert not np.array_equal(a.size, synthetic_book(20_000, n_markets=4, seed=10).size)
    notional = a.notional()
    assert notional.max() > 200 * np.median(notional)          # heavy tail
    assert set(np.unique(a.market)) == {0, 1, 2, 3}
    assert 0.5 < (a.side > 0).mean() < 0.7
    lev = notional / a.collateral_usd
    assert lev.min() < 3 and lev.max() > 30                    # leverage mix


def test_no_position_starts_liquidatable():
    book = synthetic_book(5_000, seed=1)
    pos, order = prepare_positions(book, make_rules())
    px = book.price[book.market[order]]
    side = book.side[order]
    assert np.all(np.where(side > 0, pos.thr < px, pos.thr > px))


def test_bad_sizes():
    with pytest.raises(InputError):
        synthetic_book(0)
    with pytest.raises(InputError):
        synthetic_book(10, n_markets=9)
