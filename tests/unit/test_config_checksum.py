"""Chain-file addresses: a wrong EIP-55 checksum is a one-line error naming the right spelling;
lowercase (no checksum) is accepted; anything else is malformed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from defi_perps.config import checksum, load_chain_file
from defi_perps.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _flip_case(addr: str) -> str:
    """The address with the case of its first letter flipped: a checksum typo."""
    i = next(i for i, ch in enumerate(addr) if i > 1 and ch.isalpha())
    return addr[:i] + addr[i].swapcase() + addr[i + 1:]


def test_wrong_checksum_in_a_chain_file(tmp_path: Path) -> None:
    text = (ROOT / "chains" / "arbitrum.toml").read_text()
    ds = re.search(r'data_store\s*=\s*"(0x[0-9a-fA-F]{40})"', text).group(1)  # type: ignore[union-attr]
    bad = _flip_case(ds)
    f = tmp_path / "typo.toml"
    f.write_text(text.replace(ds, bad))
    with pytest.raises(ConfigError) as e:
        load_chain_file(f)
    msg = str(e.value)
    assert "EIP-55" in msg and bad in msg and ds in msg and "\n" not in msg
    f.write_text(text.replace(ds, ds.lower()))          # lowercase: no checksum to check
    assert load_chain_file(f).gmx_v2.data_store == ds  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["0x123", "0x" + "g" * 40, "5FbDB2315678afecb367f032d93F642f64180aa3", "", 12])
def test_malformed_addresses(value: object) -> None:
    with pytest.raises(ConfigError, match="malformed"):
        checksum(value)  # type: ignore[arg-type]


def test_all_caps_is_accepted() -> None:
    a = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert checksum("0x" + a[2:].upper()) == a


def test_wrong_checksum_in_a_price_file(tmp_path: Path) -> None:
    import json

    from defi_perps.exceptions import InputError
    from defi_perps.protocols.gmx_v2.mappers import load_price_file

    good = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    f = tmp_path / "p.json"
    f.write_text(json.dumps({_flip_case(good): "1.0"}))
    with pytest.raises(InputError, match="EIP-55") as e:
        load_price_file(f)
    assert good in str(e.value) and "\n" not in str(e.value)
    f.write_text(json.dumps({good.lower(): "1.0"}))
    assert list(load_price_file(f)) == [good]
