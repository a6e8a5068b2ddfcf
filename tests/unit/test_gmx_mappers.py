"""Pure GMX v2 mappers and the --prices file: exact ints, clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from defi_perps.exceptions import InputError
from defi_perps.protocols.gmx_v2 import mappers as M

A = "0x" + "11" * 20
B = "0x" + "22" * 20
C = "0x" + "33" * 20


def test_position_v22_and_v21_layouts() -> None:
    nums = (10**30 * 5000, 2 * 10**18, 10**9, -12345, 7, 8, 9, 10, 1700000000, 0)
    p = M.position_from_props(b"\x01" * 32, ((A, B, C), nums, (True,)), "v2.2")
    assert p.key == "0x" + "01" * 32 and p.is_long and p.pending_impact_amount == -12345
    assert p.size_in_usd == 5000 * 10**30 and p.increased_at_time == 1700000000
    p21 = M.position_from_props(b"\x01" * 32, ((A, B, C), nums[:3] + nums[4:], (False,)), "v2.1")
    assert p21.pending_impact_amount == 0 and p21.borrowing_factor == 7 and not p21.is_long


def test_chainlink_price_is_exact_gmx_formula() -> None:
    # ETH (18 decimals) with an 8-decimal feed: multiplier 10**(60-8-18) = 1e34.
    answer = 3012_55000000  # $3012.55
    assert M.chainlink_price(answer, 10**34) == 301255 * 10**10  # 3012.55 * 10**(30-18)
    # BTC (8 decimals): multiplier 10**44; price per unit = usd * 1e22
    assert M.chainlink_price(65000_12345678, 10**44) == 6500012345678 * 10**14
    with pytest.raises(InputError):
        M.chainlink_price(0, 10**34)


def test_synthetic_token_decimals_from_multiplier() -> None:
    assert M.decimals_from_multiplier(10**44, 8) == 8
    assert M.decimals_from_multiplier(123, 8) is None
    t = M.token_record(A, None, None, "DOGE / USD", 8, 10**44)
    assert t.synthetic and t.symbol == "DOGE" and t.decimals == 8
    with pytest.raises(InputError, match="no ERC-20 contract"):
        M.token_record(A, None, None, None, None, None)


def test_price_file_formats(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({A: "3000.5", B: {"min": 0.99, "max": "1.01"}, C: {"min_raw": 5, "max_raw": 7}}))
    ov = M.load_price_file(f)
    from eth_utils import to_checksum_address

    a = ov[to_checksum_address(A)]
    assert a.per_unit(18) == (30005 * 10**11, 30005 * 10**11)
    b = ov[to_checksum_address(B)]
    assert b.per_unit(6) == (99 * 10**22, 101 * 10**22)   # exact: JSON numbers parsed as decimals
    assert ov[to_checksum_address(C)].per_unit(8) == (5, 7)


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"),
    ("[]", "non-empty JSON object"),
    (json.dumps({"0x1234": "1"}), "not a 20-byte hex address"),
    (json.dumps({A: "-1"}), "positive"),
    (json.dumps({A: "abc"}), "not a number"),
    (json.dumps({A: {"min": "2", "max": "1"}}), "min price above max"),
    (json.dumps({A: {"foo": 1}}), "unknown field"),
    (json.dumps({A: {"min_raw": 3, "max_raw": 1}}), "min_raw > max_raw"),
])
def test_bad_price_file_is_one_line_input_error(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(InputError) as e:
        M.load_price_file(f)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_missing_price_file() -> None:
    with pytest.raises(InputError, match="not found"):
        M.load_price_file("/nonexistent/prices.json")


def test_synthetic_decimals_from_data_stream_multiplier() -> None:
    # 10**(60 - 18 - 8): an 8-decimal synthetic priced only through Data Streams
    t = M.token_record(A, None, None, None, None, None, data_stream_multiplier=10**34)
    assert t.synthetic and t.decimals == 8
