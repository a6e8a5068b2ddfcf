from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import read_book_file, synthetic_book, write_book_csv
from defi_perps.exceptions import InputError

HEADER = "market,side,size,entry_price,collateral_usd,mark_price\n"


def test_csv_round_trip(tmp_path):
    book = synthetic_book(50, n_markets=3, seed=4)
    path = tmp_path / "book.csv"
    write_book_csv(book, path)
    back = read_book_file(path)
    assert [back.market_names[m] for m in back.market] == [book.market_names[m] for m in book.market]
    np.testing.assert_array_equal(back.size, book.size)
    np.testing.assert_array_equal(back.entry_price, book.entry_price)
    np.testing.assert_array_equal(back.side, book.side)
    assert {n: back.price[i] for i, n in enumerate(back.market_names)} == \
        {n: book.price[i] for i, n in enumerate(book.market_names)}


def test_parquet_and_size_usd(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"Market": ["ETH", "ETH", "BTC"], "side": ["long", "short", "sell"],
                  "size_usd": [3000.0, 6000.0, 100000.0], "entry_price": [3000.0, 3000.0, 100000.0],
                  "collateral_usd": [300.0, 600.0, 5000.0], "mark_price": [2900.0, 2900.0, 99000.0],
                  "mm_rate": [0.005, 0.005, None]})
    path = tmp_path / "book.parquet"
    pq.write_table(t, path)
    book = read_book_file(path)
    assert book.market_names == ["ETH", "BTC"] and book.size.tolist() == [1.0, 2.0, 1.0]
    assert book.side.tolist() == [1, -1, -1] and book.position_mm_rate[0] == 0.005
    assert np.isnan(book.position_mm_rate[2])


@pytest.mark.parametrize("body,message", [
    ("ETH,long,1,3000,300\n", "missing column"),
    ("ETH,long,abc,3000,300,3000\n", "row 1, column 'size'"),
    ("ETH,long,1,3000,300,3000\nETH,sideways,1,3000,300,3000\n", "row 2, column 'side'"),
    ("ETH,long,-1,3000,300,3000\n", "row 1, column 'size'"),
    ("ETH,long,1,3000,300,3000\nETH,long,1,3000,300,2999\n", "row 2, column 'mark_price'"),
    ("ETH,long,1,3000,300\n", "row 1"),
    ("", "no positions"),
])
def test_bad_files_name_the_row_and_column(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    header = HEADER if message != "missing column" else "market,side,size,entry_price,collateral_usd\n"
    path.write_text(header + body)
    with pytest.raises(InputError, match=message) as err:
        read_book_file(path)
    assert "\n" not in str(err.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_book_file(tmp_path / "none.csv")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="Parquet"):
        read_book_file(junk)
