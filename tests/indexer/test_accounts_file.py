"""``index --accounts FILE`` parsing and the errors that come before any RPC (no node needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.exceptions import InputError
from defi_perps.protocols.accounts import load_accounts_file, parse_accounts_text

A = "0x" + "ab" * 20
B = "0x" + "0c" * 20
A_SUM = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"   # EIP-55 of A (eth_utils.to_checksum_address)


def test_lines_and_csv_give_the_same_checksummed_list(tmp_path: Path) -> None:
    from eth_utils import to_checksum_address

    want = [to_checksum_address(A), to_checksum_address(B)]
    assert want[0] == A_SUM
    assert parse_accounts_text(f"# users\n{A}\n\n{B.upper().replace('0X', '0x')}  # second\n{A}\n", "f") == want
    assert parse_accounts_text(f"label,Address,extra\nx,{A},1\ny,{B},2\nz,{A.upper().replace('0X', '0x')},3\n",
                               "f") == want
    assert parse_accounts_text(f'{A},"a, quoted label"\n{B},b\n', "f") == want          # no header: first column
    assert parse_accounts_text(f"Address\n{A}\n{B}\n", "f") == want                   # a one-column CSV's header
    f = tmp_path / "a.csv"
    f.write_text(f"wallet,balance\n{A},12\n")
    assert load_accounts_file(f) == [A_SUM]


@pytest.mark.parametrize("text, needle", [
    ("", "is empty"),
    ("   \n\n", "is empty"),
    ("# nothing\n", "lists no accounts"),
    (f"{A}\n0x{'g' * 40}\n", "line 2: '0x" + "g" * 40 + "' is not an account address"),
    (f"{A}\n{A[:-1]}\n", "line 2:"),
    (f"name,label\n{A},x\n", "line 1: CSV header 'name,label' names no account column"),
    (f"account,label\n{A},x\nbob\n", "line 3: 'bob' is not an account address"),
    (f"label,account\n{A},x\n", "line 2: 'x' is not an account address"),
])
def test_bad_files_are_one_line_errors_naming_the_line(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "acc.txt"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        load_accounts_file(f)
    assert needle in str(e.value) and "\n" not in str(e.value) and str(f) in str(e.value)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="accounts file not found"):
        load_accounts_file(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        load_accounts_file(tmp_path)


def test_cli_errors_before_any_rpc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    db = ["--db", f"sqlite:///{tmp_path / 'never.db'}"]
    dead = ["--rpc", "http://127.0.0.1:9"]          # nothing listens: any RPC would fail differently
    run = CliRunner()
    r = run.invoke(main, ["index", "hyperliquid", "--chain", "hyperevm", *dead, *db])
    assert r.exit_code == 1 and "lists no accounts" in r.output and "--accounts FILE" in r.output, r.output
    (tmp_path / "bad.txt").write_text(f"{A}\nnope\n")
    r = run.invoke(main, ["index", "hyperliquid", "--chain", "hyperevm", *dead, "--accounts",
                          str(tmp_path / "bad.txt"), *db])
    assert r.exit_code == 1 and "line 2: 'nope'" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    r = run.invoke(main, ["index", "hyperliquid", "--chain", "hyperevm", *dead, "--from-block", "1", "--to-block",
                          "2", "--accounts", str(tmp_path / "bad.txt"), *db])
    assert r.exit_code == 1 and "line 2: 'nope'" in r.output, r.output
    for proto in ("gmx-v1", "gtrade", "synthetix-v3"):
        r = run.invoke(main, ["index", proto, "--chain", "arbitrum", *dead, "--accounts", str(tmp_path / "bad.txt"), *db])
        assert r.exit_code == 1 and f"--accounts is not supported for {proto}" in r.output, r.output
    assert not (tmp_path / "never.db").exists()
