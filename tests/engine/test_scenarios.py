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


def test_builtin_october_2025_scenario_matches_the_record():
    # incidents.md §1.3/§1.5: BTC -13.1% and SOL -26% in the 12-minute Hyperliquid window, ETH -16 to -20%,
    # altcoins -40 to -80% within minutes; a partial rebound within hours.
    assert "oct-10-2025" in builtin_names()
    s = load_scenario("oct-10-2025")
    assert s.sources and s.markets is None          # market-wide: every market moves
    names = ["BTC", "ETH", "SOL", "HYPE", "DOGE"]
    base = s.base_path(names, 180, 60.0)
    move = np.exp(base) - 1
    assert move[12, 0] == pytest.approx(-0.131)
    assert -0.20 <= move[12, 1] <= -0.16
    assert move[12, 2] == pytest.approx(-0.26)
    for alt in (3, 4):
        assert -0.80 <= move[12, alt] <= -0.40
        assert move[:13, alt].min() == move[12, alt]   # the low within minutes
    # partial rebound: above the low, below the start, within hours
    for m in range(5):
        low = move[:, m].min()
        assert np.argmin(move[:, m]) == 12
        assert low < move[132, m] < 0 and move[132, m] - low > 0.05
    for name in builtin_names():
        load_scenario(name)


def test_october_2025_depth_is_empty_for_minutes_then_recovers():
    # Kaiko (incidents.md §1.5): books "appeared empty for several minutes" near the mid, "only wider bands
    # such as 4% and 10% ... showed meaningful bids". Not for two hours: near-mid depth recovers.
    s = load_scenario("oct-10-2025")
    spec = s.depth_spec()
    # the scenario's normal depth is the market's: 5x the engine's per-book default (see the TOML's [depth])
    normal = [5.0 * x for x in spec.__class__().default_band_share]
    kept = [a / b for a, b in zip(spec.default_band_share, normal)]
    assert kept[0] <= 0.05 and kept[1] <= 0.05 and kept[-1] >= 0.5
    mult = s.depth_multiplier(180, 60.0, spec.default_band_share)
    near = mult[:, 0] * spec.default_band_share[0] / normal[0]      # ±0.5% band vs its normal depth
    assert near[:16].max() <= 0.05                                    # empty for the crash minutes
    assert near[60] >= 0.5 and near[120] >= 0.8                       # back within the hour, ~normal by 2h
    assert np.all(np.diff(near) >= -1e-12)                            # it only recovers
    from defi_perps.book.synthetic import synthetic_book
    from defi_perps.scenarios.setup import make_setup

    setup = make_setup(synthetic_book(50, n_markets=2, seed=1), scenario="oct-10-2025")
    assert setup.depth_multiplier is not None and setup.depth_multiplier.shape == (setup.n_steps + 1, 5)
    assert setup.info()["depth_schedule"][1]["at_seconds"] == 900.0


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


# --- scenario files validated at the edge (issue 14 item 5) -------------------------------------------

