"""The accounts file: HyperCore has no on-chain list of users, so a bad file must say exactly what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from defi_perps.exceptions import InputError
from defi_perps.protocols.accounts import load_accounts_file, parse_accounts_text
from defi_perps.protocols.hyperliquid.accounts import accounts_digest

A = "0x00000000000000000000000000000000000000a1"
B = "0xDFC24B077BC1425AD1DEA75BCB6F8158E10DF303"


def test_parse_comments_duplicates_and_checksums() -> None:
    got = parse_accounts_text(f"# header\n\n{A}\n  {B.lower()}  # HLP\n{A.upper().replace('0X', '0x')}\n", "x")
    assert got == ["0x00000000000000000000000000000000000000A1", "0xdfc24b077bc1425AD1DEA75bCB6f8158E10Df303"]
    assert accounts_digest(got) == accounts_digest(list(reversed(got)))


def test_a_csv_reads_its_account_column() -> None:
    """The chain file's accounts_file reads as index --accounts does (protocols/accounts.py)."""
    assert parse_accounts_text(f"label,wallet\nhlp,{B}\nme,{A}\n", "x") == [
        "0xdfc24b077bc1425AD1DEA75bCB6f8158E10Df303", "0x00000000000000000000000000000000000000A1"]


@pytest.mark.parametrize("text, needle", [
    ("0x1234\n", "line 1: '0x1234' is not an account address"),
    (f"{A}\nnot-an-address\n", "line 2: 'not-an-address'"),
    ("# only comments\n\n", "lists no accounts"),
    ("name,balance\nx,1\n", "line 1: CSV header 'name,balance' names no account column"),
])
def test_bad_lines_are_one_line_errors(text: str, needle: str) -> None:
    with pytest.raises(InputError) as e:
        parse_accounts_text(text, "accounts file x.txt")
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_missing_directory_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="accounts file not found"):
        load_accounts_file(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        load_accounts_file(tmp_path)
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InputError, match="not text"):
        load_accounts_file(binary)
