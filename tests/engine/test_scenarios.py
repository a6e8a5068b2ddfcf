from __future__ import annotations

import math

import numpy as np
import pytest

from defi_perps.exceptions import ConfigError, InputError
from defi_perps.scenarios import (builtin_names, load_scenario, parse_duration, parse_shock, replay_base_path,
                                  shock_base_path)

NAMES = ["BTC/USD [WBTC-USDC]", "ETH/USD [WETH-USDC]", "SOL/USD [SOL-USDC]"]


def test_shock_spec_is_linear_in_log_and_holds():
    base = shock_base_path("-13%@12m", NAMES, 20, 60.0)
    assert base[0].tolist() == [0, 0, 0]
    assert math.exp(base[12, 0]) == pytest.approx(0.87)
    assert base[6, 0] == pytest.approx(math.log(0.87) / 2)
    assert np.all(base[12:] == base[12])


def test_shock_per_market_with_default_and_chained_segments():
    base = shock_base_path("btc:-10%@2m,+5%@2m; *:-1%@1m", NAMES, 6, 60.0)
    assert math.exp(base[4, 0]) == pytest.approx(0.9 * 1.05)
    assert math.exp(base[1, 1]) == pytest.approx(0.99) and math.exp(base[6, 2]) == pytest.approx(0.99)


@pytest.mark.parametrize("spec", ["", "-13%", "13@12m", "-100%@1m", "-5%@12x", "DOGE:-5%@1m", "BTC:-1%@1m;BTC:-2%@1m"])
def test_bad_shock_specs_are_one_line_config_errors(spec):
    with pytest.raises(ConfigError) as err:
        shock_base_path(spec, NAMES, 10, 60.0)
    assert "\n" not in str(err.value)


def test_durations():
    assert parse_duration("1d") == 86400 and parse_duration("12m") == 720 and parse_duration("30s") == 30
    with pytest.raises(ConfigError):
        parse_duration("soon")


def test_replay_long_wide_and_single_forms(tmp_path):
    single = tmp_path / "s.csv"
    single.write_text("timestamp,price\n1760130900,100\n1760131020,90\n1760131140,95\n")
    base = replay_base_path(single, NAMES, 5, 60.0)
    assert math.exp(base[2, 0]) == pytest.approx(0.9) and math.exp(base[1, 2]) == pytest.approx(0.95)
    assert math.exp(base[5, 1]) == pytest.approx(0.95)   # held after the last row
    wide = tmp_path / "w.csv"
    wide.write_text("timestamp,BTC,ETH\n2025-10-10T21:15:00Z,112000,4300\n2025-10-10T21:27:00Z,97000,3612\n")
    base = replay_base_path(wide, NAMES, 12, 60.0)
    assert math.exp(base[12, 0]) == pytest.approx(97000 / 112000) and base[12, 2] == 0.0
    long = tmp_path / "l.csv"
    long.write_text("timestamp,market,price\n0,SOL,185\n720,SOL,137\n")
    assert math.exp(replay_base_path(long, NAMES, 12, 60.0)[12, 2]) == pytest.approx(137 / 185)


def test_replay_errors_name_row_and_column(tmp_path):
    bad = tmp_path / "b.csv"
    bad.write_text("timestamp,price\n0,100\n60,abc\n")
    with pytest.raises(InputError, match="row 2, column 'price'"):
        replay_base_path(bad, NAMES, 3, 60.0)
    with pytest.raises(InputError, match="does not exist"):
        replay_base_path(tmp_path / "missing.csv", NAMES, 3, 60.0)


def test_builtin_october_2025_scenario_carries_its_sources():
    assert "oct-10-2025" in builtin_names()
    s = load_scenario("oct-10-2025")
    assert s.sources
    # depth stress shaped by band (Kaiko: inner bands empty, 4%/10% bands still bid): the inner
    # bands lose ~98%, the outer ones keep most of their depth
    spec = s.depth_spec()
    normal = spec.__class__().default_band_share
    kept = [a / b for a, b in zip(spec.default_band_share, normal)]
    assert kept[0] <= 0.05 and kept[1] <= 0.05 and kept[-1] >= 0.5
    base = s.base_path(["BTC", "ETH", "SOL", "HYPE"], 60, 60.0)
    assert math.exp(base[12, 0]) == pytest.approx(1 - 0.131)
    assert math.exp(base[12, 2]) == pytest.approx(1 - 0.26)
    assert math.exp(base[45, 1]) == pytest.approx(1 - 0.16)
    for name in builtin_names():
        load_scenario(name)


def test_scenario_file_errors(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\nshock = "-5%@1m"\n[model]\nvolatilty = 1\n')
    with pytest.raises(ConfigError, match="volatilty"):
        load_scenario(f)
    f.write_text('shock = "-5%@1m"\nreplay = "x.csv"\n')
    with pytest.raises(ConfigError, match="either shock or replay"):
        load_scenario(f)
    f.write_text("shock = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(f)
    with pytest.raises(ConfigError, match="unknown scenario"):
        load_scenario("no-such-scenario")
    assert parse_shock("-1%@1m") == {"*": [(-0.01, 60.0)]}