BAD_SCENARIOS = [
    ('shock = "-5%@1m"\n[model]\nvolatility = nan\n', "model.volatility", "finite"),
    ('shock = "-5%@1m"\n[model]\nvolatility = inf\n', "model.volatility", "finite"),
    ('shock = "-5%@1m"\n[model]\nvolatility = "high"\n', "model.volatility", "number"),
    ('shock = "-5%@1m"\n[model]\nvolatility = -1\n', "model.volatility", "between 0 and 100"),
    ('shock = "-5%@1m"\n[model]\ngarch_alpha = 0.5\ngarch_beta = 0.6\n', "model", "below 1"),
    ('shock = "-5%@1m"\ndepth_stress = nan\n', "depth_stress", "finite"),
    ('shock = "-5%@1m"\ndepth_stress = -0.5\n', "depth_stress", "greater than 0"),
    ('shock = "-5%@1m"\n[depth]\ndefault_band_share = [0.05, -0.1, 0.2, 0.5, 1.0]\n', "depth.default_band_share",
     "must be positive"),
    ('shock = "-5%@1m"\n[depth]\ndefault_band_share = [0.5, 0.1, 0.2, 0.5, 1.0]\n', "depth.default_band_share",
     "cumulative"),
    ('shock = "-5%@1m"\n[depth]\ndefault_band_share = [0.05, 0.1]\n', "depth", "one share per band"),
    ('shock = "-5%@1m"\n[depth]\npermanent_fraction = 1.5\n', "depth.permanent_fraction", "less than or equal to 1"),
    ('shock = "-5%@1m"\n[funding]\nlong_rate = nan\n', "funding.long_rate", "finite"),
    ('horizon = "2h"\nshock = "0%@3h,-10%@5m"\n', "shock", "starts moving at 3h"),
    ('horizon = "1h"\nshock = "-10%@2h"\n', "shock", "past the horizon of 1h"),
    ('shock = ";"\n', "shock", "has no segment"),
    ('shock = " ; ; "\n', "shock", "has no segment"),
    ('shock = "-5%@1m"\nreplay = "x.csv"\n', "(file)", "either shock or replay"),
    ('shock = "-5%@1m"\nhorizon = "soon"\n', "horizon", "expected a number and a unit"),
    ('shock = "-5%@1m"\nsteps = 3\n', "steps", "Extra inputs are not permitted"),
    ('markets = ["JELLY"]\nshock = "+400%@1h"\n', "(file)", "prefix every shock item"),
    ('markets = ["JELLY"]\nshock = "BTC:+400%@1h"\n', "(file)", "not in markets"),
    ('markets = ["JELLY"]\nshock = "JELLY:+400%@1h"\nmarket_depth_stress = { BTC = 0.1 }\n', "(file)", "not in markets"),
    ('shock = "+100000000%@1m"\n', "shock", "beyond the accepted"),
    ('shock = "-5%@1m"\n[[depth_schedule]]\nat = "5m"\nshare = [0.1, 0.2, 0.3, 0.5, 1.0]\n', "(file)", "start at 0"),
    ('shock = "-5%@1m"\n[[depth_schedule]]\nat = "0m"\nshare = [0.1, 0.2]\n', "(file)", "one value per band"),
    ('name = 3\nshock = "-5%@1m"\n', "name", "string"),
]


@pytest.mark.parametrize("text, where, msg", BAD_SCENARIOS)
def test_bad_scenario_files_are_one_line_errors_naming_the_key(tmp_path, text, where, msg):
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    s = str(err.value)
    assert "\n" not in s and s.startswith(f"scenario {f}:"), s
    assert (f": {where}" in s if where != "(file)" else True) and msg in s, s


def test_non_utf8_and_oversized_scenario_files(tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b'name = "caf\xe9"\nshock = "-5%@1m"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_scenario(f)
    f.write_text("# " + "x" * 2_000_000)
    with pytest.raises(ConfigError, match="at most"):
        load_scenario(f)
    with pytest.raises(ConfigError, match="does not exist"):
        load_scenario(tmp_path / "missing.toml")


def test_replay_rows_out_of_order_or_broken_are_one_line(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("timestamp,price\n0,100\n120,90\n60,95\n")
    with pytest.raises(InputError, match="goes back in time at its row 3"):
        replay_base_path(f, NAMES, 3, 60.0)
    f.write_text("timestamp,price\n0,100\n0,90\n")
    with pytest.raises(InputError, match="repeats time"):
        replay_base_path(f, NAMES, 3, 60.0)
    f.write_text("timestamp,price\ninf,100\n60,90\n")
    with pytest.raises(InputError, match="not a unix time"):
        replay_base_path(f, NAMES, 3, 60.0)
    f.write_text("timestamp,price\n0,nan\n60,90\n")
    with pytest.raises(InputError, match="price must be positive"):
        replay_base_path(f, NAMES, 3, 60.0)
    f.write_bytes(b"timestamp,price\n0,100\n60,\xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        replay_base_path(f, NAMES, 3, 60.0)


def test_a_shorter_horizon_may_cut_a_scenario_tail_but_not_skip_its_move():
    from defi_perps.scenarios.setup import choose_scenario

    assert choose_scenario(None, None, "oct-10-2025", "20m", None).n_steps == 20
    with pytest.raises(ConfigError, match="starts moving at 10m"):
        choose_scenario("0%@10m,-5%@1m", None, None, "5m", None)
