"""Venue parameter files: every built-in venue loads, every parameter has a source, bad files fail in one line."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from defi_perps.exceptions import ConfigError
from defi_perps.venues.params import VENUE_NAMES, load_venue, parse_venue, parse_venue_list, venue_file


def _raw(name: str) -> dict:
    return tomllib.loads(resources.files("defi_perps.venues").joinpath("params", venue_file(name)).read_text())


@pytest.mark.parametrize("name", VENUE_NAMES)
def test_builtin_venue_loads_and_every_parameter_is_sourced(name: str) -> None:
    params = load_venue(name)
    assert params.name == name
    raw = _raw(name)
    for asset, o in raw.get("markets", {}).items():
        for sub, fields in o.items():
            for key in fields:
                src = params.sources[f"markets.{asset}.{sub}.{key}"]
                assert len(src) > 10, f"markets.{asset}.{sub}.{key} has a token source"
    for section, body in raw.items():
        if isinstance(body, dict) and section not in ("sources", "markets"):
            for key in body:
                src = params.sources[f"{section}.{key}"]
                assert len(src) > 10, f"{section}.{key} has a token source"


@pytest.mark.parametrize("name", VENUE_NAMES)
def test_sources_cite_a_url_contract_or_modelling_choice(name: str) -> None:
    for key, src in load_venue(name).sources.items():
        assert ("http" in src or ".sol" in src or ".ts" in src or "venues.md" in src or "protocols.md" in src
                or "modelling choice" in src), (key, src)


def _text(name: str) -> str:
    return resources.files("defi_perps.venues").joinpath("params", venue_file(name)).read_text()


def test_missing_source_is_a_one_line_error() -> None:
    text = _text("binance").replace('"liquidation.fee_rate" =', '"liquidation.fee_rate_x" =')
    with pytest.raises(ConfigError, match="'liquidation.fee_rate' has no entry in \\[sources\\]") as err:
        parse_venue(text, "x.toml")
    assert "\n" not in str(err.value)


def test_bad_value_names_the_field() -> None:
    text = _text("binance").replace("fee_rate = 0.003", "fee_rate = 1.5")
    with pytest.raises(ConfigError, match="liquidation.fee_rate"):
        parse_venue(text, "x.toml")


def test_bracket_caps_must_increase() -> None:
    text = _text("binance").replace("cap = 250_000.0", "cap = 25_000.0")
    with pytest.raises(ConfigError, match="strictly increasing"):
        parse_venue(text, "x.toml")


def test_bad_toml_and_unknown_venue(tmp_path: Path) -> None:
    bad = tmp_path / "v.toml"
    bad.write_text("name = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_venue(bad)
    with pytest.raises(ConfigError, match="unknown venue 'ftx'"):
        parse_venue_list("binance,ftx")
    with pytest.raises(ConfigError, match="does not exist"):
        load_venue(tmp_path / "missing.toml")


def test_user_file_by_path(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(_text("bitmex").replace('name = "bitmex"', 'name = "my-bitmex"'))
    assert load_venue(f).name == "my-bitmex"


@pytest.mark.parametrize("name", VENUE_NAMES)
def test_translates_to_engine_rules(name: str) -> None:
    from defi_perps.venues.rules import to_rules

    rules = to_rules(load_venue(name), insurance_initial=1_000.0)
    d = rules.to_dict()
    assert d["insurance_initial"] == 1_000.0
    if name == "gmx-v2":
        assert d["adl_trigger"] == "pnl_factor" and d["mm_on_entry_notional"] and d["count_close_fee"]
    if name == "binance":
        assert d["mm_kind"] == "tiered" and d["tier_amount"][1] == 50.0 and d["tier_floor"][1] == 50_000.0  # venue-wide = BTCUSDT
    if name == "hyperliquid":
        assert d["backstop_mm_fraction"] == pytest.approx(2 / 3) and d["adl_fill"] == "prev_mark"


# --- per-market overrides --------------------------------------------------------------------------

def test_market_override_is_validated_after_merging() -> None:
    text = _text("hyperliquid").replace(
        "[markets.ETH.margin]\nmax_leverage = 25.0", "[markets.ETH.margin]\nmax_leverage = 30.0")
    with pytest.raises(ConfigError, match="markets.ETH: .*must equal the first tier") as err:
        parse_venue(text, "x.toml")
    assert "\n" not in str(err.value)


def test_market_override_field_must_exist_and_be_finite() -> None:
    text = _text("gmx_v2").replace("[markets.BTC.margin]\nmax_leverage = 200.0\nmmr = 0.005",
                                   "[markets.BTC.margin]\nmax_leverage = 200.0\nmmr = nan")
    with pytest.raises(ConfigError, match="markets.BTC: mmr: Input should be a finite number"):
        parse_venue(text, "x.toml")
    text = _text("gmx_v2").replace("[markets.BTC.margin]\nmax_leverage = 200.0\nmmr = 0.005",
                                   "[markets.BTC.margin]\nmax_leverage = 200.0\nmmr_typo = 0.005")
    with pytest.raises(ConfigError, match="markets.BTC: mmr_typo: Extra inputs are not permitted"):
        parse_venue(text, "x.toml")


def test_market_override_needs_a_source() -> None:
    text = _text("binance").replace('"markets.ETH.liquidation.fee_rate" =', '"markets.ETH.liquidation.fee_rat" =')
    with pytest.raises(ConfigError, match="'markets.ETH.liquidation.fee_rate' has no entry in \\[sources\\]"):
        parse_venue(text, "x.toml")


def test_tiers_must_be_ordered() -> None:
    text = _text("hyperliquid").replace("{ lower_bound = 150_000_000.0, max_leverage = 20.0 }",
                                        "{ lower_bound = 150_000_000.0, max_leverage = 50.0 }")
    with pytest.raises(ConfigError, match="must not rise"):
        parse_venue(text, "x.toml")


def test_nan_or_inf_anywhere_in_a_venue_file_is_refused() -> None:
    for old, new in [("fee_rate = 0.003", "fee_rate = nan"), ("initial_oi_fraction = 0.005", "initial_oi_fraction = inf")]:
        with pytest.raises(ConfigError, match="finite number") as err:
            parse_venue(_text("binance").replace(old, new, 1), "x.toml")
        assert "\n" not in str(err.value)


def test_non_utf8_venue_file_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "v.toml"
    f.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_venue(f)


def test_duplicate_venues_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        parse_venue_list("binance,hyperliquid,Binance")
    with pytest.raises(ConfigError, match="names no venue"):
        parse_venue_list(" , ")


@pytest.mark.parametrize("market, asset", [("ETH/USD [WETH-USDC]", "ETH"), ("WBTC", "BTC"), ("BTCUSDT", "BTC"),
                                           ("eth-perp", "ETH"), ("BTC/USD [WBTC.e-USDC]", "BTC"), ("kPEPE", "KPEPE")])
def test_asset_of_market_names(market: str, asset: str) -> None:
    from defi_perps.venues.params import asset_of
    assert asset_of(market) == asset
