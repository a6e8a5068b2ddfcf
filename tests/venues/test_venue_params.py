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
    for section, body in raw.items():
        if isinstance(body, dict) and section != "sources":
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
    text = _text("binance").replace("fee_rate = 0.004", "fee_rate = 1.5")
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
        assert d["mm_kind"] == "tiered" and d["tier_amount"][1] == 50.0 and d["tier_floor"][1] == 50_000.0
    if name == "hyperliquid":
        assert d["backstop_mm_fraction"] == pytest.approx(2 / 3) and d["adl_fill"] == "prev_mark"
