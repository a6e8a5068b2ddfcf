"""Books: struct-of-arrays views of open positions (the one place on-chain ints become floats)."""

from defi_perps.book.arrays import Book
from defi_perps.book.files import read_book_file, write_book_csv
from defi_perps.book.snapshot import from_snapshot, load_snapshot_book
from defi_perps.book.synthetic import synthetic_book

__all__ = ["Book", "from_snapshot", "load_snapshot_book", "read_book_file", "synthetic_book", "write_book_csv"]
